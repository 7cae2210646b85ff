"""Choose how Ask ranks playbook cards, on training-side data only (knowledge/questions.yaml).

    .venv/bin/python bench/tune_retrieval.py

Leave-one-out over the questions file (10-fold for the classifier): each question is held out in
turn, its own entry is removed from the index, and the card ranked first must be of the question's topic (hit@1; with one citable
card per answer, citation precision follows it). Compared:
  - text: the card's closest passage only;
  - current: the closest passage plus the mean of the card's two closest questions (coach/store.py);
  - classifier: a logistic regression over the other questions' embeddings (one class per card);
  - current + w * classifier probability, for a few w.
No evaluation set is read here. Prints one line per ranking.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


C_VALUE = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    from coach.embeddings import MiniLMEmbeddings
    from coach.knowledge import load_cards
    from coach.store import card_documents, embedding_text

    cards, _ = load_cards(ROOT / "knowledge")
    emb = MiniLMEmbeddings()
    sources = [c.source for c in cards]
    topic = {c.source: c.topic for c in cards}
    passages, owners = [], []
    questions, asked_of = [], []
    for c in cards:
        for doc in card_documents(c):
            if doc.metadata.get("question"):
                questions.append(doc.metadata["question"])
                asked_of.append(c.source)
            else:
                passages.append(embedding_text(doc))
                owners.append(c.source)
    P = np.asarray(emb.embed(passages))
    Q = np.asarray(emb.embed(questions))
    owners, asked_of = np.array(owners), np.array(asked_of)
    card_index = {s: i for i, s in enumerate(sources)}
    y = np.array([card_index[s] for s in asked_of])
    n = len(questions)

    text_sim = Q @ P.T  # question x passage
    q_sim = Q @ Q.T
    best_passage = np.stack([text_sim[:, owners == s].max(axis=1) for s in sources], axis=1)  # question x card

    def current(i: int) -> np.ndarray:
        scores = np.empty(len(sources))
        for j, s in enumerate(sources):
            others = [q_sim[i, k] for k in np.flatnonzero(asked_of == s) if k != i]
            top = sorted(others, reverse=True)[:2]
            scores[j] = best_passage[i, j] + (sum(top) / len(top) if top else best_passage[i, j])
        return scores

    def held_out_probs(C: float) -> np.ndarray:
        """Each question's class probabilities from a model trained without its fold (10 folds)."""
        from sklearn.model_selection import StratifiedKFold

        out = np.zeros((n, len(sources)))
        for train, test in StratifiedKFold(10, shuffle=True, random_state=0).split(Q, y):
            model = LogisticRegression(C=C, max_iter=5000).fit(Q[train], y[train])
            out[np.ix_(test, model.classes_)] = model.predict_proba(Q[test])
        return out

    probs = held_out_probs(C_VALUE)

    def hit1(score_fn) -> float:
        return float(np.mean([topic[sources[int(np.argmax(score_fn(i)))]] == topic[asked_of[i]] for i in range(n)]))

    def hit3(score_fn) -> float:
        return float(np.mean([topic[asked_of[i]] in {topic[sources[j]] for j in np.argsort(-score_fn(i))[:3]}
                              for i in range(n)]))

    print(f"{n} questions over {len(sources)} cards; the current ranking's hit@3 (topic) {hit3(current):.3f}")
    print("leave-one-out hit@1 (topic):")
    print(f"  text only             {hit1(lambda i: best_passage[i]):.3f}")
    print(f"  current               {hit1(current):.3f}")
    print(f"  classifier            {hit1(lambda i: probs[i]):.3f}")
    for w in (0.25, 0.5, 1.0, 2.0):
        print(f"  current + {w:<4} x prob {hit1(lambda i, w=w: current(i) + w * probs[i]):.3f}")


if __name__ == "__main__":
    main()
