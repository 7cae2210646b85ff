"""`coach train ...` and `coach eval ...`: retrain a classifier and print its cross-validated figures;
measure a judgment on its blind set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from coach.errors import InputError
from coach.runtime import Runtime


def cmd_train(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.training import print_reports

    if args.what == "detector":
        from coach.detector import WEIGHTS, train

        examples, reports = train(rt.embeddings)
        print_reports(reports, f"Detector: {len(examples)} training phrasings")
        print(f"Saved {WEIGHTS}")
    elif args.what == "concession":
        from coach.concession import WEIGHTS, train

        items, reports = train(rt.embeddings)
        print_reports(reports, f"Concession classifier: {len(items)} superior lines")
        print(f"Saved {WEIGHTS}")
    elif args.what == "scope":
        from coach.scope import WEIGHTS, train

        _ = rt.index  # loads the cards
        items, reports = train(rt.embeddings, rt.cards)
        print_reports(reports, f"Scope classifier: {len(items)} questions")
        print(f"Saved {WEIGHTS}")
    elif args.what == "topics":
        from coach.topics import WEIGHTS, train

        _ = rt.index  # loads the cards
        items, reports = train(rt.embeddings, rt.cards)
        print_reports(reports, f"Topic classifier: {len(items)} questions the cards answer")
        print(f"Saved {WEIGHTS}")
    elif args.what == "citations":
        from coach.citations import THRESHOLD_FILE, train

        _ = rt.index  # loads the cards
        report = train(rt.embeddings, rt.cards)
        print(f"Citation check: floor {report['threshold']} (keeps {report['kept_own_sentences']:.0%} of "
              f"{report['sentences']} card sentences against the rest of their card; "
              f"{report['other_cards_above']:.0%} of other cards reach it)")
        print(f"Saved {THRESHOLD_FILE}")
    elif args.what == "router":
        from coach.router import WEIGHTS, train

        items, reports, scenario = train(rt.embeddings, rt.scenarios()[0])
        print_reports(reports, f"Router: {len(items)} training inputs")
        print(f"Scenario threshold {scenario['scenario_threshold']} "
              f"(right scenario or none on {scenario['training_accuracy']:.2f} of the training rehearse inputs)")
        print(f"Saved {WEIGHTS}")
    elif args.what == "tracker":
        from coach.tracker_model import TRAINING, WEIGHTS, load_turns, train

        try:
            turns = load_turns(TRAINING)
        except (OSError, ValueError) as exc:
            raise InputError(f"The tracker's training turns can't be read: {exc}", f"Fix {TRAINING}.") from exc
        r = train(rt.detector, rt.scenarios()[0], turns)
        print(f"Concern tracker: {r['turns']} training turns, {r['pairs']} turn-concern pairs, {r['settled']} settled")
        for name, what in (("banked", "shipped scenarios (with the bank of training turns)"),
                           ("plain", "other scenarios")):
            h = r[name]
            print(f"  {what}: threshold {h['threshold']:.2f}, 5-fold by turn: precision {h['precision']:.2f}, "
                  f"recall {h['recall']:.2f}")
        print(f"Saved {WEIGHTS}")
    return 0


def cmd_eval(rt: Runtime, args: argparse.Namespace) -> int:
    from coach import evaluate, evaluate_ask

    figures = {}
    if args.what == "review":
        names = list(evaluate.REVIEW_SETS) if args.set == "all" else [args.set]
        for name in names:
            f = evaluate.evaluate_review(rt.analyzer, evaluate.REVIEW_SETS[name])
            figures[name] = f.as_dict()
            if not args.json:
                evaluate.print_review(f, f"{name} ({evaluate.REVIEW_SETS[name].name})")
    if args.what == "rehearse":
        halves = evaluate.calibration_halves()
        halves["blind"] = evaluate.rehearse_blind()
        for half in (["tune", "holdout"] if args.half == "both" else [args.half]):
            def progress(n, total, row):
                print(f"\r  {half}: {n}/{total} scripts played", end="", file=sys.stderr, flush=True)

            figures[half] = evaluate.evaluate_rehearse(rt, halves[half], with_model=not args.no_model,
                                                       progress=progress)
            print(file=sys.stderr)
            if not args.json:
                evaluate.print_rehearse(figures[half], "blind set" if half == "blind" else f"{half} half")
    if args.what == "router":
        from coach.router import evaluate as evaluate_router
        from coach.router import print_evaluation

        if args.set not in ("blind", "blind2"):
            raise InputError(f"The router has no set {args.set!r}.", "Use --set blind or --set blind2.")
        name = "router_blind2.yaml" if args.set == "blind2" else "router_blind.yaml"
        figures = evaluate_router(rt.router, rt.scenarios()[0], evaluate.DATA / name)
        if not args.json:
            print_evaluation(figures, name)
    if args.what == "retrieval":
        chain = rt.ask_chain(args.workspace)
        for name, path in ((args.set, evaluate_ask.ask_set(args.set)), ("old", evaluate_ask.RETRIEVAL_OLD)):
            figures[name] = evaluate_ask.evaluate_retrieval(chain, evaluate_ask.ask_questions(path))
            if not args.json:
                f = figures[name]
                print(f"Retrieval on {path.name}: hit@3 {f['hit@3']:.3f}, hit@1 {f['hit@1']:.3f} over "
                      f"{f['questions']} covered questions; missed: {', '.join(f['missed']) or 'none'}; "
                      f"first card not acceptable: {', '.join(f['first_wrong']) or 'none'}")
    if args.what == "ask" and args.replay:
        try:
            saved = json.loads(Path(args.replay).read_text(encoding="utf-8"))["answers"]["records"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"Cannot replay {args.replay} ({exc.__class__.__name__}).",
                             "Give a file written by `coach eval ask --save`.") from None
        figures["replay"] = evaluate_ask.replay_citations(rt.embeddings, saved,
                                                          evaluate_ask.ask_questions(evaluate_ask.ask_set(args.set)))
        if not figures["replay"]["answers"]:
            raise InputError(f"No answer in {args.replay} belongs to the set {args.set}.",
                             "Give the --set the answers were saved with.")
        if not args.json:
            f = figures["replay"]
            print(f"Replayed {f['answers']} saved answers with the current citation check: citation precision "
                  f"{f['citation_precision']:.2f} over {f['citations']} citations")
    elif args.what == "ask":
        def progress(n, total):
            print(f"\r  {n}/{total}", end="", file=sys.stderr, flush=True)

        # --every N: every Nth question (the 1st, the N+1th...) and every Nth chat, when time is short.
        path = evaluate_ask.ask_set(args.set)
        questions = evaluate_ask.ask_questions(path)[:: args.every]
        chats = evaluate_ask.ask_chats(path)[:: args.every]
        if args.chats:
            chats = yaml.safe_load(Path(args.chats).read_text())
        if args.echo_only and not chats:
            raise InputError(f"The set {args.set} has no five-question chats to measure echo on.",
                             "Give --chats FILE, or leave out --echo-only.")
        rt.warm_up()
        if not args.echo_only:
            figures["answers"] = evaluate_ask.evaluate_answers(rt, questions, args.workspace, progress)
            print(file=sys.stderr)
        if not args.no_echo and chats:
            figures["echo"] = evaluate_ask.evaluate_echo(rt, chats, args.workspace, progress)
            print(file=sys.stderr)
        if not args.json:
            if "answers" in figures:
                a = figures["answers"]
                print(f"Ask on {a['questions']} blind questions: citation precision {a['citation_precision']:.2f} "
                      f"over {a['citations']} citations (as the model wrote them: {a['raw_citation_precision']:.2f}); "
                      f"answers that pick up the question's specifics {a['fit_specifics']:.2f} "
                      f"(of {a['with_specifics']}); uncovered questions said so {a['uncovered_said']} of "
                      f"{a['uncovered']}; median {a['seconds_median']:.1f} s an answer")
                print(f"  shape: lines dropped in {a['lines_dropped_in']} answers, written twice {a['written_twice']}, "
                      f"no good answer {a['no_good_answer']}, with a line to say {a['with_a_line_to_say']} "
                      f"of {a['questions']}")
            e = figures.get("echo")
            if e:
                print(f"Echo over {e['chats']} five-question chats: {e['echoed_lines']} of {e['lines']} answer lines "
                      f"repeated from an earlier answer ({e['echo_rate']:.0%}; as the model wrote them: "
                      f"{e['raw_echoed_lines']} of {e['raw_lines']}, {e['raw_echo_rate']:.0%})")
    if args.what == "scope":
        figures = evaluate_ask.evaluate_scope(rt.scope, evaluate_ask.ask_questions(evaluate_ask.ask_set(args.set)))
        if not args.json:
            f = figures
            print(f"Scope on {f['questions']} blind questions: {f['uncovered_found']} of {f['uncovered']} uncovered "
                  f"questions found; {f['covered_called_uncovered']} covered ones called uncovered; "
                  f"wrong: {', '.join(f['wrong']) or 'none'}")
    if args.what == "tracker":
        if args.set not in evaluate.TRACKER_SETS:
            raise InputError(f"The tracker has no set {args.set!r}.",
                             f"Use --set {' or '.join(evaluate.TRACKER_SETS)}: both were written blind.")
        figures = evaluate.evaluate_tracker(rt.detector, rt.scenarios()[0], evaluate.TRACKER_SETS[args.set])
        if not args.json:
            evaluate.print_tracker(figures)
    if args.what == "concession":
        if args.set not in evaluate.CONCESSION_SETS:
            raise InputError(f"The concession check has no set {args.set!r}.",
                             f"Use --set {' or '.join(evaluate.CONCESSION_SETS)}: both were labelled blind.")
        figures = evaluate.evaluate_concession(rt.concession, evaluate.CONCESSION_SETS[args.set])
        if not args.json:
            evaluate.print_concession(figures)
    if getattr(args, "save", None):
        try:
            Path(args.save).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
            print(f"Saved the figures to {args.save}", file=sys.stderr)
        except OSError as exc:  # the figures are still printed below
            print(f"Cannot write {args.save}: {exc.strerror}.", file=sys.stderr)
    if args.json:
        if "answers" in figures:  # the answers themselves go to --save, not to the screen
            figures["answers"] = {k: v for k, v in figures["answers"].items() if k != "records"}
        print(json.dumps(figures, indent=2))
    return 0
