"""Saved rehearsals: the transcript, the scenario as played, and the scorecard, one workspace at a time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from dataclasses import asdict, dataclass, field
from typing import Literal

from sqlalchemy import delete, insert, select, update

from coach.db import Database
from coach.db import rehearsals as table
from coach.errors import InputError, check_size
from coach.scenarios import Scenario

MAX_TURN_CHARS = 2_000
DIFFICULTIES: dict[str, str] = {
    "cooperative": "You are open and supportive, and agree once most of what is on your mind is settled.",
    "busy": "You are pressed for time and distracted; you want the point and the ask in the first sentence, "
            "and you cut long explanations short.",
    "sceptical": "You doubt claims without evidence; you ask for numbers, examples and what was tried already.",
    "defensive": "You take problems as criticism of you at first; you soften only when the person stays calm, "
                 "specific and focused on solutions rather than blame.",
}


@dataclass
class Line:
    role: Literal["user", "superior"]
    text: str
    at: float = field(default_factory=time.time)
    checked: str = ""  # for the superior: what the concession check did to this line, if anything


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
    scenario_data: dict | None = None  # the scenario as it was played (chat-built ones have no file)

    def scenario_model(self) -> Scenario | None:
        return Scenario(**{**self.scenario_data, "name": self.scenario}) if self.scenario_data else None

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
        from coach.present import scorecard_markdown

        out = [f"# Rehearsal: {title or self.scenario}", "",
               f"Difficulty: {self.difficulty}. Started {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.started))}.",
               "", "## Transcript", ""]
        out += [f"**{'You' if l.role == 'user' else 'Superior'}:** {l.text}  " for l in self.lines]
        if self.scorecard:
            out += ["", "## Scorecard", "", scorecard_markdown(self.scorecard)]
        return "\n".join(out) + "\n"


class Rehearsals:
    """Saved rehearsals of one workspace."""

    def __init__(self, db: Database | Path | str, workspace: str) -> None:
        self.db = Database.of(db)
        self.workspace = workspace

    def _mine(self, rehearsal_id: int | None = None):
        where = [table.c.workspace == self.workspace]
        if rehearsal_id is not None:
            where.append(table.c.id == rehearsal_id)
        return where

    def start(self, scenario: Scenario, difficulty: str) -> Rehearsal:
        if difficulty not in DIFFICULTIES:
            raise InputError(f"Unknown difficulty {difficulty!r}.", f"Use one of: {', '.join(DIFFICULTIES)}.")
        now = time.time()
        lines = [Line("superior", scenario.opening)] if scenario.opening else []
        data = scenario.model_dump(exclude={"name"})
        with self.db.begin() as c:
            new_id = c.execute(insert(table).values(
                workspace=self.workspace, scenario=scenario.name, difficulty=difficulty,
                turns=json.dumps([asdict(l) for l in lines]), started=now, updated=now, scenario_data=json.dumps(data),
            ).returning(table.c.id)).scalar_one()
        return Rehearsal(new_id, self.workspace, scenario.name, difficulty, lines, None, now, None, data)

    def insert(self, r: Rehearsal) -> int:
        """Store a whole rehearsal as it was (an import); return its new id."""
        with self.db.begin() as c:
            return c.execute(insert(table).values(
                workspace=self.workspace, scenario=r.scenario, difficulty=r.difficulty,
                turns=json.dumps([asdict(l) for l in r.lines]), scorecard=json.dumps(r.scorecard) if r.scorecard else None,
                started=r.started, updated=time.time(), ended=r.ended,
                scenario_data=json.dumps(r.scenario_data) if r.scenario_data else None,
            ).returning(table.c.id)).scalar_one()

    def save(self, r: Rehearsal) -> None:
        with self.db.begin() as c:
            c.execute(update(table).where(*self._mine(r.id)).values(
                turns=json.dumps([asdict(l) for l in r.lines]), scorecard=json.dumps(r.scorecard) if r.scorecard else None,
                updated=time.time(), ended=r.ended,
            ))

    _COLUMNS = (table.c.id, table.c.scenario, table.c.difficulty, table.c.turns, table.c.scorecard, table.c.started,
                table.c.ended, table.c.scenario_data)

    def _row(self, row) -> Rehearsal:
        id_, scenario, difficulty, turns, card, started, ended, data = row
        return Rehearsal(id_, self.workspace, scenario, difficulty, [Line(**l) for l in json.loads(turns)],
                         json.loads(card) if card else None, started, ended, json.loads(data) if data else None)

    def get(self, rehearsal_id: int) -> Rehearsal:
        with self.db.connect() as c:
            row = c.execute(select(*self._COLUMNS).where(*self._mine(rehearsal_id))).first()
        if row is None:
            raise InputError(f"No rehearsal {rehearsal_id} in workspace {self.workspace}.", "See the History page.")
        return self._row(row)

    def list(self) -> list[Rehearsal]:
        with self.db.connect() as c:
            rows = c.execute(select(*self._COLUMNS).where(*self._mine()).order_by(table.c.started.desc())).all()
        return [self._row(r) for r in rows]

    def unfinished(self) -> Rehearsal | None:
        """The latest rehearsal that has not ended, to pick up after a reload."""
        return next((r for r in self.list() if r.ended is None), None)

    def delete(self, rehearsal_id: int) -> None:
        with self.db.begin() as c:
            c.execute(delete(table).where(*self._mine(rehearsal_id)))


def check_turn(text: str) -> str:
    return check_size(
        (text or "").strip(), MAX_TURN_CHARS,
        empty=("Your turn is empty.", "Type what you would say to your superior."),
        too_long=("That turn is {length} characters; the limit is {limit}.",
                  "Say it the way you would in the room: a few sentences at a time."),
    )
