"""Linear classifiers on sentence embeddings: trained with scikit-learn, shipped as small .npz files.

Every judgment Upward shows that a model could get wrong (a myth in a draft, a signal in a turn,
the route of a chat message) comes from one of these: a set of independent logistic-regression
heads over fixed features, each with a threshold chosen by cross-validation on training data only.
At run time they are a matrix product in NumPy; scikit-learn is needed only to retrain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

import numpy as np

# Word n-grams are hashed into a fixed number of columns, so the file needs no vocabulary and
# negations ("aren't really", "don't need") can carry weight of their own beside the embedding.
HASH_FEATURES = 2**12
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def ngram_features(texts: list[str], n_features: int = HASH_FEATURES) -> np.ndarray:
    """Hashed word unigrams and bigrams, L2-normalised, one row per text (deterministic)."""
    out = np.zeros((len(texts), n_features), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _TOKEN.findall(text.lower().replace("’", "'").replace("n't", " n't"))
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        for gram in grams:
            out[row, _fnv1a(gram) % n_features] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


@dataclass
class LinearHeads:
    """Linear heads over fixed features; a label is on at its threshold.

    "sigmoid": independent binary heads, P(label) = sigmoid(x·w + b) (labels can co-occur).
    "softmax": one multinomial head over mutually exclusive classes (P sums to 1).
    """

    labels: list[str]
    weights: np.ndarray  # (features, labels)
    bias: np.ndarray  # (labels,)
    thresholds: np.ndarray  # (labels,)
    uses_ngrams: bool = True
    kind: str = "sigmoid"

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities for (n, features) inputs."""
        z = features @ self.weights + self.bias
        if self.kind == "softmax":
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def threshold(self, label: str) -> float:
        return float(self.thresholds[self.labels.index(label)])

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.labels": np.array(self.labels), f"{prefix}.weights": self.weights.astype(np.float32),
            f"{prefix}.bias": self.bias.astype(np.float32), f"{prefix}.thresholds": self.thresholds.astype(np.float32),
            f"{prefix}.uses_ngrams": np.array(self.uses_ngrams), f"{prefix}.kind": np.array(self.kind),
        }

    @classmethod
    def from_arrays(cls, data, prefix: str) -> "LinearHeads":
        return cls(
            labels=[str(x) for x in data[f"{prefix}.labels"]], weights=data[f"{prefix}.weights"],
            bias=data[f"{prefix}.bias"], thresholds=data[f"{prefix}.thresholds"],
            uses_ngrams=bool(data[f"{prefix}.uses_ngrams"]), kind=str(data[f"{prefix}.kind"]),
        )


def save_heads(path: Path, heads: dict[str, LinearHeads], extra: dict[str, np.ndarray] | None = None,
               **meta: str) -> None:
    """Write named sets of heads (and text metadata, and any extra named arrays) to one compressed .npz file."""
    arrays: dict[str, np.ndarray] = {f"meta.{k}": np.array(v) for k, v in meta.items()}
    arrays.update(extra or {})
    for name, h in heads.items():
        arrays.update(h.arrays(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:  # np.savez would add ".npz" to a name without it
        np.savez_compressed(f, **arrays)


def load_heads(path: Path) -> dict[str, LinearHeads]:
    """Read every set of heads saved by save_heads (no pickles: plain arrays only)."""
    with np.load(path, allow_pickle=False) as data:
        names = {key.split(".")[0] for key in data.files if key.endswith(".weights")}
        return {name: LinearHeads.from_arrays(data, name) for name in names}


class ShippedHeads:
    """The heads in a shipped .npz file, loaded on first use (once, whichever thread asks first)."""

    def __init__(self, path: Path, what: str, command: str) -> None:
        self.path = path
        self.what = what  # e.g. "the router", for the error message
        self.command = command  # the command that retrains them
        self._heads: dict[str, LinearHeads] | None = None
        self._lock = Lock()

    def __getitem__(self, name: str) -> LinearHeads:
        if self._heads is None:
            from coach.errors import ConfigError

            with self._lock:
                if self._heads is None:
                    if not self.path.is_file():
                        raise ConfigError(f"The weights of {self.what} are missing ({self.path}).",
                                          f"Retrain them with `{self.command}`, or reinstall Upward.")
                    self._heads = load_heads(self.path)
        return self._heads[name]


def features(embedded: np.ndarray, texts: list[str], uses_ngrams: bool) -> np.ndarray:
    """The classifier's input: the sentence embedding, and hashed n-grams when the heads use them."""
    if not uses_ngrams:
        return embedded.astype(np.float32)
    return np.hstack([embedded.astype(np.float32), ngram_features(texts)])
