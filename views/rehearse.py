"""Rehearse: practise a hard conversation with your superior, played by the model, then a debrief."""

import streamlit as st

from coach.errors import CoachError
from coach.rehearse import DIFFICULTIES
from views.common import runtime, workspace
from views.components import keep_line, rehearsal_controls, say_kept, show_debrief, show_lines

st.set_page_config(layout="wide")  # the conversation and the controls sit side by side
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

if rehearsal is None:
    if not scenarios:
        st.error(f"No rehearsal scenarios found in {rt.settings.scenarios_dir}.", icon=":material/error:")
        st.stop()
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

sc = rehearsal.scenario_model() or scenarios.get(rehearsal.scenario)
if sc is None:
    st.error(f"The scenario {rehearsal.scenario!r} is gone.")
    st.stop()
coach = rt.rehearsal_coach(sc, space)
st.markdown(f"### {sc.title}")
st.caption(f"{coach.boss} · {rehearsal.difficulty}. Goal: {sc.goal}")

if rehearsal.ended is None:  # at the top level, the input is pinned to the bottom, below the conversation
    st.chat_input(f"What do you say to {coach.boss_in_text}?", key=f"line:{rehearsal.id}",
                  on_submit=lambda: keep_line(store, rehearsal.id, st.session_state.to_dict().get(f"line:{rehearsal.id}")))
talk, side = st.columns([3, 2])
with talk:
    show_lines(rehearsal, coach.boss)
    say_kept(coach, rehearsal, store)
with side:
    if rehearsal.ended is None:
        if rehearsal_controls(coach, rehearsal, store, space, f"page:{rehearsal.id}"):
            st.rerun()
    else:
        show_debrief(rehearsal, coach, store)
        if st.button("New rehearsal", icon=":material/replay:", use_container_width=True):
            st.session_state[key] = None
            st.rerun()
