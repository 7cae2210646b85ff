"""Move a workspace to another machine: `coach export` writes one zip, `coach import` reads it back.

The zip holds plain JSON: the notes with their original text, the profile, the chats (every turn
with its mode and result) and the rehearsals with their scorecards and scenarios. Embeddings are
not carried: notes are embedded again on import, so they are retrievable at once. An import goes
only into an empty workspace and is all or nothing: anything damaged, foreign or too large is
refused before a single row is written, and a failure half-way removes what was imported.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coach.ask import Turn
from coach.errors import InputError
from coach.profile import SuperiorProfile
from coach.rehearsals import Line, Rehearsal
from coach.store import Hit
from coach.workspace import Workspace

FORMAT = "upward-workspace"
VERSION = 1
MAX_ZIP_BYTES = 200 * 2**20
MAX_MEMBER_BYTES = 100 * 2**20


class NoteData(BaseModel):
    name: str
    text: str
    created: float = 0.0


class TurnData(BaseModel):
    question: str
    prompt: str = ""
    answer: str = ""
    sources: list[dict] = Field(default_factory=list)
    mode: Literal["ask", "review", "rehearse"] = "ask"
    payload: dict | None = None


class ConversationData(BaseModel):
    title: str
    created: float = 0.0
    turns: list[TurnData]


class RehearsalData(BaseModel):
    scenario: str
    difficulty: str
    lines: list[dict]
    scorecard: dict | None = None
    started: float = 0.0
    ended: float | None = None
    scenario_data: dict | None = None


class Bundle(BaseModel):
    """Everything in one workspace, as exported."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["upward-workspace"]
    version: int
    workspace: str
    exported: float
    profile: SuperiorProfile
    notes: list[NoteData]
    conversations: list[ConversationData]
    rehearsals: list[RehearsalData]


def bundle(space: Workspace) -> Bundle:
    """Read a workspace into a Bundle."""
    conversations = []
    for conversation_id, title, created in space.conversations.list():
        turns = [TurnData(question=t.question, prompt=t.prompt, answer=t.answer,
                          sources=[h.as_dict() for h in t.sources], mode=t.mode, payload=t.payload)
                 for t in space.conversations.turns(conversation_id)]
        conversations.append(ConversationData(title=title, created=created, turns=turns))
    rehearsals = [RehearsalData(scenario=r.scenario, difficulty=r.difficulty, lines=[vars(l) for l in r.lines],
                                scorecard=r.scorecard, started=r.started, ended=r.ended, scenario_data=r.scenario_data)
                  for r in reversed(space.rehearsals.list())]
    notes = [NoteData(name=n.name, text=space.notes.text(n.id), created=n.created) for n in reversed(space.notes.list())]
    return Bundle(format=FORMAT, version=VERSION, workspace=space.name, exported=time.time(),
                  profile=space.profile.load(), notes=notes, conversations=conversations, rehearsals=rehearsals)


def export_zip(space: Workspace) -> bytes:
    """The workspace as zip bytes: workspace.json inside."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("workspace.json", bundle(space).model_dump_json(indent=1))
    return out.getvalue()


def read_zip(data: bytes) -> Bundle:
    """Validate an exported zip completely; raise InputError saying what is wrong with it."""
    hint = "Export it again from Upward (`coach export` or the sidebar) and import that file."
    if len(data) > MAX_ZIP_BYTES:
        raise InputError(f"The file is {len(data) / 2**20:,.0f} MB; the limit is {MAX_ZIP_BYTES // 2**20} MB.", hint)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("workspace.json")
            if info.file_size > MAX_MEMBER_BYTES:
                raise InputError("The workspace file inside the zip is too large.", hint)
            raw = z.read(info)
    except (zipfile.BadZipFile, EOFError):
        raise InputError("This is not a zip file, or it is damaged.", hint) from None
    except KeyError:
        raise InputError("This zip is not an Upward export: it has no workspace.json.", hint) from None
    try:
        found = json.loads(raw)
        if not isinstance(found, dict) or found.get("format") != FORMAT:
            raise InputError("This zip is not an Upward workspace export.", hint)
        if found.get("version") != VERSION:
            raise InputError(f"This export has format version {found.get('version')}; this Upward reads {VERSION}.",
                             "Import it with the same version of Upward that exported it.")
        return Bundle.model_validate(found)
    except (ValueError, ValidationError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("The export is damaged: its workspace.json does not match the format.", hint) from None


def is_empty(space: Workspace) -> bool:
    return not (space.notes.list() or space.conversations.list() or space.rehearsals.list()
                or not space.profile.load().is_empty())


def import_bundle(b: Bundle, space: Workspace, progress=None) -> dict:
    """Write a bundle into an empty workspace; all or nothing. Returns what was imported."""
    from coach.notes import check_text

    if not is_empty(space):
        raise InputError(f"Workspace {space.name} already has data.",
                         "Import into a new workspace name; nothing was changed.")
    for note in b.notes:  # every note checked before anything is written
        check_text(note.text, note.name)
    added = Added()
    try:
        for n, note in enumerate(b.notes, 1):
            added.notes.append(space.notes.add(note.name, note.text).id)
            if progress:
                progress(n / max(len(b.notes), 1), f"Embedding note {n} of {len(b.notes)}")
        if not b.profile.is_empty():
            space.profile.save(b.profile)
            added.profile = b.profile
        for c in b.conversations:
            conversation_id = space.conversations.start(c.title, c.created or None)
            added.conversations.append(conversation_id)
            for t in c.turns:
                space.conversations.append(conversation_id, Turn(t.question, t.prompt, t.answer,
                                                                 [Hit(**h) for h in t.sources], t.mode, t.payload))
        for r in b.rehearsals:
            added.rehearsals.append(space.rehearsals.insert(Rehearsal(
                0, space.name, r.scenario, r.difficulty, [Line(**l) for l in r.lines], r.scorecard, r.started,
                r.ended, r.scenario_data)))
    except BaseException:
        added.undo(space)
        raise
    return {"notes": len(b.notes), "conversations": len(b.conversations), "rehearsals": len(b.rehearsals),
            "profile": not b.profile.is_empty()}


@dataclass
class Added:
    """What an import has written so far, so that a failure takes back exactly that.

    Only the import's own items are deleted: a note, chat or rehearsal written into the same workspace
    meanwhile (another tab, the same person's CLI) stays, and so does a profile saved over the imported
    one.
    """

    notes: list[str] = field(default_factory=list)
    conversations: list[int] = field(default_factory=list)
    rehearsals: list[int] = field(default_factory=list)
    profile: SuperiorProfile | None = None

    def undo(self, space: Workspace) -> None:
        for delete, ids in ((space.notes.delete, self.notes), (space.conversations.delete, self.conversations),
                            (space.rehearsals.delete, self.rehearsals)):
            for item in ids:
                # Already deleted (by the person, in another tab), or the store failing as the import
                # did: take back the rest, and let the import's own error be the one reported.
                with suppress(Exception):
                    delete(item)
        if self.profile is not None and space.profile.load() == self.profile:
            space.profile.clear()
