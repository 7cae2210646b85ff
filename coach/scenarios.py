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


# ---- a scenario from the person's own words (the chat's "let's practise…" with no matching file) ----

# Concerns any superior has about any request, from the playbook: their goals (understand your
# superior), a proposal rather than a bare problem (take the initiative), and what happens next
# (communicate). Used when the model's own draft of concerns is unusable, and to fill it out.
GENERIC_CONCERNS = [
    Concern(
        text="They don't yet see how this fits their own goals and the pressure they are under.",
        hint="they don't yet see how this connects to their own goals",
        pushback=["How does this help with what I'm being measured on?",
                  "I have my own targets to hit. Where does this fit?"],
        addressed_by=[
            "I know your priority this quarter is the launch, and this keeps it on track.",
            "This takes a problem off your plate before your review with your own boss.",
            "I checked this against your targets: it helps the number you report every month.",
            "What matters most to you right now? I want this to fit your priorities.",
            "It supports the goal you set for the team, and I can show you how in one page.",
        ],
    ),
    Concern(
        text="They want a concrete proposal, not just a problem to solve themselves.",
        hint="they are waiting for a concrete proposal",
        pushback=["So what exactly are you proposing?", "What do you want me to do with this?"],
        addressed_by=[
            "My proposal is to start with a two-week trial and review it with you after that.",
            "I see two options; I recommend the second because it costs less and is faster.",
            "I've already drafted a plan: these three steps, starting Monday.",
            "Here is what I suggest we do, and what I will take on myself.",
            "I'll own the fix: the first step is done and the rest is scheduled for this week.",
        ],
    ),
    Concern(
        text="They want to know the risks and exactly what happens next.",
        hint="they want to know the risks and the next step",
        required=False,
        pushback=["What could go wrong here?", "And what happens next, concretely?"],
        addressed_by=[
            "The main risk is a delay of a week, and I have a fallback if that happens.",
            "Next step: I'll send you a one-page summary by Thursday and we decide on Friday.",
            "If it doesn't work after a month, we stop and go back to how it is now.",
            "I'll update you every Monday so nothing comes as a surprise.",
            "Can we agree the next step today and check in again in two weeks?",
        ],
    ),
]


class ScenarioDraft(BaseModel):
    """What the model is asked for when it builds a scenario from the person's words."""

    title: str = Field(max_length=80)
    situation: str = Field(max_length=600)
    goal: str = Field(max_length=300)
    opening: str = Field(max_length=200, description="the superior's first line")
    concerns: list[str] = Field(min_length=1, max_length=3, description="what the superior will worry about")


def draft_scenario(model, prompt, text: str, boss: str) -> tuple[Scenario, str]:
    """A scenario built from the person's own words, and how ("model" or "template").

    The model drafts the title, situation, goal, opening and the superior's likely concerns, one for
    each of the generic concerns in order (their goals, a proposal, the next step): its words make
    the concern specific, and the generic concern's lines say what settles it. When the model's draft is unusable, a template built from the
    person's words and the generic concerns stands in, and the person edits it before starting.
    """
    from coach.ask import fence
    from coach.errors import CoachError
    from coach.models import structured

    try:
        draft = structured(model, ScenarioDraft, [
            ("system", prompt.render_system()),
            ("human", prompt.render_user(request=fence(text), boss=boss)),
        ], max_tokens=500)
    except CoachError:
        return template_scenario(text), "template"
    concerns = []
    for said, generic in zip(draft.concerns, GENERIC_CONCERNS):
        concerns.append(generic.model_copy(update={"text": boss_as_they(said.strip(), boss) or generic.text}))
    concerns += GENERIC_CONCERNS[len(concerns):]
    return Scenario(title=draft.title.strip() or "Your conversation", situation=draft.situation.strip() or text,
                    goal=draft.goal.strip() or "Agree on a way forward with your superior.",
                    opening=draft.opening.strip(), concerns=concerns), "model"


def boss_as_they(text: str, boss: str) -> str:
    """A drafted concern in the scenarios' convention: the superior is "they", the person "you".
    The model names the superior ("Dana will want you to propose a date"); told that as their own
    concern, the superior would speak of themselves by name."""
    names = [re.escape(n) for n in (boss, "your superior", "your boss", "your manager") if n and n.strip()]
    pattern = re.compile(rf"\b(?:{'|'.join(names)})(?:'s|’s)?(?=\W|$)", re.IGNORECASE)

    def they(m: re.Match) -> str:
        before = text[: m.start()].rstrip()
        if m.group(0).lower().endswith(("'s", "’s")):
            word = "their"
        else:
            word = "they" if not before or before[-1] in ".!?;:," or before.lower().endswith(" that") else "them"
        return word.capitalize() if not before or before[-1] in ".!?" else word

    return pattern.sub(they, text)


def template_scenario(text: str) -> Scenario:
    """A scenario from the person's words alone, with the playbook's generic concerns."""
    words = text.strip()
    return Scenario(title="Your conversation", situation=words[:600],
                    goal="Agree on a way forward with your superior, with a clear next step.",
                    opening="You wanted to talk?", concerns=list(GENERIC_CONCERNS))
