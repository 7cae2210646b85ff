"""The concern tracker: after each of the person's turns, which of the superior's concerns it settles.

Whether a turn settles a concern is decided by a small learned model over the pair
(`coach/tracker_model.py`: closeness to what the scenario says would settle it, to training turns
that do and do not, and the detector's signals), at a threshold chosen by cross-validation on
training turns only. The difficulty sets the bar on top: a sceptical superior needs specifics, a
defensive one reopens a concern at blame, a busy one needs the ask early. The outcome is decided
here, from the person's turns alone; the model only voices it. Given the same turns the tracker
decides the same way (tests replay fixed transcripts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from coach.detector import Detector, SentenceJudgment
from coach.scenarios import Scenario
from coach.tracker_model import SPECIFIC, PairFeatures, SettleModel, parts_of

Outcome = Literal["agreed", "open", "refused"]
BUSY_ASK_BY_TURN = 2  # a busy superior closes the meeting if there is no clear ask by this turn
DEFENSIVE_REFUSES_AT = 2  # turns with blame after which a defensive superior refuses
SETTLE_MODEL = SettleModel()  # loaded on first use, shared by every tracker in the process


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


class ConcernTracker:
    """Decide, turn by turn, which concerns of one scenario the person's words settle."""

    def __init__(self, detector: Detector, scenario: Scenario, model: SettleModel | None = None) -> None:
        self.detector = detector
        self.scenario = scenario
        self.model = model or SETTLE_MODEL
        self._features: PairFeatures | None = None

    @property
    def features(self) -> PairFeatures:
        if self._features is None:  # the scenario's lines are embedded on the first turn, once
            self._features = PairFeatures(self.detector, self.scenario)
        return self._features

    def start(self, difficulty: str) -> TrackerState:
        return TrackerState(difficulty, [ConcernState(c.text, c.hint, c.required) for c in self.scenario.concerns])

    def update(self, state: TrackerState, text: str, judgments: list[SentenceJudgment] | None = None) -> list[Decision]:
        """Take one more turn of the person's into account; return the decisions it caused."""
        state.turns += 1
        n = state.turns
        parts = parts_of(text)
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
        probabilities, threshold, units = self.model.probabilities(self.features, text, judgments)
        specific = bool(SPECIFIC.search(text)) or bool(labels & {"options_or_recommendation", "owns_problem"})
        for i, concern in enumerate(state.concerns):
            if concern.met or any(d.concern == i and d.action == "reopened" for d in made):
                continue
            p = float(probabilities[i])
            if p < threshold:
                continue
            sims = units @ self.features.blocks[i].T
            line = self.scenario.concerns[i].addressed_by[int(sims.max(axis=0).argmax())]
            why = f"settles it with probability {p:.2f} (closest to \"{line}\")"
            if state.difficulty == "sceptical" and not specific:
                made.append(Decision(n, i, "not yet", f"{why}, but without specifics: "
                                                      "a sceptical superior wants numbers, dates or a concrete proposal"))
                continue
            concern.met_turn = n
            made.append(Decision(n, i, "met", why))
        state.decisions += made
        return made

    def replay(self, difficulty: str, turns: list[str]) -> TrackerState:
        """The state after these turns, decided one turn at a time from the start."""
        state = self.start(difficulty)
        for text in turns:
            self.update(state, text)
        return state
