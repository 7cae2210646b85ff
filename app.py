"""Upward in the browser: `streamlit run app.py`. Widgets and session state only; logic is in coach/."""

from __future__ import annotations

import streamlit as st

from coach.ask import Turn, check_question
from coach.errors import CoachError, StoreError
from coach.history import Conversations
from coach.runtime import Runtime
from coach.settings import Settings
from coach.store import Hit

st.set_page_config(page_title="Upward", page_icon=":material/trending_up:", layout="centered")


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    """One runtime per server process: the model loads in the background while the page is usable."""
    rt = Runtime(Settings())
    rt.start_model(background=True, warm=True)
    return rt


def show_error(exc: CoachError) -> None:
    st.error(f"**{exc.message}**\n\n{exc.hint}" if exc.hint else exc.message, icon=":material/error:")


def show_sources(hits: list[Hit]) -> None:
    if not hits:
        return
    st.caption(f"Sources ({len(hits)})")
    for n, hit in enumerate(hits, 1):
        icon = ":material/menu_book:" if hit.origin == "playbook" else ":material/sticky_note_2:"
        with st.expander(f"[{n}] {hit.title} · {hit.topic}", icon=icon):
            st.markdown(hit.text)
            st.caption(f"{hit.origin} · {hit.source} · similarity {hit.score:.2f}")


rt = runtime()
conversations = Conversations(rt.settings.data_dir / "upward.db")

with st.sidebar:
    st.title("Upward")
    st.caption("A coach for managing upwards: working well with your own boss.")
    if st.button("New chat", use_container_width=True):
        st.session_state.conversation = None
        st.session_state.turns = []

    state, detail = rt.model_status()

    @st.fragment(run_every=2 if state in ("starting", "warming") else None)
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

try:
    index = rt.index
except StoreError as exc:
    show_error(exc)
    if st.button("Rebuild the index from the cards"):
        with st.spinner("Rebuilding the index…"):
            rt.rebuild_index()
        st.rerun()
    st.stop()

with st.sidebar:
    st.markdown(f"**Playbook**: {len(rt.cards)} cards, {index.count()} passages indexed")
    for problem in rt.problems:
        st.warning(f"Skipped card {problem}")

if "turns" not in st.session_state:
    # A reload starts a new session: pick the latest conversation back up from disk.
    st.session_state.conversation = conversations.latest()
    st.session_state.turns = (
        conversations.turns(st.session_state.conversation) if st.session_state.conversation else []
    )

if not st.session_state.turns:
    st.markdown(
        "### Ask your coach\n"
        "How to raise a problem, what to put in an update, how to disagree with a decision: "
        "answers come from the managing-up playbook, with every claim cited."
    )

for turn in st.session_state.turns:
    with st.chat_message("user"):
        st.markdown(turn.question)
    with st.chat_message("assistant"):
        st.markdown(turn.answer)
        show_sources(turn.sources)

if question := st.chat_input("Ask about working with your boss…"):
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        hits: list[Hit] = []
        try:
            question = check_question(question)
            if rt.model_status()[0] in ("starting", "warming"):
                with st.spinner("The coach is still getting ready (first start only); your answer follows…"):
                    rt.wait_until_ready()
            chain = rt.ask_chain

            def tokens():
                for piece in chain.stream(question, st.session_state.turns):
                    if isinstance(piece, Hit):
                        hits.append(piece)
                    else:
                        yield piece

            answer = st.write_stream(tokens())
        except CoachError as exc:
            show_error(exc)
        else:
            turn = Turn(question, chain.user_message(question, hits), str(answer), hits)
            show_sources(hits)
            if st.session_state.conversation is None:
                st.session_state.conversation = conversations.start(question)
            conversations.append(st.session_state.conversation, turn)
            st.session_state.turns.append(turn)
