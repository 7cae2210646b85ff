"""Your boss: a profile that every mode uses to tailor its advice."""

import streamlit as st

from coach.errors import CoachError
from coach.profile import SuperiorProfile
from views.common import show_error, workspace

space = workspace()
profile = space.profile.load()

st.markdown("### Your boss")
st.caption(
    f"Workspace **{space.name}**. Every field is optional; the coach uses what you fill in "
    "to tailor its advice. Stored on this machine only."
)

fields = SuperiorProfile.model_fields
with st.form("profile"):
    values = {}
    left, right = st.columns(2)
    values["name"] = left.text_input(fields["name"].description, profile.name)
    values["role"] = right.text_input(fields["role"].description, profile.role)
    values["update_channel"] = left.text_input(fields["update_channel"].description, profile.update_channel)
    values["update_cadence"] = right.text_input(fields["update_cadence"].description, profile.update_cadence)
    values["update_detail"] = st.text_input(fields["update_detail"].description, profile.update_detail)
    for name in ("goals", "decision_style", "annoyances", "values", "anything_else"):
        values[name] = st.text_area(fields[name].description, getattr(profile, name), height=80)
    if st.form_submit_button("Save", icon=":material/save:", type="primary"):
        try:
            space.profile.save(SuperiorProfile(**values))
        except CoachError as exc:
            show_error(exc)
        else:
            st.success("Saved. The coach uses it from your next question.", icon=":material/check:")
