"""Your boss: a profile that every mode uses to tailor its advice."""

import streamlit as st

from coach.errors import CoachError
from coach.profile import SuperiorProfile
from views.common import Submitted, show_error, workspace

space = workspace()
profile = space.profile.load()

st.markdown("### Your boss")
st.caption(
    f"Workspace **{space.name}**. Every field is optional; the coach uses what you fill in "
    "to tailor its advice. Stored on this machine only."
)

fields = SuperiorProfile.model_fields
submitted = Submitted(f"profile:{space.name}")  # the values of a Save, until they are saved
widget = {name: f"profile:{space.name}:{name}" for name in fields}

with st.form("profile"):
    left, right = st.columns(2)
    for column, name in ((left, "name"), (right, "role"), (left, "update_channel"), (right, "update_cadence"),
                         (st, "update_detail")):
        column.text_input(fields[name].description, getattr(profile, name), key=widget[name])
    for name in ("goals", "decision_style", "annoyances", "values", "anything_else"):
        st.text_area(fields[name].description, getattr(profile, name), height=80, key=widget[name])
    st.form_submit_button("Save", icon=":material/save:", type="primary", on_click=submitted.on_submit(
        lambda values: {name: values.get(key) or "" for name, key in widget.items()}))
if (values := submitted.waiting()) is not None:
    try:
        space.profile.save(SuperiorProfile(**values))
    except CoachError as exc:
        submitted.done()
        show_error(exc)
    else:
        submitted.done()
        st.success("Saved. The coach uses it from your next question.", icon=":material/check:")
