"""Upward in the browser: `streamlit run app.py`. Widgets and session state only; logic is in coach/."""

from __future__ import annotations

import streamlit as st

from coach.errors import CoachError, StoreError
from coach.workspace import check_workspace, list_workspaces
from views.common import current_user, move_workspace, refuse_public_without_auth, runtime, show_error, sign_in

st.set_page_config(page_title="Upward", page_icon=":material/trending_up:", layout="centered")

rt = runtime()
refuse_public_without_auth()
# Pages first, so a reload (or a sign-in restored from its cookie) stays on the page in the URL.
signed_in = rt.settings.auth != "password" or bool(st.session_state.get("authentication_status"))
page = st.navigation([
    st.Page("views/ask.py", title="Coach", icon=":material/forum:", default=True),
    st.Page("views/rehearse.py", title="Rehearse", icon=":material/theater_comedy:"),
    st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
    st.Page("views/history.py", title="History", icon=":material/history:"),
    st.Page("views/notes.py", title="Notes", icon=":material/sticky_note_2:"),
    st.Page("views/profile.py", title="Your boss", icon=":material/person:"),
], position="sidebar" if signed_in else "hidden")
if rt.settings.auth == "password":
    sign_in()  # stops the page until someone signs in

# The workspace lives in the URL, so a reload or a bookmark comes back to it.
if "workspace" not in st.session_state:
    try:
        st.session_state.workspace = check_workspace(st.query_params.get("workspace"))
    except CoachError:
        st.session_state.workspace = "default"
st.query_params["workspace"] = st.session_state.workspace

try:
    # Built before the sidebar's status fragment: a first start embeds the playbook (a few
    # seconds), and a fragment re-running meanwhile would cut the page's first run short.
    with st.spinner("Preparing the playbook (first start only)…"):
        _ = rt.index  # builds and syncs it (a bare expression would be drawn by Streamlit magic)
except StoreError as exc:
    show_error(exc)
    if st.button("Rebuild the index from the cards"):
        try:
            with st.spinner("Rebuilding the index (your notes are embedded again from their saved text)…"):
                rt.rebuild_index()
        except CoachError as again:
            show_error(again)
        else:
            st.rerun()
    st.stop()


with st.sidebar:
    st.title("Upward")
    st.caption("A coach for managing upwards: working well with your own boss.")

    known = list_workspaces(rt.database, current_user())
    if st.session_state.workspace not in known:
        known.append(st.session_state.workspace)
    chosen = st.selectbox(
        "Workspace", known, index=known.index(st.session_state.workspace),
        help="Each workspace has its own notes, profile and chats: one per boss, or per person.",
    )
    with st.popover("New workspace", icon=":material/add:", use_container_width=True):
        new_name = st.text_input("Name", placeholder="e.g. dana or new-job")
        if st.button("Create") and new_name:
            try:
                chosen = check_workspace(new_name)
            except CoachError as exc:
                show_error(exc)
    with st.popover("Move a workspace", icon=":material/move_up:", use_container_width=True):
        chosen = move_workspace(chosen)
    if chosen != st.session_state.workspace:
        st.session_state.workspace = chosen
        st.rerun()

    state, _ = rt.model_status()

    @st.fragment(run_every=3 if state in ("starting", "warming") else None)
    def model_status() -> None:
        state, detail = rt.model_status()
        badge = {
            "ready": ":green-badge[Ready]",
            "starting": ":orange-badge[Loading]",
            "warming": ":blue-badge[Warming up]",
            "failed": ":red-badge[Failed]",
        }.get(state, ":gray-badge[Stopped]")
        st.markdown(f"**Model** ({rt.settings.backend}) {badge}  \n{detail}")
        if state == "starting" and rt.server is not None and 0 < rt.server.progress < 1:
            st.progress(rt.server.progress)
        if state == "failed" and rt.server is not None and rt.server.error:
            show_error(rt.server.error)

    model_status()

with st.sidebar:
    asked = sum(len(c.questions) for c in rt.cards)
    st.markdown(f"**Playbook**: {len(rt.cards)} cards indexed, with {asked} questions they answer")
    for problem in rt.problems:
        st.warning(f"Skipped card {problem}")

page.run()
