"""The modes in a terminal: review a draft, rehearse a conversation, route a message, and the chat."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coach.errors import CoachError, InputError
from coach.runtime import Runtime


def cmd_review(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.analysis import check_draft
    from coach.present import review_markdown

    draft = sys.stdin.read() if args.file == "-" else _read_text(args.file)
    review = rt.review(check_draft(draft), args.workspace, args.goal or "", use_model=not args.no_llm,
                       approach=args.approach)
    if args.json:
        print(json.dumps(review.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(review_markdown(review.as_dict()))
    return 0


def cmd_rehearse(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.present import scorecard_markdown

    scenarios, problems = rt.scenarios()
    for problem in problems:
        print(f"warning: skipped scenario {problem}", file=sys.stderr)
    if args.list or not args.scenario:
        for name, sc in scenarios.items():
            print(f"{name:<24} {sc.title}")
        return 0 if args.list else 2
    space = rt.workspace(args.workspace)
    coach = rt.rehearsal_coach(args.scenario, args.workspace)
    rehearsal = space.rehearsals.start(coach.scenario, args.difficulty)
    if args.script:
        try:
            lines = [l.strip() for l in Path(args.script).read_text(encoding="utf-8").splitlines() if l.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Cannot read the script {args.script}: {exc}.", "One turn per line, UTF-8 text.") from None
        for line in lines:
            for piece in coach.reply(rehearsal, space.rehearsals, line):
                if not args.json:
                    print(piece, end="", flush=True)
            if not args.json:
                print()
    else:
        play(coach, rehearsal, space.rehearsals)
    card = coach.debrief(rehearsal, space.rehearsals, improvements=not args.no_improvements)
    if args.json:
        print(json.dumps({"id": rehearsal.id, "scenario": rehearsal.scenario, "difficulty": rehearsal.difficulty,
                          "outcome": card["outcome"],
                          "concerns": [{"text": c["text"], "addressed": c["addressed"], "turn": c["turn"]}
                                       for c in card["concerns"]],
                          "transcript": [{"role": l.role, "text": l.text, "checked": l.checked}
                                         for l in rehearsal.lines],
                          "scorecard": card}, indent=2, ensure_ascii=False))
    else:
        print("\nDebrief:\n" + scorecard_markdown(card))
    return 0


def cmd_route(rt: Runtime, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else _read_text(args.file)
    if not text.strip():
        raise InputError("There is nothing to route.", "Give a question, a draft or a request to practise.")
    route = rt.router.route(text.strip(), rt.scenarios()[0])
    if args.json:
        print(json.dumps(route.as_dict()))
    else:
        print(f"{route.mode} ({route.confidence:.0%})" + (f", scenario {route.scenario}" if route.scenario else ""))
    return 0


def _read_text(name: str) -> str:
    from coach.notes import decode_text

    path = Path(name)
    try:
        return decode_text(path.read_bytes(), path.name)
    except OSError as exc:
        raise InputError(f"Cannot read {name}: {exc.strerror}.", "Check the path.") from None


def play(coach, rehearsal, store) -> None:
    """An interactive rehearsal in the terminal: /hint and /end, the meter after each reply."""
    from coach.present import hint_markdown

    boss = coach.boss
    print(f"{coach.scenario.title} ({rehearsal.difficulty}). Your goal: {coach.scenario.goal.strip()}")
    print("Type what you would say. /hint for a hint, /end to finish and get your debrief.\n")
    if rehearsal.lines:
        print(f"{boss}: {rehearsal.lines[0].text}")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            break
        if text.strip() == "/end":
            break
        if text.strip() == "/hint":
            print(hint_markdown(coach.hint(rehearsal)))
            continue
        try:
            print(f"{boss}: ", end="", flush=True)
            for piece in coach.reply(rehearsal, store, text):
                print(piece, end="", flush=True)
            print(f"\n  ({coach.state(rehearsal).meter(coach.boss_in_text)})")
        except InputError as exc:
            print(f"\n  {exc.message} {exc.hint}")


def read_message(prompt: str = "you> ") -> str | None:
    """One message: lines until an empty line (so a pasted draft stays whole); None at the end of input."""
    lines: list[str] = []
    while True:
        try:
            line = input(prompt if not lines else "...> ")
        except EOFError:
            return "\n".join(lines) if lines else None
        if not line.strip() and lines:
            return "\n".join(lines)
        if line.strip():
            lines.append(line)


def cmd_chat(rt: Runtime, args: argparse.Namespace) -> int:
    """The coach chat in a terminal: each message routed to an answer, a review or a rehearsal."""
    from coach.ask import Turn
    from coach.present import review_markdown, scorecard_markdown
    from coach.scenarios import draft_scenario, template_scenario

    space = rt.workspace(args.workspace)
    scenarios = rt.scenarios()[0]
    history: list[Turn] = []
    conversation = None
    print("Ask a question, paste a draft, or say \"let's practise…\". End each message with an empty line.")
    print("Start a message with /ask, /review or /rehearse to choose the mode yourself; /quit to leave.\n")
    while (text := read_message()) is not None:
        if text.strip() == "/quit":
            break
        forced = next((m for m in ("ask", "review", "rehearse") if text.startswith(f"/{m}")), None)
        if forced:
            text = text[len(forced) + 1:].strip()
        route = rt.router.route(text, scenarios)
        mode = forced or route.mode
        print(f"[{mode}{'' if forced else f' · {route.confidence:.0%} sure'}]")
        try:
            if mode == "ask":
                turn = _answer(rt, args.workspace, text, history)
                history.append(turn)
            elif mode == "review":
                result = rt.review(text, args.workspace).as_dict()
                print(review_markdown(result))
                turn = Turn(text, "", result["verdict"], mode="review", payload=result)
            else:
                name = route.scenario if mode == route.mode else rt.router.match_scenario(
                    rt.embeddings.embed([text])[0], scenarios)[0]
                if name:
                    scenario = scenarios[name]
                else:
                    try:
                        rt.used_by("scenario")
                        scenario, _ = draft_scenario(rt.chat_model(streaming=False), rt.prompt("scenario"), text,
                                                     space.profile.load().name or "your superior")
                    except CoachError:
                        scenario = template_scenario(text)
                    scenario = scenario.model_copy(update={"name": "from-chat"})
                print(f"Let's practise: {scenario.title}\n{scenario.situation.strip()}\nGoal: {scenario.goal.strip()}")
                if input("Start? [Y/n] ").strip().lower().startswith("n"):
                    continue
                coach = rt.rehearsal_coach(scenario, args.workspace)
                rehearsal = space.rehearsals.start(scenario, args.difficulty)
                play(coach, rehearsal, space.rehearsals)
                card = coach.debrief(rehearsal, space.rehearsals)
                print("\nDebrief:\n" + scorecard_markdown(card))
                turn = Turn(text, "", f"Practised: {card['outcome']}", mode="rehearse",
                            payload={"state": "ended", "rehearsal_id": rehearsal.id, "scenario": scenario.name,
                                     "scenario_data": scenario.model_dump(exclude={"name"}),
                                     "difficulty": rehearsal.difficulty, "source": "terminal"})
        except CoachError as exc:
            print(f"  {exc.message} {exc.hint}")
            continue
        if conversation is None:
            conversation = space.conversations.start(text)
        space.conversations.append(conversation, turn)
        print()
    return 0


def _answer(rt: Runtime, workspace: str, question: str, history: list):
    from coach.ask import Turn
    from coach.store import Hit

    chain = rt.ask_chain(workspace)
    hits, parts = [], []
    for piece in chain.stream(question, history):
        if isinstance(piece, Hit):
            hits.append(piece)
        else:
            parts.append(piece)
            print(piece, end="", flush=True)
    print()
    for n, hit in enumerate(hits, 1):
        print(f"  [{n}] {hit.title} ({hit.origin}: {hit.topic}) {hit.source}")
    return Turn(question, chain.user_message(question, hits, history), "".join(parts), hits)
