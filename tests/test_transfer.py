"""Export and import a workspace: nothing lost, retrievable at once, and nothing half-imported."""

import io
import json
import zipfile

import pytest

from coach.ask import Turn
from coach.errors import InputError
from coach.profile import SuperiorProfile
from coach.rehearsals import Line
from coach.runtime import Runtime
from coach.transfer import bundle, export_zip, import_bundle, is_empty, read_zip
from tests.fakes import RecordingChatModel
from tests.test_cli import coach


@pytest.fixture
def rt(settings):
    with Runtime(settings, model=RecordingChatModel()) as rt:
        yield rt


def fill(rt, name="default"):
    space = rt.workspace(name)
    space.notes.add("dana.md", "Dana wants three bullets and a clear ask. She hates surprises on Fridays.")
    space.notes.add("q3.txt", "The Q3 goal is churn under 2% before the renewal season.")
    space.profile.save(SuperiorProfile(name="Dana", goals="churn under 2%"))
    chat = space.conversations.start("How do I tell Dana?")
    space.conversations.append(chat, Turn("How do I tell Dana?", "prompt as sent", "- Tell her early. [1]", []))
    space.conversations.append(chat, Turn("Hi Dana, sorry…", "", "This draft falls into…", [], "review",
                                          {"text": "Hi Dana, sorry…", "findings": []}))
    space.conversations.append(chat, Turn("And if she is angry?", "p", "- Stay calm …", [], "ask", {"interrupted": True}))
    r = space.rehearsals.start(rt.scenario("bad-news"), "sceptical")
    r.lines.append(Line("user", "I found a mistake in the Norland report this morning."))
    r.scorecard = {"strategies": {}, "myths": [], "outcome": "open", "concerns": []}
    r.ended = r.started + 10
    space.rehearsals.save(r)
    return space


def comparable(b):
    data = b.model_dump(exclude={"workspace", "exported"})
    for n in data["notes"]:
        n.pop("created")
    return data


def test_a_round_trip_keeps_everything_and_the_notes_are_retrievable_at_once(rt):
    source = fill(rt)
    imported = import_bundle(read_zip(export_zip(source)), rt.workspace("copy"))
    assert imported == {"notes": 2, "conversations": 1, "rehearsals": 1, "profile": True}
    assert comparable(bundle(rt.workspace("copy"))) == comparable(bundle(source))
    hits = rt.workspace("copy").notes.search("what is the churn goal this quarter", k=1)
    assert hits and "churn under 2%" in hits[0].text


@pytest.mark.parametrize("data, message", [
    (b"not a zip at all", "not a zip file"),
    (None, "no workspace.json"),
    ("foreign", "not an Upward workspace export"),
    ("version", "format version 99"),
    ("damaged", "does not match the format"),
])
def test_a_damaged_or_foreign_zip_is_refused_and_imports_nothing(rt, data, message):
    good = json.loads(zipfile.ZipFile(io.BytesIO(export_zip(fill(rt)))).read("workspace.json"))
    if not isinstance(data, bytes):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            if data == "foreign":
                z.writestr("workspace.json", json.dumps({"some": "other app"}))
            elif data == "version":
                z.writestr("workspace.json", json.dumps({**good, "version": 99}))
            elif data == "damaged":
                z.writestr("workspace.json", json.dumps({**good, "notes": [{"title": "no name or text"}]}))
            else:
                z.writestr("readme.txt", "hello")
        data = out.getvalue()
    with pytest.raises(InputError, match=message):
        import_bundle(read_zip(data), rt.workspace("target"))
    assert is_empty(rt.workspace("target"))


def test_an_import_never_mixes_into_a_workspace_with_data(rt):
    b = read_zip(export_zip(fill(rt)))
    rt.workspace("busy").notes.add("mine.md", "My own note.")
    with pytest.raises(InputError, match="already has data"):
        import_bundle(b, rt.workspace("busy"))
    assert [n.name for n in rt.workspace("busy").notes.list()] == ["mine.md"]


def test_a_failure_half_way_leaves_the_workspace_empty(rt, monkeypatch):
    b = read_zip(export_zip(fill(rt)))
    target = rt.workspace("target")
    calls = []

    def fails_on_the_conversations(conversation_id, turn):
        calls.append(turn)
        raise OSError("disk full")

    monkeypatch.setattr(target.conversations, "append", fails_on_the_conversations)
    with pytest.raises(OSError):
        import_bundle(b, target)
    assert calls and is_empty(target) and target.notes.search("churn", k=1) == []


def test_a_failure_half_way_takes_back_only_what_the_import_wrote(rt, monkeypatch):
    """The person's own writes into the same workspace while it imports (another tab) are kept."""
    b = read_zip(export_zip(fill(rt)))
    target = rt.workspace("target")
    append = target.conversations.append

    def meanwhile_then_fail(conversation_id, turn):
        target.notes.add("written-meanwhile.md", "Dana prefers a call before noon.")
        append(target.conversations.start("Asked meanwhile"), Turn("Asked meanwhile", "", "- Call her. [1]", []))
        target.profile.set("name", "Dana Meanwhile")
        raise OSError("disk full")

    monkeypatch.setattr(target.conversations, "append", meanwhile_then_fail)
    with pytest.raises(OSError):
        import_bundle(b, target)
    assert [n.name for n in target.notes.list()] == ["written-meanwhile.md"]
    assert [title for _, title, _ in target.conversations.list()] == ["Asked meanwhile"]
    assert target.profile.load().name == "Dana Meanwhile" and target.rehearsals.list() == []
    assert [h.title for h in target.notes.search("churn under 2%", k=5)] == ["written-meanwhile.md"]


def test_cli_export_then_import(tmp_path):
    env = {"COACH_DATA_DIR": str(tmp_path / "data")}
    note = tmp_path / "dana.md"
    note.write_text("Dana wants three bullets and a clear ask.")
    assert coach("notes", "add", str(note), env=env).returncode == 0
    out = tmp_path / "w.zip"
    result = coach("export", "--output", str(out), env=env)
    assert result.returncode == 0 and out.is_file(), result.stderr
    result = coach("import", str(out), "--workspace", "copy", env=env)
    assert result.returncode == 0 and "1 notes" in result.stderr, result.stderr
    listed = coach("notes", "list", "--workspace", "copy", env=env)
    assert "dana.md" in listed.stdout
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"garbage")
    result = coach("import", str(bad), "--workspace", "other", env=env)
    assert result.returncode == 1 and "not a zip file" in result.stderr and "Traceback" not in result.stderr
