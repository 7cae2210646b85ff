"""Which playbook topic a question is about: a classifier on sentence embeddings, one term of retrieval.

Trained by `coach train topics` on the questions the cards answer (knowledge/questions.yaml; each
question's label is its card's topic), shipped as `coach/data/topics.npz`. Retrieval adds the
probability of a card's topic to the card's similarity (coach/store.py): a question worded far from
every card's text ("my boss keeps moving the goalposts") still lands on the card whose questions it
resembles as a whole, not only on the two closest. A card whose topic the classifier was not
trained on (a person's own card) gets the uniform share (1/12 with the shipped topics), or the
likeliest topic's share when it is the closest card of all in meaning (coach/store.py): the
classifier cannot vouch for a topic it never saw, so it must not outvote the card's words. Giving
the card questions in knowledge/questions.yaml and running `coach train topics` lets it learn the topic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coach.classifier import LinearHeads, ShippedHeads, features, save_heads
from coach.embeddings import MiniLMEmbeddings

WEIGHTS = Path(__file__).parent / "data" / "topics.npz"


class TopicClassifier:
    """P(topic) for a question, over the topics of the cards it was trained on."""

    def __init__(self, embeddings: MiniLMEmbeddings, path: Path = WEIGHTS) -> None:
        self.embeddings = embeddings
        self.weights = ShippedHeads(path, "the topic classifier", "coach train topics")

    @property
    def heads(self) -> LinearHeads:
        return self.weights["topics"]

    def probabilities(self, question: str, vector=None) -> dict[str, float]:
        """Each known topic's probability; they sum to 1."""
        v = self.embeddings.embed([question]) if vector is None else np.asarray(vector, dtype=np.float32)[None, :]
        p = self.heads.probabilities(features(v, [question], self.heads.uses_ngrams))[0]
        return dict(zip(self.heads.labels, (float(x) for x in p)))

    def prior(self) -> float:
        """The share a topic the classifier does not know gets: as if it were one more, equally likely."""
        return 1.0 / len(self.heads.labels)


def training_items(cards) -> list[tuple[str, str]]:
    """(question, topic) for every question a card answers."""
    return [(q, card.topic) for card in cards for q in card.questions]


def train(embeddings: MiniLMEmbeddings, cards, out: Path = WEIGHTS):
    """Fit the classifier (strength by cross-validation), save it, and return the items and the CV report."""
    from coach.training import fit_softmax

    items = training_items(cards)
    labels = sorted({topic for _, topic in items})
    if len(labels) < 2 or min(sum(t == label for _, t in items) for label in labels) < 5:
        from coach.errors import InputError

        raise InputError("The topic classifier needs at least two topics with five questions each "
                         f"(knowledge/questions.yaml has {len(items)} questions over {len(labels)} topics).",
                         "Add questions for each card to knowledge/questions.yaml, then run `coach train topics` again.")
    texts = [q for q, _ in items]
    classes = np.array([labels.index(topic) for _, topic in items])
    heads, reports, _ = fit_softmax(features(embeddings.embed(texts), texts, False), classes, labels,
                                    uses_ngrams=False)
    save_heads(out, {"topics": heads}, trained_on=f"{len(items)} questions")
    return items, reports
