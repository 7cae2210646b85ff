"""Fit LinearHeads with scikit-learn; choose each head's strength and threshold by cross-validation.

Only training data is ever seen here. Evaluation sets live in tests/data and are read by
coach/evaluate.py, never by this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.classifier import LinearHeads

STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # inverse regularisation C tried per head
FOLDS = 5


@dataclass
class HeadReport:
    label: str
    positives: int
    strength: float
    threshold: float
    precision: float
    recall: float
    f1: float


def _curve(y: np.ndarray, p: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds from `floor` to 0.95 by 0.01, with the precision and recall of out-of-fold `p` at each."""
    grid = np.round(np.arange(floor, 0.96, 0.01), 2)
    tp = np.array([float(np.sum((p >= t) & (y == 1))) for t in grid])
    predicted = np.array([max(float(np.sum(p >= t)), 1.0) for t in grid])
    return grid, tp / predicted, tp / max(y.sum(), 1)


def _smoothed(values: np.ndarray) -> np.ndarray:
    """Each value averaged with its neighbours (±0.02): such curves are often flat, and a raw maximum
    or crossing then jumps with small changes to the training data."""
    return np.convolve(np.pad(values, 2, mode="edge"), np.ones(5) / 5, mode="valid")


def _choose_threshold(y: np.ndarray, p: np.ndarray, beta: float, floor: float) -> tuple[float, float, float]:
    """The threshold with the best smoothed F-beta on out-of-fold probabilities; returns it, precision, recall."""
    grid, precision, recall = _curve(y, p, floor)
    f = (1 + beta**2) * precision * recall / np.maximum(beta**2 * precision + recall, 1e-9)
    i = int(np.argmax(_smoothed(f)))
    return float(grid[i]), float(precision[i]), float(recall[i])


def _threshold_for_precision(y: np.ndarray, p: np.ndarray, target: float, floor: float,
                             ) -> tuple[float, float, float] | None:
    """The lowest threshold (so the most recall) whose smoothed out-of-fold precision is at least
    `target`; None if no threshold reaches it."""
    grid, precision, recall = _curve(y, p, floor)
    ok = np.flatnonzero(_smoothed(precision) >= target)
    if not len(ok):
        return None
    i = int(ok[0])
    return float(grid[i]), float(precision[i]), float(recall[i])


def fit_heads(X: np.ndarray, Y: np.ndarray, labels: list[str], *, uses_ngrams: bool,
              beta: dict[str, float] | None = None, floor: float = 0.3, seed: int = 0,
              precision_at_least: dict[str, float] | None = None,
              ) -> tuple[LinearHeads, list[HeadReport]]:
    """Fit one logistic regression per column of Y; report cross-validated figures for each.

    A label in `precision_at_least` gets the strength and threshold with the most recall whose
    cross-validated precision reaches that target (F-beta where none does); the others, the best F-beta.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    beta = beta or {}
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    weights = np.zeros((X.shape[1], len(labels)), dtype=np.float64)
    bias = np.zeros(len(labels))
    thresholds = np.zeros(len(labels))
    reports = []
    for j, label in enumerate(labels):
        y = Y[:, j].astype(int)
        best = None
        for c in STRENGTHS:
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            p = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
            target = (precision_at_least or {}).get(label)
            chosen = _threshold_for_precision(y, p, target, floor) if target else None
            t, precision, recall = chosen or _choose_threshold(y, p, beta.get(label, 1.0), floor)
            b = beta.get(label, 1.0)
            f = (1 + b**2) * precision * recall / max(b**2 * precision + recall, 1e-9)
            if chosen:  # most recall at the precision wanted; a tie goes to the more precise
                f = 1.0 + recall + precision * 1e-3  # above any F-beta: reaching the target comes first
            if best is None or f > best[0] + 1e-9:
                best = (f, c, t, precision, recall)
        _, c, t, precision, recall = best
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(X, y)
        weights[:, j] = model.coef_[0]
        bias[j] = model.intercept_[0]
        thresholds[j] = t
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        reports.append(HeadReport(label, int(y.sum()), c, t, precision, recall, f1))
    return LinearHeads(labels, weights, bias, thresholds, uses_ngrams), reports


def fit_softmax(X: np.ndarray, classes: np.ndarray, labels: list[str], *, uses_ngrams: bool,
                beta: dict[str, float] | None = None, floor: float = 0.3, seed: int = 0,
                ) -> tuple[LinearHeads, list[HeadReport], np.ndarray]:
    """Fit one multinomial head over mutually exclusive classes (classes[i] indexes labels).

    The strength is chosen by the mean cross-validated F-beta over the classes; each class then
    gets its own threshold on its out-of-fold probability. Also returns those out-of-fold
    probabilities, for callers that calibrate on a larger unit than one example.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    beta = beta or {}
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    best = None
    for c in STRENGTHS:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        P = cross_val_predict(model, X, classes, cv=folds, method="predict_proba")
        chosen = []
        for j, label in enumerate(labels):
            y = (classes == j).astype(int)
            t, precision, recall = _choose_threshold(y, P[:, j], beta.get(label, 1.0), floor)
            chosen.append((t, precision, recall, int(y.sum())))
        score = np.mean([_f(p, r, beta.get(l, 1.0)) for (_, p, r, _), l in zip(chosen, labels)])
        if best is None or score > best[0] + 1e-9:
            best = (score, c, chosen, P)
    _, c, chosen, P = best
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(X, classes)
    reports = [HeadReport(label, n, c, t, p, r, _f(p, r, 1.0)) for label, (t, p, r, n) in zip(labels, chosen)]
    heads = LinearHeads(labels, model.coef_.T.copy(), model.intercept_.copy(),
                        np.array([t for t, *_ in chosen]), uses_ngrams, kind="softmax")
    return heads, reports, P


def draft_thresholds(P: np.ndarray, sentence_labels: list[set[int]], n_classes: int, classes: list[int], *,
                     beta: float = 0.5, drafts: int = 12000, seed: int = 0) -> dict[int, tuple[float, float, float]]:
    """Thresholds that work on whole drafts, chosen on synthetic drafts made of training sentences.

    A draft is flagged for a class when any of its sentences reaches the threshold, so a sentence
    threshold that is right for one sentence raises false alarms on a draft of eight. Drafts of 3-9
    out-of-fold-judged training sentences (a third of them clean) make that compounding visible, and
    each class's threshold maximises F-beta over those drafts. Returns {class: (threshold, precision, recall)}.
    """
    rng = np.random.default_rng(seed)
    pools = {c: [i for i, ls in enumerate(sentence_labels) if c in ls] for c in classes}
    clean = [i for i, ls in enumerate(sentence_labels) if not ls & set(classes)]
    made = []
    for _ in range(drafts):
        n = int(rng.integers(3, 10))
        k = int(rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2]))
        picked = [int(rng.choice(pools[int(rng.choice(classes))])) for _ in range(k)]
        picked += [int(x) for x in rng.choice(clean, size=n - k, replace=False)]
        made.append(picked)
    out = {}
    for c in classes:
        score = np.array([P[d, c].max() for d in made])
        y = np.array([any(c in sentence_labels[i] for i in d) for d in made]).astype(int)
        out[c] = _choose_threshold(y, score, beta, 0.3)
    return out


def _f(precision: float, recall: float, beta: float) -> float:
    return (1 + beta**2) * precision * recall / max(beta**2 * precision + recall, 1e-9)


def print_reports(reports: list[HeadReport], title: str) -> None:
    print(f"{title} ({FOLDS}-fold cross-validation on the training data)")
    print(f"  {'head':<28} {'pos':>5} {'C':>5} {'thr':>5} {'prec':>5} {'rec':>5} {'F1':>5}")
    for r in reports:
        print(f"  {r.label:<28} {r.positives:>5} {r.strength:>5} {r.threshold:>5.2f} "
              f"{r.precision:>5.2f} {r.recall:>5.2f} {r.f1:>5.2f}")
