"""The app's rows (chats, notes, profiles, rehearsals, accounts) in SQLite or Postgres, through SQLAlchemy.

SQLite under the data directory is the default; `COACH_DATABASE_URL=postgresql+psycopg://…` puts
them in Postgres, which several app replicas can share. The schema is versioned with Alembic
(coach/migrations): `coach db upgrade` applies pending migrations, and every start applies them
too, under a lock, so two starts at once never both migrate. A data directory made by a version
before Alembic (SQLite, versioned with `PRAGMA user_version`) is recognised and upgraded in place.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Column, Engine, Float, ForeignKey, Index, Integer, MetaData, Table, Text, UniqueConstraint, create_engine,
    event, text,
)

MIGRATIONS = Path(__file__).parent / "migrations"
metadata = MetaData()

conversations = Table(
    "conversations", metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace", Text, nullable=False, server_default="default"),
    Column("title", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Index("conversations_workspace", "workspace", "updated"),
)
turns = Table(
    "turns", metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("question", Text, nullable=False),
    Column("prompt", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("sources", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("mode", Text, nullable=False, server_default="ask"),
    Column("payload", Text),
)
notes = Table(
    "notes", metadata,
    Column("id", Text, primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("created", Float, nullable=False),
    UniqueConstraint("workspace", "name"),
)
profiles = Table(
    "profiles", metadata,
    Column("workspace", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated", Float, nullable=False),
)
rehearsals = Table(
    "rehearsals", metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("scenario", Text, nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("turns", Text, nullable=False),
    Column("scorecard", Text),
    Column("started", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("ended", Float),
    Column("scenario_data", Text),
    Index("rehearsals_workspace", "workspace", "updated"),
)
users = Table(
    "users", metadata,
    Column("username", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("password_changed", Float),  # sessions signed in before it are ended
)

# Legacy SQLite data directories numbered their schema with PRAGMA user_version; each number is
# the Alembic revision that produced the same tables.
LEGACY = {1: "0001", 2: "0002", 3: "0003", 4: "0004"}
_lock = threading.Lock()


class Database:
    """One database, opened once per URL and brought up to the current schema when first opened."""

    _open: dict[str, "Database"] = {}

    def __init__(self, url: str) -> None:
        self.url = url
        self.migrated: tuple[str | None, str | None] = (None, None)  # (before, after) when first opened
        sqlite = url.startswith("sqlite")
        self.engine: Engine = create_engine(
            url, future=True,
            connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {},
            pool_pre_ping=not sqlite,
        )
        if sqlite:
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi, _record) -> None:
                cursor = dbapi.cursor()
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.close()

    @classmethod
    def of(cls, where: "Database | Path | str") -> "Database":
        """The database at a SQLite path or a URL (or the one given), migrated to the current schema."""
        if isinstance(where, Database):
            return where
        url = str(where) if "://" in str(where) else f"sqlite:///{Path(where)}"
        with _lock:
            if url not in cls._open:
                if url.startswith("sqlite:///"):
                    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                db = cls(url)
                db.migrated = db.upgrade()
                cls._open[url] = db
            return cls._open[url]

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def begin(self):
        """A transaction: committed when the block ends, rolled back if it raises."""
        return self.engine.begin()

    def connect(self):
        return self.engine.connect()

    @contextmanager
    def _migration_lock(self):
        """Only one process migrates at a time: a file lock for SQLite, an advisory lock for Postgres."""
        if self.is_sqlite:
            path = Path(self.url.removeprefix("sqlite:///") + ".migrate-lock")
            with path.open("w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield None
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(738925117)"))
                try:
                    yield conn
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(738925117)"))
                    conn.commit()

    def revision(self) -> str | None:
        """The schema's Alembic revision, or None for an empty database."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply pending migrations; return (revision before, revision after)."""
        from alembic import command
        from alembic.config import Config

        with self._migration_lock():
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                before = self._legacy_stamp(config, conn)
                command.upgrade(config, "head")
            return before, self.revision()

    def _legacy_stamp(self, config, conn) -> str | None:
        """Stamp a pre-Alembic SQLite data directory with the revision matching its user_version."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None or not self.is_sqlite:
            return current
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
        if version in LEGACY:
            command.stamp(config, LEGACY[version])
            return LEGACY[version]
        return None


def connect(path: Path) -> sqlite3.Connection:
    """Open a SQLite file brought to the current schema, as a plain sqlite3 connection (tests, tools)."""
    Database.of(path)
    db = sqlite3.connect(path, timeout=10, check_same_thread=False)
    db.execute("PRAGMA foreign_keys = ON")
    return db
