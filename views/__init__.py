"""Streamlit pages. They hold widgets and session state only; everything else is in coach/."""
