"""Prompt files in prompts/, loaded by name and checked when loaded, not mid-answer."""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from coach.errors import ConfigError


class PromptFile(BaseModel):
    """A prompt: a stable system part and a per-turn user part, each a format string."""

    model_config = ConfigDict(extra="forbid")

    description: str
    system: str
    user: str
    system_variables: list[str] = []
    user_variables: list[str] = []
    example: str = ""  # a worked answer, shown in the system part as {example}; code checks it is not copied

    def render_system(self, **values: str) -> str:
        if "example" in self.system_variables:
            values.setdefault("example", self.example)
        return self.system.format(**values)

    def render_user(self, **values: str) -> str:
        return self.user.format(**values)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_prompt(name: str, folder: Path) -> PromptFile:
    """Load prompts/<name>.yaml; fail if a template's variables differ from the declared ones."""
    path = folder / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        prompt = PromptFile.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"Prompt {name!r} not found at {path}.", "Restore it from the repository.") from None
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigError(f"Prompt file {path} is invalid: {exc}", "Fix the file.") from None
    for part in ("system", "user"):
        declared = set(getattr(prompt, f"{part}_variables"))
        try:
            used = _fields(getattr(prompt, part))
        except ValueError as exc:
            raise ConfigError(f"Prompt {name!r} {part} part is malformed: {exc}.", "Fix the file.") from None
        if used != declared:
            raise ConfigError(
                f"Prompt {name!r} {part} part uses {sorted(used)} but declares {sorted(declared)}.",
                f"Make `{part}_variables` list exactly the variables in `{part}`.",
            )
    return prompt
