"""Citations checked against their sources, line by line, before the line is shown.

The model numbers its claims; the numbers are not trusted. Each line that cites a source is
compared in meaning with every source retrieved for the question: the citation points at the
source most similar to the line, if that source is similar enough to support it; a line no
source supports loses its citation and is marked as general advice. The threshold is chosen on
the playbook itself (`coach train citations`): a card sentence against the rest of its own card
(supported) and against the other cards (not supported).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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


def load_threshold(path: Path = THRESHOLD_FILE) -> float:
    try:
        return float(json.loads(path.read_text())["threshold"])
    except (OSError, ValueError, KeyError):
        return DEFAULT_THRESHOLD


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

    def __init__(self, embeddings: MiniLMEmbeddings, sources: list[Hit], threshold: float | None = None) -> None:
        self.embeddings = embeddings
        self.sources = sources
        self.threshold = load_threshold() if threshold is None else threshold
        self._vectors = embeddings.embed([f"{h.title}. {h.text}" for h in sources]) if sources else None
        self.lines: list[LineCheck] = []

    def check(self, line: str) -> str:
        """The line as it may be shown: its citation pointed at the supporting source, or dropped."""
        cited = [int(n) for n in _ANY_MARK.findall(line)]
        if not cited or self._vectors is None:
            if cited:  # numbers with no sources behind them
                line = _ANY_MARK.sub("", line).rstrip() + f" {GENERAL}"
            self.lines.append(LineCheck(line, line, cited))
            return line
        claim = _BULLET.sub("", _ANY_MARK.sub("", line)).strip(" *_")
        sims = self._vectors @ self.embeddings.embed([claim])[0]
        best = int(np.argmax(sims))
        body = _MARK.sub("", line).rstrip()
        if sims[best] >= self.threshold:
            shown = f"{body} [{best + 1}]"
            kept = best + 1
        else:
            shown, kept = f"{body} {GENERAL}", None
        self.lines.append(LineCheck(line, shown, cited, kept, float(sims[best])))
        return shown

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
    """The similarity that best separates a card's own sentences (leave-one-out) from other cards'."""
    sentences, owner = [], []
    for i, card in enumerate(cards):
        for s in re.split(r"(?<=[.!?])\s+", card.text):
            if len(s.split()) >= 5:
                sentences.append(s)
                owner.append(i)
    S = embeddings.embed(sentences)
    card_vectors = []
    for i, card in enumerate(cards):
        card_vectors.append(embeddings.embed([f"{card.title}. {card.text}"])[0])
    C = np.stack(card_vectors)
    pos, neg = [], []
    for k, (v, i) in enumerate(zip(S, owner)):
        rest = [s for s, o in zip(sentences, owner) if o == i and s != sentences[k]]
        if rest:
            own = embeddings.embed([f"{cards[i].title}. " + " ".join(rest)])[0]
            pos.append(float(own @ v))
        neg += [float(C[j] @ v) for j in range(len(cards)) if j != i]
    pos, neg = np.array(pos), np.array(neg)
    best = (DEFAULT_THRESHOLD, -1.0, 0.0, 0.0)
    for t in np.round(np.arange(0.1, 0.9, 0.01), 2):
        tp, fp = float((pos >= t).sum()), float((neg >= t).sum())
        precision, recall = tp / max(tp + fp, 1), tp / max(len(pos), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        if f1 > best[1]:
            best = (float(t), f1, precision, recall)
    return {"threshold": best[0], "f1": round(best[1], 3), "precision": round(best[2], 3),
            "recall": round(best[3], 3), "sentences": len(pos)}


def train(embeddings: MiniLMEmbeddings, cards, out: Path = THRESHOLD_FILE) -> dict:
    report = choose_threshold(embeddings, cards)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report
