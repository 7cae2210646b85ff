"""Review: paste a draft to your boss; see what works, what falls into a pitfall, and a better version."""

import difflib
import html

import streamlit as st

from coach.errors import CoachError
from coach.review import MAX_DRAFT_CHARS
from views.common import model_markdown, runtime, show_error, wait_for_model, workspace

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
    use_model = st.toggle("Ask the coach for a critique and a rewrite", value=True)
    submitted = st.form_submit_button("Review", type="primary", icon=":material/rate_review:")


def highlighted(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The draft as HTML with each flagged span marked; everything escaped."""
    out, pos = [], 0
    for start, end, label in sorted(spans):
        if start < pos:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark title="{html.escape(label)}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return '<div style="white-space: pre-wrap; line-height: 1.6">' + "".join(out) + "</div>"


def word_diff(before: str, after: str) -> str:
    a, b = before.split(" "), after.split(" ")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f'<del style="color:#a33">{html.escape(" ".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(f'<ins style="color:#275">{html.escape(" ".join(b[j1:j2]))}</ins>')
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
    return '<div style="white-space: pre-wrap; line-height: 1.6">' + " ".join(out) + "</div>"


if submitted:
    try:
        if use_model:
            wait_for_model()
        with st.spinner("Reviewing…" if use_model else "Checking…"):
            st.session_state[result_key] = rt.review(draft, space.name, goal, use_model=use_model)
    except CoachError as exc:
        show_error(exc)
        st.session_state.pop(result_key, None)

review = st.session_state.get(result_key)
if review is not None:
    analysis = review.analysis
    for note in analysis.notes:
        st.info(note, icon=":material/info:")
    spans = [(f.span.start, f.span.end, f.message) for f in analysis.findings if f.span]
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Your draft**, flagged words highlighted")
        st.html(highlighted(analysis.text, spans))
    with right:
        st.markdown("**Instant check**")
        works = [name.replace("_", " ") for name, s in analysis.signals.items()
                 if s.present and name not in ("raises_problem", "feedback_to_superior")]
        if works:
            st.success("Works: " + ", ".join(works), icon=":material/thumb_up:")
        for f in analysis.findings:
            quote = f' — "{f.span.quote}"' if f.span else ""
            icon = ":material/warning:" if f.category == "myth" else ":material/lightbulb:"
            st.warning(f"**{f.topic}**{quote}\n\n{f.message}", icon=icon)
        if not analysis.findings:
            st.success("No pitfalls found.", icon=":material/check:")
    if review.critique:
        c = review.critique
        st.markdown("#### The coach's critique")
        st.markdown(model_markdown(c.verdict))
        for f in c.findings:
            found = "" if f.quote in analysis.text else " (not found word for word in the draft)"
            st.markdown(model_markdown(f'- "{f.quote}"{found} · `{f.card}` · {f.principle}: {f.fix}'))
        st.markdown("#### A better version")
        before, after = st.columns(2)
        with before:
            st.caption("Changes")
            st.html(word_diff(analysis.text, c.rewrite))
        with after:
            st.caption("Rewrite (copy with the button at the top right)")
            st.code(c.rewrite, language=None, wrap_lines=True)
    elif review.note:
        st.info(review.note, icon=":material/info:")
