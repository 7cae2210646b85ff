"""Review, stage 2: the critique with a fake model (parsing, retry, fallback) and the CLI."""

import json

import pytest

from coach.profile import SuperiorProfile
from coach.runtime import Runtime
from tests.fakes import RecordingChatModel
from tests.test_cli import coach

DRAFT = "Hi Dana, sorry to bother you again. Whatever you decide on the vendor is fine, just tell me what to do."
GOOD = json.dumps({
    "verdict": "Too deferential; bring a recommendation.",
    "findings": [{"quote": "Whatever you decide", "principle": "Share your own view",
                  "card": "myth-just-execute", "fix": "Recommend the backup vendor."}],
    "rewrite": "Hi Dana, the vendor will slip. I recommend the backup vendor; can you approve by Friday?",
})


def review(settings, replies, **kwargs):
    model = RecordingChatModel(replies=replies)
    with Runtime(settings, model=model) as rt:
        rt.workspace().profile.save(SuperiorProfile(name="Dana", update_detail="bullet points and a clear ask"))
        return rt.review(DRAFT, goal="a decision on the vendor", **kwargs), model


def test_a_valid_critique_is_parsed(settings):
    result, model = review(settings, [GOOD])
    assert result.critique.findings[0].card == "myth-just-execute"
    assert "I recommend the backup vendor" in result.critique.rewrite
    system, user = model.calls[0][0].content, model.calls[0][-1].content
    # Stable part first (playbook and profile), the draft last and fenced.
    assert "Li Ming" in system and "bullet points and a clear ask" in system and DRAFT not in system
    assert f"<draft>\n{DRAFT}\n</draft>" in user and "myth-just-execute" in user
    assert "a decision on the vendor" in user
    data = result.as_dict()
    assert data["rewrite"] and data["coach_findings"][0]["found_in_draft"] is True


def test_invalid_output_is_retried_once(settings):
    result, model = review(settings, ['{"verdict": "half', GOOD])
    assert len(model.calls) == 2 and result.critique is not None


def test_invalid_output_twice_falls_back_to_the_analysis(settings):
    bad = json.dumps({"verdict": "ok", "findings": [{"quote": "x", "principle": "y", "card": "not-a-card", "fix": "z"}],
                      "rewrite": "r"})
    result, model = review(settings, ["not json at all", bad])
    assert len(model.calls) == 2 and result.critique is None
    assert "did not match the expected format twice" in result.note
    assert {m.topic for m in result.analysis.myths} == {"myth-fear", "myth-just-execute"}


def test_a_model_that_is_down_still_gives_the_analysis(settings):
    import httpx
    import openai

    model = RecordingChatModel(fail_with=openai.APIConnectionError(request=httpx.Request("POST", "http://x")))
    with Runtime(settings, model=model) as rt:
        result = rt.review(DRAFT)
    assert result.critique is None and "Cannot reach the model server" in result.note
    assert result.analysis.myths


def test_no_llm_skips_the_model(settings):
    result, model = review(settings, [GOOD], use_model=False)
    assert model.calls == [] and result.critique is None and result.analysis.myths


def test_cli_review_json_without_the_model(tmp_path):
    env = {"COACH_DATA_DIR": str(tmp_path / "data")}
    draft = tmp_path / "draft.txt"
    draft.write_text(DRAFT)
    result = coach("review", str(draft), "--json", "--no-llm", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {m["topic"] for m in data["myths"]} == {"myth-fear", "myth-just-execute"}
    for myth in data["myths"]:
        assert DRAFT[myth["span"]["start"]:myth["span"]["end"]] == myth["quote"]
    assert set(data) >= {"myths", "signals", "findings", "rewrite"} and data["rewrite"] is None
    assert data["signals"]["clear_ask"]["present"] is False


@pytest.mark.parametrize("content, message", [("", "empty"), ("x" * 100_001, "limit is 100,000")])
def test_cli_review_bad_drafts(tmp_path, content, message):
    draft = tmp_path / "draft.txt"
    draft.write_text(content)
    result = coach("review", str(draft), "--no-llm", env={"COACH_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.model
def test_cli_review_with_the_real_tiny_model(tmp_path):
    from tests.conftest import tiny_model_path

    draft = tmp_path / "draft.txt"
    draft.write_text(DRAFT)
    env = {"COACH_DATA_DIR": str(tmp_path / "data"), "COACH_MODEL": str(tiny_model_path()),
           "COACH_CONTEXT_TOKENS": "4096", "COACH_BACKEND": "local"}
    result = coach("review", str(draft), "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # The tiny model is held to the JSON schema by the server: either a full critique or a clear note.
    assert (data["rewrite"] and data["verdict"]) or "format" in data["note"]
    assert data["myths"]
