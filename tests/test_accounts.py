"""Accounts (COACH_AUTH=password): hashes only, each person's workspaces walled off at the data layer."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from coach.accounts import Accounts, storage_key
from coach.errors import ConfigError, InputError
from coach.runtime import Runtime
from coach.settings import Settings
from coach.workspace import list_workspaces
from tests.conftest import APP, seed_index
from tests.fakes import RecordingChatModel
from tests.test_cli import coach

ALICE, BOB = ("alice", "correct horse battery"), ("bob", "another long secret")


def test_accounts_keep_only_bcrypt_hashes(database):
    accounts = Accounts(database)
    accounts.add("alice", "Alice", ALICE[1])
    stored = accounts.credentials()["usernames"]["alice"]["password"]
    assert stored.startswith("$2b$") and ALICE[1] not in stored
    assert accounts.verify("alice", ALICE[1]) and not accounts.verify("alice", "wrong password")
    accounts.set_password("alice", "a brand new passphrase")
    assert accounts.verify("alice", "a brand new passphrase") and not accounts.verify("alice", ALICE[1])
    with pytest.raises(InputError, match="already a user"):
        accounts.add("alice", "Alice", ALICE[1])
    with pytest.raises(InputError, match="too short"):
        accounts.add("carol", "Carol", "short")
    with pytest.raises(InputError, match="not a valid user name"):
        accounts.add("Carol Smith", "Carol", ALICE[1])
    accounts.remove("alice")
    assert accounts.list() == []


@pytest.fixture
def team(tmp_path):
    settings = Settings(COACH_DATA_DIR=tmp_path, COACH_AUTH="password")
    with Runtime(settings, model=RecordingChatModel()) as rt:
        for user, password in (ALICE, BOB):
            rt.accounts.add(user, user.title(), password)
        yield rt


def test_a_workspace_needs_its_owner_and_one_user_never_reaches_anothers(team):
    with pytest.raises(ConfigError, match="say whose workspace"):
        team.workspace("default")
    alice, bob = team.workspace("default", user="alice"), team.workspace("default", user="bob")
    assert (alice.key, bob.key) == (storage_key("default", "alice"), storage_key("default", "bob"))
    alice.notes.add("dana.md", "Dana is planning to cut the payments team in May; keep it quiet.")
    chat = alice.conversations.start("private")
    with pytest.raises(InputError, match="not a valid workspace name"):  # "--" joins owner and name in keys
        team.workspace("bob--default", user="alice")
    alice.profile.set("name", "Dana")
    assert bob.profile.load().name == "" and bob.notes.list() == []
    assert bob.conversations.list() == [] and bob.conversations.turns(chat) == []
    assert bob.notes.search("payments team cut", k=3) == []
    assert all(h.origin == "playbook" for h in team.ask_chain(bob).retrieve("payments team cut in May"))
    team.workspace("plans", user="alice").profile.set("name", "Dana")
    assert list_workspaces(team.database, "alice") == ["default", "plans"]
    assert list_workspaces(team.database, "bob") == ["default"]
    team.accounts.remove("alice")  # her data is kept, so her name is never handed to someone else
    with pytest.raises(InputError, match="still stored"):
        team.accounts.add("alice", "Another Alice", "a third long passphrase")


def test_without_accounts_there_are_no_users(tmp_path):
    with Runtime(Settings(COACH_DATA_DIR=tmp_path), model=RecordingChatModel()) as rt:
        with pytest.raises(ConfigError, match="no users"):
            rt.workspace("default", user="alice")
        assert rt.workspace("default").key == "default"  # today's data keeps its keys


def test_cli_manages_users_and_acts_for_one(tmp_path):
    env = {"COACH_DATA_DIR": str(tmp_path / "data"), "COACH_AUTH": "password"}
    result = coach("users", "add", "alice", "--name", "Alice", "--password-stdin", env=env, input=ALICE[1] + "\n")
    assert result.returncode == 0, result.stderr
    assert "alice" in coach("users", "list", env=env).stdout
    refused = coach("notes", "list", env=env)
    assert refused.returncode == 1 and "--user NAME" in refused.stderr
    assert coach("notes", "list", "--user", "alice", env=env).returncode == 0
    assert coach("users", "passwd", "alice", "--password-stdin", env=env, input="x\n").returncode == 1
    assert coach("users", "rm", "alice", env=env).returncode == 0
    assert "No users yet" in coach("users", "list", env=env).stdout


def start_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    return at


def sign_in(at: AppTest, user: str, password: str) -> AppTest:
    fields = {t.label: t for t in at.text_input}
    fields["Username"].set_value(user)
    fields["Password"].set_value(password)
    [b for b in at.button if b.label == "Sign in"][0].click().run()
    return at


@pytest.fixture
def team_app(tmp_path, monkeypatch, saved_index):
    seed_index(saved_index, tmp_path / "data")
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COACH_AUTH", "password")
    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def test_the_app_asks_for_users_first_when_there_are_none(team_app):
    at = start_app()
    assert not at.exception and "no users yet" in at.error[0].value and not at.chat_input


def test_a_sign_in_sent_in_a_run_that_another_rerun_stops_still_signs_in(team_app, monkeypatch):
    """The cookie component reports back right after the page first loads; its rerun used to take the
    click of *Sign in* with it, leaving the person at a filled form."""
    from coach.accounts import Accounts
    from tests.test_app import stopped_once
    from views.common import runtime

    start_app()  # builds the runtime the page shares
    runtime().accounts.add("alice", "Alice", ALICE[1])
    at = start_app()
    stopped_once(monkeypatch, Accounts, "credentials")  # the run carrying the click stops at its start
    sign_in(at, *ALICE)
    assert not at.exception, at.exception
    assert "Signed in as **Alice**" in [c.value for c in at.sidebar.caption]


def test_a_sign_in_stopped_while_it_signs_in_is_done_by_the_next_run(team_app, monkeypatch):
    """A rerun can stop the run at the sign-in itself (any write to the session is such a point); the
    click used to be let go of there, leaving the person at a filled form (4 of 8 at load)."""
    from streamlit_authenticator.controllers.authentication_controller import AuthenticationController

    from tests.test_app import stopped_once
    from views.common import runtime

    start_app()
    runtime().accounts.add("alice", "Alice", ALICE[1])
    at = start_app()
    stopped_once(monkeypatch, AuthenticationController, "login")  # stopped before it signs in
    sign_in(at, *ALICE)
    assert not at.exception, at.exception
    assert "Signed in as **Alice**" in [c.value for c in at.sidebar.caption]


def cookie_setters(at: AppTest) -> list[dict]:
    """The cookie components this run rendered that set the sign-in cookie in the browser."""
    import json

    found = []
    for node in at.get("component_instance"):
        args = json.loads(node.proto.json_args or "{}")
        if args.get("method") == "set" and args.get("cookie") == "upward_session":
            found.append(args)
    return found


def test_the_sign_in_cookie_is_set_in_every_run_until_the_browser_has_stored_it(team_app):
    """Rendered in one run only, a rerun that came before its iframe loaded removed it, and a reload
    showed the sign-in form again (CI saw this in the two-person browser test)."""
    from views.common import runtime

    start_app()
    runtime().accounts.add("alice", "Alice", ALICE[1])
    at = sign_in(start_app(), *ALICE)
    assert not at.exception and len(cookie_setters(at)) == 1
    at.run()  # a rerun before the browser said it stored the cookie: the component is still there
    assert len(cookie_setters(at)) == 1
    at.session_state["set"] = True  # what the component reports once the browser has stored it
    at.run()
    assert cookie_setters(at) == [] and not at.exception
    at.run()
    assert cookie_setters(at) == [] and "Signed in as **Alice**" in [c.value for c in at.sidebar.caption]


def test_the_app_signs_people_in_and_shows_each_only_their_own_notes(team_app):
    from views.common import runtime

    start_app()  # builds the runtime the page shares
    for user, password in (ALICE, BOB):
        runtime().accounts.add(user, user.title(), password)
    runtime().workspace("default", user="bob").notes.add("bob-private.md", "Bob's note about Carol: BANANA-7731.")
    alice = sign_in(start_app(), "alice", "wrong password")
    assert "Wrong user name or password" in alice.error[0].value and not alice.chat_input
    alice = sign_in(start_app(), *ALICE)
    assert not alice.exception, alice.exception
    assert "Signed in as **Alice**" in [c.value for c in alice.sidebar.caption]
    alice.switch_page("views/notes.py").run()
    assert not any("bob-private" in e.label for e in alice.expander)
    bob = sign_in(start_app(), *BOB)
    bob.switch_page("views/notes.py").run()
    assert any("bob-private" in e.label for e in bob.expander)


@pytest.mark.parametrize("override", [False, True])
def test_serving_beyond_localhost_without_accounts_is_refused(app_env, override, monkeypatch):
    if override:
        monkeypatch.setenv("COACH_ALLOW_PUBLIC_WITHOUT_AUTH", "1")
    st.config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(APP, default_timeout=180)
        at.run()
    finally:
        st.config.set_option("server.address", "localhost")
    assert not at.exception
    if override:
        assert at.chat_input and not at.error
    else:
        assert "COACH_AUTH=off" in at.error[0].value and "COACH_ALLOW_PUBLIC_WITHOUT_AUTH=1" in at.error[0].value
        assert not at.chat_input


def test_signing_out_forgets_what_the_page_kept_for_that_person(team_app):
    from views.common import runtime

    start_app()
    for user, password in (ALICE, BOB):
        runtime().accounts.add(user, user.title(), password)
    at = sign_in(start_app(), *ALICE)
    at.session_state["review-result:default"] = "Alice's draft about Carol: APRICOT-4410"
    at.session_state["workspace"] = "default"
    [b for b in at.sidebar.button if b.label == "Sign out"][0].click().run()
    assert not at.exception, at.exception
    assert "review-result:default" not in at.session_state and not at.chat_input
    at = sign_in(at, *BOB)
    assert not at.exception and "Signed in as **Bob**" in [c.value for c in at.sidebar.caption]
    assert "review-result:default" not in at.session_state


def test_a_removed_user_is_signed_out_at_their_next_click(team_app):
    from views.common import runtime

    start_app()
    runtime().accounts.add("alice", "Alice", ALICE[1])
    at = sign_in(start_app(), *ALICE)
    assert at.chat_input
    runtime().accounts.remove("alice")
    at.run()
    assert not at.exception and not at.chat_input


def test_a_password_change_ends_the_sessions_signed_in_before_it(team_app):
    from views.common import runtime

    start_app()
    runtime().accounts.add("alice", "Alice", ALICE[1])
    at = sign_in(start_app(), *ALICE)
    assert at.chat_input
    runtime().accounts.set_password("alice", "a new long passphrase")
    at.run()
    assert not at.exception and not at.chat_input
    assert any("password was changed" in i.value for i in at.info)
    at = sign_in(at, "alice", "a new long passphrase")  # signing in again, with the new password, works
    assert not at.exception and at.chat_input
    at.run()
    assert at.chat_input  # and stays signed in


def test_many_first_page_loads_at_once_agree_on_one_session_key(tmp_path):
    """The load bench's eight people, on a fresh deployment: each first page load made the key that
    signs sign-in cookies, and those a moment behind the first failed on the file it had made."""
    import threading
    from types import SimpleNamespace

    from pydantic import SecretStr

    from views.common import session_key

    rt = SimpleNamespace(settings=SimpleNamespace(cookie_key=SecretStr(""), data_dir=tmp_path / "data"))
    start, keys, errors = threading.Barrier(16), [], []

    def first_load():
        start.wait()
        try:
            keys.append(session_key(rt))
        except Exception as exc:  # noqa: BLE001 - collected and asserted
            errors.append(exc)

    threads = [threading.Thread(target=first_load) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(keys) == 16 and len(set(keys)) == 1 and len(keys[0]) >= 40
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["session.key"]
    assert (tmp_path / "data" / "session.key").stat().st_mode & 0o777 == 0o600
