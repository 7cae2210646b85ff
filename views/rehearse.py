"""Rehearse: practise a hard conversation with your superior, played by the model, then a debrief."""

import time

import streamlit as st

from coach.errors import CoachError
from coach.present import hint_markdown
from coach.rehearse import DIFFICULTIES
from views.common import model_markdown, runtime, show_error, show_scorecard, wait_for_model, workspace

st.set_page_config(layout="wide")  # the conversation and the hint sit side by side
rt = runtime()
space = workspace()
store = space.rehearsals
key = f"rehearsal:{space.name}"
scenarios, problems = rt.scenarios()
for problem in problems:
    st.warning(f"Skipped scenario {problem}")

if key not in st.session_state:
    # After a reload, pick up an unfinished rehearsal where it stopped.
    unfinished = store.unfinished()
    st.session_state[key] = unfinished.id if unfinished else None

try:
    rehearsal = store.get(st.session_state[key]) if st.session_state[key] else None
except CoachError:  # deleted on the History page meanwhile
    st.session_state[key] = rehearsal = None

if not scenarios:
    st.error(f"No rehearsal scenarios found in {rt.settings.scenarios_dir}.", icon=":material/error:")
    st.stop()

if rehearsal is None:
    st.markdown("### Rehearse a conversation")
    st.caption("The coach plays your superior, in character, using what you recorded on the *Your boss* page. "
               "They have concerns you don't see; the meter shows how many your words have met.")
    names = list(scenarios)
    name = st.selectbox("Scenario", names, format_func=lambda n: scenarios[n].title)
    sc = scenarios[name]
    st.markdown(f"**Situation.** {sc.situation}\n\n**Your goal.** {sc.goal}")
    difficulty = st.segmented_control("How your superior behaves", list(DIFFICULTIES), default="busy")
    st.caption(DIFFICULTIES[difficulty or "busy"])
    if st.button("Start", type="primary", icon=":material/play_arrow:"):
        st.session_state[key] = store.start(sc, difficulty or "busy").id
        st.rerun()
    st.stop()

sc = scenarios.get(rehearsal.scenario)
if sc is None:
    st.error(f"The scenario {rehearsal.scenario!r} is gone.")
    st.stop()
coach = rt.rehearsal_coach(sc, space.name)
boss = coach.boss
st.markdown(f"### {sc.title}")
st.caption(f"{boss} · {rehearsal.difficulty}. Goal: {sc.goal}")

# Called at the top level, the input is pinned to the bottom of the page, below the conversation.
text = st.chat_input(f"What do you say to {boss}?") if rehearsal.ended is None else None
talk, side = st.columns([3, 2])
with talk:
    for line in rehearsal.lines:
        with st.chat_message("user" if line.role == "user" else "assistant",
                             avatar=None if line.role == "user" else ":material/person:"):
            st.markdown(model_markdown(line.text))
    if rehearsal.ended is None and text:
        try:
            with st.chat_message("user"):
                st.markdown(text)
            with st.chat_message("assistant", avatar=":material/person:"):
                wait_for_model()
                st.write_stream(coach.reply(rehearsal, store, text))
        except CoachError as exc:
            show_error(exc)
            st.caption("Your turn is kept in the transcript; send your next line when ready.")

with side:
    if rehearsal.ended is None:
        state = coach.state(rehearsal)
        st.progress(state.met / len(state.concerns), text=state.meter(boss))
        if state.closed:
            st.warning(f"{boss} has closed the meeting: a busy superior needs the point and the ask early. "
                       "End it to see the debrief.", icon=":material/timer_off:")
        elif state.outcome == "agreed":
            st.success(f"{boss} can say yes now: agree the next step, then end the rehearsal.", icon=":material/check:")
        if st.button("Hint: what should I say?", icon=":material/lightbulb:", use_container_width=True):
            try:
                with st.spinner("Thinking…"):
                    notes = space.notes.search(rehearsal.transcript()[-1500:] or sc.situation, k=2)
                    st.session_state[f"hint:{rehearsal.id}"] = coach.hint(rehearsal, [n for n in notes if n.score >= 0.3])
            except CoachError as exc:
                show_error(exc)
        if hint := st.session_state.get(f"hint:{rehearsal.id}"):
            st.info(model_markdown(hint_markdown(hint)), icon=":material/lightbulb:")
        if st.button("End and get my debrief", type="primary", icon=":material/flag:", use_container_width=True):
            try:
                card = coach.score(rehearsal)  # instant: computed from your turns, saved at once
                rehearsal.scorecard, rehearsal.ended = card, time.time()
                store.save(rehearsal)
                with st.spinner("Writing advice for next time…"):
                    card["improvements"] = coach.improvements(rehearsal, card)
                store.save(rehearsal)
                st.rerun()
            except CoachError as exc:
                show_error(exc)
    else:
        st.markdown("#### Debrief")
        if rehearsal.scorecard:
            show_scorecard(rehearsal.scorecard)
        if st.button("New rehearsal", icon=":material/replay:", use_container_width=True):
            st.session_state[key] = None
            st.rerun()
