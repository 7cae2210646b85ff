"""Blocks more than one page shows (the Review result, the rewrite as it streams), built on coach.present."""

from __future__ import annotations

import streamlit as st

from coach.analysis import Analysis
from coach.errors import CoachError
from coach.present import diff_html, finding_lines, highlighted_html, safe_markdown
from coach.review import Restart, Review, verdict, works


def show_analysis(analysis: Analysis, wide: bool = True) -> None:
    """The instant check: the draft with its flagged words highlighted, and the findings beside it."""
    for note in analysis.notes:
        st.info(note, icon=":material/info:")
    left, right = st.columns([3, 2]) if wide else (st.container(), st.container())
    with left:
        st.caption("Your draft, flagged words highlighted")
        st.html(highlighted_html(analysis))
    with right:
        st.markdown(f"**{verdict(analysis)}**")
        if good := works(analysis):
            st.success("Works: " + ", ".join(good), icon=":material/thumb_up:")
        for f, line in zip(analysis.findings, finding_lines(analysis)):
            icon = ":material/warning:" if f.category == "myth" else ":material/lightbulb:"
            st.warning(line, icon=icon)
        if not analysis.findings:
            st.success("No pitfalls found.", icon=":material/check:")


def stream_rewrite(rewriter, analysis: Analysis, goal: str = "") -> Review:
    """Stream the rewrite under a "being checked" label; only a rewrite that passed stays on screen."""
    st.markdown("#### A better version")
    status = st.empty()
    box = st.empty()
    status.caption("Writing… every rewrite is checked (no pitfall, the ask, every fact kept) before it is kept.")
    text = ""
    try:
        for piece in rewriter.stream(analysis, goal):
            if isinstance(piece, Restart):
                text = ""
                status.caption(f"The first version failed the checks ({piece}); writing another…")
                continue
            text = piece
            box.markdown(safe_markdown(text) + " ▌")
    except CoachError as exc:
        box.empty()
        status.empty()
        return Review(analysis, note=f"The coach's rewrite is unavailable: {exc.message} {exc.hint}".strip())
    status.empty()
    box.empty()
    return rewriter.result


def show_rewrite(review: Review) -> None:
    """The checked rewrite beside a word diff, with a copy button; or plainly why there is none."""
    if review.rewrite:
        st.markdown("#### A better version")
        before, after = st.columns(2)
        with before:
            st.caption("Changes")
            st.html(diff_html(review.analysis.text, review.rewrite))
        with after:
            st.caption("Checked: no pitfall, a clear ask, every number, date and name kept. Copy it with the "
                       "button at the top right.")
            st.code(review.rewrite, language=None, wrap_lines=True)
    elif review.note:
        st.info(review.note, icon=":material/info:")
