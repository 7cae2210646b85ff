"""Review: paste a draft to your boss; see what works, what falls into a pitfall, and a better version."""

import streamlit as st

from coach.analysis import MAX_DRAFT_CHARS
from coach.errors import CoachError
from views.common import runtime, show_error, wait_for_model, workspace
from views.components import show_analysis, show_rewrite, stream_rewrite

st.set_page_config(layout="wide")  # the draft, the findings and the rewrite sit side by side
rt = runtime()
space = workspace()
result_key = f"review-result:{space.name}"

st.markdown("### Review a draft")
st.caption(
    "Paste an email, chat message or 1:1 agenda before you send it. The instant check points at the "
    f"words behind each finding; the coach then suggests a better version. Up to {MAX_DRAFT_CHARS:,} characters."
)

with st.form("review"):
    draft = st.text_area("Your draft", height=220, key="review_draft",
                         placeholder="Hi Dana, sorry to bother you again…")
    goal = st.text_input("What do you want from this message? (optional)",
                         placeholder="e.g. a decision on the backup vendor by Friday")
    use_model = st.toggle("Ask the coach for a rewrite", value=True)
    submitted = st.form_submit_button("Review", type="primary", icon=":material/rate_review:")

if submitted:
    st.session_state.pop(result_key, None)
    try:
        analysis = rt.analyze(draft, space.name, goal)
    except CoachError as exc:
        show_error(exc)
    else:
        show_analysis(analysis)
        if use_model and analysis.sentences:
            wait_for_model()
            try:
                review = stream_rewrite(rt.rewriter(space.name), analysis, goal)
            except CoachError as exc:
                show_error(exc)
                review = None
        else:
            from coach.review import Review

            review = Review(analysis)
        if review is not None:
            st.session_state[result_key] = review
            show_rewrite(review)
elif (review := st.session_state.get(result_key)) is not None:
    show_analysis(review.analysis)
    show_rewrite(review)
