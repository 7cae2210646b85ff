"""A profile of the user's superior, one per workspace, used by every mode."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from coach.db import Database, profiles
from coach.errors import InputError

MAX_FIELD_CHARS = 2_000


class SuperiorProfile(BaseModel):
    """What the user knows about their boss; every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field("", description="Their name")
    role: str = Field("", description="Their role or title")
    goals: str = Field("", description="Their goals and pressures this quarter")
    update_channel: str = Field("", description="How they like to be updated: channel (email, chat, 1:1)")
    update_cadence: str = Field("", description="How often they want updates")
    update_detail: str = Field("", description="Level of detail they want (headline, bullets, full detail)")
    decision_style: str = Field("", description="How they make decisions")
    annoyances: str = Field("", description="What annoys them")
    values: str = Field("", description="What they value")
    anything_else: str = Field("", description="Anything else")

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())

    def as_text(self) -> str:
        """Render the filled fields as lines for a prompt, or say nothing is known."""
        lines = [
            f"- {field.description}: {value}"
            for name, field in type(self).model_fields.items()
            if (value := getattr(self, name))
        ]
        return "\n".join(lines) if lines else "(nothing recorded yet)"


FIELDS = tuple(SuperiorProfile.model_fields)


class ProfileStore:
    """Load and save one workspace's profile."""

    def __init__(self, db: Database | Path | str, workspace: str) -> None:
        self.db = Database.of(db)
        self.workspace = workspace

    def load(self) -> SuperiorProfile:
        with self.db.connect() as c:
            row = c.execute(select(profiles.c.data).where(profiles.c.workspace == self.workspace)).first()
        if not row:
            return SuperiorProfile()
        data = json.loads(row[0])
        # Fields a later version dropped are ignored, not fatal.
        return SuperiorProfile(**{k: v for k, v in data.items() if k in FIELDS})

    def save(self, profile: SuperiorProfile) -> None:
        for name, value in profile.model_dump().items():
            if len(value) > MAX_FIELD_CHARS:
                raise InputError(
                    f"The profile field '{name}' is {len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}.",
                    "Keep each field to the essentials; put longer material in a note.",
                )
        dialect = postgresql if not self.db.is_sqlite else sqlite
        values = {"workspace": self.workspace, "data": profile.model_dump_json(), "updated": time.time()}
        upsert = dialect.insert(profiles).values(**values)
        upsert = upsert.on_conflict_do_update(index_elements=["workspace"],
                                              set_={"data": upsert.excluded.data, "updated": upsert.excluded.updated})
        with self.db.begin() as c:
            c.execute(upsert)

    def clear(self) -> None:
        with self.db.begin() as c:
            c.execute(delete(profiles).where(profiles.c.workspace == self.workspace))

    def set(self, field: str, value: str) -> SuperiorProfile:
        """Set one field and save; raise InputError naming the fields if it is unknown."""
        if field not in FIELDS:
            raise InputError(f"Unknown profile field {field!r}.", f"Use one of: {', '.join(FIELDS)}.")
        profile = self.load().model_copy(update={field: value.strip()})
        self.save(profile)
        return profile
