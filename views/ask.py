"""Ask: chat with the coach; answers stream in with their sources."""

import streamlit as st

from coach.ask import Turn, check_question
from coach.errors import CoachError
from coach.store import Hit
from views.common import model_markdown, runtime, show_error, show_sources, wait_for_model, workspace

rt = runtime()
space = workspace()
key = f"turns:{space.name}"

if key not in st.session_state:
    # A reload starts a new session: pick the latest conversation back up from disk.
    conversation = space.conversations.latest()
    st.session_state[f"conversation:{space.name}"] = conversation
    st.session_state[key] = space.conversations.turns(conversation) if conversation else []
turns: list[Turn] = st.session_state[key]

with st.sidebar:
    if st.button("New chat", use_container_width=True, icon=":material/add_comment:"):
        st.session_state[f"conversation:{space.name}"] = None
        st.session_state[key] = turns = []
    if turns and st.button("Delete this chat", use_container_width=True, icon=":material/delete:"):
        space.conversations.delete(st.session_state[f"conversation:{space.name}"])
        st.session_state[f"conversation:{space.name}"] = None
        st.session_state[key] = turns = []

if not turns:
    st.markdown(
        "### Ask your coach\n"
        "How to raise a problem, what to put in an update, how to disagree with a decision: "
        "answers come from the managing-up playbook and your own notes, with every claim cited."
    )

for turn in turns:
    with st.chat_message("user"):
        st.markdown(turn.question)
    with st.chat_message("assistant"):
        st.markdown(model_markdown(turn.answer))
        show_sources(turn.sources)

if question := st.chat_input("Ask about working with your boss…"):
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        hits: list[Hit] = []
        try:
            question = check_question(question)
            wait_for_model()
            chain = rt.ask_chain(space.name)

            def tokens():
                for piece in chain.stream(question, turns):
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
            conversation_key = f"conversation:{space.name}"
            if st.session_state.get(conversation_key) is None:
                st.session_state[conversation_key] = space.conversations.start(question)
            space.conversations.append(st.session_state[conversation_key], turn)
            turns.append(turn)
