"""Does the superior's line concede? A classifier on sentence embeddings (docs: README, Rehearse).

While a required concern is open the superior must not agree; the model is told so, and this
checks what it wrote before it is shown. Trained on `coach/data/superior_replies.yaml` by
`coach train concession`, shipped as `coach/data/concession.npz`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from coach.classifier import LinearHeads, ShippedHeads, features, save_heads
from coach.embeddings import MiniLMEmbeddings

DATA = Path(__file__).parent / "data"
TRAINING = DATA / "superior_replies.yaml"
WEIGHTS = DATA / "concession.npz"


# Contractions written out, in training and at run time alike: the n-gram features saw "I'll look
# into it further" (p=0.89) and "I will look into it further" (p=0.34) as different lines.
_CONTRACTIONS = [(re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\bwon't\b", "will not"), (r"\bcan't\b", "cannot"), (r"\bshan't\b", "shall not"), (r"\blet's\b", "let us"),
    (r"n't\b", " not"), (r"'ll\b", " will"), (r"'re\b", " are"), (r"'ve\b", " have"), (r"'m\b", " am"),
    (r"'d\b", " would"))]


def written_out(text: str) -> str:
    """The line with its contractions written out ("I'll" -> "I will", "don't" -> "do not")."""
    text = text.replace("\u2019", "'")
    for pattern, full in _CONTRACTIONS:
        text = pattern.sub(full, text)
    return text


class ConcessionClassifier:
    """P(concedes) for lines the superior says; a line concedes at the head's threshold."""

    def __init__(self, embeddings: MiniLMEmbeddings, path: Path = WEIGHTS) -> None:
        self.embeddings = embeddings
        self.path = path
        self.weights = ShippedHeads(path, "the concession classifier", "coach train concession")

    @property
    def heads(self) -> LinearHeads:
        return self.weights["concession"]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        texts = [written_out(t) for t in texts]
        x = features(self.embeddings.embed(texts), texts, self.heads.uses_ngrams)
        return self.heads.probabilities(x)[:, 0]

    def concedes(self, text: str) -> bool:
        return bool(self.probabilities([text])[0] >= self.heads.thresholds[0])


def train(embeddings: MiniLMEmbeddings, data: Path = TRAINING, out: Path = WEIGHTS):
    """Fit the classifier on the labelled superior lines, save it, and return the CV report."""
    from coach.training import fit_heads

    items = yaml.safe_load(data.read_text(encoding="utf-8"))
    texts = [written_out(i["text"]) for i in items]
    y = np.array([[bool(i["concedes"])] for i in items], dtype=np.int8)
    heads, reports = fit_heads(features(embeddings.embed(texts), texts, True), y, ["concedes"], uses_ngrams=True,
                               beta={"concedes": 2.0})  # a missed concession is the costly mistake
    save_heads(out, {"concession": heads}, trained_on=f"{len(items)} lines in {data.name}")
    return items, reports
