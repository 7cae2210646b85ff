"""Accounts for a shared deployment (COACH_AUTH=password): users, their bcrypt hashes, and ownership.

Passwords are hashed and checked by streamlit-authenticator (bcrypt); nothing here handles a
password beyond handing it to that library. Every workspace belongs to a user: the database keys a
user's workspace as "USER--NAME", and Runtime.workspace derives that key from the signed-in user,
so one user's name for a workspace can never reach another user's rows, notes or rehearsals.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from coach.db import Database, conversations, notes, profiles, rehearsals, users
from coach.errors import InputError

_USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
MIN_PASSWORD = 8
SEPARATOR = "--"  # between the owner and the workspace in a storage key; never in a username


def check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not _USERNAME.match(username) or SEPARATOR in username:
        raise InputError(f"{username!r} is not a valid user name.",
                         "Use up to 20 lowercase letters, digits and single hyphens.")
    return username


def storage_key(workspace: str, owner: str | None) -> str:
    """The key a workspace's rows and notes are stored under: the name, or "OWNER--NAME" with accounts."""
    return workspace if owner is None else f"{owner}{SEPARATOR}{workspace}"


def owned_names(keys: set[str], owner: str | None) -> set[str]:
    """The workspace names, among storage keys, that belong to owner (or, without accounts, to nobody)."""
    if owner is None:
        return {k for k in keys if SEPARATOR not in k}
    prefix = f"{owner}{SEPARATOR}"
    return {k.removeprefix(prefix) for k in keys if k.startswith(prefix)}


class Accounts:
    """The users of this deployment."""

    def __init__(self, db: Database | Path | str) -> None:
        self.db = Database.of(db)

    def add(self, username: str, name: str, password: str) -> None:
        from streamlit_authenticator import Hasher

        username = check_username(username)
        _check_password(password)
        if self.owns_data(username):
            raise InputError(f"Workspaces of an earlier user called {username} are still stored.",
                             "Choose another name, so that the new person does not see the earlier one's data.")
        try:
            with self.db.begin() as c:
                c.execute(insert(users).values(username=username, name=name.strip() or username,
                                               password_hash=Hasher.hash(password), created=time.time()))
        except IntegrityError:
            raise InputError(f"There is already a user called {username}.",
                             "Choose another name, or change their password with `coach users passwd`.") from None

    def owns_data(self, username: str) -> bool:
        """Whether any workspace is stored under this user name (a removed user's data is kept)."""
        prefix = f"{username}{SEPARATOR}%"
        with self.db.connect() as c:
            return any(c.execute(select(t.c.workspace).where(t.c.workspace.like(prefix)).limit(1)).first()
                       for t in (conversations, notes, profiles, rehearsals))

    def list(self) -> list[tuple[str, str, float]]:
        with self.db.connect() as c:
            return [tuple(r) for r in c.execute(select(users.c.username, users.c.name, users.c.created)
                                                .order_by(users.c.username)).all()]

    def remove(self, username: str) -> None:
        with self.db.begin() as c:
            if not c.execute(delete(users).where(users.c.username == check_username(username))).rowcount:
                raise InputError(f"There is no user called {username}.", "See `coach users list`.")

    def set_password(self, username: str, password: str) -> None:
        from streamlit_authenticator import Hasher

        _check_password(password)
        with self.db.begin() as c:
            done = c.execute(update(users).where(users.c.username == check_username(username))
                             .values(password_hash=Hasher.hash(password), password_changed=time.time())).rowcount
        if not done:
            raise InputError(f"There is no user called {username}.", "See `coach users list`.")

    def password_changed(self, username: str) -> float | None:
        """When the user's password was last changed (None: never); sessions signed in before then end."""
        with self.db.connect() as c:
            return c.execute(select(users.c.password_changed).where(users.c.username == username)).scalar()

    def verify(self, username: str, password: str) -> bool:
        from streamlit_authenticator import Hasher

        with self.db.connect() as c:
            hashed = c.execute(select(users.c.password_hash).where(users.c.username == username)).scalar()
        return bool(hashed) and Hasher.check_pw(password, hashed)

    def credentials(self) -> dict:
        """The users in the shape streamlit-authenticator reads (hashes only)."""
        with self.db.connect() as c:
            rows = c.execute(select(users.c.username, users.c.name, users.c.password_hash)).all()
        return {"usernames": {u: {"name": n, "password": h, "email": f"{u}@upward.local",
                                  "failed_login_attempts": 0, "logged_in": False} for u, n, h in rows}}


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"The password is too short; use at least {MIN_PASSWORD} characters.",
                         "A passphrase of a few words is easy to remember and hard to guess.")
