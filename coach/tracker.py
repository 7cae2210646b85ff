"""The concern tracker: after each of the person's turns, which of the superior's concerns it settles.

A concern is met by a turn that is close in meaning to what the scenario says would settle it
(its `addressed_by` lines, embedded once) at or above a similarity threshold chosen on the
scenarios' own lines (`coach train tracker`). The difficulty sets the bar on top: a sceptical
superior needs specifics, a defensive one reopens a concern at blame, a busy one needs the ask
early. The outcome is decided here, from the person's turns alone; the model only voices it.
Given the same turns the tracker decides the same way (tests replay fixed transcripts).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from coach.detector import Detector, SentenceJudgment
from coach.scenarios import Scenario

THRESHOLD_FILE = Path(__file__).parent / "data" / "tracker.json"
DEFAULT_THRESHOLD = 0.6
Outcome = Literal["agreed", "open", "refused"]
BUSY_ASK_BY_TURN = 2  # a busy superior closes the meeting if there is no clear ask by this turn
DEFENSIVE_REFUSES_AT = 2  # turns with blame after which a defensive superior refuses
_SPECIFIC = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|half|double|"
                       r"monday|tuesday|wednesday|thursday|friday|january|february|march|april|may|june|"
                       r"july|august|september|october|november|december|weeks?|months?|quarter)\b", re.IGNORECASE)
# A concern is settled by a constructive move, never by a sentence that falls into a myth or blames:
# the matching sentence must carry one of these signals (docs/labels.md).
CONSTRUCTIVE = {"options_or_recommendation", "owns_problem", "connects_to_goals", "clear_ask", "constructive_suggestion"}
SPOILERS = {"myth-just-execute", "myth-independent-work", "myth-fear", "blame"}
_SPLIT = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Decision:
    """One change the tracker made, and why."""

    turn: int
    concern: int
    action: Literal["met", "reopened", "not yet"]
    reason: str


@dataclass
class ConcernState:
    text: str
    hint: str
    required: bool
    met_turn: int | None = None

    @property
    def met(self) -> bool:
        return self.met_turn is not None


@dataclass
class TrackerState:
    """Where a rehearsal stands: each concern, every decision, and the outcome they imply."""

    difficulty: str
    concerns: list[ConcernState]
    decisions: list[Decision] = field(default_factory=list)
    turns: int = 0
    ask_turn: int | None = None
    blame_turns: list[int] = field(default_factory=list)

    @property
    def met(self) -> int:
        return sum(c.met for c in self.concerns)

    def open_concerns(self) -> list[int]:
        """Indexes of open concerns, required ones first."""
        return sorted((i for i, c in enumerate(self.concerns) if not c.met), key=lambda i: not self.concerns[i].required)

    @property
    def closed(self) -> bool:
        """A busy superior closes the meeting when the point and the ask did not come early."""
        return self.difficulty == "busy" and self.turns >= BUSY_ASK_BY_TURN and (
            self.ask_turn is None or self.ask_turn > BUSY_ASK_BY_TURN)

    @property
    def outcome(self) -> Outcome:
        if self.closed or (self.difficulty == "defensive" and len(self.blame_turns) >= DEFENSIVE_REFUSES_AT):
            return "refused"
        if self.ask_turn is None:
            return "open"
        required = [c for c in self.concerns if c.required]
        if self.difficulty == "cooperative":
            ok = self.met > len(self.concerns) / 2
        elif self.difficulty == "sceptical":
            ok = all(c.met for c in self.concerns)
        else:  # busy, defensive
            ok = all(c.met for c in required)
        return "agreed" if ok else "open"

    def meter(self, boss: str) -> str:
        return f"{self.met} of {len(self.concerns)} of {boss}'s concerns met"

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "concerns": [{"text": c.text, "hint": c.hint, "required": c.required, "addressed": c.met,
                          "turn": c.met_turn} for c in self.concerns],
            "decisions": [asdict(d) for d in self.decisions],
        }


def load_threshold(path: Path = THRESHOLD_FILE) -> float:
    try:
        return float(json.loads(path.read_text())["threshold"])
    except (OSError, ValueError, KeyError):
        return DEFAULT_THRESHOLD


class ConcernTracker:
    """Decide, turn by turn, which concerns of one scenario the person's words settle."""

    def __init__(self, detector: Detector, scenario: Scenario, threshold: float | None = None) -> None:
        self.detector = detector
        self.scenario = scenario
        self.threshold = load_threshold() if threshold is None else threshold
        self._examples: list[tuple[np.ndarray, list[str]]] | None = None

    @property
    def examples(self) -> list[tuple[np.ndarray, list[str]]]:
        if self._examples is None:
            embed = self.detector.embeddings.embed
            self._examples = [(embed(c.addressed_by), c.addressed_by) for c in self.scenario.concerns]
        return self._examples

    def start(self, difficulty: str) -> TrackerState:
        return TrackerState(difficulty, [ConcernState(c.text, c.hint, c.required) for c in self.scenario.concerns])

    def update(self, state: TrackerState, text: str, judgments: list[SentenceJudgment] | None = None) -> list[Decision]:
        """Take one more turn of the person's into account; return the decisions it caused."""
        state.turns += 1
        n = state.turns
        parts = [p for p in _SPLIT.split(text.strip()) if p.strip()] or [text]
        if judgments is None:
            judgments = self.detector.judge(parts)
        labels = set().union(*(j.labels for j in judgments)) if judgments else set()
        if "clear_ask" in labels and state.ask_turn is None:
            state.ask_turn = n
        made: list[Decision] = []
        if "blame" in labels:
            state.blame_turns.append(n)
            if state.difficulty == "defensive":
                met = [i for i, c in enumerate(state.concerns) if c.met]
                if met:
                    last = max(met, key=lambda i: state.concerns[i].met_turn)
                    state.concerns[last].met_turn = None
                    made.append(Decision(n, last, "reopened", "blame or accusation puts a defensive superior back on guard"))
        # Candidates: each constructive sentence, and the whole turn when it is constructive as a whole.
        candidates = [p for p, j in zip(parts, judgments) if j.labels & CONSTRUCTIVE and not j.labels & SPOILERS]
        if len(parts) > 1 and labels & CONSTRUCTIVE and not labels & SPOILERS:
            candidates.append(text)
        specific = bool(_SPECIFIC.search(text)) or bool(labels & {"options_or_recommendation", "owns_problem"})
        vectors = self.detector.embeddings.embed(candidates) if candidates else None
        for i, concern in enumerate(state.concerns):
            if vectors is None or concern.met or any(d.concern == i and d.action == "reopened" for d in made):
                continue
            examples, lines = self.examples[i]
            sims = vectors @ examples.T
            best = float(sims.max())
            line = lines[int(np.unravel_index(sims.argmax(), sims.shape)[1])]
            if best < self.threshold:
                continue
            if state.difficulty == "sceptical" and not specific:
                made.append(Decision(n, i, "not yet", f"close to \"{line}\" ({best:.2f}) but without specifics: "
                                                      "a sceptical superior wants numbers, dates or a concrete proposal"))
                continue
            concern.met_turn = n
            made.append(Decision(n, i, "met", f"close in meaning ({best:.2f}) to \"{line}\""))
        state.decisions += made
        return made

    def replay(self, difficulty: str, turns: list[str]) -> TrackerState:
        """The state after these turns, decided one turn at a time from the start."""
        state = self.start(difficulty)
        for text in turns:
            self.update(state, text)
        return state


def choose_threshold(detector: Detector, scenarios: list[Scenario], negatives: list[str]) -> tuple[float, dict]:
    """Pick the similarity threshold on the scenarios' own lines (leave-one-out), never on rehearsals.

    Positive: an addressed_by line against the other lines of its own concern. Negative: the same
    line against the lines of the scenario's other concerns, and generic workplace sentences
    (the detector's healthy training phrasings) against every concern. The threshold maximises F1.
    """
    embed = detector.embeddings.embed
    pos, neg = [], []
    neg_vectors = embed(negatives) if negatives else np.zeros((0, 384))
    for sc in scenarios:
        blocks = [embed(c.addressed_by) for c in sc.concerns]
        for i, block in enumerate(blocks):
            sims = block @ block.T
            np.fill_diagonal(sims, -1)
            pos += list(sims.max(axis=1))
            for j, other in enumerate(blocks):
                if j != i:
                    neg += list((block @ other.T).max(axis=1))
            if len(neg_vectors):
                neg += list((neg_vectors @ block.T).max(axis=1))
    pos, neg = np.array(pos), np.array(neg)
    best = (DEFAULT_THRESHOLD, -1.0, 0.0, 0.0)
    for t in np.round(np.arange(0.3, 0.9, 0.01), 2):
        tp, fp = float((pos >= t).sum()), float((neg >= t).sum())
        precision, recall = tp / max(tp + fp, 1), tp / max(len(pos), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if f1 > best[1]:
            best = (float(t), f1, precision, recall)
    report = {"threshold": best[0], "f1": round(best[1], 3), "precision": round(best[2], 3),
              "recall": round(best[3], 3), "positives": len(pos), "negatives": len(neg)}
    return best[0], report


def train(detector: Detector, scenarios: list[Scenario], negatives: list[str], out: Path = THRESHOLD_FILE) -> dict:
    """Choose the threshold and save it with how it was chosen."""
    _, report = choose_threshold(detector, scenarios, negatives)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report

