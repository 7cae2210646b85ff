"""Benchmark Rehearse: the superior's time to first token on each turn of a 10-turn scripted rehearsal.

    .venv/bin/python bench/bench_rehearse.py

The persona and scenario form a stable prefix and the transcript only grows at its end, so from
the second turn on the server should evaluate only the newest turn: the figures should stay flat.
"""

from __future__ import annotations

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


def main() -> None:
    settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-bench-")))
    with Runtime(settings) as rt:
        rt.start_model(background=False)
        rt.workspace().profile.save(SuperiorProfile(name="Dana", role="Head of Delivery",
                                                    update_detail="short, with a clear ask"))
        coach = rt.rehearsal_coach("deadline-extension")
        store = rt.workspace().rehearsals
        rehearsal = store.start(coach.scenario, "busy")
        print(f"{'turn':>4}  {'first token s':>13}  {'reply s':>7}  reply")
        for n, text in enumerate(TURNS, 1):
            started = time.perf_counter()
            first = None
            reply = ""
            for piece in coach.reply(rehearsal, store, text):
                if first is None and piece.strip():
                    first = time.perf_counter() - started
                reply += piece
            total = time.perf_counter() - started
            print(f"{n:>4}  {first or total:>13.2f}  {total:>7.2f}  {reply[:70]!r}")


if __name__ == "__main__":
    main()
