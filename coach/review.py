"""Review: check a draft to one's superior, first instantly (rules and embeddings), then with the model.

Stage 1 (`analyze`) needs no language model and runs well under a second: it finds the playbook's
three myths, the strategy signals, and tone and form problems, each with the exact span of text.
Stage 2 (`critique`) asks the model for a verdict, findings and a rewrite, grounded in stage 1.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from coach.embeddings import MiniLMEmbeddings
from coach.errors import check_size
from coach.profile import SuperiorProfile

MAX_DRAFT_CHARS = 100_000
DATA = Path(__file__).parent / "data"
# Labelled phrasings: a short hand-written set and a larger training set, both kept apart from
# the labelled drafts the tests evaluate on.
EXAMPLE_FILES = (DATA / "review_examples.yaml", DATA / "review_phrasings.yaml")
MYTHS = ("myth-just-execute", "myth-independent-work", "myth-fear")
# Nearest-neighbour vote: a sentence is flagged as a myth when at least VOTES of its NEIGHBOURS
# nearest example phrasings carry that myth, and the closest of them is at least SIMILARITY.
# Chosen by leave-one-out over the phrasings, favouring precision, not on the test drafts.
NEIGHBOURS = 7
VOTES = 4
SIMILARITY = 0.45
MIN_WORDS = 4  # headings and fragments are too short to judge by similarity

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
    how: str = "rule"  # rule | similar: <example>


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

    def as_dict(self) -> dict:
        def span(s: Span | None) -> dict | None:
            return None if s is None else {"start": s.start, "end": s.end}

        def finding(f: Finding) -> dict:
            return {
                "code": f.code, "category": f.category, "topic": f.topic, "message": f.message,
                "span": span(f.span), "quote": f.span.quote if f.span else None, "how": f.how,
            }

        return {
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


def sentences(text: str) -> list[Span]:
    """Split into sentences and lines (agendas, bullets), keeping character offsets."""
    out = []
    for m in _SENTENCE.finditer(text):
        raw = m.group(0)
        stripped = raw.strip(" \t-*•>")
        if len(re.findall(r"\w+", stripped)) < 2:
            continue
        start = m.start() + raw.index(stripped)
        out.append(Span(start, start + len(stripped), stripped))
    return out


def _rx(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# ---- myth rules ---------------------------------------------------------------------------------
DEFER = _rx(
    r"\bjust tell me what (?:you want|to do)",
    r"\bwhatever you (?:decide|think|prefer|want|say)",
    r"\b(?:i'?ll|i will|happy to) (?:do|go with|follow|implement|execute) (?:whatever|whichever|what) you",
    r"\b(?:your call|up to you|your decision)\b[^.?!\n]{0,40}\b(?:i'?ll|i will|just|follow|do it)",
    r"\b(?:entirely|totally|completely) up to you\b",
    r"\bno (?:opinion|preference)(?: on my (?:side|end|part))?\b",
    r"\b(?:i'?ll|i will) (?:wait|hold off) (?:for|until) (?:your|you)",
    r"\bnot my place to\b",
    r"\byou'?re the boss\b",
    r"\bjust say the word\b",
    r"\bi'?ll (?:just )?(?:do|carry out) (?:what|whatever)(?:'s| is) decided\b",
    r"\b(?:you|just) (?:decide|choose|pick|set|call)\b[^.?!\n]{0,40}\bi'?ll (?:do|execute|roll|implement|follow|run|go|make)",
    r"\bi'?ll (?:just )?do (?:what|whatever) (?:i'?m|i am) told\b",
    r"\bwhatever you (?:tell|ask|need) me\b",
    r"\b(?:waiting|wait) (?:on|for) (?:your )?(?:instructions|direction|orders|marching orders)\b",
    r"\b(?:not going to|won'?t|don'?t want to|rather not|not gonna) (?:weigh in|give (?:an|my) opinion|take a (?:side|position))",
    r"\b(?:rather|prefer) you (?:make|take) (?:the|those|that|this) (?:call|calls|decision)",
    r"\b(?:fine|happy|ok|okay) with (?:any|either|whatever|whichever)(?: of them| one| option)?\b",
)
OWN_VIEW = _rx(
    r"\bi (?:would |'d )?(?:recommend|suggest|propose|prefer|lean towards?|vote for)\b",
    r"\bmy (?:recommendation|proposal|suggestion|preference|plan|view|take)\b",
    r"\boption [a-c1-3]\b", r"\b(?:two|three|a few) options\b", r"\bi'?d go with\b", r"\bi think we should\b",
)
INDEPENDENT = _rx(
    r"\b(?:focus(?:ed|ing)?|working|concentrat\w+) on my own\b",
    r"\bmy own (?:stuff|thing)\b",
    r"\b(?:doesn'?t|does not|won'?t|will not|shouldn'?t) (?:really )?(?:affect|concern|involve|impact|matter to) you\b",
    r"\bnot (?:really )?(?:related|relevant|connected) to (?:your|the team'?s?) (?:goals?|priorities|work|roadmap|targets?)\b",
    r"\bdidn'?t (?:think|realise|realize) you(?:'d| would)? (?:need|want|care)",
    r"\b(?:don'?t|do not) need (?:your|any) input\b",
    r"\bregardless of (?:the|your|our) (?:team'?s? )?(?:roadmap|goals?|priorities|plan)",
    r"\bon my own without (?:checking|asking|telling)\b",
    r"\bseparate from (?:what you|your)\b",
    r"\b(?:your|the team'?s?) (?:goals?|targets?|priorities) (?:don'?t|do not|aren'?t) (?:really )?(?:my|relevant)",
    r"\bfor my own (?:use|purposes|benefit)\b", r"\bmy own (?:side|pet) (?:project|pipeline|thing)\b",
    r"\b(?:not|isn'?t|wasn'?t) (?:really |directly )?(?:tied|linked|connected|related) to (?:what|anything|the \w+ work) you",
    r"\b(?:no|not any) (?:input|feedback|sign-?off|help) (?:needed|required) from you\b",
    r"\b(?:didn'?t|did not) (?:see a|see any|think there was a) (?:reason|need) to (?:run it by|loop you in|tell|involve|check with)",
    r"\bwhat matters to me\b",
    r"\b(?:matter|relevant|make a difference) (?:to you )?either way\b",
    r"\b(?:is|are) (?:honestly |really |more )?your (?:thing|problem|business|concern|department)\b",
    r"\bseparate from (?:the|your|our) (?:\w+ )?(?:goals?|priorities|plans?|work|targets?)\b",
    r"\b(?:doesn'?t|won'?t|shouldn'?t) (?:affect|touch|involve) (?:anything|what) you",
)
LIGHT_APOLOGY = re.compile(
    r"(?:(?:so )?sorry|apologies) (?:for|about) (?:the |my )?(?:slow|late|delayed)? ?(?:reply|response|delay|that|this)[^.!?]{0,40}[.!?]*",
    re.IGNORECASE,
)
APOLOGY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies|forgive me)\b", re.IGNORECASE)
FEAR = _rx(
    r"\bsorry (?:to|for) (?:bother|disturb|trouble|interrupt)\w*",
    r"\b(?:i )?hate to (?:bother|disturb|trouble|ask)\b",
    r"\bprobably nothing\b", r"\b(?:it'?s )?(?:only|just) a (?:tiny|small|little|minor) thing\b",
    r"\bdidn'?t want to (?:worry|bother|upset|trouble) you\b",
    r"\b(?:been )?holding off (?:on )?(?:telling|mentioning|raising)\b",
    r"\bno need to (?:reply|respond|answer|get back)\b",
    r"\b(?:feel free to|you can (?:just )?) (?:ignore|skip|disregard)\b",
    r"\bstupid question\b", r"\bdon'?t be (?:mad|angry|upset)\b",
    r"\b(?:afraid|scared|nervous|worried) to (?:bring|raise|tell|ask|mention)\b",
    r"\bdidn'?t dare\b", r"\bkept it to myself\b",
    r"\b(?:didn'?t|did not) want to (?:stress|worry|burden|bother|upset|alarm|pile (?:on|onto))",
    r"\b(?:fix|sort|handle|solve|get) (?:it|this|things)(?: back up)? (?:quietly|myself|on my own) before\b",
    r"\bbefore (?:you|anyone|it) (?:found|finds|noticed|notices|came up|comes up)\b",
    r"\b(?:we|you) can (?:just |always )?(?:skip|drop) (?:it|this)\b", r"\b(?:totally |completely )?fine to skip\b",
    r"\b(?:please )?don'?t be (?:annoyed|cross|disappointed)\b",
    r"\bsorry to (?:bug|pester|nag|bother|trouble|interrupt)\b",
    r"\b(?:it'?s )?(?:no|not a|not really a) big deal\b",
    r"\b(?:hope|hoping) (?:this|it) (?:is ?n'?t|isn'?t|won'?t be) (?:a )?(?:silly|dumb|stupid)\b",
)


# ---- signals and tone ---------------------------------------------------------------------------
ASK = _rx(
    r"\?\s*$", r"\b(?:can|could|would|will) you\b", r"\bplease\b", r"\bi need (?:your|you to|a decision)\b",
    r"\b(?:approve|sign off|decide|confirm)\b[^.?!\n]{0,40}\bby\b", r"\bby (?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    r"\bnext steps?\b", r"\bmy ask\b", r"\bask:", r"\bdecision needed\b", r"\baction:",
)
PROBLEM = _rx(
    r"\b(?:problem|issue|blocked|blocker|delay(?:ed)?|slip(?:ped|ping)?|risk|broke(?:n)?|fail(?:ed|ing)?|outage|bug|behind schedule|late|missed)\b"
)
GOALS = _rx(
    r"\byour (?:goals?|priorit(?:y|ies)|targets?|okrs?|objectives?)\b", r"\bteam (?:goals?|priorit(?:y|ies)|targets?|okrs?)\b",
    r"\b(?:okrs?|roadmap|quarterly (?:goals?|targets?)|q[1-4] (?:goals?|targets?|plan|launch))\b",
    r"\b(?:supports?|helps?|serves?|ties? (?:in )?to|aligns? with)\b[^.?!\n]{0,40}\b(?:goals?|targets?|priorit\w+|launch|plan)\b",
)
FEEDBACK_TO_BOSS = _rx(
    r"\byour (?:process|approach|decision|feedback style|meetings?|way of)\b", r"\bwhen you\b",
    r"\bthe way you\b", r"\byou (?:always|never|keep)\b",
)
SUGGESTION = _rx(r"\bcould we\b", r"\bwhat if\b", r"\bi (?:suggest|propose|recommend)\b", r"\bwould it help\b", r"\bhow about\b", r"\bmight (?:we|it)\b")
BLAME = _rx(
    r"\bnot my fault\b", r"\b(?:they|he|she|you) (?:always|never)\b", r"\bbecause of (?:their|his|her|your)\b",
    r"\b(?:their|his|her) (?:fault|mistake|incompetence)\b", r"\bblame\w*\b", r"\bthanks to (?:them|him|her)\b",
)
VAGUE = _rx(
    r"\b(?:some|a few|various|certain) (?:issues|problems|things|stuff)\b", r"\b(?:asap|at some point|sometime|soon-ish)\b",
    r"\b(?:stuff|things) (?:like that|etc)\b", r"\bkind of\b", r"\bsort of\b", r"\bsoon\b",
)
URL_ONLY = re.compile(r"^\s*(?:https?://\S+|www\.\S+)\s*$", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
COMMON_EN = set(
    "the a an and or to of in on for with is are was be it this that i you we my your our me can could "
    "would will please thanks hi hello let know by about not do have has had if as at so but from".split()
)


def _heading(line: str) -> bool:
    """An agenda heading or item ("My goals for next quarter"): short and unpunctuated."""
    return len(WORD.findall(line)) < 7 and not re.search(r"[.!?]$", line.strip())


def _first(pattern: re.Pattern, text: str) -> Span | None:
    m = pattern.search(text)
    return Span(m.start(), m.end(), m.group(0)) if m else None


def _sentence_of(span: Span, parts: list[Span]) -> Span:
    for s in parts:
        if s.start <= span.start < s.end:
            return s
    return span


class Analyzer:
    """Stage 1 of Review: rules plus similarity to labelled example phrasings."""

    def __init__(self, embeddings: MiniLMEmbeddings, files: tuple[Path, ...] = EXAMPLE_FILES) -> None:
        self.embeddings = embeddings
        self.examples: dict[str, list[str]] = {}
        for path in files:
            for label, texts in yaml.safe_load(path.read_text(encoding="utf-8")).items():
                if not all(isinstance(t, str) for t in texts):
                    raise ValueError(f"{path}: every {label} example must be a string (quote it)")
                self.examples.setdefault(label, []).extend(texts)

    @cached_property
    def _example_vectors(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        labels, texts = [], []
        for label, items in self.examples.items():
            labels += [label] * len(items)
            texts += items
        return self.embeddings.embed(texts), np.array(labels), texts

    def _similar(self, parts: list[Span]) -> dict[str, list[tuple[Span, str, float]]]:
        """For each myth, the sentences whose nearest example phrasings mostly carry it."""
        parts = [p for p in parts if len(WORD.findall(p.quote)) >= MIN_WORDS and not _heading(p.quote)]
        if not parts:
            return {}
        vectors, labels, texts = self._example_vectors
        sims = self.embeddings.embed([p.quote for p in parts]) @ vectors.T
        nearest = np.argsort(-sims, axis=1)[:, :NEIGHBOURS]
        found: dict[str, list[tuple[Span, str, float]]] = {}
        for i, part in enumerate(parts):
            for myth in MYTHS:
                mine = [j for j in nearest[i] if labels[j] == myth]
                if len(mine) >= VOTES and sims[i, mine[0]] >= SIMILARITY:
                    found.setdefault(myth, []).append((part, texts[mine[0]], float(sims[i, mine[0]])))
        return found

    def analyze(self, text: str, profile: SuperiorProfile | None = None, goal: str = "") -> Analysis:
        """Find myths, signals, tone and form issues, each with its span in text."""
        text = check_draft(text)
        profile = profile or SuperiorProfile()
        result = Analysis(text=text)
        parts = sentences(text)
        words = WORD.findall(text)

        if URL_ONLY.match(text) or not words:
            result.notes.append(
                "There is no message to review here, only a link or symbols. Paste the text you plan to send."
            )
            return result
        if len(words) >= 5 and sum(w.lower() in COMMON_EN for w in words) / len(words) < 0.1:
            result.notes.append(
                "This does not look like English; the instant checks are written for English, so they "
                "may miss things. The coach's critique below still reads it."
            )

        own_view = _first(OWN_VIEW, text)
        similar = self._similar(parts)

        def add_myth(topic: str, span: Span, how: str) -> None:
            if any(f.topic == topic for f in result.myths):
                return
            result.myths.append(Finding(topic, "myth", topic, MYTH_ADVICE[topic], span, how))

        for topic, pattern in (("myth-just-execute", DEFER), ("myth-independent-work", INDEPENDENT), ("myth-fear", FEAR)):
            span = _first(pattern, text)
            if topic == "myth-just-execute" and own_view:
                continue  # deferring after giving your own view is a healthy ask for a decision
            if span:
                add_myth(topic, span, "rule")
        apologies = list(APOLOGY.finditer(text))
        if len(apologies) >= 2:
            m = apologies[0]
            add_myth("myth-fear", Span(m.start(), m.end(), m.group(0)), "rule: repeated apologies")
        for topic, hits in similar.items():
            if topic == "myth-just-execute" and own_view:
                continue
            if topic == "myth-fear":
                # One conventional apology ("sorry for the slow reply") in a direct message is manners.
                hits = [h for h in hits if not LIGHT_APOLOGY.fullmatch(h[0].quote)]
            if hits:
                part, example, score = max(hits, key=lambda h: h[2])
                add_myth(topic, part, f"similar ({score:.2f}) to: {example}")

        # Strategy signals.
        ask = None
        for part in parts:
            if ASK.search(part.quote):
                ask = part
                break
        result.signals["clear_ask"] = Signal(ask is not None, ask, "" if ask else "No question, request or next step found.")
        result.signals["options_or_recommendation"] = Signal(own_view is not None, own_view)
        goals_span = _first(GOALS, text)
        if not goals_span and profile.goals:
            keys = {w.lower() for w in WORD.findall(profile.goals) if len(w) > 4}
            for m in WORD.finditer(text):
                if m.group(0).lower() in keys:
                    goals_span = Span(m.start(), m.end(), m.group(0))
                    break
        result.signals["connects_to_goals"] = Signal(goals_span is not None, goals_span)
        problem = _first(PROBLEM, text)
        result.signals["raises_problem"] = Signal(problem is not None, problem)
        feedback = _first(FEEDBACK_TO_BOSS, text)
        suggestion = _first(SUGGESTION, text) or own_view
        result.signals["feedback_to_superior"] = Signal(
            feedback is not None, feedback,
            "" if not feedback else ("with a suggestion" if suggestion else "without a suggestion"),
        )

        findings = list(result.myths)
        if not ask:
            findings.append(Finding(
                "no-clear-ask", "signal", "strategy-communicate",
                "There is no clear ask or next step. End with what you need from them and by when.",
            ))
        if problem and not own_view and not suggestion:
            findings.append(Finding(
                "problem-without-options", "signal", "strategy-initiative",
                "This raises a problem without options or a recommendation. Add what you propose to do.",
                _sentence_of(problem, parts),
            ))
        if not goals_span and len(words) > 25:
            findings.append(Finding(
                "no-link-to-goals", "signal", "myth-independent-work",
                "Nothing ties this to your superior's goals or priorities. Say why it matters to them.",
            ))
        if feedback and not suggestion:
            findings.append(Finding(
                "feedback-not-constructive", "signal", "strategy-feedback",
                "This gives your superior feedback without a concrete suggestion. Add a specific example "
                "and what you propose instead.",
                _sentence_of(feedback, parts),
            ))
        if span := _first(BLAME, text):
            findings.append(Finding(
                "blame", "tone", "strategy-feedback",
                "This reads as blame. Describe the facts and the fix instead of who is at fault.",
                _sentence_of(span, parts),
            ))
        if span := _first(VAGUE, text):
            findings.append(Finding(
                "vague", "tone", "strategy-communicate",
                "Vague wording. Say exactly what, how much and by when.", span,
            ))
        findings += _form_findings(text, words, profile)
        result.findings = findings
        return result


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
            "Cut it to the headline, the facts and the ask.",
        ))
    elif not wants_short and len(words) > 300:
        out.append(Finding(
            "long", "form", "strategy-communicate",
            f"{len(words)} words. Lead with the point and the ask; put detail after or in an attachment.",
        ))
    if "bullet" in prefs and bullets == 0 and len(words) > 40:
        out.append(Finding(
            "no-bullets", "form", "strategy-understand",
            "Your superior prefers bullet points; this has none. Put the facts and the ask in bullets.",
        ))
    return out


MYTH_ADVICE = {
    "myth-just-execute": "This leaves the whole decision to your superior. Share your own view: give "
                         "options and say which you recommend, then ask for the decision.",
    "myth-independent-work": "This treats your work as separate from your superior's goals. Say how it "
                             "connects to what they need, and check it fits their priorities.",
    "myth-fear": "This holds back out of fear (apologising, playing it down, or asking for no reply). "
                 "Be direct and honest, and ask for the help or support you need.",
}


def analysis_as_text(analysis: Analysis) -> str:
    """A compact rendering of stage 1 for the model's prompt."""
    lines = []
    for f in analysis.findings:
        where = f' — "{f.span.quote}"' if f.span else ""
        lines.append(f"- [{f.topic}] {f.message}{where}")
    present = [k for k, s in analysis.signals.items() if s.present]
    lines.append(f"- Signals present: {', '.join(present) or 'none'}")
    return "\n".join(lines)


__all__ = ["Analyzer", "Analysis", "Finding", "Signal", "Span", "check_draft", "asdict"]


# ---- stage 2: the coach's critique --------------------------------------------------------------

from pydantic import BaseModel, Field  # noqa: E402

from coach.knowledge import TOPICS  # noqa: E402

TopicKey = Literal[TOPICS]  # type: ignore[valid-type]


class CritiqueFinding(BaseModel):
    """One problem the coach found, tied to the draft's words and a playbook card."""

    quote: str = Field(max_length=300, description="the exact words from the draft")
    principle: str = Field(max_length=200, description="the playbook principle at stake")
    card: TopicKey = Field(description="topic key of the playbook card")
    fix: str = Field(max_length=400, description="what to write instead")


class Critique(BaseModel):
    """The coach's critique: a verdict, findings, and a rewritten draft."""

    verdict: str = Field(max_length=500)
    findings: list[CritiqueFinding] = Field(max_length=4)
    rewrite: str = Field(max_length=6000)


@dataclass
class Review:
    """Both stages together; `critique` is None when the model was skipped or failed."""

    analysis: Analysis
    critique: Critique | None = None
    note: str = ""  # why there is no critique, when there is none

    def as_dict(self) -> dict:
        data = self.analysis.as_dict()
        data["verdict"] = self.critique.verdict if self.critique else None
        data["coach_findings"] = (
            [f.model_dump() | {"found_in_draft": f.quote in self.analysis.text} for f in self.critique.findings]
            if self.critique else []
        )
        data["rewrite"] = self.critique.rewrite if self.critique else None
        data["note"] = self.note
        return data


def critique(model, prompt, playbook: str, profile: SuperiorProfile, analysis: Analysis,
             goal: str = "", notes: list | None = None) -> Review:
    """Ask the model for a critique; invalid output is retried once, then the analysis stands alone."""
    from coach.ask import fence, quote_notes
    from coach.errors import CoachError
    from coach.models import MalformedOutput, structured

    system = prompt.render_system(playbook=playbook, profile=fence(profile.as_text()))
    user = prompt.render_user(
        goal=fence(goal.strip()) or "(not said)",
        analysis=fence(analysis_as_text(analysis)),
        notes=quote_notes(notes or []),
        draft=fence(analysis.text),
    )
    try:
        result = structured(model, Critique, [("system", system), ("human", user)])
    except MalformedOutput as exc:
        return Review(analysis, None, f"{exc.message} Only the instant analysis is shown. {exc.hint}")
    except CoachError as exc:
        return Review(analysis, None, f"The coach's critique is unavailable: {exc.message} {exc.hint}".strip())
    return Review(analysis, result)
