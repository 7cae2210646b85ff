"""Does the superior's line concede? A classifier on sentence embeddings (docs: README, Rehearse).

While a required concern is open the superior must not agree; the model is told so, and this
checks what it wrote before it is shown. Trained on `coach/data/superior_replies.yaml` by
`coach train concession`, shipped as `coach/data/concession.npz`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from coach.classifier import LinearHeads, ShippedHeads, features, save_heads
from coach.embeddings import MiniLMEmbeddings

DATA = Path(__file__).parent / "data"
TRAINING = DATA / "superior_replies.yaml"
WEIGHTS = DATA / "concession.npz"


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
        x = features(self.embeddings.embed(texts), texts, self.heads.uses_ngrams)
        return self.heads.probabilities(x)[:, 0]

    def concedes(self, text: str) -> bool:
        return bool(self.probabilities([text])[0] >= self.heads.thresholds[0])


def train(embeddings: MiniLMEmbeddings, data: Path = TRAINING, out: Path = WEIGHTS):
    """Fit the classifier on the labelled superior lines, save it, and return the CV report."""
    from coach.training import fit_heads

    items = yaml.safe_load(data.read_text(encoding="utf-8"))
    texts = [i["text"] for i in items]
    y = np.array([[bool(i["concedes"])] for i in items], dtype=np.int8)
    heads, reports = fit_heads(features(embeddings.embed(texts), texts, True), y, ["concedes"], uses_ngrams=True,
                               beta={"concedes": 2.0})  # a missed concession is the costly mistake
    save_heads(out, {"concession": heads}, trained_on=f"{len(items)} lines in {data.name}")
    return items, reports
