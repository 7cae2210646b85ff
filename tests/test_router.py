"""The chat's router, measured on inputs written blind, and its command."""

import json

import pytest

from coach.evaluate import DATA
from coach.router import Router, evaluate
from coach.runtime import Runtime
from coach.settings import Settings
from tests.test_cli import coach


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    with Runtime(Settings(COACH_DATA_DIR=tmp_path_factory.mktemp("router"))) as rt:
        yield rt


def test_router_accuracy_on_the_blind_set(rt):
    """89 inputs written by a helper who never saw the router or its training data. The first
    figure, before a second round of training inputs, was 0.888; this is the figure after it."""
    f = evaluate(rt.router, rt.scenarios()[0], DATA / "router_blind.yaml")
    print(f)
    assert f["inputs"] == 89
    assert f["accuracy"] >= 0.955
    assert f["confusion"]["review"]["review"] == 29


def test_router_accuracy_on_the_second_blind_set(rt):
    """66 messages written blind after the router was final: 63 right (0.955) on its first and only run."""
    f = evaluate(rt.router, rt.scenarios()[0], DATA / "router_blind2.yaml")
    assert f["inputs"] == 66
    assert round(f["accuracy"] * 66) >= 63
    assert f["confusion"]["review"]["review"] == 22 and f["confusion"]["rehearse"]["rehearse"] == 22


@pytest.mark.parametrize("text, mode", [
    ("How should I word an email asking for a raise?", "ask"),
    ("Hi Dana,\nThe vendor slipped two days. I recommend the backup supplier; can you approve by Friday?\nThanks, Sam", "review"),
    ("can you pretend to be my manager? I need to tell her the project is late", "rehearse"),
])
def test_the_issue_examples_route_where_they_should(rt, text, mode):
    assert rt.router.route(text).mode == mode


def test_a_request_to_practise_a_known_situation_picks_its_scenario(rt):
    route = rt.router.route("Let's practise: I want to ask my boss for a promotion and a raise.", rt.scenarios()[0])
    assert route.mode == "rehearse" and route.scenario == "promotion-raise"


def test_routes_are_deterministic_and_fast_once_loaded(rt):
    router: Router = rt.router
    router.route("warm up")
    first = router.route("should I tell my boss I'm overloaded?")
    assert router.route("should I tell my boss I'm overloaded?") == first
    assert 0 < first.confidence <= 1


def test_cli_route_prints_json(tmp_path):
    draft = tmp_path / "draft.txt"
    draft.write_text("Hi Dana,\nQuick update: the launch slips a week because QA found two blockers. "
                     "I propose we move the date to the 14th. Can you confirm today?\nSam")
    result = coach("route", str(draft), "--json", env={"COACH_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "review" and data["scenario"] is None and 0 <= data["confidence"] <= 1
    empty = tmp_path / "empty.txt"
    empty.write_text("  ")
    result = coach("route", str(empty), "--json", env={"COACH_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 1 and "nothing to route" in result.stderr
