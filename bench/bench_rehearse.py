"""Benchmark Rehearse with the concern tracker in the loop, on a 10-turn scripted rehearsal.

    .venv/bin/python bench/bench_rehearse.py [--cold] [--runs N]

Per turn: the superior's time to first token (the persona and scenario form a stable prefix and
only the newest turn and the per-turn direction come after it, so from the second turn on it
should stay flat), and the tracker's time for that turn (detector and similarity, no model), as a page
run pays it: a new coach each run, which replays the earlier turns and then takes in the new one.
`--cold` empties the embedding cache before each turn, which is what every run paid before the cache.
Then the debrief: the scorecard (computed, no model) and the phrased improvements.
`--runs N` plays the rehearsal N times in one process (replies are sampled, so one run varies a lot)
and ends with the figures over all of them: the first token's median and 90th percentile over every
turn 2-10, and how many replies failed a check on the first try.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.profile import SuperiorProfile  # noqa: E402
from coach.runtime import Runtime  # noqa: E402
from coach.settings import Settings  # noqa: E402

TURNS = [
    "Hi Dana, thanks for the time. I need to talk about Friday's deadline.",
    "The API team slipped by two days, so the export feature cannot be tested by Friday.",
    "I found out on Tuesday and should have told you then; I'm telling you now so there are no surprises.",
    "I propose we ship the core report on Friday as promised, and the export next Wednesday.",
    "The core report is what the client uses daily, so they keep what matters most to them.",
    "I've already checked with QA that Wednesday is realistic for the export.",
    "If you prefer, I can also ask the API team to prioritise our fix, but that costs them a sprint.",
    "My recommendation is the split release; it keeps your commitment for Friday.",
    "Can you agree to that today, so I can tell the client this afternoon?",
    "Great, I'll send you the client note to review before it goes out.",
]


def play(rt: Runtime, cold: bool) -> tuple[list[float], int]:
    """One scripted rehearsal, printed turn by turn; returns turns 2-10's first tokens and retried replies."""
    coach = rt.rehearsal_coach("deadline-extension")
    store = rt.workspace().rehearsals
    # Sceptical: the superior talks for all ten turns (a busy one closes the meeting at turn 2 of
    # this script, which has no clear ask that early, and then answers in code's words).
    rehearsal = store.start(coach.scenario, "sceptical")
    print(f"{'turn':>4}  {'tracker ms':>10}  {'first token s':>13}  {'reply s':>7}  meter / reply")
    tracker_ms, firsts, retried = [], [], 0
    for n, text in enumerate(TURNS, 1):
        # The tracker's cost for one turn, measured on its own, as a page run pays it: a new coach
        # (the page makes one each run) replays the earlier turns, then takes in this one.
        if cold:
            rt.embeddings._cache.clear()
        coach = rt.rehearsal_coach("deadline-extension")
        t = time.perf_counter()
        state = coach.tracker.replay(rehearsal.difficulty, rehearsal.user_turns())
        coach.tracker.update(state, text)
        tracker_ms.append((time.perf_counter() - t) * 1000)
        started = time.perf_counter()
        first = None
        reply = ""
        for piece in coach.reply(rehearsal, store, text):
            if first is None and piece.strip():
                first = time.perf_counter() - started
            reply += piece
        total = time.perf_counter() - started
        firsts.append(first or total)
        meter = coach.state(rehearsal).meter("Dana")
        checked = rehearsal.lines[-1].checked
        retried += n > 1 and bool(checked)
        print(f"{n:>4}  {tracker_ms[-1]:>10.0f}  {firsts[-1]:>13.2f}  {total:>7.2f}  {meter} / {reply[:60]!r}"
              + (f"  [{checked}]" if checked else ""))
    started = time.perf_counter()
    card = coach.score(rehearsal)
    scored = time.perf_counter() - started
    card["improvements"] = coach.improvements(rehearsal, card)
    advised = time.perf_counter() - started
    print(f"tracker per turn: median {statistics.median(tracker_ms):.0f} ms, max {max(tracker_ms):.0f} ms")
    print(f"first token, turns 2-10: median {statistics.median(firsts[1:]):.2f} s, max {max(firsts[1:]):.2f} s")
    print(f"debrief: scorecard {scored:.2f} s after End, with the phrased improvements {advised:.1f} s; "
          f"outcome {card['outcome']}, overall {card['overall']}")
    return firsts[1:], retried


def main() -> None:
    cold = "--cold" in sys.argv[1:]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 1
    settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-bench-")))
    with Runtime(settings) as rt:
        rt.start_model(background=False)
        rt.workspace().profile.save(SuperiorProfile(name="Dana", role="Head of Delivery",
                                                    update_detail="short, with a clear ask"))
        firsts, retried, medians = [], 0, []
        for _ in range(runs):
            turn_firsts, turn_retried = play(rt, cold)
            firsts += turn_firsts
            retried += turn_retried
            medians.append(statistics.median(turn_firsts))
        if runs > 1:
            p90 = statistics.quantiles(firsts, n=10)[-1]
            print(f"over {runs} runs ({len(firsts)} turns 2-10): first token median {statistics.median(firsts):.2f} s, "
                  f"p90 {p90:.2f} s, max {max(firsts):.2f} s; run medians "
                  + ", ".join(f"{m:.2f}" for m in medians)
                  + f"; replies that failed a check on the first try: {retried} of {len(firsts)}")


if __name__ == "__main__":
    main()
