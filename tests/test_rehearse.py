"""Rehearse: scenarios, the concern tracker, the superior held to it, hints, the evidence-based debrief."""

import json

import httpx
import numpy as np
import openai
import pytest
import yaml

from coach.errors import InputError, ModelUnavailable
from coach.profile import SuperiorProfile
from coach.rehearse import DIFFICULTIES, STRATEGIES, Line, Rehearsal
from coach.runtime import Runtime
from coach.scenarios import load_scenarios
from coach.settings import REPO_DIR
from tests.fakes import RecordingChatModel
from tests.test_cli import coach

POOR_RAISE = [  # the deliberately poor attempt at promotion-raise
    "I'd like to talk about my compensation.",
    "I think I deserve a raise. I've been here two years and I work really hard.",
    "Everyone else on the team got promoted, so it's only fair.",
    "OK. So can you just approve it today?",
]


def test_every_shipped_scenario_loads_with_concerns_as_data_and_a_bad_file_is_reported(tmp_path):
    found, problems = load_scenarios(REPO_DIR / "scenarios")
    assert problems == [] and len(found) >= 6
    assert {"deadline-extension", "bad-news", "push-back-priorities", "promotion-raise",
            "feedback-on-process", "clarify-expectations"} <= set(found)
    for sc in found.values():
        assert sc.goal and all(c.hint and len(c.addressed_by) >= 10 and c.pushback for c in sc.concerns)
    (tmp_path / "old.yaml").write_text("title: T\nsituation: S\ngoal: G\nhidden_concerns: [c]\n")
    (tmp_path / "bad.yaml").write_text("title: only a title\n")
    found, problems = load_scenarios(tmp_path)
    assert found == {} and [p.split(":")[0] for p in problems] == ["bad.yaml", "old.yaml"]


@pytest.fixture
def rt(settings):
    model = RecordingChatModel(replies=["I only have ten minutes. What do you need?"])
    with Runtime(settings, model=model) as rt:
        rt.workspace().profile.save(SuperiorProfile(name="Dana", role="Head of Product", annoyances="surprises"))
        yield rt


def play(rt, scenario, difficulty, turns):
    c = rt.rehearsal_coach(scenario)
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, difficulty)
    for turn in turns:
        list(c.reply(r, store, turn))
    return c, store, r


# ---- the tracker --------------------------------------------------------------------------------


def test_the_poor_attempt_meets_no_concern_and_is_never_agreed(rt):
    c = rt.rehearsal_coach("promotion-raise")
    for difficulty in DIFFICULTIES:
        state = c.tracker.replay(difficulty, POOR_RAISE)
        assert state.met == 0 and state.outcome != "agreed", difficulty
    assert c.tracker.replay("sceptical", POOR_RAISE).outcome == "open"


def test_a_turn_that_settles_a_concern_is_recorded_with_its_turn_and_reason(rt):
    c = rt.rehearsal_coach("deadline-extension")
    turns = ["The API team slipped on Tuesday, so I need one more week on the reporting module.",
             "I know you promised Friday to your director, so I propose we ship the core flows on Friday "
             "and the reports on the 21st; I'll write the note you can forward to her today."]
    state = c.tracker.replay("cooperative", turns)
    met = [d for d in state.decisions if d.action == "met"]
    assert met and all(d.turn == 2 for d in met)
    assert state.concerns[0].met_turn == 2 and "settles it with probability" in met[0].reason
    assert state.ask_turn is not None
    assert c.tracker.replay("cooperative", turns).as_dict() == state.as_dict()  # deterministic


def test_a_sentence_that_falls_into_a_myth_or_is_vague_counts_for_nothing(rt):
    """docs/labels.md: a myth, blame or a vague sentence settles nothing, however close its words come
    to what would settle a concern. Such a sentence is left out of the closeness features."""
    from coach.detector import SentenceJudgment

    c = rt.rehearsal_coach("deadline-extension")
    line = c.scenario.concerns[2].addressed_by[0]  # a line that settles the third concern, word for word
    as_myth = [SentenceJudgment(line, {}, frozenset({"myth-just-execute"}))]
    as_vague = [SentenceJudgment(line, {}, frozenset({"healthy", "vague"}))]
    as_proposal = [SentenceJudgment(line, {}, frozenset({"healthy", "options_or_recommendation"}))]
    closest = {name: c.tracker.features.plain(line, j)[0][2, 0] for name, j in
               (("myth", as_myth), ("vague", as_vague), ("proposal", as_proposal))}
    assert closest["myth"] == closest["vague"] == 0.0 and closest["proposal"] > 0.99


def test_a_scenario_the_training_turns_do_not_cover_is_judged_without_them(rt):
    """The bank's labels hold for the shipped concerns in their order; an edited scenario (or one the
    person built) gets the head trained without the bank's features, and its own threshold."""
    from coach.tracker_model import PairFeatures

    model = rt.rehearsal_coach("deadline-extension").tracker.model
    shipped = rt.scenarios()[0]["deadline-extension"]
    edited = shipped.model_copy(update={"concerns": list(reversed(shipped.concerns))})
    assert model.bank.rows(shipped) is not None and model.bank.rows(edited) is None
    turn = "I propose we ship the core flows on Friday and the reports on the 21st."
    p_shipped, t_shipped, _ = model.probabilities(PairFeatures(rt.detector, shipped), turn)
    p_edited, t_edited, _ = model.probabilities(PairFeatures(rt.detector, edited), turn)
    assert t_shipped == model.heads["banked"].thresholds[0] and t_edited == model.heads["plain"].thresholds[0]
    assert p_shipped[2] >= t_shipped and p_edited[0] >= t_edited  # the smaller-release concern, either way


def test_training_the_tracker_on_too_few_turns_says_so(rt, tmp_path):
    from coach.tracker_model import train

    turns = [{"scenario": "deadline-extension", "text": "I'll ship the core on Friday.", "settles": [2]}]
    with pytest.raises(InputError, match="Too few training turns"):
        train(rt.detector, rt.scenarios()[0], turns, tmp_path / "t.npz")
    with pytest.raises(InputError, match="not loaded"):
        train(rt.detector, rt.scenarios()[0], [{**turns[0], "scenario": "nowhere"}], tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()


def test_difficulty_sets_the_bar(rt):
    c = rt.rehearsal_coach("deadline-extension")
    # busy: no clear ask by the second turn closes the meeting.
    closed = c.tracker.replay("busy", ["So, about the project.", "There's been a lot going on with the other team."])
    assert closed.closed and closed.outcome == "refused"
    # defensive: blame reopens the concern met last.
    settle = ("I know you promised Friday to your director, so I propose we ship the core flows on Friday and the "
              "reports on the 21st; can you agree to that?")
    blame = "Honestly this is all the platform team's fault, they never tell us anything and they always slip."
    state = c.tracker.replay("defensive", [settle, blame])
    assert any(d.action == "reopened" and d.turn == 2 for d in state.decisions)
    assert state.blame_turns == [2]


# ---- the superior, held to the tracker -----------------------------------------------------------


def test_the_superior_is_played_from_the_profile_and_told_the_open_concern_at_the_end(rt):
    c, store, r = play(rt, "deadline-extension", "sceptical", ["Hi Dana, the API team slipped; I need one more week."])
    system = rt._model.calls[0][0].content
    assert "You are Dana, Head of Product" in system and "surprises" in system
    assert DIFFICULTIES["sceptical"] in system and "promised Friday to your own boss" in system
    last = rt._model.calls[0][-1].content
    assert last.startswith("Hi Dana, the API team slipped") and "Still on your mind" in last
    assert "Do not agree" in last
    assert [m.type for m in rt._model.calls[0][1:]] == ["human", "ai", "human"]
    assert r.lines[-1].text == "I only have ten minutes. What do you need?" and r.lines[-1].checked == ""


def test_each_turn_keeps_the_cached_prefix_and_only_the_newest_turn_carries_the_state(rt):
    rt._model.replies = ["I only have ten minutes. What do you need?", "And what does the client know so far?"]
    c, store, r = play(rt, "bad-news", "sceptical", ["I found a mistake in the client report.",
                                                      "The fix is ready and I will call the client today."])
    first, second = rt._model.calls
    assert [m.content for m in second[: len(first) - 1]] == [m.content for m in first[:-1]]
    assert second[len(first) - 1].content == "I found a mistake in the client report."  # saved without the state


def test_a_superior_who_concedes_while_concerns_are_open_is_caught_and_replaced(rt):
    rt._model.replies = ["Sure, I'll approve it. Go ahead."]
    c, store, r = play(rt, "promotion-raise", "sceptical", POOR_RAISE[-1:])
    reply = r.lines[-1]
    assert len(rt._model.calls) == 2  # written once more with a firmer direction, then replaced
    assert "ask one short, pointed question about it, and do not agree" in rt._model.calls[1][-1].content
    assert reply.text in {line for concern in c.scenario.concerns for line in concern.pushback}
    assert "replaced with the scenario's pushback line" in reply.checked
    assert store.get(r.id).lines[-1].text == reply.text


@pytest.mark.parametrize("short, long", [
    ("I'll look into it further.", "I will look into it further."),
    ("Fine, I won't block it.", "Fine, I will not block it."),
    ("We can't approve that before the committee meets.", "We cannot approve that before the committee meets."),
])
def test_a_line_is_judged_the_same_with_or_without_contractions(embeddings, short, long):
    from coach.concession import ConcessionClassifier

    classifier = ConcessionClassifier(embeddings)
    p_short, p_long = classifier.probabilities([short, long])
    assert p_short == pytest.approx(p_long, abs=1e-6)
    # A promise to look into it is a concession: the sceptical boss of the issue said just that.
    assert classifier.concedes("I will look into it further.")


def test_a_second_try_presses_with_a_question_after_what_is_already_on_screen(rt):
    rt._model.replies = ["I see. Sure, I'll approve it.", "I see. And what would the committee need from me?"]
    c, store, r = play(rt, "promotion-raise", "sceptical", POOR_RAISE[-1:])
    reply = r.lines[-1]
    assert reply.text == "I see. And what would the committee need from me?"  # "I see." said once, no concession
    assert reply.checked == "conceded while concerns were open (attempt 1)"
    assert "one short, pointed question" in rt._model.calls[1][-1].content
    assert rt._model.temperatures == [None, 0.9]  # the second try samples wider


def test_a_second_try_does_not_say_again_what_is_on_screen_in_other_words(rt):
    rt._model.replies = ["I understand your concern about the budget. Sure, I'll approve it.",
                         "I understand your concerns about the budget. What would the committee need from me?"]
    c, store, r = play(rt, "promotion-raise", "sceptical", POOR_RAISE[-1:])
    assert r.lines[-1].text == "I understand your concern about the budget. What would the committee need from me?"


@pytest.mark.parametrize("line, out", [
    ("I'm sorry, but I can't help with that.", True),
    ("I'm sorry, but I can't assist with that.", True),
    ("I can't help you with that.", True),
    ("As an AI, I don't have a boss.", True),
    ("Let's not role-play this.", True),
    ("I'm sorry, but I can't approve that today.", False),  # a superior saying no is in character
    ("I'm afraid I can't do that before the committee meets.", False),
    ("Why am I only hearing about this now?", False),
    ("I\u2019m sorry, but I can\u2019t help with that.", True),  # curly apostrophes
    ("I'm just an AI, I don't have a boss.", True),
    ("The language model launch slipped a week, and I promised it upstairs.", False),
    ("As an AI-first team we ship every week.", False),
])
def test_a_line_is_out_of_character_when_an_assistant_speaks_not_the_superior(line, out):
    from coach.rehearse import out_of_character

    assert out_of_character(line) is out


def test_the_superior_is_told_their_concerns_in_the_second_person(rt):
    from coach.rehearse import to_superior

    assert to_superior("They rate your work but have not seen how it connects to their goals.") == (
        "You rate their work but have not seen how it connects to your goals.")
    assert to_superior("Above all they hate bad news; they're tired of it.") == (
        "Above all you hate bad news; you're tired of it.")
    # The person is "you" in a scenario, "they" to the superior: both swap, "you" by its place in the clause.
    assert to_superior("They will want you to propose a date, and to know when you'll tell them.") == (
        "You will want them to propose a date, and to know when they'll tell you.")
    assert to_superior("They wonder why you raised it only now.") == "You wonder why they raised it only now."
    c, store, r = play(rt, "deadline-extension", "sceptical", ["The API team slipped; Friday is at risk."])
    system, last = rt._model.calls[0][0].content, rt._model.calls[0][-1].content
    assert "- You already promised Friday to your own boss" in system and "They already" not in system
    assert "Still on your mind: You already promised Friday to your own boss" in last


def test_a_drafted_scenarios_concerns_name_the_superior_as_they_and_reach_them_as_you(rt):
    """The model names the superior in the concerns it drafts ("Dana will want you to propose…"); the
    scenario keeps them as the shipped ones are ("They will want you to…"), and the superior playing
    them is told "You will want them to…", not their own name, nor "you" for the person."""
    import json as json_

    from coach.rehearse import to_superior
    from coach.scenarios import draft_scenario

    model = RecordingChatModel(replies=[json_.dumps({
        "title": "Tell Dana the launch slips", "situation": "You lead the launch; it slips a week.",
        "goal": "Agree a new date.", "opening": "What's up?",
        "concerns": ["Dana's VP expects the launch on the 3rd.", "Dana will want you to propose a new date.",
                     "Your superior will ask what happens if it slips again."]})])
    scenario, how = draft_scenario(model, rt.prompt("scenario"), "Dana needs to hear the launch slips", "Dana")
    assert how == "model"
    assert [c.text for c in scenario.concerns] == [
        "Their VP expects the launch on the 3rd.", "They will want you to propose a new date.",
        "They will ask what happens if it slips again."]
    assert [to_superior(c.text) for c in scenario.concerns] == [
        "Your VP expects the launch on the 3rd.", "You will want them to propose a new date.",
        "You will ask what happens if it slips again."]


def test_a_superior_who_steps_out_of_character_is_written_again_then_replaced(rt):
    rt._model.replies = ["I'm sorry, but I can't help with that."]
    c, store, r = play(rt, "promotion-raise", "sceptical", POOR_RAISE[-1:])
    reply = r.lines[-1]
    assert len(rt._model.calls) == 2 and "answer as Dana would, in character" in rt._model.calls[1][-1].content
    assert reply.text in {line for concern in c.scenario.concerns for line in concern.pushback}
    assert reply.checked.startswith("stepped out of character (attempt 2)") and "can't help" not in reply.text


def test_a_superior_who_says_a_hidden_concern_word_for_word_is_written_again(rt):
    """The concerns stay hidden until the debrief; the small model copies what it is told is on its
    mind ("I would accept a smaller release on Friday if someone proposed it." in a CLI run)."""
    from coach.superior import voices_concern

    rt._model.replies = ["I would accept a smaller release on Friday if someone proposed it.",
                         "So what exactly would you ship on Friday?"]
    c, store, r = play(rt, "deadline-extension", "sceptical", ["The API team slipped; Friday is at risk."])
    assert r.lines[-1].text == "So what exactly would you ship on Friday?"
    assert r.lines[-1].checked == "voiced a hidden concern (attempt 1)"
    assert "keep what is on your mind to yourself" in rt._model.calls[1][-1].content
    concerns = [concern.text for concern in c.scenario.concerns]
    assert not any(voices_concern(line, concerns) for concern in c.scenario.concerns for line in concern.pushback)


def test_a_superior_who_repeats_an_earlier_line_is_written_again_then_replaced(rt):
    rt._model.replies = ["Why am I only hearing about this now, after the fact?"]
    c, store, r = play(rt, "deadline-extension", "sceptical", ["The API team slipped; Friday is at risk.",
                                                               "I should have told you on Tuesday."])
    first, second = r.lines[-3], r.lines[-1]
    assert first.text == "Why am I only hearing about this now, after the fact?" and first.checked == ""
    assert len(rt._model.calls) == 3 and "say something new" in rt._model.calls[2][-1].content
    assert second.text in {line for concern in c.scenario.concerns for line in concern.pushback}
    assert second.checked.startswith("repeated an earlier line (attempt 2)")
    list(c.reply(r, store, "The core flows could ship on Friday."))
    assert r.lines[-1].checked.startswith("repeated") and r.lines[-1].text != second.text  # a line not yet said


def test_a_reply_in_character_at_the_second_attempt_is_shown(rt):
    rt._model.replies = ["I'm sorry, but I can't assist with that.", "Why am I only hearing about this now?"]
    c, store, r = play(rt, "deadline-extension", "sceptical", ["The API team slipped; Friday is at risk."])
    assert r.lines[-1].text == "Why am I only hearing about this now?"
    assert r.lines[-1].checked == "stepped out of character (attempt 1)"


def test_a_busy_superior_who_closed_the_meeting_says_so_in_the_codes_words(rt):
    from coach.rehearse import CLOSING_LINES

    c, store, r = play(rt, "deadline-extension", "busy", ["So, about the project.",
                                                          "There's been a lot going on with the other team.",
                                                          "Anyway, the API team is late."])
    assert c.state(r).closed and len(rt._model.calls) == 1  # only the first turn asked the model
    closing = [line.text for line in r.lines[-3::2]]
    assert closing == list(CLOSING_LINES[:2]) and r.lines[-1].checked == ""


def test_once_the_concerns_are_met_the_superior_may_agree(rt):
    c = rt.rehearsal_coach("deadline-extension")
    # What the superior does once the tracker says "agreed" (the tracker's own accuracy is measured on
    # the blind turns below): a turn that settles two of the three concerns, and asks.
    settle = ("I know you promised Friday to your director, so I propose we ship the core flows on Friday and the "
              "reports on the 21st; I'll write the note you can forward to her today. Can you agree to that?")
    state = c.tracker.replay("cooperative", [settle])
    assert state.outcome == "agreed"
    rt._model.replies = ["OK, let's do that. Send me the note for my director."]
    c, store, r = play(rt, "deadline-extension", "cooperative", [settle])
    assert r.lines[-1].text == "OK, let's do that. Send me the note for my director." and r.lines[-1].checked == ""
    assert "you can agree and name the next step" in rt._model.calls[-1][-1].content


def test_a_rehearsal_survives_a_reload(rt):
    c, store, r = play(rt, "bad-news", "busy", ["I found a mistake in the client report."])
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
    c, store, r = play(rt, "bad-news", "sceptical", ["First point."])
    rt._model.fail_with = openai.APIConnectionError(request=httpx.Request("POST", "http://x"))
    with pytest.raises(ModelUnavailable):
        list(c.reply(r, store, "Second point."))
    saved = store.get(r.id)
    assert [l.text for l in saved.lines if l.role == "user"] == ["First point.", "Second point."]


def test_an_interrupted_reply_keeps_what_was_said(rt):
    c = rt.rehearsal_coach("bad-news")
    store = rt.workspace().rehearsals
    r = store.start(c.scenario, "busy")
    rt._model.replies = ["Well, that is not great news. Tell me more about the client."]
    stream = c.reply(r, store, "I found a mistake in the report.")
    next(stream)
    stream.close()  # the page reran while the superior was still talking
    lines = store.get(r.id).lines
    assert [l.role for l in lines] == ["superior", "user", "superior"] and lines[-1].text.endswith("…")


# ---- hints --------------------------------------------------------------------------------------


def test_a_hint_gives_words_to_say_aimed_at_an_open_concern(rt):
    c, store, r = play(rt, "bad-news", "busy", ["Hi, I found a mistake in the Norland report."])
    rt._model.replies = ['Try: "I found the error this morning; I have a corrected table ready and I propose we '
                         'send it to the client today with a short note."']
    hint = c.hint(r)
    assert hint.aim == c.scenario.concerns[c.state(r).open_concerns()[0]].hint
    assert hint.line.startswith("I found the error this morning") and not hint.note
    assert len(store.get(r.id).lines) == 3  # the hint is not part of the transcript
    assert "What is still missing for Dana" in rt._model.calls[-1][-1].content


def test_a_hint_that_falls_into_a_myth_is_not_shown(rt):
    c, store, r = play(rt, "bad-news", "busy", ["Hi, I found a mistake."])
    rt._model.replies = ["I'm so sorry to bother you with this again, it's probably nothing really."]
    hint = c.hint(r)
    assert hint.line == "" and hint.note.startswith("No suggested line passed the check")
    assert "Your last suggestion was rejected" in rt._model.calls[-1][-1].content


# ---- the debrief --------------------------------------------------------------------------------


def test_the_poor_attempt_scores_at_most_2_on_every_strategy(rt):
    c = rt.rehearsal_coach("promotion-raise")
    r = Rehearsal(0, "default", "promotion-raise", "sceptical", [Line("user", t) for t in POOR_RAISE])
    card = c.score(r)
    assert list(card["strategies"]) == list(STRATEGIES)
    assert all(s["score"] <= 2 for s in card["strategies"].values()), card["strategies"]
    assert card["overall"] <= 2.0 and card["outcome"] == "open"
    assert [x["addressed"] for x in card["concerns"]] == [False, False, False]


def test_evidence_is_a_turn_that_carries_the_strategys_signal(rt):
    c = rt.rehearsal_coach("deadline-extension")
    turns = ["Sorry to bother you, whatever you decide is fine.",
             "I propose we ship the core on Friday and the reports on the 21st. Can you confirm by tomorrow?"]
    r = Rehearsal(0, "default", "deadline-extension", "busy", [Line("user", t) for t in turns])
    card = c.score(r)
    s = card["strategies"]
    assert s["strategy-initiative"]["turn"] == 2 and s["strategy-initiative"]["evidence"] == turns[1]
    assert s["strategy-communicate"]["turn"] == 2
    for strategy in s.values():
        assert strategy["evidence"] == ("not shown" if strategy["turn"] == 0 else turns[strategy["turn"] - 1])
        if strategy["turn"] == 0:
            assert strategy["score"] <= 2
    assert {m["topic"] for m in card["myths"]} >= {"myth-just-execute"}


def test_a_turn_that_meets_one_of_the_superiors_concerns_shows_understanding():
    """The concerns are the superior's own pressures: a turn that met one understood them, even with no
    word the detector reads as a goal (docs/rubric.md). Nothing met and no goal: "not shown", 2."""
    from coach.scoring import TurnEvidence, scorecard
    from coach.tracker import ConcernState, TrackerState

    turns = [TurnEvidence(1, "The migration slips to the 21st.", []),
             TurnEvidence(2, "I know you've committed Friday to Helen, so I'd ship the core on Friday.", [])]
    concerns = [ConcernState("They promised Friday to their own boss.", "a commitment of their own", True),
                ConcernState("They wonder why they hear of it only now.", "the timing", True)]
    understand = scorecard(turns, TrackerState("busy", concerns, turns=2))["strategies"]["strategy-understand"]
    assert (understand["score"], understand["turn"], understand["evidence"]) == (2, 0, "not shown")
    concerns[0].met_turn = 2
    understand = scorecard(turns, TrackerState("busy", concerns, turns=2))["strategies"]["strategy-understand"]
    assert (understand["turn"], understand["evidence"], understand["signals"]) == (2, turns[1].text, ["concern_met"])
    assert understand["score"] == 4  # shown in one turn (3), and half the concerns met (+1)


def test_the_debrief_ends_the_rehearsal_with_checked_improvements(rt):
    c, store, r = play(rt, "promotion-raise", "sceptical", POOR_RAISE)
    rt._model.calls.clear()  # the fake replays its replies from the first call on
    rt._model.replies = ["Open with the two projects you delivered and what they did for the department's goals.",
                         "ok"]  # the second is too short: the playbook's own advice replaces it
    card = c.debrief(r, store)
    assert card["improvements"]
    for imp in card["improvements"]:
        assert 1 <= imp["turn"] <= 4 and imp["card"] in {x.topic for x in rt.cards}
    assert card["improvements"][0]["source"] == "model"
    assert any(i["source"] == "playbook" for i in card["improvements"][1:])
    saved = store.get(r.id)
    assert saved.ended and saved.scorecard == card
    assert "## Scorecard" in saved.as_markdown() and json.loads(json.dumps(saved.as_dict()))["scorecard"]


def test_cli_lists_scenarios(tmp_path):
    result = coach("rehearse", "--list", env={"COACH_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 0 and "deadline-extension" in result.stdout


@pytest.mark.model
def test_cli_scripted_rehearsal_with_the_real_tiny_model(tmp_path, saved_index):
    """The outcome and scores come from the tracker and the rubric, so they are exact; the tiny model
    only voices the superior and phrases advice, and either its advice passes the check or the
    playbook's own line (source "playbook") stands in."""
    from tests.conftest import seed_index, tiny_model_path

    seed_index(saved_index, tmp_path / "data")
    script = tmp_path / "turns.txt"
    script.write_text("\n".join(POOR_RAISE) + "\n")
    env = {"COACH_DATA_DIR": str(tmp_path / "data"), "COACH_MODEL": str(tiny_model_path()),
           "COACH_CONTEXT_TOKENS": "4096", "COACH_ANSWER_TOKENS": "48", "COACH_BACKEND": "local"}
    result = coach("rehearse", "--scenario", "promotion-raise", "--difficulty", "sceptical",
                   "--script", str(script), "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [t["role"] for t in data["transcript"]] == ["superior"] + ["user", "superior"] * 4
    assert data["outcome"] == "open"
    assert [c["addressed"] for c in data["concerns"]] == [False, False, False]
    assert all(s["score"] <= 2 for s in data["scorecard"]["strategies"].values())
    for imp in data["scorecard"]["improvements"]:
        assert imp["source"] in ("model", "playbook") and imp["advice"]


def test_bracketed_directions_the_model_imitates_are_never_shown(rt):
    rt._model.replies = ["Well. [Still on my mind: the budget, do not agree.] What numbers do you have? [Note"]
    c, store, r = play(rt, "promotion-raise", "sceptical", ["I'd like to talk about a promotion."])
    assert r.lines[-1].text == "Well. What numbers do you have?"


def test_the_rubric_on_the_blind_calibration_set_holds_its_measured_figures(rt):
    """23 scripts written blind after the rubric's last change (no longer blind). The floors are the
    figures measured with the learned tracker (stop 26), so a scorer or tracker change that makes them
    worse fails here. That tracker lowered them from Spearman 0.848 and a poor mean of 1.82 (README: it met
    concerns in vague turns of poor scripts) while it raised the turn-by-turn figures below and the
    calibration halves; the trade was made on purpose. They include a miss against the issue's target:
    2 of 7 poor scripts average above 2.0 (rb-05, rb-17)."""
    from coach.evaluate import evaluate_rehearse, rehearse_blind

    f = evaluate_rehearse(rt, rehearse_blind(), with_model=False)
    assert f["scripts"] == 23
    assert f["spearman"] >= 0.78 and f["good_failing"] == []  # 0.787 measured
    assert f["means"]["good"] >= 4.12 and f["means"]["poor"] <= 1.96
    assert set(f["poor_failing"]) <= {"rb-05", "rb-17"}


def test_the_rubric_on_the_calibration_halves_holds_its_measured_figures(rt):
    """The 36 scripts the rubric was shaped on (tune) and checked on (holdout), stop 26: Spearman
    0.94 and 0.90, no good script below 3.5, one poor tune script above 2.0 (rc-35)."""
    from coach.evaluate import calibration_halves, evaluate_rehearse

    halves = calibration_halves()
    tune, holdout = (evaluate_rehearse(rt, halves[h], with_model=False) for h in ("tune", "holdout"))
    assert tune["spearman"] >= 0.93 and holdout["spearman"] >= 0.89, (tune["spearman"], holdout["spearman"])
    assert tune["good_failing"] == holdout["good_failing"] == []
    assert set(tune["poor_failing"]) <= {"rc-35"} and holdout["poor_failing"] == []


@pytest.mark.parametrize("name, precision, recall", [("blind", 0.79, 0.80), ("blind2", 0.81, 0.73)])
def test_the_tracker_holds_its_measured_figures_on_the_blind_turns(rt, name, precision, recall):
    """96 turns per set, labelled blind with the concerns each settles (288 turn-concern pairs). The
    similarity rule scored 0.61 / 0.65 and 0.68 / 0.56 (precision / recall, first runs); the learned
    tracker (stop 26) scores the floors below. A tracker change that makes them worse fails here."""
    from coach.evaluate import TRACKER_SETS, evaluate_tracker

    f = evaluate_tracker(rt.detector, rt.scenarios()[0], TRACKER_SETS[name])
    assert f["turns"] == 96 and f["pairs"] == 288
    assert f["precision"] >= precision and f["recall"] >= recall, f


@pytest.mark.parametrize("name, lines, most_fn, most_fp", [("blind", 140, 0, 23), ("blind2", 121, 4, 13)])
def test_the_shipped_concession_check_holds_its_measured_figures_on_the_blind_lines(embeddings, name, lines, most_fn,
                                                                                    most_fp):
    """Floors at the figures measured. blind: 140 lines a helper wrote (stop 24: no concession missed,
    16 of 70 firm lines taken for one; stop 27, retrained with the model's own lines and without six
    training lines found within cosine 0.9 of a blind line: 23). blind2: 121 lines the default model
    itself wrote, labelled blind; first run of the stop 24 classifier: 6 of 20 concessions missed, 22
    of 101 firm lines taken for one; trained on 405 other lines of the model's: 5 missed, 13 taken; and
    without the six lines: 4 missed, 13 taken."""
    from coach.concession import ConcessionClassifier
    from coach.evaluate import CONCESSION_SETS, evaluate_concession

    figures = evaluate_concession(ConcessionClassifier(embeddings), CONCESSION_SETS[name])
    assert figures["lines"] == lines and figures["fn"] <= most_fn and figures["fp"] <= most_fp, figures


def test_no_concession_training_line_is_within_cosine_0_9_of_a_blind_line(embeddings):
    from coach.concession import TRAINING
    from coach.evaluate import CONCESSION_SETS

    train = [i["text"] for i in yaml.safe_load(TRAINING.read_text(encoding="utf-8"))]
    blind = [i["text"] for path in CONCESSION_SETS.values() for i in yaml.safe_load(path.read_text(encoding="utf-8"))]
    similarity = embeddings.embed(train) @ embeddings.embed(blind).T
    close = [(train[i], blind[j], float(similarity[i, j])) for i, j in zip(*np.where(similarity >= 0.9))]
    assert len(train) == 863 and close == []


