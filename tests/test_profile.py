
import pytest

from coach.errors import InputError
from coach.profile import FIELDS, ProfileStore, SuperiorProfile


def test_profile_round_trips_and_every_field_is_optional(tmp_path):
    store = ProfileStore(tmp_path / "upward.db", "default")
    assert store.load() == SuperiorProfile() and store.load().is_empty()
    store.save(SuperiorProfile(name="Dana", update_detail="bullet points and a clear ask"))
    again = ProfileStore(tmp_path / "upward.db", "default").load()
    assert again.name == "Dana" and again.update_detail == "bullet points and a clear ask"
    assert "- Their name: Dana" in again.as_text() and "annoys" not in again.as_text()


def test_set_one_field_and_unknown_fields_are_named(tmp_path):
    store = ProfileStore(tmp_path / "upward.db", "default")
    store.set("annoyances", "  surprises late in the quarter ")
    assert store.load().annoyances == "surprises late in the quarter"
    with pytest.raises(InputError) as caught:
        store.set("shoe_size", "44")
    assert "update_cadence" in caught.value.hint


def test_an_overlong_field_is_refused_and_nothing_is_saved(tmp_path):
    store = ProfileStore(tmp_path / "upward.db", "default")
    store.set("name", "Dana")
    with pytest.raises(InputError, match="limit"):
        store.set("anything_else", "x" * 5000)
    assert store.load().name == "Dana" and store.load().anything_else == ""


def test_profiles_are_per_workspace(tmp_path):
    ProfileStore(tmp_path / "u.db", "alice").set("name", "Dana")
    assert ProfileStore(tmp_path / "u.db", "bob").load().name == ""


def test_fields_are_the_ones_the_issue_names():
    assert set(FIELDS) == {"name", "role", "goals", "update_channel", "update_cadence", "update_detail",
                           "decision_style", "annoyances", "values", "anything_else"}
