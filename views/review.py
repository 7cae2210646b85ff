"""Review: paste a draft to your boss; see what works, what falls into a pitfall, and a better version."""

import streamlit as st

from coach.analysis import MAX_DRAFT_CHARS
from views.common import Submitted, runtime, workspace
from views.components import review_draft, show_analysis, show_rewrite

st.set_page_config(layout="wide")  # the draft, the findings and the rewrite sit side by side
rt = runtime()
space = workspace()
result_key = f"review-result:{space.name}"

st.markdown("### Review a draft")
st.caption(
    "Paste an email, chat message or 1:1 agenda before you send it. The instant check points at the "
    f"words behind each finding; the coach then suggests a better version. Up to {MAX_DRAFT_CHARS:,} characters."
)

submitted = Submitted(f"review:{space.name}")  # (draft, goal, use_model) until its review is kept

with st.form("review"):
    st.text_area("Your draft", height=220, key="review_draft", placeholder="Hi Dana, sorry to bother you again…")
    st.text_input("What do you want from this message? (optional)", key="review_goal",
                  placeholder="e.g. a decision on the backup vendor by Friday")
    st.toggle("Ask the coach for a rewrite", value=True, key="review_use_model")
    st.form_submit_button("Review", type="primary", icon=":material/rate_review:", on_click=submitted.on_submit(
        lambda values: (values.get("review_draft") or "", values.get("review_goal") or "", values.get("review_use_model", True))))

if (todo := submitted.waiting()) is not None:
    st.session_state.pop(result_key, None)
    result = review_draft(rt, space, *todo)
    if result is not None:
        st.session_state[result_key] = result
    submitted.done()
elif (result := st.session_state.get(result_key)) is not None:
    show_analysis(result)
    show_rewrite(result)
