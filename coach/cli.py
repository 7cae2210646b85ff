"""The `coach` command: ask, retrieve, index, notes, profile, doctor, setup (the server-side
commands for accounts, the database and moving a workspace are in admin.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

from coach.errors import CoachError, InputError
from coach.runtime import Runtime
from coach.settings import Settings
from coach.store import Hit
from coach.workspace import check_workspace


def _print_sources(hits: list[Hit]) -> None:
    if not hits:
        return
    print("\nSources:")
    for n, hit in enumerate(hits, 1):
        print(f"  [{n}] {hit.title} ({hit.origin}: {hit.topic}) {hit.source}")


def cmd_ask(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.ask import Turn, check_question, saved_stream

    args.question = check_question(args.question)  # a bad question is refused before the model loads
    # Loads the saved prompt prefix (the same for every workspace), so the question is answered warm.
    rt.warm_up()
    space = rt.workspace(args.workspace)
    conversation = space.conversations.latest() if args.continue_ else None
    history = space.conversations.turns(conversation) if conversation else []
    chain = rt.ask_chain(args.workspace)
    hits: list[Hit] = []
    saved: list[Turn] = []

    def save(turn: Turn) -> None:
        nonlocal conversation
        if conversation is None:
            conversation = space.conversations.start(args.question)
        space.conversations.append(conversation, turn)
        saved.append(turn)

    # Ctrl-C mid-answer still saves what was said, marked as interrupted.
    for piece in saved_stream(chain, args.question, history, save):
        if isinstance(piece, Hit):
            hits.append(piece)
        elif not args.json:
            print(piece, end="", flush=True)
    turn = saved[0]
    if args.json:
        print(json.dumps({"answer": turn.answer, "sources": [h.as_dict() for h in hits],
                          "conversation": conversation}, indent=2))
    else:
        print()
        _print_sources(hits)
    return 0


def cmd_retrieve(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.ask import check_question

    query = check_question(args.query)
    vector = rt.embeddings.embed_query(query)
    hits = rt.index.search(query, k=args.k, vector=vector)
    hits += rt.workspace(args.workspace).notes.search(query, args.k, vector)
    hits = sorted(hits, key=lambda h: h.score, reverse=True)[: args.k]
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], indent=2, ensure_ascii=False))
    else:
        for n, hit in enumerate(hits, 1):
            print(f"[{n}] {hit.score:.3f} {hit.title} ({hit.kind}: {hit.topic}) {hit.source}")
            print(f"    {hit.text[:160]}{'…' if len(hit.text) > 160 else ''}")
    return 0


def _report_cards(rt: Runtime) -> None:
    for problem in rt.problems:
        print(f"warning: skipped card {problem}", file=sys.stderr)


def cmd_index(rt: Runtime, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    report = rt.rebuild_index() if args.rebuild else rt.last_sync if rt.index else None
    _report_cards(rt)
    print(
        f"Index ready: {len(rt.cards)} cards, {rt.index.count()} passages "
        f"({report.added} embedded, {report.unchanged} unchanged, {report.removed} removed) "
        f"in {time.perf_counter() - started:.1f} s."
    )
    return 0


def cmd_setup(rt: Runtime, args: argparse.Namespace) -> int:
    if rt.settings.backend == "local":
        from coach.models import local_model_path

        def progress(fraction: float, detail: str) -> None:
            print(f"\r{detail} ({fraction:.0%})", end="", file=sys.stderr, flush=True)

        path = local_model_path(rt.settings, progress)
        print(f"\nModel: {path}", file=sys.stderr)
    return cmd_index(rt, argparse.Namespace(rebuild=False))


def cmd_notes(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.notes import extract_text

    notes = rt.workspace(args.workspace).notes
    if args.action == "add":
        failed = 0
        for name in args.files:
            path = Path(name)
            try:
                if name == "-":
                    text, title = sys.stdin.read(), args.name or "pasted note"
                else:
                    size = path.stat().st_size
                    from coach.notes import MAX_FILE_BYTES

                    if size > MAX_FILE_BYTES:
                        raise InputError(
                            f"{path.name} is {size / 1e6:,.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.",
                            "Split it, or add only the part you want the coach to use.",
                        )
                    title = args.name or path.name
                    text = extract_text(path.name, path.read_bytes())

                def progress(fraction: float, detail: str) -> None:
                    print(f"\r{detail}: {fraction:.0%}", end="", file=sys.stderr, flush=True)

                note = notes.add(title, text, progress)
                print(f"\rAdded {note.name} ({note.parts} parts) as {note.id}", file=sys.stderr)
            except (InputError, OSError) as exc:
                failed += 1
                message = exc.message if isinstance(exc, CoachError) else f"{name}: {exc.strerror}."
                print(f"error: {message}", file=sys.stderr)
                if isinstance(exc, CoachError) and exc.hint:
                    print(f"  what to do: {exc.hint}", file=sys.stderr)
        return 1 if failed else 0
    if args.action == "list":
        items = notes.list()
        if args.json:
            print(json.dumps([{"id": n.id, "name": n.name, "parts": n.parts, "chars": n.chars,
                               "created": n.created} for n in items], indent=2))
        else:
            for n in items:
                print(f"{n.id}  {n.name}  ({n.parts} parts, {n.chars:,} characters)")
            if not items:
                print("No notes yet: add some with `coach notes add FILE`.")
        return 0
    if args.action == "show":
        print(notes.text(args.id))
        return 0
    if args.action == "rm":
        notes.delete(args.id)
        print(f"Deleted note {args.id}.")
        return 0
    if args.action == "clear":
        if not args.yes:
            raise InputError("This deletes every note in the workspace.", "Add --yes to confirm.")
        print(f"Deleted {notes.delete_all()} notes.")
        return 0
    return 2


def cmd_profile(rt: Runtime, args: argparse.Namespace) -> int:
    store = rt.workspace(args.workspace).profile
    if args.action == "set":
        store.set(args.field, args.value)
        print(f"Saved {args.field}.")
        return 0
    profile = store.load()
    if args.json:
        print(profile.model_dump_json(indent=2))
    else:
        for name, field in type(profile).model_fields.items():
            print(f"{name:<15} {getattr(profile, name) or '-'}")
    return 0


def cmd_doctor(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.doctor import run_checks

    failed = 0
    for check in run_checks(rt):
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok:
            failed += 1
            if check.hint:
                print(f"       fix: {check.hint}")
    print("All checks passed." if not failed else f"{failed} check(s) failed.")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from coach.admin import cmd_db, cmd_export, cmd_import, cmd_users
    from coach.judgments import cmd_eval, cmd_train
    from coach.profile import FIELDS
    from coach.terminal import cmd_chat, cmd_rehearse, cmd_review, cmd_route

    parser = argparse.ArgumentParser(prog="coach", description="Upward: a coach for managing upwards.")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a nested subcommand must not reset a --workspace given before it.
    common.add_argument("--workspace", default=argparse.SUPPRESS,
                        help="whose notes, profile and history (default: default)")
    common.add_argument("--user", default=argparse.SUPPRESS,
                        help="with accounts (COACH_AUTH=password): act for this user")
    sub = parser.add_subparsers(dest="command", required=True)
    _add = sub.add_parser

    def add_parser(name: str, **kwargs) -> argparse.ArgumentParser:
        return _add(name, parents=[common], **kwargs)

    sub.add_parser = add_parser  # every command takes --workspace

    ask = sub.add_parser("ask", help="ask the coach a question (streams the answer)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer and sources as JSON")
    ask.add_argument("--continue", dest="continue_", action="store_true",
                     help="continue the workspace's latest conversation, as the app's chat does")
    ask.set_defaults(func=cmd_ask)

    retrieve = sub.add_parser("retrieve", help="show the playbook passages a question retrieves")
    retrieve.add_argument("query")
    retrieve.add_argument("--k", type=int, default=4, help="how many passages (default 4)")
    retrieve.add_argument("--json", action="store_true", help="print a JSON list of hits")
    retrieve.set_defaults(func=cmd_retrieve)

    index = sub.add_parser("index", help="bring the knowledge index up to date with the cards")
    index.add_argument("--rebuild", action="store_true", help="move the index aside and rebuild it")
    index.set_defaults(func=cmd_index)

    setup = sub.add_parser("setup", help="prepare the local model file and the index")
    setup.set_defaults(func=cmd_setup)

    doctor = sub.add_parser("doctor", help="check model, embeddings, store and backend")
    doctor.set_defaults(func=cmd_doctor)

    review = sub.add_parser("review", help="critique a draft to your boss (FILE, or - for stdin)")
    review.add_argument("file")
    review.add_argument("--json", action="store_true", help="print myths, signals, findings and rewrite as JSON")
    review.add_argument("--no-llm", action="store_true", help="only the instant analysis, no model")
    review.add_argument("--goal", help="what you want from this message")
    review.add_argument("--approach", choices=["gaps", "free"], default="gaps",
                        help="gaps: the model fills the named gaps sentence by sentence (default); "
                             "free: it rewrites the whole draft")
    review.set_defaults(func=cmd_review)

    from coach.rehearse import DIFFICULTIES

    rehearse = sub.add_parser("rehearse", help="role-play a conversation with your boss, then a debrief")
    rehearse.add_argument("--list", action="store_true", help="list the scenarios")
    rehearse.add_argument("--scenario", help="the scenario's name (see --list)")
    rehearse.add_argument("--difficulty", choices=list(DIFFICULTIES), default="busy")
    rehearse.add_argument("--script", help="play your turns from this file, one per line")
    rehearse.add_argument("--json", action="store_true", help="print the outcome, concerns, transcript and scorecard as JSON")
    rehearse.add_argument("--no-improvements", action="store_true",
                          help="score only; skip the model's phrased improvements")
    rehearse.set_defaults(func=cmd_rehearse)

    chat = sub.add_parser("chat", help="the coach chat in the terminal: questions, drafts and practice, routed")
    chat.add_argument("--difficulty", choices=list(DIFFICULTIES), default="busy",
                      help="how the superior behaves when a message starts a rehearsal")
    chat.set_defaults(func=cmd_chat)

    route = sub.add_parser("route", help="say how the chat would route a message (FILE, or - for stdin)")
    route.add_argument("file")
    route.add_argument("--json", action="store_true", help='print {"mode", "scenario", "confidence"}')
    route.set_defaults(func=cmd_route)

    train = sub.add_parser("train", help="retrain a classifier from its training data and print CV figures")
    train.add_argument("what", choices=["detector", "concession", "tracker", "router", "citations", "scope", "topics"])
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="measure a judgment on its blind labelled set")
    evaluate.add_argument("what", choices=["review", "concession", "rehearse", "router", "retrieval", "ask", "scope",
                                          "tracker"])
    evaluate.add_argument("--chats", help="ask: a YAML list of five-question chats to measure echo on instead")
    evaluate.add_argument("--echo-only", action="store_true", help="ask: only the echo measure")
    evaluate.add_argument("--no-echo", action="store_true", help="ask: only the questions, not the chats")
    evaluate.add_argument("--replay", metavar="FILE", help="ask: re-check the citations of answers saved with "
                                                          "--save by the current checker; no model runs")
    evaluate.add_argument("--save", metavar="FILE", help="also write the figures as JSON to FILE (ask: with each "
                                                        "answer as written and shown, and its sources)")
    evaluate.add_argument("--every", type=int, default=1,
                          help="ask: every Nth question and chat only (2 halves the time)")
    evaluate.add_argument("--half", default="holdout", choices=["tune", "holdout", "both", "blind"],
                          help="rehearse: which half of the calibration scripts (holdout: the one we report), or "
                          "blind: the second set, written blind after the scorer's changes, all of it")
    evaluate.add_argument("--no-model", action="store_true",
                          help="rehearse: score the scripts without playing them with the model")
    evaluate.add_argument("--set", default="blind", choices=["blind", "blind2", "blind3", "blind4", "blind5", "labelled", "heldout", "all"],
                          help="which labelled set (review, router, retrieval, ask, scope, tracker, concession): blind is the first "
                          "blind set, blind2 the second, written after the judgments were final; blind3 (review, "
                          "retrieval, ask, scope) the third; blind4 and blind5 (review only) the fourth and fifth")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)

    users = sub.add_parser("users", help="accounts (COACH_AUTH=password): add, list, rm, passwd")
    users.set_defaults(func=cmd_users)
    usub = users.add_subparsers(dest="action", required=True)
    for action, text in (("add", "add a user (asks for the password)"), ("passwd", "change a user's password"),
                         ("rm", "remove a user (their workspaces stay)")):
        sp = usub.add_parser(action, help=text)
        sp.add_argument("username")
        if action != "rm":
            sp.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        if action == "add":
            sp.add_argument("--name", help="the name the app greets them with")
    usub.add_parser("list", help="list the users")

    db = sub.add_parser("db", help="the database: `coach db upgrade` applies pending migrations")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=cmd_db)

    export = sub.add_parser("export", help="write the workspace (notes, profile, chats, rehearsals) to a zip")
    export.add_argument("--output", required=True, help="the zip file to write")
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="read an exported zip into an empty workspace")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    notes = sub.add_parser("notes", help="your own notes: add, list, show, rm, clear")
    notes.set_defaults(func=cmd_notes)
    nsub = notes.add_subparsers(dest="action", required=True)
    nsub.add_parser = lambda name, _add=nsub.add_parser, **kw: _add(name, parents=[common], **kw)
    add = nsub.add_parser("add", help="add files (.md .txt .pdf .docx) or - for standard input")
    add.add_argument("files", nargs="+")
    add.add_argument("--name", help="the note's name (default: the file name)")
    lst = nsub.add_parser("list", help="list notes with their ids")
    lst.add_argument("--json", action="store_true")
    show = nsub.add_parser("show", help="print a note's text")
    show.add_argument("id")
    rm = nsub.add_parser("rm", help="delete one note and its passages")
    rm.add_argument("id")
    clear = nsub.add_parser("clear", help="delete every note in the workspace")
    clear.add_argument("--yes", action="store_true")

    profile = sub.add_parser("profile", help="the profile of your superior")
    profile.set_defaults(func=cmd_profile)
    psub = profile.add_subparsers(dest="action", required=True)
    psub.add_parser = lambda name, _add=psub.add_parser, **kw: _add(name, parents=[common], **kw)
    pshow = psub.add_parser("show")
    pshow.add_argument("--json", action="store_true")
    pset = psub.add_parser("set")
    pset.add_argument("field", choices=FIELDS)
    pset.add_argument("value")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[Runtime, argparse.Namespace], int] = args.func
    try:
        args.workspace = check_workspace(getattr(args, "workspace", None))
        with Runtime(Settings()) as rt:
            rt.default_user = getattr(args, "user", None)
            return func(rt, args)
    except CoachError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  what to do: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
