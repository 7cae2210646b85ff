"""Notes: what you know about your boss and your work, used as sources by the coach."""

import time

import streamlit as st

from coach.errors import CoachError
from coach.notes import MAX_FILE_BYTES, clean_name, extract_text
from views.common import show_error, workspace

space = workspace()
notes = space.notes
pending_key = f"pending-note:{space.name}"

st.markdown("### Your notes")
st.caption(
    f"Workspace **{space.name}**. Notes stay on this machine. The coach quotes them as sources; "
    "text in a note is never followed as an instruction."
)


def add(name: str, read, replace: bool = False) -> None:
    """Add a note; one with the name of an existing note waits for the person to confirm the replacement."""
    bar = st.progress(0.0, text=f"Reading {name}…")
    try:
        text = read()
        if not replace and clean_name(name) in {n.name for n in notes.list()}:
            bar.empty()
            st.session_state[pending_key] = (clean_name(name), text)
            return
        note = notes.add(name, text, lambda f, d: bar.progress(f, text=d))
    except CoachError as exc:
        bar.empty()
        show_error(exc)
    else:
        bar.empty()
        st.success(f"Added **{note.name}** ({note.parts} parts).", icon=":material/check:")


upload, paste = st.tabs(["Upload files", "Paste text"])
with upload:
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Markdown, text, PDF or Word files, up to {MAX_FILE_BYTES // 2**20} MB each",
            type=["md", "txt", "pdf", "docx"], accept_multiple_files=True,
        )
        if st.form_submit_button("Add files", icon=":material/upload:") and files:
            for file in files:
                add(file.name, lambda file=file: extract_text(file.name, file.getvalue()))
with paste:
    with st.form("paste", clear_on_submit=True):
        name = st.text_input("Name", placeholder="1:1 notes, 12 March")
        text = st.text_area("Text", height=180)
        if st.form_submit_button("Add note", icon=":material/note_add:"):
            add(name or f"Pasted note {time.strftime('%Y-%m-%d %H:%M')}", lambda: text)

if pending := st.session_state.get(pending_key):
    name, text = pending
    st.warning(f"A note called **{name}** already exists. Replace it with the new text?", icon=":material/help:")
    yes, no = st.columns(2)
    if yes.button("Replace it", type="primary", icon=":material/swap_horiz:"):
        st.session_state.pop(pending_key)
        add(name, lambda: text, replace=True)
    if no.button("Keep the old one", icon=":material/close:"):
        st.session_state.pop(pending_key)
        st.rerun()

items = notes.list()
st.markdown(f"#### {len(items)} note{'s' if len(items) != 1 else ''}")
for note in items:
    with st.expander(f"{note.name} · {note.parts} parts · {note.chars:,} characters", icon=":material/description:"):
        st.caption(f"id {note.id} · added {time.strftime('%d %b %Y %H:%M', time.localtime(note.created))}")
        body = notes.text(note.id)
        st.text(body[:5000] + ("\n…" if len(body) > 5000 else ""))
        with st.popover("Delete this note", icon=":material/delete:"):
            st.write(f"This deletes **{note.name}** and its passages.")
            if st.button("Yes, delete it", key=f"rm-{note.id}", type="primary"):
                notes.delete(note.id)
                st.rerun()

if items:
    with st.popover("Delete all notes", icon=":material/delete_forever:"):
        st.write(f"This deletes all {len(items)} notes in **{space.name}** and their passages.")
        if st.button("Yes, delete everything", type="primary"):
            notes.delete_all()
            st.rerun()
