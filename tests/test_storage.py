"""Storage on SQLite and on a real Postgres: every store, kept apart by workspace, and the migrations."""

import shutil
import threading

import pytest

from coach.ask import Turn
from coach.db import Database
from coach.history import Conversations
from coach.profile import ProfileStore, SuperiorProfile
from coach.rehearsals import Line, Rehearsals
from coach.scenarios import load_scenarios
from coach.settings import REPO_DIR, Settings
from coach.store import make_client
from coach.workspace import Workspace, list_workspaces
from tests.test_cli import coach

FIXTURES = REPO_DIR / "tests" / "fixtures"


@pytest.fixture(scope="module")
def scenario():
    return load_scenarios(REPO_DIR / "scenarios")[0]["bad-news"]


def test_a_fresh_database_is_at_the_newest_revision(database):
    assert database.revision() == "0006"
    assert database.upgrade() == ("0006", "0006")  # upgrading again changes nothing


def test_chats_profiles_and_rehearsals_are_kept_apart_by_workspace(database, scenario):
    mine, theirs = Conversations(database, "alice"), Conversations(database, "bob")
    chat = mine.start("private")
    mine.append(chat, Turn("q", "p", "a", [], "review", {"text": "q"}))
    assert theirs.latest() is None and theirs.turns(chat) == [] and theirs.list() == []
    with pytest.raises(Exception, match="not in this workspace"):
        theirs.append(chat, Turn("q2", "p", "a", []))
    theirs.delete(chat)  # bob cannot delete alice's chat
    assert [t.payload for t in mine.turns(chat)] == [{"text": "q"}]

    ProfileStore(database, "alice").save(SuperiorProfile(name="Dana"))
    assert ProfileStore(database, "bob").load().name == ""

    r = Rehearsals(database, "alice").start(scenario, "busy")
    r.lines.append(Line("user", "I found a mistake."))
    Rehearsals(database, "alice").save(r)
    assert Rehearsals(database, "bob").list() == []
    with pytest.raises(Exception, match="No rehearsal"):
        Rehearsals(database, "bob").get(r.id)
    Rehearsals(database, "bob").delete(r.id)
    assert Rehearsals(database, "alice").get(r.id).lines[-1].text == "I found a mistake."
    assert list_workspaces(database) == ["alice", "default"]


def test_notes_are_kept_apart_and_never_retrieved_for_another_workspace(database, embeddings, tmp_path):
    client = make_client(Settings(COACH_DATA_DIR=tmp_path / "chroma"))
    alice = Workspace("alice", client, embeddings, database)
    bob = Workspace("bob", client, embeddings, database)
    note = alice.notes.add("carol.txt", "Carol plans to reorganise payments in May.")
    assert bob.notes.list() == [] and bob.notes.search("reorganise payments", k=3) == []
    with pytest.raises(Exception, match="No note"):
        bob.notes.delete(note.id)
    assert alice.notes.search("reorganise payments", k=1)[0].title == "carol.txt"


def test_appends_from_several_threads_keep_every_turn_in_order(database):
    store = Conversations(database, "alice")
    chat = store.start("busy")
    errors = []

    def write(n):
        try:
            for i in range(5):
                store.append(chat, Turn(f"{n}-{i}", "p", "a", []))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    questions = [t.question for t in store.turns(chat)]
    # Writers that collide on a turn number try again: nothing lost, nothing duplicated.
    assert errors == [] and sorted(questions) == sorted(f"{n}-{i}" for n in range(4) for i in range(5))


def test_a_data_directory_from_before_alembic_upgrades_with_nothing_lost(tmp_path, embeddings):
    """tests/fixtures/upward-v3.db was made by the version before this one (PRAGMA user_version 3)."""
    from coach.runtime import Runtime

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "upward-v3.db", data / "upward.db")
    with Runtime(Settings(COACH_DATA_DIR=data, COACH_BACKEND="openai", COACH_BASE_URL="http://127.0.0.1:9/v1")) as rt:
        assert rt.database.revision() == "0006"
        space = rt.workspace()
        [chat] = space.conversations.list()
        assert [t.question for t in space.conversations.turns(chat[0])] == [
            "How do I tell Dana about the slip?", "And if she is angry?"]
        assert all(t.mode == "ask" for t in space.conversations.turns(chat[0]))
        assert space.profile.load().goals == "ship the Q3 launch"
        assert rt.workspace("alice").profile.load().name == "Sam"
        [rehearsal] = space.rehearsals.list()
        assert rehearsal.scenario == "bad-news" and rehearsal.lines[-1].text == "I found a mistake in the report."
        # The note's passages were not in the old index: they are embedded again from the saved text.
        assert space.notes.search("how does Dana like updates", k=1)[0].title == "dana.md"


def test_cli_db_upgrade_reports_the_revision(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "upward-v3.db", data / "upward.db")
    result = coach("db", "upgrade", env={"COACH_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert "0003" in result.stdout and "0006" in result.stdout


def test_a_postgres_url_is_a_secret_and_the_app_runs_on_it(postgres_server, tmp_path):
    url = postgres_server.create_database("appdata")
    settings = Settings(COACH_DATA_DIR=tmp_path, COACH_DATABASE_URL=url)
    assert url not in repr(settings)
    from coach.runtime import Runtime

    with Runtime(settings) as rt:
        assert rt.database.url == url and not rt.database.is_sqlite
        rt.workspace("team").profile.set("name", "Dana")
        assert list_workspaces(rt.database) == ["default", "team"]
    assert Database.of(url).revision() == "0006"
