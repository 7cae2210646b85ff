"""Workspaces: each has its own notes, profile and conversations, never mixed with another's."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, union

from coach.db import Database, conversations, notes, profiles, rehearsals
from coach.accounts import SEPARATOR, owned_names, storage_key
from coach.errors import InputError
from coach.history import Conversations
from coach.notes import NoteStore
from coach.profile import ProfileStore
from coach.rehearsals import Rehearsals

DEFAULT = "default"
# Chroma collection names must start and end with a letter or digit.
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def check_workspace(name: str | None) -> str:
    """Return a valid workspace name (lowercase letters, digits, hyphens) or raise InputError."""
    name = (name or DEFAULT).strip().lower()
    if not _NAME.match(name) or SEPARATOR in name:  # "--" joins an owner to a workspace in storage keys
        raise InputError(
            f"{name!r} is not a valid workspace name.",
            "Use up to 40 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.",
        )
    return name


def list_workspaces(db: Database | Path | str, owner: str | None = None) -> list[str]:
    """Every workspace of this owner (or, without accounts, of nobody) that holds anything, and the default one."""
    query = union(*(select(t.c.workspace) for t in (conversations, notes, profiles, rehearsals)))
    with Database.of(db).connect() as c:
        keys = set(c.execute(query).scalars())
    return sorted({DEFAULT, *owned_names(keys, owner)})


class Workspace:
    """One person's (or one boss's) private space."""

    def __init__(self, name: str, client, embeddings, db: Database | Path | str, owner: str | None = None) -> None:
        self.name = check_workspace(name)
        self.owner = owner
        self.key = storage_key(self.name, owner)  # what its rows and notes are stored under
        self.notes = NoteStore(client, embeddings, db, self.key)
        self.profile = ProfileStore(db, self.key)
        self.conversations = Conversations(db, self.key)
        self.rehearsals = Rehearsals(db, self.key)
