import pytest

from coach.errors import ConfigError
from coach.prompts import load_prompt
from coach.settings import REPO_DIR


def test_shipped_prompts_load():
    prompt = load_prompt("ask", REPO_DIR / "prompts")
    assert "{playbook}" in prompt.system and "{question}" in prompt.user


def test_a_variable_mismatch_fails_at_load(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "description: d\nsystem: 'Hi {name}'\nuser: '{question}'\nsystem_variables: []\nuser_variables: [question]\n"
    )
    with pytest.raises(ConfigError, match="name"):
        load_prompt("x", tmp_path)


def test_unknown_keys_and_missing_files_fail_with_a_message(tmp_path):
    (tmp_path / "y.yaml").write_text("description: d\nsystem: s\nuser: u\nsytem: typo\n")
    with pytest.raises(ConfigError, match="invalid"):
        load_prompt("y", tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_prompt("nope", tmp_path)
