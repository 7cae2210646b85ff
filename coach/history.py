"""Chat conversations, saved in the database, so a chat survives a reload."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from coach.ask import Turn
from coach.db import Database, conversations, turns
from coach.errors import InputError
from coach.store import Hit


class Conversations:
    """Load and append chat turns, one workspace at a time."""

    def __init__(self, db: Database | Path | str, workspace: str = "default") -> None:
        self.db = Database.of(db)
        self.workspace = workspace

    def _mine(self, conversation_id: int):
        return and_(conversations.c.id == conversation_id, conversations.c.workspace == self.workspace)

    def latest(self) -> int | None:
        """Return the id of the most recently updated conversation, if any."""
        with self.db.connect() as c:
            return c.execute(
                select(conversations.c.id).where(conversations.c.workspace == self.workspace)
                .order_by(conversations.c.updated.desc(), conversations.c.id.desc()).limit(1)
            ).scalar()

    def list(self) -> list[tuple[int, str, float]]:
        """(id, title, created) of every conversation, oldest first."""
        with self.db.connect() as c:
            rows = c.execute(
                select(conversations.c.id, conversations.c.title, conversations.c.created)
                .where(conversations.c.workspace == self.workspace)
                .order_by(conversations.c.created, conversations.c.id)
            ).all()
        return [tuple(r) for r in rows]

    def start(self, title: str, created: float | None = None) -> int:
        """Start a conversation (created: when it began, for an imported one)."""
        now = time.time()
        with self.db.begin() as c:
            return c.execute(
                insert(conversations).values(workspace=self.workspace, title=title[:80], created=created or now,
                                             updated=now).returning(conversations.c.id)
            ).scalar_one()

    def turns(self, conversation_id: int) -> list[Turn]:
        with self.db.connect() as c:
            rows = c.execute(
                select(turns.c.question, turns.c.prompt, turns.c.answer, turns.c.sources, turns.c.mode,
                       turns.c.payload)
                .join(conversations, conversations.c.id == turns.c.conversation_id)
                .where(self._mine(conversation_id)).order_by(turns.c.seq)
            ).all()
        return [
            Turn(question=q, prompt=p, answer=a, sources=[Hit(**h) for h in json.loads(s)], mode=m,
                 payload=json.loads(data) if data else None)
            for q, p, a, s, m, data in rows
        ]

    def append(self, conversation_id: int, turn: Turn) -> int:
        """Save a finished turn in one transaction; return its number in the conversation.

        Two writers at once (two tabs, two app replicas) may pick the same number: the loser waits a
        moment (random, so two losers do not collide again in step) and tries again.
        """
        attempts = 20
        for attempt in range(attempts):
            try:
                return self._append(conversation_id, turn)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise AssertionError("unreachable")

    def _append(self, conversation_id: int, turn: Turn) -> int:
        now = time.time()
        with self.db.begin() as c:
            # Locks the conversation's row (Postgres), so appends to one chat take turns.
            mine = c.execute(select(conversations.c.id).where(self._mine(conversation_id)).with_for_update()).first()
            if mine is None:
                raise InputError("That conversation is not in this workspace.", "Start a new chat.")
            seq = (c.execute(select(func.max(turns.c.seq)).where(turns.c.conversation_id == conversation_id))
                   .scalar() or 0) + 1
            c.execute(insert(turns).values(
                conversation_id=conversation_id, seq=seq, question=turn.question, prompt=turn.prompt,
                answer=turn.answer, sources=json.dumps([h.as_dict() for h in turn.sources]), created=now,
                mode=turn.mode, payload=json.dumps(turn.payload) if turn.payload is not None else None,
            ))
            c.execute(update(conversations).where(conversations.c.id == conversation_id).values(updated=now))
        return seq

    def update(self, conversation_id: int, seq: int, turn: Turn) -> None:
        """Replace a saved turn's reply (a rehearsal that moved on, a message re-run in another mode)."""
        with self.db.begin() as c:
            if not c.execute(select(exists().where(self._mine(conversation_id)))).scalar():
                return
            c.execute(update(turns).where(turns.c.conversation_id == conversation_id, turns.c.seq == seq).values(
                prompt=turn.prompt, answer=turn.answer, sources=json.dumps([h.as_dict() for h in turn.sources]),
                mode=turn.mode, payload=json.dumps(turn.payload) if turn.payload is not None else None,
            ))

    def delete(self, conversation_id: int) -> None:
        with self.db.begin() as c:
            if c.execute(select(exists().where(self._mine(conversation_id)))).scalar():
                c.execute(delete(turns).where(turns.c.conversation_id == conversation_id))
                c.execute(delete(conversations).where(conversations.c.id == conversation_id))
