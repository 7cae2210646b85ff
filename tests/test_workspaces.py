"""A question in workspace A never retrieves B's notes: in the store, the CLI and the app."""

import json

import pytest

from coach.errors import InputError
from coach.runtime import Runtime
from coach.workspace import check_workspace, list_workspaces
from tests.fakes import RecordingChatModel
from tests.test_cli import coach

SECRET = "Bob's boss Carol is planning a reorganisation of the payments team in May."


def test_store_keeps_workspaces_apart(settings):
    with Runtime(settings, model=RecordingChatModel()) as rt:
        rt.workspace("bob").notes.add("carol.txt", SECRET)
        alice = rt.workspace("alice")
        assert alice.notes.search("reorganisation of the payments team", k=5) == []
        model = RecordingChatModel()
        rt._model = model
        hits = [p for p in rt.ask_chain("alice").stream("Is a reorganisation coming?") if not isinstance(p, str)]
        assert all(h.origin == "playbook" for h in hits)
        assert "Carol" not in "".join(str(m.content) for m in model.calls[0])
        assert rt.workspace("bob").notes.search("reorganisation of the payments team", k=1)[0].title == "carol.txt"
        assert list_workspaces(rt.database) == ["bob", "default"]


@pytest.mark.parametrize("bad", ["../x", "a/b", "Has Space", "-lead", "trail-", "x" * 41, "é"])
def test_workspace_names_are_checked(bad):
    with pytest.raises(InputError):
        check_workspace(bad)


def test_cli_keeps_workspaces_apart(tmp_path, saved_index):
    from tests.conftest import seed_index

    seed_index(saved_index, tmp_path / "data")
    env = {"COACH_DATA_DIR": str(tmp_path / "data")}
    note = tmp_path / "carol.txt"
    note.write_text(SECRET)
    assert coach("notes", "add", str(note), "--workspace", "bob", env=env).returncode == 0
    listed = json.loads(coach("notes", "list", "--json", "--workspace", "bob", env=env).stdout)
    assert [n["name"] for n in listed] == ["carol.txt"] and set(listed[0]) >= {"id", "name"}
    assert json.loads(coach("notes", "list", "--json", "--workspace", "alice", env=env).stdout) == []
    hits = json.loads(coach("retrieve", "payments team reorganisation", "--json", "--workspace", "alice", env=env).stdout)
    assert hits and all(h["origin"] == "playbook" for h in hits)
    bob_hits = json.loads(coach("retrieve", "payments team reorganisation", "--json", "--workspace", "bob", env=env).stdout)
    assert bob_hits[0]["origin"] == "note"
    removed = coach("notes", "rm", listed[0]["id"], "--workspace", "alice", env=env)
    assert removed.returncode == 1 and "No note" in removed.stderr  # B's id means nothing in A
    assert coach("notes", "rm", listed[0]["id"], "--workspace", "bob", env=env).returncode == 0


def test_cli_profile_show_and_set(tmp_path):
    env = {"COACH_DATA_DIR": str(tmp_path / "data")}
    assert coach("profile", "set", "name", "Dana", "--workspace", "alice", env=env).returncode == 0
    shown = json.loads(coach("profile", "show", "--json", "--workspace", "alice", env=env).stdout)
    assert shown["name"] == "Dana"
    assert json.loads(coach("profile", "show", "--json", env=env).stdout)["name"] == ""
    bad = coach("profile", "set", "shoe_size", "44", env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_cli_notes_bad_files_get_messages_and_the_rest_are_added(tmp_path):
    env = {"COACH_DATA_DIR": str(tmp_path / "data")}
    good = tmp_path / "good.md"
    good.write_text("Dana likes a short written summary every Friday.")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    result = coach("notes", "add", str(good), str(empty), str(binary), str(tmp_path / "missing.txt"), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "empty.txt is empty" in result.stderr and "binary" in result.stderr and "missing.txt" in result.stderr
    names = [n["name"] for n in json.loads(coach("notes", "list", "--json", env=env).stdout)]
    assert names == ["good.md"]
