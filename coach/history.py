"""Conversations saved in SQLite under the data directory, so a chat survives a reload."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from coach.ask import Turn
from coach.db import connect
from coach.errors import InputError
from coach.store import Hit


class Conversations:
    """Load and append chat turns, one workspace at a time."""

    def __init__(self, path: Path, workspace: str = "default") -> None:
        self.path = path
        self.workspace = workspace

    def _db(self) -> "sqlite3.Connection":
        return connect(self.path)

    def latest(self) -> int | None:
        """Return the id of the most recently updated conversation, if any."""
        with closing(self._db()) as db:
            row = db.execute(
                "SELECT id FROM conversations WHERE workspace = ? ORDER BY updated DESC, id DESC LIMIT 1",
                (self.workspace,),
            ).fetchone()
        return row[0] if row else None

    def list(self) -> list[tuple[int, str, float]]:
        """(id, title, created) of every conversation, oldest first."""
        with closing(self._db()) as db:
            return [tuple(r) for r in db.execute(
                "SELECT id, title, created FROM conversations WHERE workspace = ? ORDER BY created, id",
                (self.workspace,),
            ).fetchall()]

    def start(self, title: str, created: float | None = None) -> int:
        """Start a conversation (created: when it began, for an imported one)."""
        now = time.time()
        with closing(self._db()) as db, db:
            cur = db.execute(
                "INSERT INTO conversations (workspace, title, created, updated) VALUES (?, ?, ?, ?)",
                (self.workspace, title[:80], created or now, now),
            )
            return cur.lastrowid

    def turns(self, conversation_id: int) -> list[Turn]:
        with closing(self._db()) as db:
            rows = db.execute(
                "SELECT t.question, t.prompt, t.answer, t.sources, t.mode, t.payload FROM turns t "
                "JOIN conversations c ON c.id = t.conversation_id "
                "WHERE t.conversation_id = ? AND c.workspace = ? ORDER BY t.seq",
                (conversation_id, self.workspace),
            ).fetchall()
        return [
            Turn(question=q, prompt=p, answer=a, sources=[Hit(**h) for h in json.loads(s)], mode=m,
                 payload=json.loads(data) if data else None)
            for q, p, a, s, m, data in rows
        ]

    def append(self, conversation_id: int, turn: Turn) -> int:
        """Save a finished turn in one transaction; return its number in the conversation."""
        now = time.time()
        sources = json.dumps([h.as_dict() for h in turn.sources])
        payload = json.dumps(turn.payload) if turn.payload is not None else None
        with closing(self._db()) as db, db:
            # One statement picks the next number and checks the conversation is this workspace's.
            inserted = db.execute(
                "INSERT INTO turns (conversation_id, seq, question, prompt, answer, sources, created, mode, payload) "
                "SELECT ?, COALESCE((SELECT MAX(seq) FROM turns WHERE conversation_id = ?), 0) + 1, "
                "?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ? AND workspace = ?)",
                (conversation_id, conversation_id, turn.question, turn.prompt, turn.answer, sources, now,
                 turn.mode, payload, conversation_id, self.workspace),
            ).rowcount
            if not inserted:
                raise InputError("That conversation is not in this workspace.", "Start a new chat.")
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            return db.execute("SELECT MAX(seq) FROM turns WHERE conversation_id = ?", (conversation_id,)).fetchone()[0]

    def update(self, conversation_id: int, seq: int, turn: Turn) -> None:
        """Replace a saved turn's reply (a rehearsal that moved on, a message re-run in another mode)."""
        with closing(self._db()) as db, db:
            db.execute(
                "UPDATE turns SET prompt = ?, answer = ?, sources = ?, mode = ?, payload = ? "
                "WHERE conversation_id = ? AND seq = ? AND EXISTS "
                "(SELECT 1 FROM conversations WHERE id = ? AND workspace = ?)",
                (turn.prompt, turn.answer, json.dumps([h.as_dict() for h in turn.sources]), turn.mode,
                 json.dumps(turn.payload) if turn.payload is not None else None,
                 conversation_id, seq, conversation_id, self.workspace),
            )

    def delete(self, conversation_id: int) -> None:
        with closing(self._db()) as db, db:
            db.execute(
                "DELETE FROM conversations WHERE id = ? AND workspace = ?",
                (conversation_id, self.workspace),
            )
