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
from coach.errors import CoachError
from coach.models import model_errors
from coach.profile import SuperiorProfile
from coach.prompts import PromptFile
from coach.shape import normal, repeats
from coach.review import (MYTH_NAMES, Approach, Gap, Review, ask_position, check_rewrite, clean_sentence, facts, gaps,
                          has_fact, keeps_words, sentence_myths, speaks_of_boss)


# The prompt's own vocabulary: a sentence using it narrates the task ("The writer proposes to…").
_PROMPT_WORDS = re.compile(r"</?draft>|\bthe writer\b|\bthe sentence\b|\bplaceholder\b", re.IGNORECASE)
# A chat assistant's service phrases: the model's own persona, not a person writing to their boss
# ("Please let me know if you need assistance with the safety case", "I can help you with that!").
_ASSISTANT = re.compile(
    r"\b(?:(?:any|further|additional|more) assistance|(?:if|whether|what) you need (?:any |further )?(?:help|assistance)"
    r"|(?:happy|glad) to (?:help|assist) you|how (?:can|may) I (?:help|assist)|I can help you with"
    r"|anything else I can (?:help|do))\b", re.IGNORECASE)
COPIED_RUN = 8  # words in a row an added sentence may not copy from the draft


def copies_run(draft: str, text: str, run: int = COPIED_RUN) -> bool:
    """Whether text copies `run` words in a row from the draft (an added sentence should say something new)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    have = " " + " ".join(re.findall(r"[a-z0-9']+", draft.lower())) + " "
    return any(f" {' '.join(words[i:i + run])} " in have for i in range(len(words) - run + 1))


SENTENCE_TRIES = 3  # writes of one gap's sentence before it is given up on
RETRY_TEMPERATURE = 0.8


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
    cuts: int = 0  # myth sentences cut rather than rewritten, in the last attempt
    unmet: list[str] = field(default_factory=list)  # gap sentences that failed their own check, in the last attempt

    def _system(self) -> SystemMessage:
        return SystemMessage(self.prompt.render_system(profile=fence(self.profile.as_text())))

    def _generate(self, user: str, max_tokens: int, stop: list[str] | None = None,
                  temperature: float | None = None) -> Iterator[str]:
        options = {"max_tokens": max_tokens, **({"stop": stop} if stop else {}),
                   **({"temperature": temperature} if temperature is not None else {})}
        llm = self.model.bind(**options)
        with model_errors():
            for chunk in llm.stream([self._system(), HumanMessage(user)]):
                if chunk.content:
                    yield str(chunk.content)

    # One sentence for one gap, checked on its own before it goes into the draft.
    def _fill(self, analysis: Analysis, gap: Gap, retry_problems: list[str], try_: int) -> Iterator[str]:
        target = f'\nThe sentence: "{fence(gap.span.quote)}"' if gap.span else ""
        again = ("\nYour last attempt failed these checks: " + "; ".join(retry_problems)) if retry_problems else ""
        user = self.prompt.render_user(
            draft=fence(analysis.text), task=f"{gap.instruction}{target}{again}",
            answer="Write only the new sentence, on one line.",
        )
        # The first try at the configured temperature; later ones sample wider, so they differ.
        yield from self._generate(user, 90, ["\n"], None if try_ == 0 else RETRY_TEMPERATURE)

    def _check_sentence(self, analysis: Analysis, gap: Gap, text: str, recommends: bool = False) -> list[str]:
        problems = []
        if len(text.split()) < 3:
            return ["it was empty or a fragment"]
        if gap.kind == "replace" and gap.span and keeps_words(gap.span.quote, text):
            return [f'it repeats the flagged words "{gap.span.quote}"']
        if _PROMPT_WORDS.search(text):
            return ["it talks about the task instead of writing the sentence"]
        if _ASSISTANT.search(text) and not _ASSISTANT.search(analysis.text):
            return ["it offers help like an assistant instead of saying what the person needs"]
        if repeats(normal(text), [normal(s.quote) for s, _ in analysis.sentences]) or (
                gap.kind != "replace" and copies_run(analysis.text, text)):
            return ["it repeats a sentence the message already has"]
        if speaks_of_boss(analysis.text, text):
            return ['it speaks of "the boss" instead of to them: write to them as "you"']
        j = self.analyzer.detector.judge([text])[0]
        recommends = recommends or analysis.has("options_or_recommendation") or j.has("options_or_recommendation")
        problems += [f"it still falls into {m} ({MYTH_NAMES[m]})" for m in sentence_myths(j, recommends)]
        problems += [f"it has no {SIGNAL_NAMES[s]}" for s in gap.require if not j.has(s)]
        if gap.kind == "replace" and gap.span:
            lost = [f for f in facts(gap.span.quote) if not has_fact(f, text)]
            if lost:
                problems.append("it drops " + ", ".join(lost))
        return problems

    def _gaps_attempt(self, analysis: Analysis, goal: str, problems: list[str]) -> Iterator[str]:
        """Fill each gap in turn, yielding the draft so far.

        Each sentence is checked on its own; a failed one is written again (up to SENTENCE_TRIES in
        all), with what was wrong with it. A myth sentence that no try replaced is cut when it holds
        no fact and not the draft's ask: "Please don't worry about replying!" says nothing the
        message needs. Whatever comes out is checked again as a whole by `stream`.
        """
        done: list[tuple[Gap, str | None]] = []
        self.cuts = cut_words = 0
        self.unmet = []
        recommends = False  # whether a sentence written so far gives a recommendation
        all_gaps = gaps(analysis, self.profile, goal)
        for gap in all_gaps:
            bad: list[str] = []
            for try_ in range(SENTENCE_TRIES):
                sentence = ""
                for token in self._fill(analysis, gap, bad or problems, try_):
                    sentence += token
                    yield assemble(analysis.text, done + [(gap, sentence.strip())])
                sentence = clean_sentence(sentence, opens_draft=bool(
                    gap.kind == "replace" and not analysis.text[: gap.span.start].strip()))
                bad = self._check_sentence(analysis, gap, sentence, recommends)
                if not bad:
                    break
            if bad and may_cut(gap, analysis, cut_words, all_gaps):
                sentence = None
                self.cuts += 1
                cut_words += len(gap.span.quote.split())
            elif bad and gap.kind == "after":  # an optional addition: the draft is better without a bad one
                sentence = ""
            elif bad:
                self.unmet.append(f"the sentence written for {gap.code}: {bad[0]}")
            done.append((gap, sentence))
            if sentence and not recommends:
                recommends = self.analyzer.detector.judge([sentence])[0].has("options_or_recommendation")
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
            if self.unmet and self.approach == "gaps":  # a sentence failed its own check: not shown either
                review.check.problems += [p for p in self.unmet if p not in review.check.problems]
                review.check.passed = False
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


# Myths whose sentences carry no position of their own: an apology or a plea not to reply (fear), a
# "whatever you decide" (just-execute; the ask gap then asks for the decision). An independent-work
# sentence *is* the person's position ("not really our problem, we've got our own roadmap"): cutting
# it would leave a message that says nothing, so it is only ever rewritten.
CUTTABLE = ("myth-fear", "myth-just-execute")
MAX_CUT_SHARE = 0.5  # of the draft's words; a rewrite is a better version of the message, not a stub


# What a sentence carries that the message needs, whatever myth it also falls into.
_CARRIES = ("raises_problem", "owns_problem", "blame", "clear_ask", "options_or_recommendation")


def may_cut(gap: Gap, analysis: Analysis, cut_words: int, all_gaps: list[Gap] = ()) -> bool:
    """Whether a myth sentence may simply be cut: it holds no fact, does not raise or own the problem
    or ask, no other gap builds on it, and with the sentences cut before it, at least half of the
    draft's words are left. "Sorry, the build is broken again, probably nothing." raises the problem:
    it is rewritten or the rewrite fails, never cut."""
    if not (gap.kind == "replace" and gap.code in CUTTABLE and gap.span is not None and not gap.require):
        return False
    judged = next((j for s, j in analysis.sentences if s == gap.span), None)
    return (not facts(gap.span.quote)
            and not (judged and any(judged.has(label) for label in _CARRIES))
            and not any(other is not gap and other.span == gap.span for other in all_gaps)
            and cut_words + len(gap.span.quote.split()) <= MAX_CUT_SHARE * len(analysis.text.split()))


_EMPTY_LINE = re.compile(r"^[ \t]*(?:[-*•>]|\d+[.)])?[ \t]*$\n?", re.MULTILINE)


def assemble(text: str, pieces: list[tuple[Gap, str | None]]) -> str:
    """Put the written sentences into the draft: replace, add after, or add the ask before the sign-off.

    A sentence of None cuts the gap's words (a replace gap only); an empty one leaves the draft as it was.
    """
    edits: list[tuple[int, int, str]] = []
    for gap, sentence in pieces:
        if sentence is None and gap.kind == "replace":
            edits.append((gap.span.start, gap.span.end, ""))
            continue
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
        out = _cut(out, start, end) if new == "" else out[:start] + new + out[end:]
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def _cut(text: str, start: int, end: int) -> str:
    """Remove text[start:end] and tidy only where it was: one space between the words either side,
    none before a newline or punctuation, and a bullet line left empty goes."""
    left, right = text[:start].rstrip(" \t"), text[end:].lstrip(" \t")
    if left and not left.endswith("\n") and right and not right.startswith("\n") and right[0] not in ",.;:!?":
        left += " "
    line_start = left.rfind("\n") + 1
    if _EMPTY_LINE.fullmatch(left[line_start:] + right.split("\n", 1)[0]):  # the whole line was the cut sentence
        left, right = left[:line_start], right.split("\n", 1)[1] if "\n" in right else ""
    return left + right


def _free_task(analysis: Analysis, goal: str, problems: list[str]) -> str:
    fixes = [f"- {f.message}" + (f' ("{fence(f.span.quote)}")' if f.span else "") for f in analysis.findings]
    task = "Rewrite the whole message so it fixes these problems:\n" + ("\n".join(fixes) or "- none")
    if goal.strip():
        task += f"\nWhat the writer wants from it: {fence(goal.strip())}"
    if problems:
        task += "\nYour last rewrite failed these checks, fix them: " + "; ".join(problems)
    return task
