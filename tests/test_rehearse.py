"""Rehearse: scenarios, the in-character superior, hints, the scored debrief, saving and the CLI."""

import json

import httpx
import openai
import pytest

from coach.errors import InputError, ModelUnavailable
from coach.models import MalformedOutput
from coach.profile import SuperiorProfile
from coach.rehearse import DIFFICULTIES, STRATEGIES, load_scenarios
from coach.runtime import Runtime
from coach.settings import REPO_DIR
from tests.fakes import RecordingChatModel
from tests.test_cli import coach

DEBRIEF = json.dumps({
    "strategy-understand": {"score": 2, "turn": 0},
    "strategy-communicate": {"score": 4, "turn": 1},
    "strategy-initiative": {"score": 5, "turn": 2},
    "strategy-feedback": {"score": 3, "turn": 9},
    "improvements": [{"advice": "Open with the new date you propose.", "card": "strategy-initiative"},
                     {"advice": "Say why Friday matters to her boss.", "card": "strategy-understand"}],
})


def test_every_shipped_scenario_loads_and_a_bad_file_is_reported(tmp_path):
    found, problems = load_scenarios(REPO_DIR / "scenarios")
    assert problems == [] and len(found) >= 6
    assert {"deadline-extension", "bad-news", "push-back-priorities", "promotion-raise",
            "feedback-on-process", "clarify-expectations"} <= set(found)
    assert all(s.hidden_concerns and s.goal for s in found.values())
    (tmp_path / "good.yaml").write_text("title: T\nsituation: S\ngoal: G\nhidden_concerns: [c]\n")
    (tmp_path / "bad.yaml").write_text("title: only a title\n")
    found, problems = load_scenarios(tmp_path)
    assert list(found) == ["good"] and problems[0].startswith("bad.yaml")


@pytest.fixture
def rt(settings):
    model = RecordingChatModel(replies=["I only have ten minutes. What do you need?"])
    with Runtime(settings, model=model) as rt:
        rt.workspace().profile.save(SuperiorProfile(name="Dana", role="Head of Product", annoyances="surprises"))
        yield rt


def test_the_superior_is_played_from_the_profile_scenario_and_difficulty(rt):
    c = rt.rehearsal_coach("deadline-extension")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "sceptical")
    reply = "".join(c.reply(r, store, "Hi Dana, the API team slipped; I need one more week."))
    assert reply == "I only have ten minutes. What do you need?"
    system = rt._model.calls[0][0].content
    assert "You are Dana, Head of Product" in system and "surprises" in system
    assert DIFFICULTIES["sceptical"] in system
    assert "promised Friday to their own boss" in system  # hidden concerns are in the persona
    assert "Never give coaching" in system
    # The opening line and the user's turn follow, in order.
    assert [m.type for m in rt._model.calls[0][1:]] == ["human", "ai", "human"]


def test_each_turn_only_appends_to_the_prompt_so_the_prefix_stays_cached(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "I found a mistake in the client report."))
    list(c.reply(r, store, "The fix is ready and I will call the client today."))
    first, second = rt._model.calls
    assert [m.content for m in second[: len(first)]] == [m.content for m in first]


def test_a_rehearsal_survives_a_reload(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "I found a mistake in the client report."))
    again = rt.workspace().rehearsals.unfinished()
    assert again.id == r.id and [l.role for l in again.lines] == ["superior", "user", "superior"]


@pytest.mark.parametrize("text, message", [("  ", "empty"), ("x" * 20_000, "limit is 2,000")])
def test_bad_turns_get_messages_and_change_nothing(rt, text, message):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    with pytest.raises(InputError, match=message):
        list(c.reply(r, store, text))
    assert len(store.get(r.id).lines) == 1


def test_a_server_that_dies_mid_conversation_keeps_the_transcript(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "First point."))
    rt._model.fail_with = openai.APIConnectionError(request=httpx.Request("POST", "http://x"))
    with pytest.raises(ModelUnavailable):
        list(c.reply(r, store, "Second point."))
    saved = store.get(r.id)
    assert [l.text for l in saved.lines if l.role == "user"] == ["First point.", "Second point."]


def test_the_hint_is_separate_from_the_conversation(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "Hi, I found a mistake."))
    rt._model.replies = ["Say what you will do to fix it. [strategy-initiative]"]
    hint = c.hint(r)
    assert "strategy-initiative" in hint
    assert len(store.get(r.id).lines) == 3  # the hint is not part of the transcript
    prompt = rt._model.calls[-1]
    assert "Li Ming" in prompt[0].content and "You: Hi, I found a mistake." in prompt[-1].content


def test_the_debrief_scores_with_the_users_own_words_and_flags_myths(rt):
    c = rt.rehearsal_coach("deadline-extension")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "Sorry to bother you, whatever you decide is fine."))
    list(c.reply(r, store, "I propose we ship the core on Friday and the rest on Wednesday."))
    rt._model.replies = [DEBRIEF]
    card = c.debrief(r, store)
    s = card["strategies"]
    assert list(s) == list(STRATEGIES)
    assert s["strategy-communicate"]["evidence"] == "Sorry to bother you, whatever you decide is fine."
    assert s["strategy-initiative"] == {"score": 5, "turn": 2, "evidence": "I propose we ship the core on Friday and the rest on Wednesday."}
    assert s["strategy-understand"] == {"score": 1, "turn": 0, "evidence": "not shown"}
    assert s["strategy-feedback"]["evidence"] == "not shown"  # turn 9 does not exist
    assert {m["topic"] for m in card["myths"]} == {"myth-fear", "myth-just-execute"}
    assert all(m["quote"].lower() in "sorry to bother you, whatever you decide is fine." for m in card["myths"])
    assert [i["card"] for i in card["improvements"]] == ["strategy-initiative", "strategy-understand"]
    saved = store.get(r.id)
    assert saved.ended and saved.scorecard == card
    assert "## Scorecard" in saved.as_markdown() and json.loads(json.dumps(saved.as_dict()))["scorecard"]


def test_malformed_debrief_is_retried_once_then_reported_and_the_transcript_kept(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    list(c.reply(r, store, "I found a mistake."))
    rt._model.replies = ["{not json", '{"strategy-understand": 3}']
    calls = len(rt._model.calls)
    with pytest.raises(MalformedOutput):
        c.debrief(r, store)
    assert len(rt._model.calls) == calls + 2
    saved = store.get(r.id)
    assert saved.scorecard is None and saved.ended is None and len(saved.lines) == 3


def test_cli_lists_scenarios(tmp_path):
    result = coach("rehearse", "--list", env={"COACH_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 0 and "deadline-extension" in result.stdout


@pytest.mark.model
def test_cli_scripted_rehearsal_with_the_real_tiny_model(tmp_path):
    from tests.conftest import tiny_model_path

    script = tmp_path / "turns.txt"
    script.write_text("Hi, the API team slipped and Friday is at risk.\nI propose we ship the core on Friday.\n")
    env = {"COACH_DATA_DIR": str(tmp_path / "data"), "COACH_MODEL": str(tiny_model_path()),
           "COACH_CONTEXT_TOKENS": "4096", "COACH_ANSWER_TOKENS": "48", "COACH_BACKEND": "local"}
    result = coach("rehearse", "--scenario", "deadline-extension", "--script", str(script), "--json", env=env)
    data = json.loads(result.stdout)
    roles = [t["role"] for t in data["transcript"]]
    assert roles == ["superior", "user", "superior", "user", "superior"]
    assert all(t["text"] for t in data["transcript"])
    # The tiny model is held to the JSON schema; a scorecard it cannot fill is reported, not half-shown.
    if result.returncode == 0:
        assert set(data["scorecard"]["strategies"]) == set(STRATEGIES)
    else:
        assert data["scorecard"] is None and "did not match" in result.stderr


def test_an_interrupted_reply_keeps_what_was_said(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    rt._model.replies = ["Well, that is not great news at all."]
    stream = c.reply(r, store, "I found a mistake in the report.")
    next(stream)
    stream.close()  # the page reran while the superior was still talking
    lines = store.get(r.id).lines
    assert [l.role for l in lines] == ["superior", "user", "superior"] and lines[-1].text.endswith("…")
