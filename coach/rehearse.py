"""Rehearse: role-play a hard conversation with your superior, then a debrief scored on the playbook."""

from __future__ import annotations

import json
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Literal

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coach.ask import fence, quote_notes
from coach.db import connect
from coach.errors import InputError, check_size
from coach.models import model_errors, structured
from coach.profile import SuperiorProfile
from coach.prompts import PromptFile

MAX_TURN_CHARS = 2_000
Difficulty = Literal["cooperative", "busy", "sceptical", "defensive"]
DIFFICULTIES: dict[str, str] = {
    "cooperative": "You are open and supportive, and agree quickly to a reasonable, clear proposal.",
    "busy": "You are pressed for time and distracted; you want the point and the ask in the first sentence, "
            "and you cut long explanations short.",
    "sceptical": "You doubt claims without evidence; you ask for numbers, examples and what was tried already.",
    "defensive": "You take problems as criticism of you at first; you soften only when the person stays calm, "
                 "specific and focused on solutions rather than blame.",
}
STRATEGIES = ("strategy-understand", "strategy-communicate", "strategy-initiative", "strategy-feedback")


class Scenario(BaseModel):
    """A rehearsal scenario, read from a file in scenarios/."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    title: str
    situation: str
    goal: str
    hidden_concerns: list[str]
    opening: str = ""


def load_scenarios(folder: Path) -> tuple[dict[str, Scenario], list[str]]:
    """Load every scenario file; report bad ones by file name and keep the rest."""
    found, problems = {}, []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found[path.stem] = Scenario(**{**data, "name": path.stem})
        except (OSError, ValueError, yaml.YAMLError, TypeError, ValidationError) as exc:
            problems.append(f"{path.name}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    return found, problems


# ---- the scorecard ------------------------------------------------------------------------------

from coach.knowledge import TOPICS  # noqa: E402

CardKey = Literal[TOPICS]  # type: ignore[valid-type]


class StrategyScore(BaseModel):
    score: int = Field(ge=1, le=5)
    turn: int = Field(ge=0, le=99, description="number of the person's turn that best shows it; 0 if not shown")


class Improvement(BaseModel):
    advice: str = Field(max_length=400)
    card: CardKey


class Debrief(BaseModel):
    """What the model is asked for: four strategy scores, each pointing at a turn, and improvements."""

    model_config = ConfigDict(populate_by_name=True)

    understand: StrategyScore = Field(alias="strategy-understand")
    communicate: StrategyScore = Field(alias="strategy-communicate")
    initiative: StrategyScore = Field(alias="strategy-initiative")
    feedback: StrategyScore = Field(alias="strategy-feedback")
    improvements: list[Improvement] = Field(min_length=2, max_length=3)

    def strategies(self) -> dict[str, StrategyScore]:
        return {key: getattr(self, key.removeprefix("strategy-")) for key in STRATEGIES}


def scorecard(debrief: Debrief, user_turns: list[str], myths: list[dict]) -> dict:
    """The saved scorecard: evidence is the user's own words (the turn the model pointed at)."""
    strategies = {}
    for key, s in debrief.strategies().items():
        valid = 1 <= s.turn <= len(user_turns)
        # A strategy that no turn shows scores 1, whatever the model said: the score needs evidence.
        strategies[key] = {"score": s.score if valid else 1, "turn": s.turn if valid else 0,
                           "evidence": user_turns[s.turn - 1] if valid else "not shown"}
    return {"strategies": strategies, "myths": myths,
            "improvements": [i.model_dump() for i in debrief.improvements]}


# ---- rehearsals ---------------------------------------------------------------------------------


@dataclass
class Line:
    role: Literal["user", "superior"]
    text: str
    at: float = field(default_factory=time.time)


@dataclass
class Rehearsal:
    id: int
    workspace: str
    scenario: str
    difficulty: str
    lines: list[Line]
    scorecard: dict | None = None
    started: float = 0.0
    ended: float | None = None

    def user_turns(self) -> list[str]:
        return [l.text for l in self.lines if l.role == "user"]

    def transcript(self, boss: str = "Boss", numbered: bool = False) -> str:
        out, n = [], 0
        for l in self.lines:
            if l.role == "user":
                n += 1
                out.append(f"You [{n}]: {l.text}" if numbered else f"You: {l.text}")
            else:
                out.append(f"{boss}: {l.text}")
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "workspace": self.workspace, "scenario": self.scenario,
            "difficulty": self.difficulty, "started": self.started, "ended": self.ended,
            "transcript": [asdict(l) for l in self.lines], "scorecard": self.scorecard,
        }

    def as_markdown(self, title: str = "") -> str:
        out = [f"# Rehearsal: {title or self.scenario}", "",
               f"Difficulty: {self.difficulty}. Started {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.started))}.",
               "", "## Transcript", ""]
        out += [f"**{'You' if l.role == 'user' else 'Superior'}:** {l.text}  " for l in self.lines]
        if self.scorecard:
            out += ["", "## Scorecard", ""]
            for key, s in self.scorecard["strategies"].items():
                out.append(f"- {key}: {s['score']}/5 — {s['evidence']}")
            for m in self.scorecard["myths"]:
                out.append(f"- Fell into {m['topic']}: \"{m['quote']}\"")
            out += ["", "Improvements:"] + [f"- {i['advice']} [{i['card']}]" for i in self.scorecard["improvements"]]
        return "\n".join(out) + "\n"


class Rehearsals:
    """Saved rehearsals of one workspace."""

    def __init__(self, db_path: Path, workspace: str) -> None:
        self.db_path = db_path
        self.workspace = workspace

    def start(self, scenario: Scenario, difficulty: str) -> Rehearsal:
        if difficulty not in DIFFICULTIES:
            raise InputError(f"Unknown difficulty {difficulty!r}.", f"Use one of: {', '.join(DIFFICULTIES)}.")
        now = time.time()
        lines = [Line("superior", scenario.opening)] if scenario.opening else []
        with closing(connect(self.db_path)) as db, db:
            cur = db.execute(
                "INSERT INTO rehearsals (workspace, scenario, difficulty, turns, started, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (self.workspace, scenario.name, difficulty, json.dumps([asdict(l) for l in lines]), now, now),
            )
        return Rehearsal(cur.lastrowid, self.workspace, scenario.name, difficulty, lines, None, now)

    def save(self, r: Rehearsal) -> None:
        with closing(connect(self.db_path)) as db, db:
            db.execute(
                "UPDATE rehearsals SET turns = ?, scorecard = ?, updated = ?, ended = ? WHERE id = ? AND workspace = ?",
                (json.dumps([asdict(l) for l in r.lines]), json.dumps(r.scorecard) if r.scorecard else None,
                 time.time(), r.ended, r.id, self.workspace),
            )

    def _row(self, row) -> Rehearsal:
        id_, scenario, difficulty, turns, scorecard, started, ended = row
        return Rehearsal(id_, self.workspace, scenario, difficulty, [Line(**l) for l in json.loads(turns)],
                         json.loads(scorecard) if scorecard else None, started, ended)

    def get(self, rehearsal_id: int) -> Rehearsal:
        with closing(connect(self.db_path)) as db:
            row = db.execute(
                "SELECT id, scenario, difficulty, turns, scorecard, started, ended FROM rehearsals WHERE id = ? AND workspace = ?",
                (rehearsal_id, self.workspace),
            ).fetchone()
        if row is None:
            raise InputError(f"No rehearsal {rehearsal_id} in workspace {self.workspace}.", "See the History page.")
        return self._row(row)

    def list(self) -> list[Rehearsal]:
        with closing(connect(self.db_path)) as db:
            rows = db.execute(
                "SELECT id, scenario, difficulty, turns, scorecard, started, ended FROM rehearsals "
                "WHERE workspace = ? ORDER BY started DESC", (self.workspace,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def unfinished(self) -> Rehearsal | None:
        """The latest rehearsal that has not ended, to pick up after a reload."""
        return next((r for r in self.list() if r.ended is None), None)

    def delete(self, rehearsal_id: int) -> None:
        with closing(connect(self.db_path)) as db, db:
            db.execute("DELETE FROM rehearsals WHERE id = ? AND workspace = ?", (rehearsal_id, self.workspace))


def check_turn(text: str) -> str:
    return check_size(
        (text or "").strip(), MAX_TURN_CHARS,
        empty=("Your turn is empty.", "Type what you would say to your superior."),
        too_long=("That turn is {length} characters; the limit is {limit}.",
                  "Say it the way you would in the room: a few sentences at a time."),
    )


class Coach:
    """Plays the superior, gives hints and scores the debrief for one rehearsal."""

    def __init__(self, model, prompts: dict[str, PromptFile], scenario: Scenario, profile: SuperiorProfile,
                 playbook: str, analyzer=None) -> None:
        self.model = model
        self.analyzer = analyzer
        self.prompts = prompts
        self.scenario = scenario
        self.profile = profile
        self.playbook = playbook

    @property
    def boss(self) -> str:
        return self.profile.name or "their superior"

    def persona(self, difficulty: str) -> SystemMessage:
        return SystemMessage(self.prompts["persona"].render_system(
            name=self.profile.name or "the person's manager",
            role=self.profile.role or "their direct superior",
            profile=fence(self.profile.as_text()),
            difficulty=DIFFICULTIES[difficulty],
            situation=self.scenario.situation.strip(),
            concerns="\n".join(f"- {c}" for c in self.scenario.hidden_concerns),
        ))

    def messages(self, r: Rehearsal) -> list[BaseMessage]:
        """Persona first (stable), then the transcript in order: the prompt only grows at the end."""
        out: list[BaseMessage] = [self.persona(r.difficulty)]
        for line in r.lines:
            out.append(HumanMessage(line.text) if line.role == "user" else AIMessage(line.text))
        if len(out) > 1 and isinstance(out[1], AIMessage):
            # Chat templates expect a user turn first: the opening line follows a stage direction.
            out.insert(1, HumanMessage("(You knock on their door.)"))
        return out

    def reply(self, r: Rehearsal, store: Rehearsals, text: str) -> Iterator[str]:
        """Add the user's turn (saved at once), then stream the superior's reply and save it."""
        if r.ended:
            raise InputError("This rehearsal has ended.", "Start a new one.")
        r.lines.append(Line("user", check_turn(text)))
        store.save(r)
        parts: list[str] = []
        finished = False
        try:
            with model_errors():
                for chunk in self.model.stream(self.messages(r)):
                    if chunk.content:
                        parts.append(chunk.content)
                        yield chunk.content
            finished = True
        finally:
            # Interrupted (the page reran, the server died): keep what was said, marked as cut off.
            if parts or finished:
                reply = "".join(parts).strip() or "…"
                r.lines.append(Line("superior", reply if finished else reply + " …"))
                store.save(r)

    def myths(self, r: Rehearsal) -> list[dict]:
        """The myths in the user's own turns, found by Review's instant analysis, with exact quotes."""
        if self.analyzer is None:
            return []
        found: dict[str, dict] = {}
        for n, text in enumerate(r.user_turns(), 1):
            for myth in self.analyzer.analyze(text, self.profile).myths:
                found.setdefault(myth.topic, {"topic": myth.topic, "quote": myth.span.quote, "turn": n})
        return list(found.values())

    def hint(self, r: Rehearsal, notes: list | None = None) -> str:
        prompt = self.prompts["hint"]
        messages = [
            SystemMessage(prompt.render_system(playbook=self.playbook)),
            HumanMessage(prompt.render_user(
                scenario=self.scenario.situation.strip(), goal=self.scenario.goal.strip(),
                profile=fence(self.profile.as_text()), notes=quote_notes(notes or []),
                transcript=fence(r.transcript(self.boss)) or "(nothing said yet)",
            )),
        ]
        # Small models like to continue a transcript: stop them at the next speaker and keep it short.
        stops = ["\nYou:", "\nYou [", f"\n{self.boss}:", "\nBoss:"]
        with model_errors():
            return str(self.model.bind(stop=stops, max_tokens=160).invoke(messages).content).strip()

    def debrief(self, r: Rehearsal, store: Rehearsals) -> dict:
        """Score the rehearsal, end it and save the scorecard; raise MalformedOutput if unusable."""
        if not any(l.role == "user" for l in r.lines):
            raise InputError("There is nothing to score yet.", "Say at least one thing to your superior first.")
        prompt = self.prompts["debrief"]
        messages = [
            SystemMessage(prompt.render_system(playbook=self.playbook)),
            HumanMessage(prompt.render_user(
                scenario=self.scenario.situation.strip(), goal=self.scenario.goal.strip(),
                transcript=fence(r.transcript(self.boss, numbered=True)),
            )),
        ]
        debrief = structured(self.model, Debrief, messages)
        r.scorecard = scorecard(debrief, r.user_turns(), self.myths(r))
        r.ended = time.time()
        store.save(r)
        return r.scorecard
