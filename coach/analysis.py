"""Review's instant analysis: the myths, signals and form of a draft, each tied to its words.

No language model: the detector (coach/detector.py) judges every sentence and the draft as a
whole, and this module turns its judgments into findings with spans. The few rules left are ones
the detector cannot learn: length and bullets against the superior's stated preferences, the
superior's own goal words from the profile, and what the input is (a bare link, another language).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from coach.detector import MYTHS, SIGNALS, Detector, SentenceJudgment
from coach.errors import check_size
from coach.profile import SuperiorProfile

MAX_DRAFT_CHARS = 100_000

Category = Literal["myth", "signal", "tone", "form"]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    quote: str


@dataclass
class Finding:
    """One thing the analysis noticed, tied to the words that cause it."""

    code: str
    category: Category
    topic: str  # the playbook card it comes from
    message: str  # what it is and what to do instead
    span: Span | None = None
    how: str = "detector"  # how it was found: "detector (p=0.93)", "profile", "form"


@dataclass
class Signal:
    """A strategy signal: whether the draft shows it, and where."""

    present: bool
    span: Span | None = None
    note: str = ""


@dataclass
class Analysis:
    text: str
    myths: list[Finding] = field(default_factory=list)
    signals: dict[str, Signal] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the input itself (language, URL only…)
    sentences: list[tuple[Span, SentenceJudgment]] = field(default_factory=list)

    def has(self, signal: str) -> bool:
        s = self.signals.get(signal)
        return bool(s and s.present)

    def as_dict(self) -> dict:
        def span(s: Span | None) -> dict | None:
            return None if s is None else {"start": s.start, "end": s.end}

        def finding(f: Finding) -> dict:
            return {
                "code": f.code, "category": f.category, "topic": f.topic, "message": f.message,
                "span": span(f.span), "quote": f.span.quote if f.span else None, "how": f.how,
            }

        return {
            "text": self.text,
            "myths": [finding(f) for f in self.myths],
            "signals": {k: {"present": s.present, "span": span(s.span), "quote": s.span.quote if s.span else None,
                            "note": s.note} for k, s in self.signals.items()},
            "findings": [finding(f) for f in self.findings],
            "notes": self.notes,
        }


def check_draft(text: str) -> str:
    """Return the draft, or raise InputError for an empty or oversized one."""
    # Not stripped: finding spans are offsets into the text as the user wrote it.
    return check_size(
        text, MAX_DRAFT_CHARS,
        empty=("The draft is empty.", "Paste the email, chat message or agenda you want reviewed."),
        too_long=("The draft is {length} characters; the limit is {limit}.",
                  "Review one message at a time; a message to your boss this long will not be read anyway."),
    )


_SENTENCE = re.compile(r"[^\n.!?]+(?:[.!?]+|$)", re.MULTILINE)
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def sentences(text: str) -> list[Span]:
    """Split into sentences and lines (agendas, bullets), keeping character offsets."""
    out = []
    for m in _SENTENCE.finditer(text):
        raw = m.group(0)
        stripped = raw.strip(" \t-*•>")
        if len(WORD.findall(stripped)) < 2:
            continue
        start = m.start() + raw.index(stripped)
        out.append(Span(start, start + len(stripped), stripped))
    return out


URL_ONLY = re.compile(r"^\s*(?:https?://\S+|www\.\S+)\s*$", re.IGNORECASE)
COMMON_EN = set(
    "the a an and or to of in on for with is are was be it this that i you we my your our me can could "
    "would will please thanks hi hello let know by about not do have has had if as at so but from".split()
)

MYTH_ADVICE = {
    "myth-just-execute": "This leaves the whole decision to your superior. Share your own view: give "
                         "options and say which you recommend, then ask for the decision.",
    "myth-independent-work": "This treats your work as separate from your superior's goals. Say how it "
                             "connects to what they need, and check it fits their priorities.",
    "myth-fear": "This holds back out of fear (apologising, playing it down, hiding it, or asking for no "
                 "reply). Be direct and honest, and ask for the help or support you need.",
}
SIGNAL_NAMES = {
    "clear_ask": "a clear ask", "options_or_recommendation": "options or a recommendation",
    "connects_to_goals": "a link to your superior's goals", "owns_problem": "ownership of the problem",
    "raises_problem": "raises a problem", "feedback_to_superior": "feedback on your superior's way of working",
    "constructive_suggestion": "a concrete suggestion", "blame": "blame", "vague": "vague wording",
}
GOOD_SIGNALS = ("clear_ask", "options_or_recommendation", "connects_to_goals", "owns_problem",
                "constructive_suggestion")


class Analyzer:
    """Stage 1 of Review: the detector's sentence judgments, turned into findings with spans."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    def judge(self, text: str) -> list[tuple[Span, SentenceJudgment]]:
        """Every sentence of text with the detector's judgment of it."""
        parts = sentences(text)
        return list(zip(parts, self.detector.judge([p.quote for p in parts])))

    def analyze(self, text: str, profile: SuperiorProfile | None = None, goal: str = "") -> Analysis:
        """Find myths, signals, tone and form issues, each with its span in text."""
        text = check_draft(text)
        profile = profile or SuperiorProfile()
        result = Analysis(text=text)
        words = WORD.findall(text)
        if URL_ONLY.match(text) or not words:
            result.notes.append(
                "There is no message to review here, only a link or symbols. Paste the text you plan to send."
            )
            return result
        if len(words) >= 5 and sum(w.lower() in COMMON_EN for w in words) / len(words) < 0.1:
            result.notes.append(
                "This does not look like English; the instant checks are written for English, so they "
                "may miss things. The coach's rewrite below still reads it."
            )
        judged = result.sentences = self.judge(text)

        def best(label: str, excluding: set[Span]) -> tuple[Span, SentenceJudgment] | None:
            hits = [(s, j) for s, j in judged if j.has(label) and s not in excluding]
            return max(hits, key=lambda h: h[1].probabilities[label]) if hits else None

        # Whether the draft falls into a myth is the whole-draft head's call (a myth is often spread
        # over mild sentences); the finding points at the sentence most likely to carry it.
        draft = self.detector.judge_draft(text, [j for _, j in judged])
        # (docs/labels.md: asking for a decision after giving a recommendation is not the just-execute
        # myth. The head learns that from the training drafts; a rule on top of it that cleared such
        # drafts no longer earned its place in cross-validation, so there is none.)
        for myth in MYTHS:
            if myth in draft.myths:
                span, _ = max(judged, key=lambda h: h[1].probabilities[myth], default=(None, None))
                result.myths.append(Finding(myth, "myth", myth, MYTH_ADVICE[myth], span,
                                            f"detector, whole draft (p={draft.probabilities[myth]:.2f})"))
        # docs/labels.md: a sentence that names the superior's goals only to set them aside is the
        # independent-work myth, never a link to those goals.
        dismissing = {f.span for f in result.myths if f.topic == "myth-independent-work" and f.span}
        for signal in SIGNALS:
            hit = best(signal, dismissing if signal == "connects_to_goals" else set())
            result.signals[signal] = Signal(hit is not None, hit[0] if hit else None)
        if not result.has("connects_to_goals") and (span := _profile_goal(judged, profile, dismissing)):
            result.signals["connects_to_goals"] = Signal(True, span, "uses the goals in your profile")
        if not result.has("clear_ask"):
            result.signals["clear_ask"].note = "No question, request or next step found."

        result.findings = list(result.myths) + _signal_findings(result, len(words)) + _form_findings(text, words, profile)
        return result


def _profile_goal(judged: list[tuple[Span, SentenceJudgment]], profile: SuperiorProfile,
                  dismissing: set[Span]) -> Span | None:
    """A sentence using words of the superior's goals as written in the profile (and not dismissing them)."""
    keys = {w.lower() for w in WORD.findall(profile.goals or "") if len(w) > 4}
    if not keys:
        return None
    for span, j in judged:
        if j.has("myth-independent-work") or span in dismissing:
            continue
        for m in WORD.finditer(span.quote):
            if m.group(0).lower() in keys:
                return Span(span.start + m.start(), span.start + m.end(), m.group(0))
    return None


def _signal_findings(a: Analysis, n_words: int) -> list[Finding]:
    """What is missing or wrong, from the signals: no ask, a problem with no proposal, blame…"""
    out = []
    sig = a.signals
    proposal = a.has("options_or_recommendation") or a.has("constructive_suggestion") or a.has("owns_problem")
    if not a.has("clear_ask"):
        out.append(Finding("no-clear-ask", "signal", "strategy-communicate",
                           "There is no clear ask or next step. End with what you need from them and by when."))
    if a.has("raises_problem") and not proposal:
        out.append(Finding("problem-without-options", "signal", "strategy-initiative",
                           "This raises a problem without options or a recommendation. Add what you propose to do.",
                           sig["raises_problem"].span))
    if not a.has("connects_to_goals") and n_words > 25:
        out.append(Finding("no-link-to-goals", "signal", "strategy-understand",
                           "Nothing ties this to your superior's goals or priorities. Say why it matters to them."))
    if a.has("feedback_to_superior") and not (a.has("constructive_suggestion") or a.has("options_or_recommendation")):
        out.append(Finding("feedback-not-constructive", "signal", "strategy-feedback",
                           "This gives your superior feedback without a concrete suggestion. Add a specific example "
                           "and what you propose instead.", sig["feedback_to_superior"].span))
    if a.has("blame"):
        out.append(Finding("blame", "tone", "strategy-feedback",
                           "This reads as blame. Describe the facts and the fix instead of who is at fault.",
                           sig["blame"].span))
    if a.has("vague"):
        out.append(Finding("vague", "tone", "strategy-communicate",
                           "Vague wording. Say exactly what, how much and by when.", sig["vague"].span))
    return out


def _form_findings(text: str, words: list[str], profile: SuperiorProfile) -> list[Finding]:
    """Length and format against the superior's stated preferences."""
    prefs = f"{profile.update_detail} {profile.anything_else} {profile.annoyances}".lower()
    out = []
    wants_short = re.search(r"\b(?:short|brief|concise|headline|tl;?dr|one[- ]page|bullet)", prefs)
    bullets = len(re.findall(r"^\s*(?:[-*•]|\d+[.)])\s+", text, re.MULTILINE))
    if wants_short and len(words) > 150:
        out.append(Finding(
            "too-long", "form", "strategy-understand",
            f"{len(words)} words, but your superior prefers it short ({profile.update_detail or 'profile'}). "
            "Cut it to the headline, the facts and the ask.", how="form",
        ))
    elif not wants_short and len(words) > 300:
        out.append(Finding(
            "long", "form", "strategy-communicate",
            f"{len(words)} words. Lead with the point and the ask; put detail after or in an attachment.", how="form",
        ))
    if "bullet" in prefs and bullets == 0 and len(words) > 40:
        out.append(Finding(
            "no-bullets", "form", "strategy-understand",
            "Your superior prefers bullet points; this has none. Put the facts and the ask in bullets.", how="form",
        ))
    return out


def analysis_as_text(analysis: Analysis) -> str:
    """A compact rendering of the analysis for a model's prompt."""
    lines = []
    for f in analysis.findings:
        where = f' — "{f.span.quote}"' if f.span else ""
        lines.append(f"- [{f.topic}] {f.message}{where}")
    present = [k for k, s in analysis.signals.items() if s.present]
    lines.append(f"- Signals present: {', '.join(present) or 'none'}")
    return "\n".join(lines)
