"""Rehearsal scenarios: one YAML file each in scenarios/, with the superior's concerns as data."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coach.errors import InputError


class Concern(BaseModel):
    """Something the superior needs settled before agreeing, and what would settle it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="what is really on the superior's mind (never shown until the debrief)")
    hint: str = Field(description="the concern in general terms, for hints and the meter")
    required: bool = True
    pushback: list[str] = Field(min_length=1, description="in-character lines that press on it")
    addressed_by: list[str] = Field(min_length=3, description="things the person could say that settle it")


class Scenario(BaseModel):
    """A rehearsal scenario, read from a file in scenarios/."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    title: str
    situation: str
    goal: str
    concerns: list[Concern] = Field(min_length=1)
    opening: str = ""

    def as_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(exclude={"name"}), sort_keys=False, allow_unicode=True, width=100)


def load_scenarios(folder: Path) -> tuple[dict[str, Scenario], list[str]]:
    """Load every scenario file; report bad ones by file name and keep the rest."""
    found, problems = {}, []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found[path.stem] = Scenario(**{**data, "name": path.stem})
        except (OSError, ValueError, yaml.YAMLError, TypeError, ValidationError) as exc:
            problems.append(f"{path.name}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    return found, problems


def save_scenario(folder: Path, scenario: Scenario, name: str) -> Path:
    """Write a scenario as scenarios/NAME.yaml for reuse; refuse to overwrite one that exists."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not slug:
        raise InputError("The scenario needs a name.", "Use a few words, e.g. 'ask for remote days'.")
    path = folder / f"{slug}.yaml"
    if path.exists():
        raise InputError(f"A scenario called {slug!r} already exists.", "Choose another name.")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(scenario.as_yaml(), encoding="utf-8")
    tmp.replace(path)
    return path
