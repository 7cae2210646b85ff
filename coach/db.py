"""The local SQLite database: conversations, notes, profiles; versioned schema with migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Each entry migrates the database one version forward. Never edit a shipped entry; append one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL DEFAULT 'default',
        title TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE turns (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        question TEXT NOT NULL,
        prompt TEXT NOT NULL,
        answer TEXT NOT NULL,
        sources TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    );
    """,
    """
    CREATE TABLE notes (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        parts INTEGER NOT NULL,
        created REAL NOT NULL,
        UNIQUE (workspace, name)
    );
    CREATE TABLE profiles (
        workspace TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX conversations_workspace ON conversations (workspace, updated);
    """,
    """
    CREATE TABLE rehearsals (
        id INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        scenario TEXT NOT NULL,
        difficulty TEXT NOT NULL,
        turns TEXT NOT NULL,
        scorecard TEXT,
        started REAL NOT NULL,
        updated REAL NOT NULL,
        ended REAL
    );
    CREATE INDEX rehearsals_workspace ON rehearsals (workspace, updated);
    """,
    # The coach chat routes messages: a turn is an answer, a review or a rehearsal, with its result;
    # a rehearsal started from the chat keeps the scenario it was built from.
    """
    ALTER TABLE turns ADD COLUMN mode TEXT NOT NULL DEFAULT 'ask';
    ALTER TABLE turns ADD COLUMN payload TEXT;
    ALTER TABLE rehearsals ADD COLUMN scenario_data TEXT;
    """,
]


def connect(path: Path) -> sqlite3.Connection:
    """Open the database, creating or migrating it to the current schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=10, check_same_thread=False)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    if db.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        _migrate(path)
    return db


def _migrate(path: Path) -> None:
    """Apply pending migrations in one write transaction, reading the version under the lock,
    so two first starts at once (two tabs, the app and the CLI) cannot both apply one."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for n, script in enumerate(MIGRATIONS[version:], version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {n}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()
