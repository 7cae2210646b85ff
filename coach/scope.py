"""Does the playbook cover a question? A classifier on sentence embeddings, not a similarity cut-off.

Trained by `coach train scope` on questions labelled in or out of scope (coach/data/scope_training.yaml)
and the questions the cards answer (knowledge/questions.yaml, all in scope), shipped as
`coach/data/scope.npz`. An out-of-scope question gets a plain "the playbook doesn't cover this" and
the nearest advice it does give. (Similarity to the best card, tried first, put a plainly covered
question, "I found a mistake in my report, what do I say?", at 0.20: below most uncovered ones.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from coach.classifier import LinearHeads, ShippedHeads, features, save_heads
from coach.embeddings import MiniLMEmbeddings

DATA = Path(__file__).parent / "data"
TRAINING = DATA / "scope_training.yaml"
WEIGHTS = DATA / "scope.npz"


class ScopeClassifier:
    """P(in scope) for a question; in scope at the head's threshold."""

    def __init__(self, embeddings: MiniLMEmbeddings, path: Path = WEIGHTS) -> None:
        self.embeddings = embeddings
        self.path = path
        self.weights = ShippedHeads(path, "the scope classifier", "coach train scope")

    @property
    def heads(self) -> LinearHeads:
        return self.weights["scope"]

    def probability(self, question: str, vector: np.ndarray | None = None) -> float:
        v = self.embeddings.embed([question]) if vector is None else np.asarray(vector, dtype=np.float32)[None, :]
        return float(self.heads.probabilities(features(v, [question], self.heads.uses_ngrams))[0, 0])

    def covers(self, question: str, vector: np.ndarray | None = None) -> bool:
        return self.probability(question, vector) >= float(self.heads.thresholds[0])


def training_items(cards) -> list[tuple[str, bool]]:
    items = [(i["text"], bool(i["in_scope"])) for i in yaml.safe_load(TRAINING.read_text(encoding="utf-8"))]
    return items + [(q, True) for card in cards for q in card.questions]


def train(embeddings: MiniLMEmbeddings, cards, out: Path = WEIGHTS):
    """Fit the classifier, save it, and return the items and the CV report."""
    from coach.training import fit_heads

    items = training_items(cards)
    texts = [t for t, _ in items]
    y = np.array([[in_scope] for _, in_scope in items], dtype=np.int8)
    # Precision on "in scope" matters less than not telling a real question it is out of scope:
    # F-2 favours recall of in-scope questions.
    heads, reports = fit_heads(features(embeddings.embed(texts), texts, True), y, ["in_scope"],
                               uses_ngrams=True, beta={"in_scope": 2.0})
    save_heads(out, {"scope": heads}, trained_on=f"{len(items)} questions")
    return items, reports
