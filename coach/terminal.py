"""The modes in a terminal: review a draft, rehearse a conversation, route a message, and the chat."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coach.errors import InputError
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
    from coach.present import hint_markdown, scorecard_markdown

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
    boss = coach.boss
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
        print(f"{coach.scenario.title} ({args.difficulty}). Your goal: {coach.scenario.goal.strip()}")
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
                for piece in coach.reply(rehearsal, space.rehearsals, text):
                    print(piece, end="", flush=True)
                print(f"\n  ({coach.state(rehearsal).meter(boss)})")
            except InputError as exc:
                print(f"\n  {exc.message} {exc.hint}")
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
