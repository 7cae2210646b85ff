"""The Rehearse scorecard, computed from evidence in the person's own turns (docs/rubric.md).

Each strategy's score comes from the detector's signals in the person's turns and from the
concern tracker, by the written rules below; nothing here asks a model. The evidence shown for a
strategy is a turn that carries one of its signals, or "not shown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coach.detector import MYTHS, SentenceJudgment
from coach.tracker import TrackerState

STRATEGIES = ("strategy-understand", "strategy-communicate", "strategy-initiative", "strategy-feedback")
# What shows each strategy, and what counts against it (docs/rubric.md, "The four strategies").
SHOWN_BY = {
    "strategy-understand": ("connects_to_goals",),
    "strategy-communicate": ("clear_ask",),
    "strategy-initiative": ("owns_problem", "options_or_recommendation"),
    "strategy-feedback": ("constructive_suggestion",),
}
AGAINST = {
    "strategy-understand": ("myth-independent-work",),
    "strategy-communicate": ("myth-fear", "vague"),
    "strategy-initiative": ("myth-just-execute",),
    "strategy-feedback": ("blame",),
}
EARLY_TURN = 2  # the point and the ask belong in the first two turns
# What makes a late ask more than a demand: something the superior can act on or weigh.
REASONS = {"connects_to_goals", "options_or_recommendation", "owns_problem", "constructive_suggestion"}
# Specifics: a number (in digits or words), or a concrete proposal the detector found.
_SPECIFIC = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|half|double)\b",
                       re.IGNORECASE)


def _specific(turns: list[TurnEvidence]) -> bool:
    return any(_SPECIFIC.search(t.text) or t.labels & {"options_or_recommendation", "owns_problem"} for t in turns)


@dataclass
class TurnEvidence:
    """The detector's view of one of the person's turns."""

    number: int
    text: str
    judgments: list[SentenceJudgment]

    @property
    def labels(self) -> set[str]:
        return set().union(*(j.labels for j in self.judgments)) if self.judgments else set()

    def best(self, label: str) -> float:
        return max((j.probabilities.get(label, 0.0) for j in self.judgments), default=0.0)

    def quote(self, label: str) -> str:
        hits = [j for j in self.judgments if j.has(label)]
        return max(hits, key=lambda j: j.probabilities[label]).text if hits else ""


@dataclass
class StrategyScore:
    score: int
    turn: int  # 0: not shown
    evidence: str
    why: str
    signals: list[str] = field(default_factory=list)
    against: list[int] = field(default_factory=list)  # turns with something that counts against it

    def as_dict(self) -> dict:
        return {"score": self.score, "turn": self.turn, "evidence": self.evidence, "why": self.why,
                "signals": self.signals, "against": self.against}


def _turns_with(turns: list[TurnEvidence], labels: tuple[str, ...]) -> list[TurnEvidence]:
    return [t for t in turns if t.labels & set(labels)]


def _evidence(turns: list[TurnEvidence], labels: tuple[str, ...]) -> tuple[int, str, list[str]]:
    shown = _turns_with(turns, labels)
    if not shown:
        return 0, "not shown", []
    best = max(shown, key=lambda t: max(t.best(l) for l in labels if l in t.labels))
    return best.number, best.text, sorted(best.labels & set(labels))


def _clamp(score: int) -> int:
    return max(1, min(5, score))


def _meeting_concerns(turns: list[TurnEvidence], state: TrackerState) -> list[TurnEvidence]:
    """The turns that met one of the superior's concerns (still met at the end): the concerns are the
    superior's own pressures, so meeting one shows the person understood them (docs/rubric.md)."""
    met = {c.met_turn for c in state.concerns if c.met}
    return [t for t in turns if t.number in met]


def _understanding(turns: list[TurnEvidence], state: TrackerState) -> list[TurnEvidence]:
    shown = {t.number for t in _turns_with(turns, SHOWN_BY["strategy-understand"])}
    shown |= {t.number for t in _meeting_concerns(turns, state)}
    return [t for t in turns if t.number in shown]


def score_understand(turns: list[TurnEvidence], state: TrackerState) -> tuple[int, str]:
    n = len(_understanding(turns, state))
    if _turns_with(turns, AGAINST["strategy-understand"]):
        return (1 if n == 0 else 2), "treats the work as separate from the superior's goals (myth-independent-work)"
    if n == 0:
        return 2, "never refers to the superior's goals or pressures"
    met_most = state.met * 2 >= len(state.concerns)
    score = (3 if n == 1 else 4) + (1 if met_most else 0)
    return (_clamp(score), f"speaks to their goals or pressures in {n} turn(s); "
            f"{state.met} of {len(state.concerns)} concerns met")


def score_communicate(turns: list[TurnEvidence], state: TrackerState) -> tuple[int, str]:
    asks = _turns_with(turns, SHOWN_BY["strategy-communicate"])
    fear = bool(_turns_with(turns, ("myth-fear",)))
    vague = len(_turns_with(turns, ("vague",)))
    if not asks:
        if fear or vague * 2 >= max(len(turns), 1):
            return 1, "no clear ask, and hedged, fearful or vague"
        return 2, "no clear ask"
    first = asks[0].number
    if vague * 2 >= len(turns):
        return (1 if fear else 2), f"an ask in turn {first}, but vague throughout"
    if first <= EARLY_TURN:
        score = 4 + (1 if _specific(turns) and not vague and not fear else 0)
        why = f"a clear ask in turn {first}"
    elif any(t.labels & REASONS for t in turns):
        score, why = 3, f"a clear ask, but only in turn {first}"
    else:
        score, why = 2, f"only a late demand (turn {first}), with no reason or proposal behind it"
    if fear:
        score -= 1
        why += "; holds back out of fear (myth-fear)"
    elif vague:
        why += "; some vague wording"
    return _clamp(score), why


def score_initiative(turns: list[TurnEvidence], state: TrackerState) -> tuple[int, str]:
    shown = _turns_with(turns, SHOWN_BY["strategy-initiative"])
    n = len(shown)
    if _turns_with(turns, AGAINST["strategy-initiative"]):
        return (1 if n == 0 else 2), "leaves the decision to the superior (myth-just-execute)"
    if n == 0:
        return 2, "brings the problem without owning it or proposing anything"
    both = bool(_turns_with(turns, ("owns_problem",))) and bool(_turns_with(turns, ("options_or_recommendation",)))
    score = (3 if n == 1 else 4) + (1 if both and n >= 2 else 0)
    return _clamp(score), f"owns the problem or proposes a way forward in {n} turn(s)"


def score_feedback(turns: list[TurnEvidence], state: TrackerState) -> tuple[int, str]:
    suggestions = len(_turns_with(turns, SHOWN_BY["strategy-feedback"]))
    blame = bool(_turns_with(turns, AGAINST["strategy-feedback"]))
    feedback = bool(_turns_with(turns, ("feedback_to_superior",)))
    if blame:
        if suggestions:
            return 3, "constructive suggestions, but with blame"
        return (2 if feedback else 1), "blames someone instead of proposing a change"
    if suggestions:
        return (4 if suggestions == 1 else 5), f"concrete suggestions in {suggestions} turn(s), no blame"
    if feedback:
        return 3, "feedback on the superior's way of working, without a proposal"
    return 2, "no concrete suggestion"


RULES = {
    "strategy-understand": score_understand,
    "strategy-communicate": score_communicate,
    "strategy-initiative": score_initiative,
    "strategy-feedback": score_feedback,
}


def scorecard(turns: list[TurnEvidence], state: TrackerState) -> dict:
    """The saved scorecard: four scored strategies with evidence, myths, concerns and the outcome."""
    strategies = {}
    for key in STRATEGIES:
        score, why = RULES[key](turns, state)
        turn, evidence, signals = _evidence(turns, SHOWN_BY[key])
        if not turn and key == "strategy-understand" and (meeting := _meeting_concerns(turns, state)):
            turn, evidence, signals = meeting[0].number, meeting[0].text, ["concern_met"]
        if not turn:
            score = min(score, 2)  # no signal: 1 or 2, "not shown"
        against = [t.number for t in _turns_with(turns, AGAINST[key])]
        strategies[key] = StrategyScore(score, turn, evidence, why, signals, against).as_dict()
    myths = []
    for myth in MYTHS:
        hit = next((t for t in turns if myth in t.labels), None)
        if hit:
            myths.append({"topic": myth, "quote": hit.quote(myth), "turn": hit.number})
    overall = sum(s["score"] for s in strategies.values()) / len(strategies)
    return {"strategies": strategies, "overall": round(overall, 2), "myths": myths, **state.as_dict(),
            "improvements": []}
