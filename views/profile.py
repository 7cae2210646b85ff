"""Your boss: a profile that every mode uses to tailor its advice."""

import streamlit as st

from coach.errors import CoachError
from coach.profile import SuperiorProfile
from views.common import workspace

space = workspace()
profile = space.profile.load()

st.markdown("### Your boss")
st.caption(
    f"Workspace **{space.name}**. Every field is optional; the coach uses what you fill in "
    "to tailor its advice. Stored on this machine only."
)

fields = SuperiorProfile.model_fields
saved_key = f"profile-saved:{space.name}"  # what the last Save did: (ok, markdown)


def save() -> None:
    """The Save button's callback: it runs before the page, so a rerun from elsewhere cannot stop it half-way."""
    values = {name: st.session_state.get(f"profile:{space.name}:{name}", "") for name in fields}
    try:
        space.profile.save(SuperiorProfile(**values))
    except CoachError as exc:
        st.session_state[saved_key] = (False, f"**{exc.message}**\n\n{exc.hint}" if exc.hint else exc.message)
    else:
        st.session_state[saved_key] = (True, "Saved. The coach uses it from your next question.")


with st.form("profile"):
    left, right = st.columns(2)
    for column, name in ((left, "name"), (right, "role"), (left, "update_channel"), (right, "update_cadence"),
                         (st, "update_detail")):
        column.text_input(fields[name].description, getattr(profile, name), key=f"profile:{space.name}:{name}")
    for name in ("goals", "decision_style", "annoyances", "values", "anything_else"):
        st.text_area(fields[name].description, getattr(profile, name), height=80, key=f"profile:{space.name}:{name}")
    st.form_submit_button("Save", icon=":material/save:", type="primary", on_click=save)
if saved := st.session_state.pop(saved_key, None):
    ok, text = saved
    st.success(text, icon=":material/check:") if ok else st.error(text, icon=":material/error:")
