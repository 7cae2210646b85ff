"""The Streamlit page, headless through AppTest, with the real tiny model."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, REPO_DIR, start

def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_first_start_shows_the_coach_and_its_status(app_env):
    at = start()
    assert "Upward" in at.sidebar.title[0].value
    assert "Playbook" in sidebar_text(at) and "cards" in sidebar_text(at)
    assert "Model" in sidebar_text(at)
    assert len(at.chat_input) == 1


@pytest.mark.model
def test_a_question_gets_an_answer_with_sources_that_survives_a_reload(app_env):
    at = start()
    at.chat_input[0].set_value("How do I tell my boss I missed a deadline?").run()
    assert not at.exception, at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[1].markdown[0].value.strip()
    captions = [c.value for c in at.caption]
    assert captions[0].startswith("Answering a question") and any(c.startswith("Sources (") for c in captions)
    assert at.expander and at.expander[0].label.startswith("[1] ")
    # A reload is a new session: the conversation comes back from disk.
    again = start()
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert "missed a deadline" in again.chat_message[0].markdown[0].value


def test_an_empty_message_gets_a_message_not_a_call(app_env):
    at = start()
    at.chat_input[0].set_value("   ").run()
    assert not at.exception
    assert "The message is empty" in at.error[0].value
    assert len(start().chat_message) == 0  # nothing saved


def test_a_model_server_that_is_down_gets_a_clear_message(app_env, monkeypatch):
    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COACH_MODEL", "m")
    monkeypatch.setenv("COACH_API_KEY", "sk-test-DO-NOT-SHOW-1234567890")
    at = start()
    at.chat_input[0].set_value("How do I ask for feedback?").run()
    assert not at.exception
    assert "Cannot reach the model server" in at.error[0].value
    shown = " ".join(str(e.value) for e in [*at.markdown, *at.sidebar.markdown, *at.error, *at.caption])
    assert "sk-test-DO-NOT-SHOW" not in shown  # the key is a secret: never in the page
    # Nothing half-written and nothing lost: the message is kept, with no reply, to be answered later.
    again = start()
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert [m.value for m in again.chat_message[1].markdown] == []
    assert any("No reply yet" in c.value for c in again.caption)


@pytest.mark.fresh_index
def test_a_corrupt_index_offers_a_rebuild(app_env):
    chroma = app_env / "data" / "chroma"
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(b"garbage" * 500)
    at = start()
    assert "cannot be opened" in at.error[0].value
    rebuild = [b for b in at.button if "Rebuild" in b.label][0]
    rebuild.click().run()
    assert not at.exception and not at.error
    assert len(at.chat_input) == 1


def test_no_page_has_a_bare_expression_that_streamlit_magic_would_show():
    """Streamlit writes every bare expression of a page, in its functions too ("magic"): a line like
    `st.success(a) if ok else st.error(b)` also shows the element's help, and `x.keep() if y else
    x.done()` a stray "None". Calls, docstrings and yields are left alone."""
    import ast

    found = []
    for path in [REPO_DIR / "app.py", *sorted((REPO_DIR / "views").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            for field in ("body", "orelse", "finalbody"):
                statements = getattr(node, field, None)
                for i, child in enumerate(statements if isinstance(statements, list) else []):
                    if not isinstance(child, ast.Expr) or isinstance(child.value, (ast.Call, ast.Yield, ast.YieldFrom, ast.Await)):
                        continue
                    if i == 0 and isinstance(child.value, ast.Constant) and isinstance(child.value.value, str):
                        continue  # a docstring
                    found.append(f"{path.name}:{child.lineno}: {ast.unparse(child)[:80]}")
    assert not found, found


def test_notes_page_adds_lists_and_deletes_a_pasted_note(app_env):
    at = start()
    at.switch_page("views/notes.py").run()
    assert not at.exception, at.exception
    at.text_input[0].set_value("1:1 notes, 12 March")
    at.text_area[0].set_value("Dana wants three bullets and a clear ask.")
    [b for b in at.button if "Add note" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert "Added **1:1 notes, 12 March**" in at.success[0].value
    assert any("1:1 notes, 12 March" in e.label for e in at.expander)
    [b for b in at.button if b.label == "Yes, delete it"][0].click().run()  # inside the confirm popover
    assert not any("1:1 notes" in e.label for e in at.expander)


def stopped_once(monkeypatch, cls, method: str, after: bool = False) -> None:
    """The first call of cls.method meets a rerun from elsewhere (the sign-in cookie component reporting
    back after a page change does this): Streamlit stops the run there (before the call, or just after
    it with after=True) and starts a new one, whose widgets no longer carry the click."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    real, calls = getattr(cls, method), []

    def first_call_stopped(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs) if after or len(calls) > 1 else None
        if len(calls) == 1:
            ctx = get_script_run_ctx()  # the same page, as the component's rerun is
            raise RerunException(RerunData(query_string=ctx.query_string, page_script_hash=ctx.page_script_hash))
        return result

    monkeypatch.setattr(cls, method, first_call_stopped)


def test_a_note_submitted_in_a_run_that_another_rerun_stops_is_still_added(app_env, monkeypatch):
    from coach.notes import NoteStore

    at = start()
    at.switch_page("views/notes.py").run()
    stopped_once(monkeypatch, NoteStore, "add")
    at.text_input[0].set_value("1:1 notes, 12 March")
    at.text_area[0].set_value("Dana wants three bullets and a clear ask.")
    [b for b in at.button if "Add note" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert "Added **1:1 notes, 12 March**" in at.success[0].value
    assert [e.label for e in at.expander if "1:1 notes" in e.label] == ["1:1 notes, 12 March · 1 parts · 41 characters"]


def test_a_note_stored_by_a_run_stopped_just_after_is_not_added_twice(app_env, monkeypatch):
    from coach.notes import NoteStore

    at = start()
    at.switch_page("views/notes.py").run()
    stopped_once(monkeypatch, NoteStore, "add", after=True)
    at.text_input[0].set_value("dana.md")
    at.text_area[0].set_value("Dana wants three bullets and a clear ask.")
    [b for b in at.button if "Add note" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert not at.warning, "not asked whether to replace the note it has just added"
    assert "Added **dana.md**" in at.success[0].value
    assert [e.label for e in at.expander if "dana" in e.label] == ["dana.md · 1 parts · 41 characters"]


def test_a_note_let_go_of_by_a_run_stopped_just_after_still_says_it_was_added_once(app_env, monkeypatch):
    """The report is kept before the note leaves the queue, with no point in between where a run can stop:
    a report kept by a session_state write after it was lost when that write stopped the run."""
    from views.common import Submitted

    at = start()
    at.switch_page("views/notes.py").run()
    stopped_once(monkeypatch, Submitted, "done", after=True)
    at.text_input[0].set_value("dana.md")
    at.text_area[0].set_value("Dana wants three bullets and a clear ask.")
    [b for b in at.button if "Add note" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Added **dana.md** (1 parts)."]


def test_a_note_with_the_name_of_an_existing_one_asks_before_replacing(app_env):
    at = start()
    at.switch_page("views/notes.py").run()
    for text in ("Dana wants three bullets.", "Dana now wants a one-page memo."):
        at.text_input[0].set_value("dana.md")
        at.text_area[0].set_value(text)
        [b for b in at.button if "Add note" in b.label][0].click().run()
        assert not at.exception, at.exception
    assert "already exists" in at.warning[0].value
    body = " ".join(t.value for t in at.text)
    assert "three bullets" in body and "one-page memo" not in body  # nothing replaced yet
    [b for b in at.button if b.label == "Replace it"][0].click().run()
    body = " ".join(t.value for t in at.text)
    assert "one-page memo" in body and "three bullets" not in body


def test_an_empty_pasted_note_gets_a_message(app_env):
    at = start()
    at.switch_page("views/notes.py").run()
    at.text_area[0].set_value("   ")
    [b for b in at.button if "Add note" in b.label][0].click().run()
    assert not at.exception and "empty" in at.error[0].value


def test_profile_page_saves_the_form(app_env):
    at = start()
    at.switch_page("views/profile.py").run()
    assert not at.exception, at.exception
    at.text_input[0].set_value("Dana")
    [b for b in at.button if "Save" in b.label][0].click().run()
    assert not at.exception and "Saved" in at.success[0].value
    again = start()
    again.switch_page("views/profile.py").run()
    assert again.text_input[0].value == "Dana"


def test_a_profile_saved_in_a_run_that_another_rerun_stops_is_still_saved(app_env, monkeypatch):
    from coach.profile import ProfileStore

    at = start()
    at.switch_page("views/profile.py").run()
    stopped_once(monkeypatch, ProfileStore, "load")  # the run with the click stops before the form
    at.text_input[0].set_value("Dana")
    [b for b in at.button if "Save" in b.label][0].click().run()
    assert not at.exception, at.exception
    again = start()
    again.switch_page("views/profile.py").run()
    assert again.text_input[0].value == "Dana"


def test_the_app_keeps_workspaces_apart(app_env):
    from views.common import runtime

    start()
    runtime().workspace("bob").notes.add("carol.txt", "Carol is planning a reorganisation of payments in May.")
    alice = AppTest.from_file(APP, default_timeout=180)
    alice.session_state["workspace"] = "alice"
    alice.run()
    alice.switch_page("views/notes.py").run()
    assert not any("carol" in e.label for e in alice.expander)
    assert "0 notes" in " ".join(m.value for m in alice.markdown)
    bob = AppTest.from_file(APP, default_timeout=180)
    bob.session_state["workspace"] = "bob"
    bob.run()
    bob.switch_page("views/notes.py").run()
    assert any("carol" in e.label for e in bob.expander)


def test_review_page_highlights_the_words_and_lists_findings(app_env):
    at = start()
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    at.text_area(key="review_draft").set_value("Hi Dana, sorry to bother you again. Whatever you decide is fine.")
    at.toggle[0].set_value(False)
    [b for b in at.button if b.label == "Review"][0].click().run()
    assert not at.exception, at.exception
    page = " ".join(str(h.proto) for h in at.get("html"))
    assert "<mark" in page and "sorry to bother" in page
    warnings = " ".join(w.value for w in at.warning)
    assert "myth-fear" in warnings and "myth-just-execute" in warnings


def test_a_draft_submitted_in_a_run_that_another_rerun_stops_is_still_reviewed(app_env, monkeypatch):
    from coach.runtime import Runtime

    at = start()
    at.switch_page("views/review.py").run()
    stopped_once(monkeypatch, Runtime, "analyze")
    at.text_area(key="review_draft").set_value("Hi Dana, sorry to bother you again. Whatever you decide is fine.")
    at.toggle[0].set_value(False)
    [b for b in at.button if b.label == "Review"][0].click().run()
    assert not at.exception, at.exception
    assert "myth-fear" in " ".join(w.value for w in at.warning)


def test_review_page_refuses_an_empty_draft(app_env):
    at = start()
    at.switch_page("views/review.py").run()
    at.toggle[0].set_value(False)
    [b for b in at.button if b.label == "Review"][0].click().run()
    assert not at.exception and "draft is empty" in at.error[0].value


@pytest.mark.model
def test_rehearse_page_plays_the_superior_and_survives_a_reload(app_env):
    at = start()
    at.switch_page("views/rehearse.py").run()
    assert not at.exception, at.exception
    [b for b in at.button if b.label == "Start"][0].click().run()
    assert not at.exception, at.exception
    assert at.chat_message[0].markdown[0].value  # the superior's opening line
    at.chat_input[0].set_value("Hi, the API team slipped and Friday is at risk.").run()
    assert not at.exception, at.exception
    again = start()
    again.switch_page("views/rehearse.py").run()
    texts = [m.markdown[0].value for m in again.chat_message]
    assert "Hi, the API team slipped and Friday is at risk." in texts and len(texts) == 3
    # The meter shows progress without revealing the concerns.
    [meter] = again.get("progress")
    assert meter.proto.text == "0 of 3 of your superior's concerns met"


def rehearsal_without_a_model(monkeypatch) -> AppTest:
    """A rehearsal started on the Rehearse page whose superior cannot answer: what is sent stays in the
    transcript, with no reply."""
    monkeypatch.setenv("COACH_BACKEND", "openai")
    monkeypatch.setenv("COACH_BASE_URL", "http://127.0.0.1:9/v1")
    at = start()
    at.switch_page("views/rehearse.py").run()
    [b for b in at.button if b.label == "Start"][0].click().run()
    return at


def test_a_line_said_in_a_run_that_another_rerun_stops_is_still_said_once(app_env, monkeypatch):
    from coach.runtime import Runtime
    from views.common import runtime

    at = rehearsal_without_a_model(monkeypatch)
    stopped_once(monkeypatch, Runtime, "rehearsal_coach")
    at.chat_input[0].set_value("Hi, the API team slipped and Friday is at risk.").run()
    assert not at.exception, at.exception
    assert "Your turn is kept" in " ".join(c.value for c in at.caption)
    at.run()  # said once: a later run does not say it again
    [rehearsal] = runtime().workspace().rehearsals.list()
    said = [line.text for line in runtime().workspace().rehearsals.get(rehearsal.id).lines if line.role == "user"]
    assert said == ["Hi, the API team slipped and Friday is at risk."]


def test_two_lines_sent_in_quick_succession_are_both_said_in_order(app_env, monkeypatch):
    """The second line's rerun stops the run that was about to say the first: both are kept and said."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from coach.rehearse import Coach
    from views.common import runtime

    at = rehearsal_without_a_model(monkeypatch)
    real, calls = Coach.reply, []

    def stopped_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StopException()  # the run carrying the first line stops before saying it
        yield from real(*args, **kwargs)

    monkeypatch.setattr(Coach, "reply", stopped_first)
    at.chat_input[0].set_value("Hi, the API team slipped.").run()
    at.chat_input[0].set_value("Friday is at risk.").run()  # sent before the first was said
    assert not at.exception, at.exception
    at.run()  # and a later run says neither again
    [rehearsal] = runtime().workspace().rehearsals.list()
    said = [line.text for line in runtime().workspace().rehearsals.get(rehearsal.id).lines if line.role == "user"]
    assert said == ["Hi, the API team slipped.", "Friday is at risk."]


def test_the_debrief_shows_the_scorecard_at_once_and_advice_cut_short_is_written_on_the_next_run(app_env, monkeypatch):
    """End saves the scorecard and shows it before any advice is written; a run stopped while writing
    the advice leaves it unwritten (None), and the next run writes and saves it."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from coach.rehearse import Coach, improvement_targets
    from views.common import runtime

    at = rehearsal_without_a_model(monkeypatch)
    at.chat_input[0].set_value("Hi, the API team slipped and Friday is at risk.").run()
    real, calls = Coach.each_improvement, []

    def stopped_first(*args, **kwargs):
        calls.append(1)
        advice = real(*args, **kwargs)
        if len(calls) == 1:
            yield next(advice)  # the first piece of advice is shown...
            raise StopException()  # ...then another rerun stops the run writing the rest
        yield from advice

    monkeypatch.setattr(Coach, "each_improvement", stopped_first)
    [b for b in at.button if b.label == "End and get my debrief"][0].click().run()
    assert not at.exception, at.exception
    assert len(at.metric) == 4  # the scorecard is on screen though the advice was not written
    [rehearsal] = runtime().workspace().rehearsals.list()
    saved = runtime().workspace().rehearsals.get(rehearsal.id).scorecard
    assert saved["outcome"] and saved["improvements"] is None
    at.switch_page("views/history.py").run()  # a later visit, wherever it opens the rehearsal, writes it
    assert not at.exception, at.exception
    advice = runtime().workspace().rehearsals.get(rehearsal.id).scorecard["improvements"]
    assert len(calls) == 2 and advice and all(a["source"] == "playbook" for a in advice)  # no model: the card's own line
    assert len(advice) == len(improvement_targets(saved, 1))  # each target once: nothing lost or doubled
    assert advice[0]["advice"] in " ".join(m.value for m in at.markdown)
    at.run()
    assert len(calls) == 2  # written once, then only shown


def test_history_page_lists_exports_and_charts_rehearsals(app_env):
    from coach.rehearse import Line
    from views.common import runtime

    start()
    rt = runtime()
    store = rt.workspace().rehearsals
    scenario = rt.scenario("bad-news")
    r = store.start(scenario, "busy")  # saved by an earlier version: no outcome, no reasons
    r.lines.append(Line("user", "I found a mistake and fixed it."))
    r.scorecard = {"strategies": {k: {"score": 2, "turn": 1, "evidence": "I found a mistake and fixed it."}
                                  for k in ("strategy-understand", "strategy-communicate", "strategy-initiative", "strategy-feedback")},
                   "myths": [], "improvements": [{"advice": "Say it earlier.", "card": "myth-fear"}]}
    r.ended = r.started + 60
    store.save(r)
    r = store.start(scenario, "busy")
    r.lines.append(Line("user", "I found the error this morning, the fix is ready and I propose we call the client today."))
    r.scorecard = rt.rehearsal_coach("bad-news").score(r)
    r.ended = r.started + 60
    store.save(r)
    at = start()
    at.switch_page("views/history.py").run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 2  # the scores, and the outcome over time
    assert [m.value for m in at.metric][:4] == [f"{s['score']}/5" for s in r.scorecard["strategies"].values()]
    alerts = [a.value for a in [*at.success, *at.info, *at.error]]
    assert any(f"Outcome: **{r.scorecard['outcome']}**" in v for v in alerts), alerts
    assert len(at.get("download_button")) == 2


def test_the_sidebar_exports_a_workspace_and_imports_it_into_a_new_one(app_env):
    from views.common import runtime

    start()
    runtime().workspace().notes.add("dana.md", "Dana wants three bullets and a clear ask.")
    at = start()
    [b for b in at.sidebar.button if b.label == "Prepare the download"][0].click().run()
    assert not at.exception, at.exception
    data = at.session_state["export:default"]
    assert data[:2] == b"PK" and len(at.get("download_button")) == 1
    # The same zip, imported (AppTest has no file upload: the sidebar calls the same functions).
    from coach.transfer import import_bundle, read_zip

    import_bundle(read_zip(data), runtime().workspace("copy"))
    again = AppTest.from_file(APP, default_timeout=180)
    again.session_state["workspace"] = "copy"
    again.run()
    again.switch_page("views/notes.py").run()
    assert any("dana.md" in e.label for e in again.expander)
