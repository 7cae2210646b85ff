"""Blocks that more than one page shows (an answer, a review, a rehearsal), built on coach.present.

The Review and Rehearse pages and the coach chat call these; nothing is rendered twice in two ways.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator

import streamlit as st

from coach.ask import Turn, check_question, saved_stream
from coach.errors import CoachError
from coach.present import CHECKED, READ_IT, diff_html, finding_lines, highlighted_html, hint_markdown, safe_markdown
from coach.review import Review
from coach.rewriter import Restart
from coach.store import Hit
from views.common import Submitted, show_error, show_scorecard, show_sources, wait_for_model

SUPERIOR_AVATAR = ":material/person:"


# ---- Ask ----------------------------------------------------------------------------------------


def follow_answer(rt, space, key: Hashable, question: str, history: list[Turn]) -> Turn | None:
    """Show the answer to a message as it is written; key is (user, workspace, chat, message number).

    A job of its own writes and saves it (coach/jobs.py): a rerun that stops this run (a click, a page
    change, the sign-in cookie arriving) leaves it running, and the next run follows it again from its
    first word. None when an error was shown instead.
    """
    hits, job = [], None
    chat, seq = key[2], key[3]
    try:
        question = check_question(question)
        wait_for_model()
        chain = rt.ask_chain(space)

        def store(turn: Turn) -> None:  # in the job's thread, so no session state here
            try:
                space.conversations.update(chat, seq, turn)
            except CoachError:
                pass  # the chat is gone meanwhile: nothing to keep it in

        job = rt.answers.follow(key, lambda: written(chain, question, history, store))
        box, text, turn = st.empty(), "", None
        for piece in job.follow():
            if isinstance(piece, Hit):
                hits.append(piece)
            elif isinstance(piece, Turn):
                turn = piece
            elif piece:
                text += piece
                box.markdown(safe_markdown(text))
            elif text:  # nothing new for a moment: writing it again is where a page change stops this run
                box.markdown(safe_markdown(text))
            else:
                box.empty()
    except CoachError as exc:
        show_error(exc)
        return None
    finally:
        if job is not None and job.finished:
            rt.answers.done(key, job)
    show_sources(hits)
    return turn


def written(chain, question: str, history: list[Turn], store) -> Iterator:
    """The answer's hits and words, then the turn, saved with store once complete. Cut off (the job
    cancelled by a newer message), what was said is saved, marked as interrupted."""
    saved: list[Turn] = []
    yield from saved_stream(chain, question, history, lambda turn: (saved.append(turn), store(turn)))
    yield saved[0]


# ---- Review -------------------------------------------------------------------------------------


def show_analysis(review: dict, wide: bool = True) -> None:
    """The instant check: the draft with its flagged words highlighted, and the findings beside it."""
    for note in review.get("notes", []):
        st.info(note, icon=":material/info:")
    left, right = st.columns([3, 2]) if wide else (st.container(), st.container())
    with left:
        st.caption("Your draft, flagged words highlighted")
        st.html(highlighted_html(review))
    with right:
        st.markdown(f"**{review['verdict']}**")
        if review.get("works"):
            st.success("Works: " + ", ".join(review["works"]), icon=":material/thumb_up:")
        for f, line in zip(review["findings"], finding_lines(review)):
            icon = ":material/warning:" if f["category"] == "myth" else ":material/lightbulb:"
            st.warning(line, icon=icon)
        if not review["findings"]:
            st.success("No pitfalls found.", icon=":material/check:")


def stream_rewrite(rewriter, review: Review, goal: str = "") -> Review:
    """Stream the rewrite under a "being checked" label; only a rewrite that passed stays on screen."""
    status = st.empty()
    box = st.empty()
    status.caption("Writing a better version… it is checked (no pitfall, the ask, every fact kept) before it is kept.")
    try:
        for piece in rewriter.stream(review.analysis, goal):
            if isinstance(piece, Restart):
                status.caption(f"The first version failed the checks ({piece}); writing another…")
                continue
            box.markdown(safe_markdown(piece) + " ▌")
    except CoachError as exc:
        review.note = f"The coach's rewrite is unavailable: {exc.message} {exc.hint}".strip()
        return review
    finally:
        status.empty()
        box.empty()
    return rewriter.result


def show_rewrite(review: dict, wide: bool = True) -> None:
    """The checked rewrite beside a word diff, with a copy button; or plainly why there is none."""
    if review.get("rewrite"):
        st.markdown("#### The coach's version")
        before, after = st.columns(2) if wide else (st.container(), st.container())
        with before:
            st.caption("Changes")
            st.html(diff_html(review["text"], review["rewrite"]))
        with after:
            st.caption(f"{CHECKED[0].upper()}{CHECKED[1:]}. {READ_IT}; copy it with the button at the top right.")
            st.code(review["rewrite"], language=None, wrap_lines=True)
    elif review.get("note"):
        st.info(review["note"], icon=":material/info:")


def review_draft(rt, space, draft: str, goal: str = "", use_model: bool = True, wide: bool = True) -> dict | None:
    """Analyse a draft at once, show it, then stream a checked rewrite; return the review as a dict."""
    try:
        analysis = rt.analyze(draft, space, goal)
    except CoachError as exc:
        show_error(exc)
        return None
    review = Review(analysis)
    show_analysis(review.as_dict(), wide)
    if use_model and analysis.sentences:
        wait_for_model()
        try:
            review = stream_rewrite(rt.rewriter(space), review, goal)
        except CoachError as exc:
            review.note = f"The coach's rewrite is unavailable: {exc.message} {exc.hint}".strip()
    data = review.as_dict()
    show_rewrite(data, wide)
    return data


# ---- Rehearse -----------------------------------------------------------------------------------


def show_lines(rehearsal, boss: str) -> None:
    """The conversation so far: the person's turns and the superior's, under their own avatar and name."""
    for line in rehearsal.lines:
        if line.role == "user":
            with st.chat_message("user"):
                st.markdown(safe_markdown(line.text))
        else:
            with st.chat_message("assistant", avatar=SUPERIOR_AVATAR):
                st.caption(boss)
                st.markdown(safe_markdown(line.text))


def say(coach, rehearsal, store, text: str) -> None:
    """The person's turn and the superior's checked reply, streamed."""
    try:
        with st.chat_message("user"):
            st.markdown(safe_markdown(text))
        with st.chat_message("assistant", avatar=SUPERIOR_AVATAR):
            st.caption(coach.boss)
            wait_for_model()
            st.write_stream(coach.reply(rehearsal, store, text))
    except CoachError as exc:
        show_error(exc)
        st.caption("Your turn is kept in the transcript; send your next line when ready.")


def line_kept(rehearsal_id: int) -> Submitted:
    """The lines sent in a rehearsal and not yet said, in order, each with the place in the
    transcript it will fill (the count of the person's lines before it): kept until said (see Submitted)."""
    return Submitted(f"rehearsal-line:{rehearsal_id}")


def _said(rehearsal) -> int:
    return sum(line.role == "user" for line in rehearsal.lines)


def keep_line(store, rehearsal_id: int, text: str | None) -> None:
    """The chat input's on_submit in a rehearsal: the line joins the queue. A rerun that stops the run
    saying an earlier line (sending the next line quickly does) loses neither."""
    if not (text or "").strip():
        return
    try:
        said = _said(store.get(rehearsal_id))
    except CoachError:  # deleted on the History page meanwhile: the page says so
        return
    kept = line_kept(rehearsal_id)
    queue = [(t, place) for t, place in kept.kept() or [] if place >= said]  # not said by a stopped run
    kept.keep(queue + [(text, said + len(queue))])


def say_kept(coach, rehearsal, store) -> None:
    """Say the kept lines in the order sent, each once: a line whose place in the transcript is
    already filled was said by a run that was stopped before it could let go of it."""
    kept = line_kept(rehearsal.id)
    queue = kept.waiting()
    while queue:
        (text, place), queue = queue[0], queue[1:]
        if rehearsal.ended is None and place >= _said(rehearsal):
            say(coach, rehearsal, store, text)
        said = _said(rehearsal)  # the rest follow what the transcript holds now, even if this line failed
        queue = [(t, said + i) for i, (t, _) in enumerate(queue)]
        kept.keep(queue)
    kept.done()


def rehearsal_controls(coach, rehearsal, store, space, key: str) -> bool:
    """The meter, Hint and End for a running rehearsal; True when it was just ended."""
    state = coach.state(rehearsal)
    st.progress(state.met / len(state.concerns), text=state.meter(coach.boss_in_text))
    if state.closed:
        st.warning(f"{coach.boss} has closed the meeting: a busy superior needs the point and the ask early. "
                   "End it to see the debrief.", icon=":material/timer_off:")
    elif state.outcome == "agreed":
        st.success(f"{coach.boss} can say yes now: agree the next step, then end the rehearsal.",
                   icon=":material/check:")
    hint_col, end_col = st.columns(2)
    if hint_col.button("Hint: what should I say?", icon=":material/lightbulb:", key=f"hint-btn:{key}",
                       use_container_width=True):
        try:
            with st.spinner("Thinking…"):
                notes = space.notes.search(rehearsal.transcript()[-1500:] or coach.scenario.situation, k=2)
                st.session_state[f"hint:{rehearsal.id}"] = coach.hint(rehearsal, [n for n in notes if n.score >= 0.3])
        except CoachError as exc:
            show_error(exc)
    if hint := st.session_state.get(f"hint:{rehearsal.id}"):
        st.info(safe_markdown(hint_markdown(hint)), icon=":material/lightbulb:")
    if end_col.button("End and get my debrief", type="primary", icon=":material/flag:", key=f"end-btn:{key}",
                      use_container_width=True):
        return end(coach, rehearsal, store)
    return False


def end(coach, rehearsal, store) -> bool:
    """Score at once and save: the debrief shows the scorecard straight away, and the model's phrased
    advice is written under it (`show_debrief`). `improvements` None marks the advice as not written yet."""
    try:
        card = coach.score(rehearsal)
        card["improvements"] = None
        rehearsal.scorecard, rehearsal.ended = card, time.time()
        store.save(rehearsal)
        return True
    except CoachError as exc:
        show_error(exc)
        return False


def show_debrief(rehearsal, coach=None, store=None) -> None:
    """The scorecard; advice not yet written (the rehearsal was just ended, or the run writing it was
    stopped) is written now, under the scorecard already on screen, and saved."""
    st.markdown("#### Debrief")
    card = rehearsal.scorecard
    if not card:
        return
    slot = st.empty()
    with slot.container():
        show_scorecard(card)
    if card.get("improvements") is None and coach is not None and store is not None:
        written = []
        try:
            with st.spinner("Writing advice for next time…"):
                for advice in coach.each_improvement(rehearsal, card):
                    written.append(advice)
                    with slot.container():  # each piece of advice appears as soon as it is phrased
                        show_scorecard({**card, "improvements": written})
            card["improvements"] = written  # saved once whole: a run stopped halfway writes it all again
            store.save(rehearsal)
        except CoachError as exc:
            card["improvements"] = None
            show_error(exc)
    elif card.get("improvements") is None:
        st.caption("The advice for next time has not been written yet: open this rehearsal on the History page.")
