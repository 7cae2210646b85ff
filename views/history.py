"""History: past rehearsals, their scorecards, exports, and each strategy's score over time."""

import json
import time

import pandas as pd
import streamlit as st

from coach.scoring import STRATEGIES
from coach.errors import CoachError
from views.common import runtime, show_error, show_scorecard, workspace
from views.components import show_debrief

space = workspace()
store = space.rehearsals
items = store.list()

st.markdown("### Rehearsal history")
if not items:
    st.info("No rehearsals yet. Practise one on the Rehearse page.", icon=":material/history:")
    st.stop()

scored = [r for r in items if r.scorecard]
if scored:
    frame = pd.DataFrame(
        [{key: r.scorecard["strategies"][key]["score"] for key in STRATEGIES} for r in reversed(scored)],
        index=pd.to_datetime([r.started for r in reversed(scored)], unit="s"),
    )
    st.markdown("**Scores over time**")
    st.line_chart(frame, y_label="score (1-5)")
    outcomes = [r for r in reversed(scored) if "outcome" in r.scorecard]
    if outcomes:
        levels = {"refused": 0, "open": 1, "agreed": 2}
        st.markdown("**Outcome over time** (0 refused, 1 open, 2 agreed)")
        st.scatter_chart(pd.DataFrame({"outcome": [levels[r.scorecard["outcome"]] for r in outcomes]},
                                      index=pd.to_datetime([r.started for r in outcomes], unit="s")),
                         y_label="outcome")

labels = {
    r.id: f"{time.strftime('%d %b %Y %H:%M', time.localtime(r.started))} · {r.scenario} · {r.difficulty}"
          + (f" · {r.scorecard['outcome']}" if r.scorecard and "outcome" in r.scorecard else "")
          + ("" if r.ended else " · unfinished")
    for r in items
}
chosen = st.selectbox("Open a rehearsal", list(labels), format_func=labels.get)
r = store.get(chosen)
for line in r.lines:
    st.markdown(f"**{'You' if line.role == 'user' else 'Superior'}:** {line.text}")
if r.scorecard and r.scorecard.get("improvements") is None:
    # The advice was cut short when the rehearsal ended (a click elsewhere, a closed tab): write it now.
    try:
        coach = runtime().rehearsal_coach(r.scenario_model() or r.scenario, space)
    except CoachError as exc:
        show_error(exc)
        show_scorecard(r.scorecard)
    else:
        show_debrief(r, coach, store)
elif r.scorecard:
    st.markdown("#### Scorecard")
    show_scorecard(r.scorecard)
left, right = st.columns(2)
left.download_button("Download Markdown", r.as_markdown(), file_name=f"rehearsal-{r.id}.md",
                     mime="text/markdown", icon=":material/download:")
right.download_button("Download JSON", json.dumps(r.as_dict(), indent=2), file_name=f"rehearsal-{r.id}.json",
                      mime="application/json", icon=":material/download:")
with st.popover("Delete this rehearsal", icon=":material/delete:"):
    st.write("This deletes the transcript and its scorecard.")
    if st.button("Yes, delete it", type="primary", key=f"rm-rehearsal-{r.id}"):
        store.delete(r.id)
        st.rerun()
