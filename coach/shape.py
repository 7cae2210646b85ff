"""The Ask answer's shape, kept in code as the answer streams.

A small model asked for "at most four steps" can loop: the same bullet again, or a list that
never ends, none of it cited. Each line is checked before it is shown:

- a line that repeats, exactly or nearly, a line already shown in this answer, or a line of an
  earlier answer in the same chat, is dropped;
- a step past the limit is dropped;
- a line of the prompt's worked example, copied, is dropped;
- prompt text copied back (a `<profile>` or `<playbook>` block, a "### Card:" heading) is dropped,
  with everything up to the block's closing tag;
- after `patience` dropped lines the model is stopped: it is looping, and what follows is more of
  the same.

"Nearly" is the measure the echo evaluation uses (`coach eval ask`), so the figure it reports for
shown answers holds by construction; it reports the model's own (raw) echo beside it.
"""

from __future__ import annotations

import difflib
import re

SIMILAR = 0.85  # difflib ratio from which two lines count as the same line
_CITE = re.compile(r"\[(\d{1,2})\]")
_STEP = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_GENERAL = re.compile(r"\*\(general advice\)\*")
_OPEN = re.compile(r"<\s*(profile|playbook|source|question)\s*>", re.IGNORECASE)
_PROMPT = re.compile(r"</?\s*(profile|playbook|source|question)\s*>|^\W*#{1,4}\s*card:", re.IGNORECASE)


def normal(line: str) -> str:
    """A line as compared: no citations, bullets or emphasis, lower case, single spaces."""
    line = _GENERAL.sub("", _CITE.sub("", line)).strip(" -*•\t").lower()
    return re.sub(r"\s+", " ", line)


def comparable(answer: str) -> list[str]:
    """The lines of an answer worth comparing (four words or more), normalised."""
    return [n for n in map(normal, answer.splitlines()) if len(n.split()) >= 4]


def repeats(line: str, earlier: list[str]) -> bool:
    """Whether a normalised line says again, exactly or nearly, one of the earlier lines."""
    return any(line == e or difflib.SequenceMatcher(a=line, b=e).ratio() >= SIMILAR for e in earlier)


class ShapeGuard:
    """Decide, line by line, whether an answer line is shown, and when to stop the model."""

    def __init__(self, earlier_answers: list[str] | None = None, max_steps: int = 4, patience: int = 2,
                 example: str = "") -> None:
        self.earlier = [line for a in earlier_answers or [] for line in comparable(a)]
        self.example = comparable(example)
        self.shown: list[str] = []
        self.max_steps = max_steps
        self.patience = patience
        self.steps = 0  # steps shown
        self.dropped: list[tuple[str, str]] = []  # (line, why)
        self._copying: str | None = None  # the prompt block being copied back, until it closes

    def retry(self) -> None:
        """Start reading a second attempt: what was shown stays shown, the patience is renewed."""
        self.dropped, self._copying = [], None

    @property
    def stop(self) -> bool:
        """Whether the model is looping and should not be read any further."""
        return len(self.dropped) >= self.patience

    def admit(self, line: str) -> bool:
        """Whether to show this line; a dropped line is recorded with the reason."""
        n = normal(line)
        if self._copying:
            if re.search(rf"</\s*{self._copying}\s*>", line, re.IGNORECASE):
                self._copying = None
            return self._drop(line, "copies the prompt")
        if _PROMPT.search(line):
            opened = _OPEN.search(line)
            if opened and not re.search(rf"</\s*{opened.group(1)}\s*>", line, re.IGNORECASE):
                self._copying = opened.group(1).lower()
            return self._drop(line, "copies the prompt")
        if len(n.split()) >= 4:
            if repeats(n, self.shown):
                return self._drop(line, "repeats a line of this answer")
            if repeats(n, self.earlier):
                return self._drop(line, "repeats an earlier answer")
            if repeats(n, self.example):
                return self._drop(line, "copies the prompt's example")
        if _STEP.match(line) and n:
            if self.steps >= self.max_steps:
                return self._drop(line, f"a step past the {self.max_steps} asked for")
            self.steps += 1
        if len(n.split()) >= 4:
            self.shown.append(n)
        return True

    def _drop(self, line: str, why: str) -> bool:
        self.dropped.append((line, why))
        return False
