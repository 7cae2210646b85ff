"""Choose the weights of a card's rank in Ask's retrieval (coach/store.py): keyword match and topic classifier.

Offline, with the real embeddings, on training-side data only:
- 5-fold cross-validation over the questions the cards answer (knowledge/questions.yaml): each
  held-out question is ranked with its fold's questions left out of the index and of the topic
  classifier's training, and counts as right when its own card's topic comes first (or among the
  first three);
- the older labelled question set (tests/data/retrieval_questions.yaml) and the first blind set
  (tests/data/ask_blind.yaml, no longer blind for retrieval), with the full classifier.
The second blind set (ask_blind2.yaml) is never read here.

History: on the first 219 questions, a classifier added to the ranking did not beat it (leave-one-out
first card 0.548 for the ranking as it was, no better with the classifier). With 304 more questions,
written by a helper from the essay and the cards, and the keyword term, it does.

    python bench/tune_retrieval.py            # prints the grid, best cross-validated first card first
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.classifier import features  # noqa: E402
from coach.embeddings import MiniLMEmbeddings  # noqa: E402
from coach.evaluate_ask import ASK_BLIND, RETRIEVAL_OLD, ask_questions  # noqa: E402
from coach.knowledge import load_cards  # noqa: E402
from coach.settings import REPO_DIR  # noqa: E402
from coach.store import card_documents, embedding_text, keyword_scores  # noqa: E402

KEYWORD = (0.0, 0.1, 0.2, 0.4)
TOPIC = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
STRENGTH = 8.0  # what `coach train topics` chooses by cross-validation on the same questions


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    emb = MiniLMEmbeddings()
    cards, _ = load_cards(REPO_DIR / "knowledge")
    topics = sorted({c.topic for c in cards})
    card_topic = np.array([topics.index(c.topic) for c in cards])
    owner, passages, texts = [], [], {}
    for i, card in enumerate(cards):
        for doc in card_documents(card):
            if not doc.metadata.get("question"):
                owner.append(i)
                passages.append(embedding_text(doc))
                texts.setdefault(card.source, [card.title]).append(doc.page_content)
    P, owner = emb.embed(passages), np.array(owner)
    asked = [(q, i) for i, card in enumerate(cards) for q in card.questions]
    Q = emb.embed([q for q, _ in asked])
    q_card = np.array([i for _, i in asked])

    def terms(text, v, in_index, model):
        passage = np.full(len(cards), -1.0)
        np.maximum.at(passage, owner, P @ v)
        sims, closest = Q @ v, np.zeros(len(cards))
        for i in range(len(cards)):
            best = np.sort(sims[(q_card == i) & in_index])[::-1][:2]
            closest[i] = best.mean() if len(best) else passage[i]
        kw = keyword_scores(text, texts)
        keyword = np.array([kw.get(c.source, 0.0) for c in cards])
        p = np.zeros(len(topics))
        p[model.classes_] = model.predict_proba(features(v[None], [text], False))[0]
        return passage + closest, keyword, p[card_topic]

    def fit(rows):
        return LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=3000).fit(
            Q[rows], card_topic[q_card[rows]])

    grid = list(itertools.product(KEYWORD, TOPIC))
    cv = {g: [0, 0] for g in grid}
    for train, test in KFold(5, shuffle=True, random_state=0).split(Q):
        model, in_index = fit(train), np.zeros(len(Q), bool)
        in_index[train] = True
        for i in test:
            t = terms(asked[i][0], Q[i], in_index, model)
            for g in grid:
                order = np.argsort(-(t[0] + g[0] * t[1] + g[1] * t[2]))
                cv[g][0] += card_topic[order[0]] == card_topic[q_card[i]]
                cv[g][1] += card_topic[q_card[i]] in card_topic[order[:3]]
    model = fit(np.arange(len(Q)))
    dev = {}
    for name, path in (("older set", RETRIEVAL_OLD), ("first blind set", ASK_BLIND)):
        qs = [q for q in ask_questions(path) if q["covered"]]
        V = emb.embed([q["question"] for q in qs])
        ts = [terms(q["question"], v, np.ones(len(Q), bool), model) for q, v in zip(qs, V)]
        for g in grid:
            first = sum(topics[card_topic[np.argmax(t[0] + g[0] * t[1] + g[1] * t[2])]] in q["topics"]
                        for q, t in zip(qs, ts))
            dev.setdefault(g, []).append(f"{name} {first / len(qs):.3f}")
    print(f"{len(Q)} questions; first card right (cross-validated first / top 3), then on the older sets")
    for g in sorted(grid, key=lambda g: -cv[g][0]):
        print(f"  keyword {g[0]:<4} topic {g[1]:<4} CV {cv[g][0] / len(Q):.3f} / {cv[g][1] / len(Q):.3f}  "
              + "  ".join(dev[g]))


if __name__ == "__main__":
    main()
