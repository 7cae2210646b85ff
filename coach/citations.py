"""Citations checked against their sources, line by line, before the line is shown.

The model numbers its claims; the numbers are not trusted. Each line that cites a source is
compared in meaning with every sentence of every source retrieved for the question: the citation
points at the source holding the most similar sentence, if it is similar enough to support the
line; a line no source supports loses its citation and is marked as general advice. (A sentence,
not the whole source: a card's whole text dilutes the one sentence a line paraphrases.) The floor
is chosen on the playbook itself (`coach train citations`): it keeps 90% of the cards' sentences
against the closest other sentence of their own card.

Among the sources that clear the floor, a line cites the one with the best support plus
`relevance_weight` times the source's similarity to the question: a generic line ("send a weekly
update") is close to several cards, and the one the question is about is the one to cite. The
weight is chosen on answers to the older, non-blind question set (`bench/tune_citations.py`).

A source is citable at all only if retrieval ranked it among the first `cite_top` of its origin
(cards, notes), in the order the sources are listed: a line that only a less relevant source
happens to support is more often wrong about where it comes from than right, so it is shown as
general advice. `cite_top` is chosen on the same non-blind answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from coach.embeddings import MiniLMEmbeddings
from coach.store import Hit

THRESHOLD_FILE = Path(__file__).parent / "data" / "citations.json"
DEFAULT_THRESHOLD = 0.35
GENERAL = "*(general advice)*"
_MARK = re.compile(r"\s*\[(\d{1,2})\](?:\s*\[(\d{1,2})\])*")
_ANY_MARK = re.compile(r"\[(\d{1,2})\]")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


_SPLIT = re.compile(r"(?<=[.!?])\s+")


def source_sentences(hit: Hit) -> list[str]:
    """The units a line is compared with: the source's title and each sentence of its text."""
    return [hit.title] + [s for s in _SPLIT.split(hit.text) if len(s.split()) >= 4]


@lru_cache(maxsize=4)
def _read_saved(path: Path, mtime_ns: int, size: int) -> dict:
    return json.loads(path.read_text())


def saved_choice(path: Path = THRESHOLD_FILE) -> dict:
    """The chosen settings (coach/data/citations.json), read once per change of the file."""
    try:
        stat = path.stat()
        data = _read_saved(path, stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_threshold(path: Path = THRESHOLD_FILE) -> float:
    try:
        return float(saved_choice(path)["threshold"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT_THRESHOLD


def load_relevance_weight(path: Path = THRESHOLD_FILE) -> float:
    try:
        return float(saved_choice(path).get("relevance_weight", 0.0))
    except (TypeError, ValueError):
        return 0.0


def load_cite_top(path: Path = THRESHOLD_FILE) -> int | None:
    """How many of each origin's first-ranked sources are citable (None: all of them)."""
    try:
        value = saved_choice(path).get("cite_top")
        return None if value is None or int(value) < 1 else int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class LineCheck:
    """What the check did to one line."""

    original: str
    shown: str
    cited: list[int] = field(default_factory=list)  # what the model wrote
    kept: int | None = None  # the source the line now cites (1-based), or None
    similarity: float = 0.0


class CitationChecker:
    """Check the lines of one answer against the sources retrieved for its question."""

    def __init__(self, embeddings: MiniLMEmbeddings, sources: list[Hit], threshold: float | None = None,
                 relevance_weight: float | None = None, cite_top: int | None | str = "saved") -> None:
        """sources: in retrieval order, best first within each origin; cite_top: see the module's
        docstring ("saved": the chosen value; None: every source is citable)."""
        self.embeddings = embeddings
        self.sources = sources
        self.threshold = load_threshold() if threshold is None else threshold
        self.relevance_weight = load_relevance_weight() if relevance_weight is None else relevance_weight
        top = load_cite_top() if cite_top == "saved" else cite_top
        rank: dict[str, int] = {}
        citable = []
        for h in sources:
            rank[h.origin] = rank.get(h.origin, 0) + 1
            citable.append(top is None or rank[h.origin] <= top)
        self.citable = np.array(citable, dtype=bool)
        self._vectors = None
        self._owner: np.ndarray | None = None
        if sources:
            units = [(i, u) for i, h in enumerate(sources) for u in source_sentences(h)]
            self._vectors = embeddings.embed([u for _, u in units])
            self._owner = np.array([i for i, _ in units])
        self.lines: list[LineCheck] = []

    def check(self, line: str) -> str:
        """The line as it may be shown: its citation pointed at the supporting source, or dropped."""
        cited = [int(n) for n in _ANY_MARK.findall(line)]
        if not cited or self._vectors is None:
            if cited:  # numbers with no sources behind them
                line = _ANY_MARK.sub("", line).rstrip() + f" {GENERAL}"
            self.lines.append(LineCheck(line, line, cited))
            return line
        support = self.support(line)
        ranked = support + self.relevance_weight * np.array([h.score for h in self.sources])
        ranked[(support < self.threshold) | ~self.citable] = -np.inf
        best = int(np.argmax(ranked))
        similarity = float(support[best])
        body = _MARK.sub("", line).rstrip()
        if np.isfinite(ranked[best]):
            shown, kept = f"{body} [{best + 1}]", best + 1
        else:
            shown, kept = f"{body} {GENERAL}", None
        self.lines.append(LineCheck(line, shown, cited, kept, similarity))
        return shown

    def support(self, line: str) -> np.ndarray:
        """For each source, the similarity of its closest sentence to the line's claim."""
        claim = _BULLET.sub("", _ANY_MARK.sub("", line)).strip(" *_")
        sims = self._vectors @ self.embeddings.embed([claim])[0]
        out = np.full(len(self.sources), -1.0)
        np.maximum.at(out, self._owner, sims)
        return out

    def stream(self, tokens: Iterator[str]) -> Iterator[str]:
        """Re-emit a token stream a checked line at a time, so a wrong number is never on screen."""
        buffer = ""
        for token in tokens:
            buffer += token
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                yield self.check(line) + "\n"
        if buffer.strip():
            yield self.check(buffer)


def choose_threshold(embeddings: MiniLMEmbeddings, cards) -> dict:
    """A floor that keeps 90% of the cards' sentences against the closest other sentence of their card."""
    units, owner = [], []
    for i, card in enumerate(cards):
        for u in source_sentences(Hit("playbook", card.kind, card.topic, card.title, card.source, 0.0, card.text)):
            units.append(u)
            owner.append(i)
    V = embeddings.embed(units)
    sims = V @ V.T
    np.fill_diagonal(sims, -1.0)
    owner = np.array(owner)
    pos, neg = [], []
    for k in range(len(units)):
        same = owner == owner[k]
        if same.sum() > 1:
            pos.append(float(sims[k][same].max()))
        neg.append(float(sims[k][~same].max()))
    pos, neg = np.array(pos), np.array(neg)
    t = float(np.round(np.quantile(pos, 0.10), 2))
    return {"threshold": t, "kept_own_sentences": round(float((pos >= t).mean()), 3),
            "other_cards_above": round(float((neg >= t).mean()), 3), "sentences": len(pos)}


def train(embeddings: MiniLMEmbeddings, cards, out: Path = THRESHOLD_FILE) -> dict:
    """Choose the floor again; the relevance weight and cite_top (bench/tune_citations.py) are kept as they were."""
    report = choose_threshold(embeddings, cards)
    try:
        kept = {k: v for k, v in json.loads(out.read_text()).items() if k.startswith(("relevance_", "cite_top"))}
    except (OSError, ValueError):
        kept = {}
    out.write_text(json.dumps({**report, **kept}, indent=2) + "\n")
    return report
