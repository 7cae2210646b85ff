"""Playbook cards: Markdown files with YAML front matter, one topic each."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import yaml

Kind = Literal["concept", "benefit", "strategy", "case", "myth"]
KINDS: tuple[str, ...] = get_args(Kind)

# The playbook's own topics; user cards may add more.
TOPICS: tuple[str, ...] = (
    "managing-up",
    "benefit-expectations",
    "benefit-support",
    "benefit-growth",
    "strategy-understand",
    "strategy-communicate",
    "strategy-initiative",
    "strategy-feedback",
    "case-li-ming",
    "myth-just-execute",
    "myth-independent-work",
    "myth-fear",
)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.DOTALL)
_TOPIC = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_CARD_BYTES = 200_000


@dataclass(frozen=True)
class Card:
    """One playbook card."""

    topic: str
    kind: str
    title: str
    text: str
    source: str  # file name relative to the knowledge folder
    digest: str = field(repr=False)
    # Questions the card answers, phrased as people ask them: indexed beside its text so a
    # question worded far from the card's own words still finds it (knowledge/questions.yaml).
    questions: tuple[str, ...] = ()


@dataclass
class CardProblem:
    """A card file that could not be loaded, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def parse_card(raw: str, source: str) -> Card:
    """Parse one card's text; raise ValueError saying what is wrong with it."""
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if not match:
        raise ValueError("no YAML front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping with topic, kind and title")
    missing = [key for key in ("topic", "kind", "title") if not meta.get(key)]
    if missing:
        raise ValueError(f"front matter lacks {', '.join(missing)}")
    topic, kind, title = (str(meta[key]).strip() for key in ("topic", "kind", "title"))
    if not _TOPIC.match(topic):
        raise ValueError(f"topic {topic!r} must be lowercase words joined by hyphens")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    text = match.group(2).strip()
    if not text:
        raise ValueError("the card has no text after its front matter")
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return Card(topic=topic, kind=kind, title=title, text=text, source=source, digest=digest)


QUESTIONS_FILE = "questions.yaml"


def load_questions(folder: Path) -> tuple[dict[str, list[str]], list[CardProblem]]:
    """The questions each card answers, from knowledge/questions.yaml (card file name -> questions)."""
    path = folder / QUESTIONS_FILE
    if not path.is_file():
        return {}, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ValueError("it must map card file names to lists of questions")
        return {str(k): [str(q).strip() for q in v if str(q).strip()] for k, v in data.items()}, []
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        return {}, [CardProblem(QUESTIONS_FILE, f"ignored: {exc}")]


def load_cards(folder: Path) -> tuple[list[Card], list[CardProblem]]:
    """Load every `*.md` card under folder; report bad ones by file name and keep the rest."""
    cards: list[Card] = []
    problems: list[CardProblem] = []
    if not folder.is_dir():
        return cards, [CardProblem(str(folder), "knowledge folder not found")]
    questions, problems = load_questions(folder)
    for path in sorted(folder.rglob("*.md")):
        source = path.relative_to(folder).as_posix()
        if source.lower() == "readme.md":
            continue
        try:
            if path.stat().st_size > MAX_CARD_BYTES:
                raise ValueError(f"larger than {MAX_CARD_BYTES // 1000} kB; split it into cards")
            raw = path.read_text(encoding="utf-8")
            card = parse_card(raw, source)
            asked = tuple(questions.get(source, ()))
            if asked:
                digest = hashlib.sha256((card.digest + "\n".join(asked)).encode("utf-8")).hexdigest()
                card = Card(card.topic, card.kind, card.title, card.text, card.source, digest, asked)
            cards.append(card)
        except UnicodeDecodeError:
            problems.append(CardProblem(source, "not UTF-8 text"))
        except (OSError, ValueError) as exc:
            problems.append(CardProblem(source, str(exc)))
    return cards, problems
