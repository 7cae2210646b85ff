"""Review, stage 2: a better version of the draft, checked by the analysis before it is shown.

The instant analysis (coach/analysis.py) says what works and which pitfalls the draft falls into,
and where. The model only writes (coach/rewriter.py): either it fills the named gaps one sentence
at a time ("gaps": replace this apology with the fact, add the ask, link this to their goal) while
code keeps every other sentence as the person wrote it, or it rewrites the whole draft ("free").
This module names the gaps and checks the result. Either way the
result is analysed again: no myth, a clear ask when one is needed, every number, date and name
kept and none invented. A failed rewrite is retried once with the failed checks; if it fails again
the person is told plainly that no rewrite passed, and sees the analysis alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from coach.analysis import MYTH_ADVICE, SIGNAL_NAMES, Analysis, Analyzer, Span
from coach.profile import SuperiorProfile

Approach = Literal["gaps", "free"]
MYTH_NAMES = {
    "myth-just-execute": "leaving the whole decision to your boss",
    "myth-independent-work": "treating your work as separate from your boss's goals",
    "myth-fear": "holding back out of fear",
}

# ---- facts a rewrite must keep ------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])[$£€]?\d[\d,.:/]*(?:%|k|m|am|pm)?", re.IGNORECASE)
_DATE_WORD = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|eod|eow)\b", re.IGNORECASE)
_CAPITAL = re.compile(r"\b[A-Z][A-Za-z0-9&'-]*[A-Za-z0-9]\b")
_NOT_NAMES = set(
    "I I'm I'll I'd I've OK Ok Hi Hey Hello Dear Thanks Thank Best Cheers Regards Sorry Also And But So "
    "The This That These Those It It's We We're We'll My Our Your You Please Just If When What How "
    "Can Could Would Will Should Let Let's Happy Yes No Sure".split()
)
_PLACEHOLDER = re.compile(r"\[[^\]\n]{1,40}\]")


def _norm_number(token: str) -> str:
    return token.lower().rstrip(".,:/").replace(",", "")


def facts(text: str) -> list[str]:
    """The numbers, dates and proper names in text: what a rewrite must not drop or change."""
    found: dict[str, None] = {}
    for m in _NUMBER.finditer(text):
        found[_norm_number(m.group(0))] = None
    for m in _DATE_WORD.finditer(text):
        found[m.group(0).lower()] = None
    for m in _CAPITAL.finditer(text):
        word = m.group(0)
        # A capital after a sentence start is just grammar; after a greeting or mid-sentence it is a name.
        before = text[: m.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?\n:" or before.endswith(("-", "•", "*"))
        if word in _NOT_NAMES or (sentence_start and not word.isupper()):
            continue
        if _DATE_WORD.fullmatch(word):
            continue
        found[word] = None
    return [f for f in found if f]


def has_fact(fact: str, text: str) -> bool:
    if fact[0].isdigit() or fact[0] in "$£€":
        return fact in {_norm_number(m.group(0)) for m in _NUMBER.finditer(text)}
    if fact.islower():
        return re.search(rf"\b{re.escape(fact)}\b", text, re.IGNORECASE) is not None
    return re.search(rf"\b{re.escape(fact)}\b", text) is not None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def keeps_words(quote: str, text: str) -> bool:
    """Whether text still holds the flagged quote (four words or more of it, in order)."""
    q = _words(quote)
    if len(q) < 4:
        return False
    return f" {' '.join(q)} " in f" {' '.join(_words(text))} "


_ECHO = re.compile(r"^(?:(?:sure|certainly|okay|ok|of course)\s*[,!.]?\s*)?(?:here(?:'s| is) (?:the|a|my|your) "
                   r"(?:[\w-]+ ){0,3}?(?:sentence|rewrite|version|revision|message|line)\b[^:\n]{0,40}:|"
                   r"(?:the (?:new |revised |rewritten )?sentence|new sentence|rewrite|answer)\s*:)\s*",
                   re.IGNORECASE)
_GREETING = re.compile(r"^(?:hi|hey|hello|dear)(?=[\s,!])[^,.!?\n]{0,40}[,!]\s*", re.IGNORECASE)


def clean_sentence(raw: str, opens_draft: bool = False) -> str:
    """The model's sentence without an echoed label ("Sure, here's the revised sentence:"), wrapping
    quotes, or, unless it opens the draft, a greeting of its own ("Hi Chidi, what…")."""
    text = _ECHO.sub("", raw.replace("\u2019", "'").strip()).strip().strip('"“”').strip()
    if not opens_draft and (bare := _GREETING.sub("", text)) and bare != text:
        text = bare[0].upper() + bare[1:]
    return text


# ---- the check ----------------------------------------------------------------------------------


@dataclass
class RewriteCheck:
    """Whether a rewrite may be shown, and why not."""

    passed: bool
    problems: list[str] = field(default_factory=list)
    facts_total: int = 0
    facts_kept: int = 0
    analysis: Analysis | None = None

    def as_dict(self) -> dict:
        return {"passed": self.passed, "problems": self.problems,
                "facts_total": self.facts_total, "facts_kept": self.facts_kept}


def needs_ask(original: Analysis, goal: str = "") -> bool:
    """A request or an update needs a clear ask; a two-line thank-you does not."""
    words = len(original.text.split())
    return bool(goal.strip()) or original.has("clear_ask") or original.has("raises_problem") or words >= 25


# The message is written to the boss: a rewrite that speaks of "the boss" or "your boss" is the model
# narrating its instruction ("Please provide your boss with your decision"), not the person writing.
_BOSS_IN_THIRD = re.compile(r"\b(?:the|my|your|our)\s+(?:boss|superior|manager|supervisor|reader)\b", re.IGNORECASE)


def speaks_of_boss(original: str, text: str) -> bool:
    """Whether text names "the boss" (or "your superior"…) more often than the person's own draft did."""
    return len(_BOSS_IN_THIRD.findall(text)) > len(_BOSS_IN_THIRD.findall(original))


def sentence_myths(judgment, recommends: bool) -> list[str]:
    """The myths a sentence of a rewrite falls into. Asking for the decision once the message has given
    a recommendation is not leaving the decision to the boss (docs/labels.md), so such an ask is not
    counted as the just-execute myth."""
    return [m for m in MYTH_NAMES if judgment.has(m)
            and not (m == "myth-just-execute" and recommends and judgment.has("clear_ask"))]


def check_rewrite(analyzer: Analyzer, original: Analysis, text: str, profile: SuperiorProfile | None = None,
                  goal: str = "") -> RewriteCheck:
    """Analyse a rewrite: no myth, an ask where needed, the original's facts kept and none invented."""
    problems = []
    text = text.strip()
    if not text:
        return RewriteCheck(False, ["the rewrite is empty"])
    analysis = analyzer.analyze(text, profile)
    recommends = analysis.has("options_or_recommendation")
    excepted = recommends and not any("myth-just-execute" in sentence_myths(j, recommends) for _, j in analysis.sentences)
    for myth in analysis.myths:
        if myth.topic == "myth-just-execute" and excepted:
            # The whole-draft head read the ask for a decision as deferring, but the rewrite recommends
            # and no sentence of it defers once that ask is excepted (docs/labels.md).
            continue
        problems.append(f'still falls into {myth.topic} ({MYTH_NAMES[myth.topic]}): "{myth.span.quote}"')
    # Stricter than the analysis of a draft: a rewrite holds no sentence the detector reads as a myth,
    # even where the whole-draft head lets it pass (an added ask can dilute "I'll await your instructions").
    found = {m.topic for m in analysis.myths}
    for span, j in analysis.sentences:
        for myth in sentence_myths(j, recommends):
            if myth not in found:
                found.add(myth)
                problems.append(f'still falls into {myth} ({MYTH_NAMES[myth]}): "{span.quote}"')
    for myth in original.myths:  # the words a myth was found in must not survive, whatever the detector says now
        if myth.span and myth.topic not in {m.topic for m in analysis.myths} and keeps_words(myth.span.quote, text):
            problems.append(f'still contains the words that fell into {myth.topic}: "{myth.span.quote}"')
    if needs_ask(original, goal) and not analysis.has("clear_ask"):
        problems.append("has no clear ask: say what you need from them and by when")
    if speaks_of_boss(original.text, text):
        problems.append('speaks of "the boss" instead of to them: write to them as "you"')
    wanted = facts(original.text)
    missing = [f for f in wanted if not has_fact(f, text)]
    if missing:
        problems.append("drops or changes facts of the original: " + ", ".join(missing))
    added = [f for f in facts(_PLACEHOLDER.sub("", text))
             if (f[0].isdigit() or _DATE_WORD.fullmatch(f)) and not has_fact(f, original.text)]
    if added:
        problems.append("invents numbers or dates that are not in the original: " + ", ".join(added))
    return RewriteCheck(not problems, problems, len(wanted), len(wanted) - len(missing), analysis)


# ---- what to fix: the named gaps ----------------------------------------------------------------


@dataclass
class Gap:
    """One sentence for the model to write: a replacement, an addition after a sentence, or the ask."""

    code: str
    kind: Literal["replace", "after", "ask"]
    instruction: str
    span: Span | None = None
    require: tuple[str, ...] = ()  # signals the new sentence must carry


_INSTRUCTIONS = {
    "myth-fear": "Rewrite this sentence so it states the fact plainly and asks for the help or decision "
                 "needed, with no apology and without playing it down.",
    "myth-just-execute": "Rewrite this sentence so it gives the writer's own recommendation and then asks for "
                         "a decision.",
    "myth-independent-work": "Rewrite this sentence so it ties the work to the reader's goals{goals} and offers "
                             "to check it fits the reader's priorities.",
    "blame": "Rewrite this sentence so it states the facts and the fix without blaming anyone.",
    "feedback-not-constructive": "Write one sentence that follows this one and proposes a concrete change.",
    "problem-without-options": "Write one sentence that follows this one and says what the writer proposes "
                               "to do about it.",
}


def gaps(analysis: Analysis, profile: SuperiorProfile, goal: str = "") -> list[Gap]:
    """The named gaps in a draft, one per finding a single sentence can fix, in text order."""
    out: list[Gap] = []
    replaced: set[Span] = set()
    goals = f" ({profile.goals.strip()})" if profile.goals.strip() else ""
    ask = analysis.signals.get("clear_ask")
    # The finding points at the likeliest sentence of each myth the draft falls into; every other
    # sentence the detector reads as a myth must go too, or the rewrite fails its check.
    targets = [(f.code, f.span) for f in analysis.myths if f.span]
    recommends = analysis.has("options_or_recommendation")
    targets += [(m, s) for s, j in analysis.sentences for m in sentence_myths(j, recommends)]
    for code, span in targets:
        if span in replaced:
            continue
        replaced.add(span)
        # The sentence that held the draft's ask must still ask once rewritten.
        holds_ask = bool(ask and ask.present and ask.span and span.start <= ask.span.start < span.end)
        out.append(Gap(code, "replace", _INSTRUCTIONS[code].format(goals=goals)
                       + (" It must still ask for what it asks for now." if holds_ask else ""),
                       span, require=("clear_ask",) if holds_ask else ()))
    for f in analysis.findings:
        if f.code == "blame" and f.span:
            whole = _sentence_at(analysis, f.span)
            if whole not in replaced:
                replaced.add(whole)
                out.append(Gap(f.code, "replace", _INSTRUCTIONS["blame"], whole))
        elif f.code in ("feedback-not-constructive", "problem-without-options") and f.span:
            out.append(Gap(f.code, "after", _INSTRUCTIONS[f.code], _sentence_at(analysis, f.span)))
    if needs_ask(analysis, goal) and not analysis.has("clear_ask"):
        want = f"for {goal.strip()}" if goal.strip() else "for the decision or help that is needed"
        out.append(Gap("no-clear-ask", "ask", f"Write one sentence that asks {want}, and by when.",
                       require=("clear_ask",)))
    return sorted(out, key=lambda g: g.span.start if g.span else len(analysis.text) + 1)


def _sentence_at(analysis: Analysis, span: Span) -> Span:
    for s, _ in analysis.sentences:
        if s.start <= span.start < s.end:
            return s
    return span


_CLOSING = re.compile(r"^\s*(?:thanks|thank you|many thanks|best|cheers|regards|kind regards|best wishes|"
                      r"yours(?: sincerely| faithfully| truly)?|sincerely|br|talk soon|sent from)\b[^\n]{0,40}$",
                      re.IGNORECASE | re.MULTILINE)
# A last line that is only a name or initials ("Ann", "G. Holt") in a message that opens with a
# greeting: the signature. (Not "FYI", nor the last item of an agenda.)
_NAME_LINE = re.compile(r"\n[ \t]*(?:[A-Z](?:[a-z][\w'-]*|\.)[ \t]*){1,3}\s*$")
_OPENS_WITH_GREETING = re.compile(r"^\s*(?:hi|hey|hello|dear|morning|good morning)\b", re.IGNORECASE)


def ask_position(text: str) -> int:
    """Where an added ask goes: before the sign-off or a signature line, else at the end."""
    body = text.rstrip()
    closings = [m for m in _CLOSING.finditer(body) if m.start() > 0 and body[m.start() - 1] == "\n"]
    if closings:  # the last one: "Thanks for the quick turnaround…" on the first line is not a sign-off
        return closings[-1].start()
    if "\n" in body and _OPENS_WITH_GREETING.match(body) and (name := _NAME_LINE.search(body)):
        return name.start() + 1
    return len(body)


# ---- the review ---------------------------------------------------------------------------------


@dataclass
class Review:
    """The analysis, and the rewrite that passed its check (or None, with the reason in note)."""

    analysis: Analysis
    rewrite: str | None = None
    check: RewriteCheck | None = None
    attempts: int = 0
    approach: str = ""
    note: str = ""
    seconds: float = 0.0
    first_token_seconds: float | None = None

    @property
    def verdict(self) -> str:
        return verdict(self.analysis)

    @property
    def works(self) -> list[str]:
        return works(self.analysis)

    def as_dict(self) -> dict:
        data = self.analysis.as_dict()
        data.update(verdict=self.verdict, works=self.works, rewrite=self.rewrite,
                    rewrite_check=self.check.as_dict() if self.check else None,
                    attempts=self.attempts, note=self.note)
        return data


def works(analysis: Analysis) -> list[str]:
    """What the draft already does well, in words."""
    return [SIGNAL_NAMES[k] for k in ("clear_ask", "options_or_recommendation", "connects_to_goals",
                                      "owns_problem", "constructive_suggestion") if analysis.has(k)]


def verdict(analysis: Analysis) -> str:
    """One line on the draft, decided from the analysis, not by the model."""
    if analysis.notes and not analysis.sentences:
        return analysis.notes[0]
    myths = [MYTH_NAMES[m.topic] for m in analysis.myths]
    others = [f for f in analysis.findings if f.category != "myth"]
    if not myths and not others:
        return "Ready to send: " + (", ".join(works(analysis)) or "nothing to fix") + "."
    parts = []
    if myths:
        parts.append(f"falls into {len(myths)} pitfall{'s' if len(myths) > 1 else ''} ({'; '.join(myths)})")
    if others:
        parts.append("; ".join(f.message.split(".")[0].lower() for f in others[:2]))
    return "This draft " + ", and ".join(parts) + "."


__all__ = ["Review", "RewriteCheck", "check_rewrite", "facts", "gaps", "verdict", "MYTH_ADVICE"]
