"""Review, the rewrite: the model writes a better version of the draft, and code checks it.

Either the model fills the gaps the analysis named, one sentence at a time ("gaps"), while the
person's other sentences stay as they wrote them, or it rewrites the whole draft ("free"). Every
attempt is checked with `coach.review.check_rewrite`; a failed one is retried once with the failed
checks, and if that fails too no rewrite is shown (see coach/review.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterator

from langchain_core.messages import HumanMessage, SystemMessage

from coach.analysis import SIGNAL_NAMES, Analysis, Analyzer
from coach.ask import fence
from coach.detector import MYTHS
from coach.errors import CoachError
from coach.models import model_errors
from coach.profile import SuperiorProfile
from coach.prompts import PromptFile
from coach.review import (MYTH_NAMES, Approach, Gap, Review, ask_position, check_rewrite, clean_sentence, facts, gaps,
                          has_fact, keeps_words)


class Restart(str):
    """Yielded by Rewriter.stream when a rewrite failed its check and a new one begins: the text
    streamed so far must be discarded. The string is the reason."""


@dataclass
class Rewriter:
    """Write a checked rewrite of a draft with a chat model."""

    model: object
    prompt: PromptFile
    analyzer: Analyzer
    profile: SuperiorProfile = field(default_factory=SuperiorProfile)
    approach: Approach = "gaps"
    result: Review | None = None

    def _system(self) -> SystemMessage:
        return SystemMessage(self.prompt.render_system(profile=fence(self.profile.as_text())))

    def _generate(self, user: str, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        llm = self.model.bind(max_tokens=max_tokens, **({"stop": stop} if stop else {}))
        with model_errors():
            for chunk in llm.stream([self._system(), HumanMessage(user)]):
                if chunk.content:
                    yield str(chunk.content)

    # One sentence for one gap, checked on its own before it goes into the draft.
    def _fill(self, analysis: Analysis, gap: Gap, retry_problems: list[str]) -> Iterator[str]:
        target = f'\nThe sentence: "{fence(gap.span.quote)}"' if gap.span else ""
        again = ("\nYour last attempt failed these checks: " + "; ".join(retry_problems)) if retry_problems else ""
        user = self.prompt.render_user(
            draft=fence(analysis.text), task=f"{gap.instruction}{target}{again}",
            answer="Write only the new sentence, on one line.",
        )
        yield from self._generate(user, 90, ["\n"])

    def _check_sentence(self, analysis: Analysis, gap: Gap, text: str) -> list[str]:
        problems = []
        if len(text.split()) < 3:
            return ["it was empty or a fragment"]
        if gap.kind == "replace" and gap.span and keeps_words(gap.span.quote, text):
            return [f'it repeats the flagged words "{gap.span.quote}"']
        j = self.analyzer.detector.judge([text])[0]
        problems += [f"it still falls into {m} ({MYTH_NAMES[m]})" for m in MYTHS if j.has(m)]
        problems += [f"it has no {SIGNAL_NAMES[s]}" for s in gap.require if not j.has(s)]
        if gap.kind == "replace" and gap.span:
            lost = [f for f in facts(gap.span.quote) if not has_fact(f, text)]
            if lost:
                problems.append("it drops " + ", ".join(lost))
        return problems

    def _gaps_attempt(self, analysis: Analysis, goal: str, problems: list[str]) -> Iterator[str]:
        """Fill each gap in turn (a failed sentence is written once more), yielding the draft so far."""
        done: list[tuple[Gap, str]] = []
        for gap in gaps(analysis, self.profile, goal):
            bad: list[str] = []
            for _ in range(2):
                sentence = ""
                for token in self._fill(analysis, gap, bad or problems):
                    sentence += token
                    yield assemble(analysis.text, done + [(gap, sentence.strip())])
                sentence = clean_sentence(sentence)
                bad = self._check_sentence(analysis, gap, sentence)
                if not bad:
                    break
            done.append((gap, sentence))
        yield assemble(analysis.text, done)

    def _free_attempt(self, analysis: Analysis, goal: str, problems: list[str]) -> Iterator[str]:
        user = self.prompt.render_user(draft=fence(analysis.text), task=_free_task(analysis, goal, problems),
                                       answer="Write only the rewritten message.")
        text = ""
        for token in self._generate(user, 700):
            text += token
            yield text

    def stream(self, analysis: Analysis, goal: str = "") -> Iterator[str]:
        """Yield the whole rewrite so far each time it grows; a Restart means an attempt was discarded.

        When the generator ends, `self.result` holds the Review: its rewrite is set only if it passed.
        """
        started = time.perf_counter()
        review = self.result = Review(analysis, approach=self.approach)
        if not analysis.myths and not gaps(analysis, self.profile, goal):
            review.note = "Nothing to rewrite: the instant check found nothing a rewrite would fix."
            return
        attempt_of = self._gaps_attempt if self.approach == "gaps" else self._free_attempt
        problems: list[str] = []
        for attempt in (1, 2):
            review.attempts = attempt
            if attempt == 2:
                yield Restart("; ".join(problems))
            text = ""
            try:
                for text in attempt_of(analysis, goal, problems):
                    if review.first_token_seconds is None and text != analysis.text:
                        review.first_token_seconds = time.perf_counter() - started
                    yield text
            except CoachError as exc:
                review.note = f"The coach's rewrite is unavailable: {exc.message} {exc.hint}".strip()
                review.seconds = time.perf_counter() - started
                return
            review.check = check_rewrite(self.analyzer, analysis, text, self.profile, goal)
            if review.check.passed:
                review.rewrite = text.strip()
                break
            problems = review.check.problems
        else:
            review.note = ("No rewrite passed the checks, so none is shown: " + "; ".join(problems)
                           + ". Use the findings above to revise it yourself.")
        review.seconds = time.perf_counter() - started

    def review(self, analysis: Analysis, goal: str = "") -> Review:
        """The same as stream, without streaming."""
        for _ in self.stream(analysis, goal):
            pass
        return self.result


def assemble(text: str, pieces: list[tuple[Gap, str]]) -> str:
    """Put the written sentences into the draft: replace, add after, or add the ask before the sign-off."""
    edits: list[tuple[int, int, str]] = []
    for gap, sentence in pieces:
        if not sentence:
            continue
        if gap.kind == "replace":
            edits.append((gap.span.start, gap.span.end, sentence))
        elif gap.kind == "after":
            edits.append((gap.span.end, gap.span.end, " " + sentence))
        else:
            at = ask_position(text)
            edits.append((at, at, ("\n\n" if at < len(text.rstrip()) else " ") + sentence
                          + ("\n\n" if at < len(text.rstrip()) else "")))
    out = text
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new + out[end:]
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def _free_task(analysis: Analysis, goal: str, problems: list[str]) -> str:
    fixes = [f"- {f.message}" + (f' ("{fence(f.span.quote)}")' if f.span else "") for f in analysis.findings]
    task = "Rewrite the whole message so it fixes these problems:\n" + ("\n".join(fixes) or "- none")
    if goal.strip():
        task += f"\nWhat the writer wants from it: {fence(goal.strip())}"
    if problems:
        task += "\nYour last rewrite failed these checks, fix them: " + "; ".join(problems)
    return task
