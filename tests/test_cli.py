"""The `coach` command, run as a user runs it: a subprocess with environment settings."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import seed_if_model, tiny_model_path


def coach(*args: str, env: dict, timeout: int = 300, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach.cli", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}, input=input,
    )


@pytest.fixture
def env(tmp_path, request) -> dict:
    seed_if_model(request, tmp_path / "data")
    return {
        "COACH_DATA_DIR": str(tmp_path / "data"),
        "COACH_MODEL": str(tiny_model_path()),
        "COACH_CONTEXT_TOKENS": "4096",
        "COACH_ANSWER_TOKENS": "64",
        "COACH_BACKEND": "local",
    }


def test_retrieve_prints_json_hits(env):
    result = coach("retrieve", "I'm scared to tell my boss I slipped", "--k", "3", "--json", env=env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert set(hits[0]) >= {"kind", "topic", "title", "source", "score", "text"}
    assert hits[0]["topic"] == "myth-fear"
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


@pytest.mark.fresh_index
def test_index_embeds_once_then_nothing(env):
    first = coach("index", env=env)
    second = coach("index", env=env)
    assert first.returncode == second.returncode == 0
    assert "0 embedded" not in first.stdout and "0 embedded" in second.stdout


@pytest.mark.model
def test_ask_streams_an_answer_and_lists_sources(env):
    result = coach("ask", "How do I raise a problem with my boss?", env=env)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert answer.strip() and "[1]" in sources and "playbook" in sources


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_refused_with_a_hint(env, question):
    result = coach("ask", question, env=env)
    assert result.returncode == 1
    assert "question is empty" in result.stderr and "Traceback" not in result.stderr


def test_huge_question_is_refused(env):
    result = coach("ask", "x" * 50_000, env=env)
    assert result.returncode == 1 and "limit is 4,000" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_file_says_how_to_fix_it(env, tmp_path):
    result = coach("ask", "hello?", env={**env, "COACH_MODEL": str(tmp_path / "missing.gguf")})
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert "COACH_MODEL" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_is_reported(env):
    result = coach("ask", "hello?", env={**env, "COACH_BACKEND": "openai", "COACH_BASE_URL": "http://127.0.0.1:9/v1", "COACH_MODEL": "m"})
    assert result.returncode == 1 and "Cannot reach the model server" in result.stderr


def test_doctor_reports_each_part_and_how_to_fix_failures(env):
    bad = coach("doctor", env={**env, "COACH_BACKEND": "openai", "COACH_BASE_URL": "http://127.0.0.1:9/v1", "COACH_MODEL": "m"})
    assert bad.returncode == 1
    assert "[ok  ] knowledge" in bad.stdout and "[ok  ] embeddings" in bad.stdout and "[ok  ] store" in bad.stdout
    assert "[FAIL] model" in bad.stdout and "fix:" in bad.stdout


@pytest.mark.model
def test_doctor_passes_with_the_local_model(env):
    good = coach("doctor", env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "All checks passed" in good.stdout


@pytest.mark.fresh_index
def test_a_corrupt_index_is_reported_then_rebuilt(env, tmp_path):
    chroma = tmp_path / "data" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"garbage" * 500)
    broken = coach("retrieve", "feedback", env=env)
    assert broken.returncode == 1 and "coach index --rebuild" in broken.stderr
    fixed = coach("index", "--rebuild", env=env)
    assert fixed.returncode == 0, fixed.stderr
    assert coach("retrieve", "feedback", env=env).returncode == 0
