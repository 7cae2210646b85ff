"""Notes: what you know about your boss and your work, used as sources by the coach."""

import time

import streamlit as st

from coach.errors import CoachError
from coach.notes import MAX_FILE_BYTES, check_text, clean_name, extract_text
from views.common import Submitted, error_markdown, workspace

space = workspace()
notes = space.notes
pending_key = f"pending-note:{space.name}"

st.markdown("### Your notes")
st.caption(
    f"Workspace **{space.name}**. Notes stay on this machine. The coach quotes them as sources; "
    "text in a note is never followed as an instruction."
)


submitted = Submitted(f"notes:{space.name}")  # [(name, text or None, file bytes or None, replace)]
report_key = f"notes-report:{space.name}"  # [(ok, markdown)] for the notes submitted last
# The reports live in Submitted's plain dict, not in st.session_state: each access to that is a point
# where a rerun may stop the run, and one between storing a note and keeping its report lost the report
# (or, kept before the note left the queue, showed it twice).
reports = submitted.box


def keep(*items: tuple) -> None:
    """Callback of the Add buttons: queue the notes (see Submitted), after any still waiting."""
    if items:
        submitted.keep([*(submitted.kept() or []), *items])


def keep_paste() -> None:
    values = st.session_state.to_dict()
    name = values.get("paste-name") or f"Pasted note {time.strftime('%Y-%m-%d %H:%M')}"
    keep((name, values.get("paste-text") or "", None, False))


def keep_files() -> None:
    keep(*[(file.name, None, file.getvalue(), False) for file in st.session_state.to_dict().get("upload-files") or []])


def keep_replacement(name: str, text: str) -> None:
    keep((name, text, None, True))
    st.session_state.pop(pending_key, None)


def stored(name: str, text: str):
    """The note called name if it already holds this text (a run stopped after storing it), else None."""
    try:
        text = check_text(text, name)
    except CoachError:
        return None
    return next((n for n in notes.list() if n.name == clean_name(name) and notes.text(n.id) == text), None)


def add_waiting(slot) -> None:
    """Add the queued notes one by one, showing progress in slot; each leaves the queue as soon as it is
    stored (or refused)."""
    first = True
    while queue := submitted.waiting():
        if first and submitted.first_try():  # a new submission: the last report is done with
            reports.pop(report_key, None)
        first = False
        (name, text, data, replace), rest = queue[0], queue[1:]
        bar = slot.progress(0.0, text=f"Reading {name}…")
        try:
            if text is None:
                text = extract_text(name, data)
            if note := stored(name, text):  # an earlier run stored it, and was stopped before saying so
                pass
            elif not replace and clean_name(name) in {n.name for n in notes.list()}:
                st.session_state[pending_key] = (clean_name(name), text)
            else:
                note = notes.add(name, text, lambda f, d: bar.progress(f, text=d))
        except CoachError as exc:
            report = (False, error_markdown(exc))
        else:
            report = (True, f"Added **{note.name}** ({note.parts} parts).") if note else None
        # No point where a run may stop from here to the queue's update: the report is kept exactly once.
        if report:
            reports.setdefault(report_key, []).append(report)
        if rest:  # this one is stored (or refused): a run stopped from here on loses nothing
            submitted.keep(rest)
        else:
            submitted.done()
        slot.empty()


upload, paste = st.tabs(["Upload files", "Paste text"])
with upload:
    with st.form("upload", clear_on_submit=True):
        st.file_uploader(
            f"Markdown, text, PDF or Word files, up to {MAX_FILE_BYTES // 2**20} MB each",
            type=["md", "txt", "pdf", "docx"], accept_multiple_files=True, key="upload-files",
        )
        st.form_submit_button("Add files", icon=":material/upload:", on_click=keep_files)
with paste:
    with st.form("paste", clear_on_submit=True):
        st.text_input("Name", placeholder="1:1 notes, 12 March", key="paste-name")
        st.text_area("Text", height=180, key="paste-text")
        st.form_submit_button("Add note", icon=":material/note_add:", on_click=keep_paste)

# One place for the progress in every run, with or without notes to add: the report under it then has
# the same place too, and replaces the last run's instead of showing beside it while this run goes on.
add_waiting(st.empty())
for ok, text in list(reports.get(report_key, [])):
    if ok:
        st.success(text, icon=":material/check:")
    else:
        st.error(text, icon=":material/error:")
if pending := st.session_state.get(pending_key):  # until the person chooses
    st.warning(f"A note called **{pending[0]}** already exists. Replace it with the new text?", icon=":material/help:")
    yes, no = st.columns(2)
    yes.button("Replace it", type="primary", icon=":material/swap_horiz:", on_click=keep_replacement, args=pending)
    no.button("Keep the old one", icon=":material/close:", on_click=lambda: st.session_state.pop(pending_key, None))

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
                reports.pop(report_key, None)
                st.rerun()

if items:
    with st.popover("Delete all notes", icon=":material/delete_forever:"):
        st.write(f"This deletes all {len(items)} notes in **{space.name}** and their passages.")
        if st.button("Yes, delete everything", type="primary"):
            notes.delete_all()
            reports.pop(report_key, None)
            st.rerun()
