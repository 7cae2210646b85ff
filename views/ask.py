"""The coach chat: a question gets an answer, a pasted draft gets a review, "let's practise…" starts a
rehearsal. The router (coach/router.py) decides, with no language model; each reply offers the other
two modes in case it guessed wrong."""

import streamlit as st

from coach.ask import Turn
from coach.errors import CoachError, InputError
from coach.rehearse import DIFFICULTIES
from coach.scenarios import Scenario, draft_scenario, save_scenario
from views.common import current_user, model_markdown, runtime, show_error, show_sources, wait_for_model, workspace
from views.components import follow_answer, keep_line, rehearsal_controls, review_draft, say_kept, show_analysis, show_debrief, show_lines, show_rewrite

rt = runtime()
space = workspace()
key = f"turns:{space.name}"
conversation_key = f"conversation:{space.name}"
replying_key = f"replying:{space.name}"  # (chat, message number) while its reply is being written
accepted_key = f"accepted:{space.name}"  # the message number the chat input saved in this run
INBOX = "upward-chat-inbox"  # a plain dict in the session: {workspace: {"chat": id, "sent": message number}}
MODE_LABELS = {"ask": "Answer it as a question", "review": "Review it as a draft", "rehearse": "Practise it as a conversation"}
DOING = {"ask": "Answering a question", "review": "Reviewing a draft", "rehearse": "Setting up a rehearsal"}

if key not in st.session_state:
    # A reload starts a new session: pick the latest conversation back up from disk.
    conversation = space.conversations.latest()
    st.session_state[conversation_key] = conversation
    st.session_state[key] = space.conversations.turns(conversation) if conversation else []
turns: list[Turn] = st.session_state[key]
if INBOX not in st.session_state:
    st.session_state[INBOX] = {}
inbox: dict = st.session_state[INBOX]


def adopt_sent() -> None:
    """Take over what accept (or a save a rerun stopped) left in the inbox: the chat, and the number of
    the message sent, whose reply this run writes. Each write may stop the run; the next one does it again."""
    left = inbox.get(space.name)
    if left is None:
        return
    st.session_state[conversation_key] = left["chat"]
    if "sent" in left:
        st.session_state[replying_key] = (left["chat"], left["sent"])
        st.session_state[accepted_key] = left["sent"]
    inbox.pop(space.name, None)


adopt_sent()
scenarios, _ = rt.scenarios()

with st.sidebar:
    if st.button("New chat", use_container_width=True, icon=":material/add_comment:"):
        st.session_state[conversation_key] = None
        st.session_state[key] = turns = []
    if turns:
        with st.popover("Delete this chat", use_container_width=True, icon=":material/delete:"):
            st.write(f"This deletes the whole chat ({len(turns)} message{'s' if len(turns) > 1 else ''}).")
            if st.button("Yes, delete it", type="primary", key="delete-chat"):
                space.conversations.delete(st.session_state[conversation_key])
                st.session_state[conversation_key] = None
                st.session_state[key] = turns = []
                st.rerun()


def save(turn: Turn, seq: int | None = None) -> int:
    """Append a turn (or replace turn number seq) in this chat, starting the chat if needed; return its number."""
    if seq is None:
        chat, seq = append(st.session_state.get(conversation_key), turn)
        inbox[space.name] = {"chat": chat}  # if the write below stops this run, the next one adopts it
        st.session_state[conversation_key] = chat
        inbox.pop(space.name, None)
        return seq
    space.conversations.update(st.session_state[conversation_key], seq, turn)
    turns[seq - 1] = turn
    return seq


def append(chat: int | None, turn: Turn) -> tuple[int, int]:
    """Append a turn to chat, starting one if there is none (or it was deleted in another tab);
    return (chat, its number). No st.session_state: safe in a callback (see accept)."""
    if chat is None:
        chat = space.conversations.start(turn.question)
    try:
        seq = space.conversations.append(chat, turn)
    except InputError:  # the chat was deleted in another tab: this message starts a new one
        chat = space.conversations.start(turn.question)
        turns.clear()
        seq = space.conversations.append(chat, turn)
    turns.append(turn)
    if seq != len(turns):  # another tab (or `coach ask --continue`) added to this chat meanwhile
        turns[:] = space.conversations.turns(chat)
    return chat, seq


def pending(text: str, mode: str = "ask", scenario: str | None = None, routed: bool = True) -> Turn:
    """A message saved before the coach replies, so that a run cut short (a rerun, a closed page,
    a failure) never loses it: the reply replaces it when it comes."""
    return Turn(text, "", "", mode=mode, payload={"pending": True, "scenario": scenario, "routed": routed})


def accept() -> None:
    """The chat input's on_submit: it runs before the page does, so the message is saved (with no
    reply yet) even if this run is cut short at once; this run, or the next, writes the reply."""
    values = st.session_state.to_dict()  # no point where Streamlit may stop this callback, unlike .get()
    text = values.get("chat-input") or ""
    if running := values.get("chat-rehearsal"):  # a line of the rehearsal running in the chat
        keep_line(space.rehearsals, running[1].id, text)
        return
    if not text.strip():
        return  # an empty message: the page says so
    chat = values.get(conversation_key)
    user = values.get("username") if rt.settings.auth == "password" else None
    cut = rt.answers.running((user, space.name, chat))
    for job_key in cut:  # a new message cuts off the answer still being written (saved as interrupted)
        rt.answers.cancel(job_key, wait=2)
    if cut:
        turns[:] = space.conversations.turns(chat)
    try:
        chat, seq = append(chat, pending(text, routed=False))
    except CoachError:  # the store failed: the page handles the message itself
        return
    # A rerun arriving meanwhile (the sign-in cookie reporting back) stops a callback at its first read or
    # write of st.session_state: one here once left the message in a chat the page never learnt about.
    # The page run takes it from this plain dict instead (adopt_sent).
    values[INBOX][space.name] = {"chat": chat, "sent": seq}


def write_reply(seq: int) -> None:
    """Route message number seq if it is new, write its reply in its place, offer the other modes."""
    turn = turns[seq - 1]
    mode, scenario = turn.mode, (turn.payload or {}).get("scenario")
    if not (turn.payload or {}).get("routed", True):
        route = rt.router.route(turn.question.strip(), scenarios)
        save(pending(turn.question, route.mode, route.scenario), seq)
        st.caption(f"{DOING[route.mode]} ({route.confidence:.0%} sure)")
        mode, scenario = route.mode, route.scenario
    done = reply(mode, turn.question, seq, scenario)
    if done is not None and done.mode == "rehearse":
        st.rerun()  # the confirm form is interactive from its saved copy
    not_what_you_meant(turns[seq - 1], seq)


def reply(mode: str, text: str, seq: int, scenario: str | None = None) -> Turn | None:
    """Write the reply to message number seq and save it in its place. Until it is saved, the page
    remembers that it is replying: a rerun that cuts it short (another widget, the sign-in cookie
    arriving) writes it again in the next run, instead of leaving the message unanswered."""
    st.session_state[replying_key] = (st.session_state.get(conversation_key), seq)
    turn = run_mode(mode, text, turns[: seq - 1], seq, scenario)
    st.session_state.pop(replying_key, None)
    if turn is not None:
        save(turn, seq)
    return turn


# ---- the three modes, each writing into the assistant message it is called in --------------------


def answer(question: str, history: list[Turn], seq: int) -> Turn | None:
    return follow_answer(rt, space, (current_user(), space.name, st.session_state.get(conversation_key), seq),
                         question, history)


def review(text: str) -> Turn | None:
    result = review_draft(rt, space, text, wide=False)
    return None if result is None else Turn(text, "", result["verdict"], mode="review", payload=result)


def rehearse(text: str, scenario_name: str | None) -> Turn | None:
    """Propose the conversation to practise: the matching scenario, or one built from the person's words."""
    boss = space.profile.load().name or "your superior"
    if scenario_name in scenarios:
        scenario, source = scenarios[scenario_name], "file"
    else:
        try:
            wait_for_model()
            rt.used_by("scenario")
            with st.spinner("Setting up the conversation from what you wrote…"):
                scenario, source = draft_scenario(rt.chat_model(streaming=False), rt.prompt("scenario"), text, boss)
        except CoachError:  # no model: the template from the person's words still works
            from coach.scenarios import template_scenario

            scenario, source = template_scenario(text), "template"
    payload = {"state": "confirm", "scenario": scenario.name or None, "source": source,
               "scenario_data": scenario.model_dump(exclude={"name"}), "difficulty": "busy"}
    return Turn(text, "", f"Let's practise: {scenario.title}", mode="rehearse", payload=payload)


# ---- rendering a saved turn ---------------------------------------------------------------------


def show_rehearse(turn: Turn, seq: int, active: bool) -> None:
    p = turn.payload
    if p["state"] == "confirm":
        confirm(turn, seq)
        return
    try:
        rehearsal = space.rehearsals.get(p["rehearsal_id"])
    except CoachError:
        st.caption("This rehearsal was deleted on the History page.")
        return
    scenario = rehearsal.scenario_model() or scenarios.get(rehearsal.scenario)
    st.markdown(f"**Practising: {scenario.title}** · {rehearsal.difficulty}")
    coach = rt.rehearsal_coach(scenario, space)
    if rehearsal.ended is None and active:
        show_lines(rehearsal, coach.boss)
        st.session_state["chat-rehearsal"] = (coach, rehearsal, seq)
    else:
        with st.expander(f"The conversation with {coach.boss_in_text}", expanded=rehearsal.ended is None):
            show_lines(rehearsal, coach.boss)
        if rehearsal.ended:  # advice not yet written is written under the latest turn only, not under every old one
            show_debrief(rehearsal, coach if active else None, space.rehearsals)


def confirm(turn: Turn, seq: int) -> None:
    """The scenario to practise, to confirm or edit in one step (the superior's concerns stay hidden)."""
    p = turn.payload
    drafted = Scenario(**p["scenario_data"])
    choices = ["__drafted__", *scenarios]
    labels = {"__drafted__": f"{drafted.title} (from your words)" if p["source"] != "file" else drafted.title,
              **{n: s.title for n, s in scenarios.items()}}
    with st.form(f"confirm:{seq}"):
        st.markdown("**Let's practise this conversation.** Check it, change anything, then start.")
        pick = st.selectbox("Scenario", choices, format_func=labels.get,
                            index=choices.index(p["scenario"]) if p["scenario"] in scenarios else 0)
        title = st.text_input("Title", drafted.title)
        situation = st.text_area("Situation", drafted.situation.strip(), height=100)
        goal = st.text_input("What you want from it", drafted.goal.strip())
        difficulty = st.segmented_control("How your superior behaves", list(DIFFICULTIES), default=p["difficulty"])
        keep = st.checkbox("Save it as a scenario for reuse") if p["source"] != "file" else False
        st.caption(f"Your superior has {len(drafted.concerns)} concerns you won't see; the meter shows how many "
                   "your words meet, and the debrief reveals them.")
        started = st.form_submit_button("Start", type="primary", icon=":material/play_arrow:")
    if not started:
        return
    try:
        if pick != "__drafted__":
            scenario = scenarios[pick]
        else:
            scenario = drafted.model_copy(update={"title": title.strip() or drafted.title,
                                                  "situation": situation.strip() or drafted.situation,
                                                  "goal": goal.strip() or drafted.goal})
            if keep:
                path = save_scenario(rt.settings.scenarios_dir, scenario, scenario.title)
                scenario = scenario.model_copy(update={"name": path.stem})
                st.toast(f"Saved as scenarios/{path.name}")
        if not scenario.name:
            scenario = scenario.model_copy(update={"name": "from-chat"})
        rehearsal = space.rehearsals.start(scenario, difficulty or "busy")
    except CoachError as exc:
        show_error(exc)
        return
    p.update(state="running", rehearsal_id=rehearsal.id, scenario=scenario.name, difficulty=rehearsal.difficulty)
    save(Turn(turn.question, "", f"Practising: {scenario.title}", mode="rehearse", payload=p), seq)
    st.rerun()


def show_turn(turn: Turn, seq: int, active: bool) -> None:
    if turn.payload and turn.payload.get("pending"):
        st.caption("No reply yet: this message was cut off, or the coach could not answer it. "
                   "Send it again, or choose a mode below.")
    elif turn.mode == "review":
        show_analysis(turn.payload, wide=False)
        show_rewrite(turn.payload, wide=False)
    elif turn.mode == "rehearse":
        show_rehearse(turn, seq, active)
    else:
        st.markdown(model_markdown(turn.answer))
        if turn.payload and turn.payload.get("interrupted"):
            st.caption("Interrupted: this answer was cut off before it finished.")
        show_sources(turn.sources)


def not_what_you_meant(turn: Turn, seq: int) -> None:
    """Re-run the message as one of the other two modes, at once."""
    unanswered = bool(turn.payload and turn.payload.get("pending"))
    with st.popover("Answer it now" if unanswered else "Not what you meant?", icon=":material/alt_route:"):
        for mode in MODE_LABELS:
            if (unanswered or mode != turn.mode) and st.button(MODE_LABELS[mode], key=f"as:{seq}:{mode}"):
                st.session_state["rerun-as"] = (seq, mode)
                st.rerun()


def run_mode(mode: str, text: str, history: list[Turn], seq: int, scenario: str | None = None) -> Turn | None:
    """The reply to message number seq in one mode (None: an error was shown; the message stays saved)."""
    if mode == "review":
        return review(text)
    if mode == "rehearse":
        return rehearse(text, scenario)
    return answer(text, history, seq)


def reply_to_resume() -> tuple[int, int] | None:
    """(chat, message number) of a reply that a run cut short, to be written (or followed) again now.

    Kept in the session until the reply is saved (reply() clears it), so that a second rerun arriving
    early cannot drop it; found from the jobs still writing in this chat after a reload."""
    chat = st.session_state.get(conversation_key)
    cut_short = st.session_state.get(replying_key)
    if not cut_short and chat is not None:
        writing = [k[3] for k in rt.answers.running((current_user(), space.name, chat))]
        if writing:
            cut_short = st.session_state[replying_key] = (chat, writing[-1])
    if cut_short and chat is not None and cut_short[0] == chat:
        turns[:] = space.conversations.turns(chat)  # the reply's job may have saved it since
    if (cut_short and cut_short[0] == chat and 0 < cut_short[1] <= len(turns)
            and {"pending", "interrupted"} & set(turns[cut_short[1] - 1].payload or {})):
        return cut_short
    st.session_state.pop(replying_key, None)
    return None


# ---- the page -----------------------------------------------------------------------------------

st.session_state.pop("chat-rehearsal", None)
if not turns:
    st.markdown(
        "### Your coach\n"
        "Ask a question, paste a draft to your boss to have it checked, or say \"let's practise…\" to rehearse "
        "a conversation: the coach works out which."
    )
rerun_as = st.session_state.pop("rerun-as", None)
accepted = st.session_state.pop(accepted_key, None)
cut_short = reply_to_resume()
resume_in = None  # where the reply cut short is written again, unless a new message takes over
last_running = max((i for i, t in enumerate(turns, 1)
                    if t.mode == "rehearse" and t.payload and t.payload.get("state") == "running"), default=None)
for seq, turn in enumerate(turns, 1):
    with st.chat_message("user"):
        st.markdown(turn.question)
    with st.chat_message("assistant"):
        if rerun_as and rerun_as[0] == seq:
            scenario = (turn.payload or {}).get("scenario") if turn.mode == rerun_as[1] else None
            redone = reply(rerun_as[1], turn.question, seq, scenario)
            if redone is not None:
                turn = redone
                if redone.mode == "rehearse":
                    st.rerun()  # the confirm form is interactive from its saved copy
        elif cut_short and cut_short[1] == seq and not rerun_as:
            resume_in = st.empty()
            with resume_in.container():
                if accepted == seq:
                    st.caption("Reading your message…")
                elif (turn.payload or {}).get("pending"):  # being written, or to be written again, now
                    st.caption("Writing the reply…")
                else:
                    show_turn(turn, seq, active=False)
        else:
            show_turn(turn, seq, active=seq == last_running)
        if not (cut_short and cut_short[1] == seq):
            not_what_you_meant(turn, seq)

running = st.session_state.get("chat-rehearsal")
if running:
    coach, rehearsal, seq = running
    placeholder = f"What do you say to {coach.boss_in_text}?"
else:
    placeholder = "Ask a question, paste a draft, or say \"let's practise…\""
# One keyed input whose placeholder changes: while a rerun swaps modes, the page never shows two.
text = st.chat_input(placeholder, key="chat-input", on_submit=accept)

if running:
    say_kept(coach, rehearsal, space.rehearsals)
    if rehearsal_controls(coach, rehearsal, space.rehearsals, space, f"chat:{rehearsal.id}"):
        ended = turns[seq - 1]
        ended.payload["state"] = "ended"
        save(Turn(ended.question, "", f"Practised: {rehearsal.scorecard['outcome']}", mode="rehearse",
                  payload=ended.payload), seq)
        st.rerun()
elif resume_in is not None and (not text or accepted == cut_short[1]):
    # A new message (saved by accept), or a reply an earlier run did not finish: write it now.
    with resume_in.container():
        write_reply(cut_short[1])
elif text:  # not saved by accept: empty, or sent while a rehearsal had just ended elsewhere
    with st.chat_message("user"):
        st.markdown(text)
    with st.chat_message("assistant"):
        if not text.strip():
            show_error(CoachError("The message is empty.", "Type a question, paste a draft, or say what to practise."))
        else:
            try:
                write_reply(save(pending(text, routed=False)))
            except CoachError as exc:
                show_error(exc)
