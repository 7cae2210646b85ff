"""The coach chat in the app (AppTest, real tiny model): each route, the confirm step, re-running a
message in another mode, and what survives a reload."""

import pytest

from tests.conftest import start

DRAFT = "Hi Dana,\nSorry to bother you again. Whatever you decide on the vendor is fine, just tell me what to do.\nThanks,\nSam"


def assistant_captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_the_first_screen_says_what_the_chat_takes(app_env):
    at = start()
    intro = at.markdown[0].value
    assert "Ask a question" in intro and "paste a draft" in intro and "let's practise" in intro


@pytest.mark.model
def test_a_pasted_draft_is_reviewed_in_the_chat_and_survives_a_reload(app_env):
    at = start()
    at.chat_input[0].set_value(DRAFT).run()
    assert not at.exception, at.exception
    assert "Reviewing a draft" in " ".join(assistant_captions(at))
    warnings = " ".join(w.value for w in at.warning)
    assert "myth-fear" in warnings and "myth-just-execute" in warnings
    marked = [h for h in at.get("html") if "<mark" in h.proto.body]
    assert marked and "Sorry to bother you again." in marked[0].proto.body
    again = start()  # a reload: the review comes back from the saved chat, not recomputed
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert "myth-fear" in " ".join(w.value for w in again.warning)


@pytest.mark.model
def test_a_request_to_practise_runs_the_rehearsal_in_the_chat_and_saves_the_debrief(app_env):
    from views.common import runtime

    at = start()
    at.chat_input[0].set_value("Let's practise asking my boss for a promotion and a raise.").run()
    assert not at.exception, at.exception
    [form] = at.get("form")
    assert at.selectbox[0].value == "promotion-raise"  # the matching scenario, ready to confirm
    [b for b in at.button if b.label == "Start"][0].click().run()
    assert not at.exception, at.exception
    assert "Sure, let's talk. What's on your mind?" in [m.markdown[-1].value for m in at.chat_message]
    assert "What do you say to" in at.chat_input[0].proto.placeholder
    at.chat_input[0].set_value("I'd like to talk about my compensation.").run()
    assert not at.exception, at.exception
    [meter] = at.get("progress")
    assert meter.proto.text.startswith("0 of 3")
    [b for b in at.button if b.label == "End and get my debrief"][0].click().run()
    assert not at.exception, at.exception
    assert len(at.metric) == 4  # the debrief, in the chat
    [saved] = runtime().workspace().rehearsals.list()
    assert saved.ended and saved.scorecard["outcome"] in ("open", "refused")
    # The chat input routes again once the rehearsal has ended.
    assert "let's practise" in at.chat_input[0].proto.placeholder


def test_a_rehearsal_line_sent_in_a_run_that_another_rerun_stops_is_still_said_once(app_env, monkeypatch):
    from coach.runtime import Runtime
    from tests.test_app import stopped_once
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # the superior cannot answer: the line stays
    at = start()
    at.chat_input[0].set_value("Let's practise asking my boss for a promotion and a raise.").run()
    [b for b in at.button if b.label == "Start"][0].click().run()
    assert "What do you say to" in at.chat_input[0].proto.placeholder
    stopped_once(monkeypatch, Runtime, "rehearsal_coach")
    at.chat_input[0].set_value("I'd like to talk about my compensation.").run()
    assert not at.exception, at.exception
    assert "Your turn is kept" in " ".join(assistant_captions(at))
    at.run()  # said once: a later run does not say it again
    [saved] = runtime().workspace().rehearsals.list()
    said = [line.text for line in runtime().workspace().rehearsals.get(saved.id).lines if line.role == "user"]
    assert said == ["I'd like to talk about my compensation."]


@pytest.mark.model
def test_not_what_you_meant_re_runs_the_message_in_another_mode(app_env):
    at = start()
    at.chat_input[0].set_value("How should I word an email asking for a raise?").run()
    assert not at.exception, at.exception
    assert "Answering a question" in " ".join(assistant_captions(at))
    [b for b in at.button if b.label == "Review it as a draft"][0].click().run()
    assert not at.exception, at.exception
    assert "Your draft, flagged words highlighted" in assistant_captions(at)
    again = start()
    assert len(again.chat_message) == 2 and again.get("html")  # replaced in place, saved


def test_a_message_the_coach_could_not_answer_is_kept_and_can_be_answered_later(app_env, monkeypatch):
    """Saved before the reply: a failed (or cut-off) reply never loses the person's message."""
    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    at = start()
    question = "How do I tell my boss that the launch date is at risk?"
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    assert at.error, "the failure is shown"
    again = start()  # a reload
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert again.chat_message[0].markdown[0].value == question
    assert any("No reply yet" in c for c in assistant_captions(again))
    # All three modes are offered for a message that has no reply yet.
    assert {b.label for b in again.button} >= {"Answer it as a question", "Review it as a draft"}


def test_a_reply_cut_short_by_a_rerun_is_written_again_in_the_next_run(app_env, monkeypatch):
    """A rerun from elsewhere (a widget, the sign-in cookie arriving) interrupts the reply being
    written: the next run of the page writes it again, once, instead of leaving it unanswered."""
    from coach.ask import Turn
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # the reply fails, visibly
    at = start()
    chats = runtime().workspace().conversations
    question = "How do I tell my boss that the launch date is at risk?"
    chat = chats.start(question)
    chats.append(chat, Turn(question, "", "", mode="ask", payload={"pending": True, "scenario": None}))
    at.session_state["conversation:default"] = chat
    at.session_state["turns:default"] = chats.turns(chat)
    at.session_state["replying:default"] = (chat, 1)  # what a run cut short leaves behind
    at.run()
    assert not at.exception, at.exception
    assert at.error, "the reply was written again (and failed, visibly, with no server)"
    at.run()  # a failed reply is not retried by every later run
    assert not at.error and any("No reply yet" in c for c in assistant_captions(at))


def test_two_tabs_on_one_chat_keep_each_message_in_its_own_place(app_env, monkeypatch):
    """A message numbered by the database, not by the tab's own list: a reply never lands on another."""
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # replies fail; the messages stay
    first = start()
    first.chat_input[0].set_value("Question one about my boss?").run()
    second = start()  # another tab, on the same (latest) chat
    first.chat_input[0].set_value("Question two about my boss?").run()
    second.chat_input[0].set_value("Question three about my boss?").run()
    assert not second.exception, second.exception
    shown = [m.markdown[0].value for m in second.chat_message if m.name == "user"]
    assert shown == ["Question one about my boss?", "Question two about my boss?", "Question three about my boss?"]
    chats = runtime().workspace().conversations
    assert [t.question for t in chats.turns(chats.latest())] == shown


@pytest.mark.model
def test_an_answer_cut_short_by_a_rerun_is_followed_again_not_asked_again(app_env, monkeypatch):
    """The answer is written by a job of its own (coach/jobs.py): the rerun that stops the page (the
    sign-in cookie arriving, a click) does not stop it, and the next run shows it without asking again."""
    from coach.ask import AskChain
    from coach.jobs import Jobs
    from tests.test_app import stopped_once
    from views.common import runtime

    asked, real = [], AskChain.stream

    def counted(self, *args, **kwargs):
        asked.append(1)
        yield from real(self, *args, **kwargs)

    monkeypatch.setattr(AskChain, "stream", counted)
    at = start()
    stopped_once(monkeypatch, Jobs, "follow", after=True)  # the job is running when the run is stopped
    follows, stopped = [], Jobs.follow
    monkeypatch.setattr(Jobs, "follow", lambda self, *a, **k: (follows.append(1), stopped(self, *a, **k))[1])
    at.chat_input[0].set_value("How do I tell my boss that the launch date is at risk?").run()
    assert not at.exception, at.exception
    assert len(follows) == 2 and len(asked) == 1  # stopped once, then followed again: the model asked once
    chats = runtime().workspace().conversations
    [saved] = chats.turns(chats.latest())
    assert saved.answer.strip() and not saved.payload, "saved whole, by the job"
    shown = [m for m in at.chat_message if m.name == "assistant"][0]
    assert saved.answer.strip()[:30] in " ".join(md.value for md in shown.markdown)
    assert runtime().answers.running() == []


def test_a_reload_while_an_answer_is_being_written_follows_it(app_env, monkeypatch):
    """A new session (a reload) on a chat whose answer is still being written shows it as it comes,
    instead of "No reply yet"."""
    import threading

    from coach.ask import Turn
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # this page run must not ask a model
    question = "How do I tell my boss that the launch date is at risk?"
    chats = runtime().workspace().conversations
    chat = chats.start(question)
    chats.append(chat, Turn(question, "", "", mode="ask", payload={"pending": True, "scenario": None, "routed": True}))
    gate = threading.Event()

    def pieces():  # what the first session's job writes
        yield "Tell her early, "
        gate.wait(30)
        yield "with a plan B."
        turn = Turn(question, "p", "Tell her early, with a plan B.", [], mode="ask")
        chats.update(chat, 1, turn)
        yield turn

    runtime().answers.follow((None, "default", chat, 1), pieces)
    threading.Timer(1.0, gate.set).start()
    at = start()  # the reload
    assert not at.exception and not at.error, (at.exception, at.error)
    shown = [m for m in at.chat_message if m.name == "assistant"][0]
    assert "Tell her early, with a plan B." in " ".join(md.value for md in shown.markdown)
    assert not any("No reply yet" in c for c in assistant_captions(at))
    assert chats.turns(chat)[0].answer == "Tell her early, with a plan B."


def test_a_new_message_cuts_off_the_answer_still_being_written(app_env, monkeypatch):
    """As before answers had jobs of their own: sending the next message stops the answer being
    written, which is saved as far as it got, marked as interrupted (the job's own clean-up saves it)."""
    import time

    from coach.ask import Turn
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # the new message's reply fails, visibly
    question = "How do I tell my boss that the launch date is at risk?"
    chats = runtime().workspace().conversations
    chat = chats.start(question)
    chats.append(chat, Turn(question, "", "", mode="ask", payload={"pending": True, "scenario": None, "routed": True}))

    def pieces():  # an answer that goes on until it is cut off
        said = ""
        try:
            while True:
                said += "more "
                yield "more "
                time.sleep(0.02)
        except GeneratorExit:
            chats.update(chat, 1, Turn(question, "p", said + "…", [], mode="ask", payload={"interrupted": True}))
            raise

    at = start()  # the chat, its first message not answered yet
    job = runtime().answers.follow((None, "default", chat, 1), pieces)  # answered now (in another tab, say)
    at.chat_input[0].set_value("And what if she is angry?").run()
    assert not at.exception, at.exception
    assert job.finished and runtime().answers.running() == []
    first, second = chats.turns(chat)
    assert first.payload == {"interrupted": True} and first.answer.startswith("more ")
    assert second.question == "And what if she is angry?"
    assert any("cut off before it finished" in c for c in assistant_captions(at))


def test_a_message_sent_as_another_rerun_arrives_is_kept_and_shown(app_env, monkeypatch):
    """The chat input's callback starts a chat; a rerun request (the sign-in cookie reporting back)
    arrives meanwhile, and Streamlit stops the callback at its next read or write of st.session_state.
    The message must be saved in its chat, and shown, all the same: it was once saved in a chat that
    the page never learnt about, and the person saw an empty chat."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    from streamlit.runtime.state.safe_session_state import SafeSessionState

    from coach.history import Conversations
    from views.common import runtime

    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")  # no model: the message is what counts
    arrived, real_start = [], Conversations.start

    def start_chat(self, *args, **kwargs):
        arrived.append(1)  # the rerun request arrives while the chat is being started
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "start", start_chat)
    for name in ("__getitem__", "__setitem__", "__delitem__", "__contains__"):
        def stop_point(self, *args, _real=getattr(SafeSessionState, name), **kwargs):
            if arrived and len(arrived) == 1:
                arrived.append("stopped")
                ctx = get_script_run_ctx()
                raise RerunException(RerunData(query_string=ctx.query_string, page_script_hash=ctx.page_script_hash))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(SafeSessionState, name, stop_point)
    at = start()
    question = "How do I tell my boss that the launch date is at risk?"
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    assert "stopped" in arrived, "the callback was not stopped: the test no longer models the rerun"
    chats = runtime().workspace().conversations
    assert [[t.question for t in chats.turns(c)] for c, _, _ in chats.list()] == [[question]]
    assert [m.name for m in at.chat_message][:1] == ["user"]
    assert question in at.chat_message[0].markdown[0].value
