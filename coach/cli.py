"""The `coach` command: ask, retrieve, index, doctor, setup."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Callable

from coach.errors import CoachError
from coach.runtime import Runtime
from coach.settings import Settings
from coach.store import Hit


def _print_sources(hits: list[Hit]) -> None:
    if not hits:
        return
    print("\nSources:")
    for n, hit in enumerate(hits, 1):
        print(f"  [{n}] {hit.title} ({hit.origin}: {hit.topic}) {hit.source}")


def cmd_ask(rt: Runtime, args: argparse.Namespace) -> int:
    chain = rt.ask_chain
    hits: list[Hit] = []
    answer = []
    for piece in chain.stream(args.question):
        if isinstance(piece, Hit):
            hits.append(piece)
        else:
            answer.append(piece)
            if not args.json:
                print(piece, end="", flush=True)
    if args.json:
        print(json.dumps({"answer": "".join(answer), "sources": [h.as_dict() for h in hits]}, indent=2))
    else:
        print()
        _print_sources(hits)
    return 0


def cmd_retrieve(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.ask import check_question

    hits = rt.index.search(check_question(args.query), k=args.k)
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
    parser = argparse.ArgumentParser(prog="coach", description="Upward: a coach for managing upwards.")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="ask the coach a question (streams the answer)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer and sources as JSON")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[Runtime, argparse.Namespace], int] = args.func
    try:
        with Runtime(Settings()) as rt:
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
