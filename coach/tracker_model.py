"""Does one turn settle one of the superior's concerns? A logistic regression over the pair.

The features of a (turn, concern) pair:
  - how close the turn comes to the concern's `addressed_by` lines: its closest sentence, the mean
    of its three closest, and its margin over the scenario's other concerns;
  - how close the whole turn comes to the concern's own text;
  - what the detector finds in the turn: a constructive move, a myth, blame, and specifics;
  - for a scenario the training turns cover, how close the turn comes to training turns labelled
    as settling this concern, to those labelled as not settling it (restatements, apologies, "what
    should I do?"), and the margin between the two (the "bank").
A scenario the bank does not cover (one the person built, or a shipped one whose concerns were
edited) is judged by a second head that leaves out the bank's three features.

`coach train tracker` fits both heads on `coach/data/tracker_training.yaml` and ships them with the
bank as `coach/data/tracker.npz`. Thresholds come from 5-fold cross-validation grouped by turn,
precision first (F-0.5): a superior who agrees too early does more harm than one who presses once
more. Nothing here asks a chat model; given the same turn the answer is the same.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from coach.classifier import LinearHeads, ShippedHeads, save_heads
from coach.detector import Detector, SentenceJudgment
from coach.scenarios import Scenario

DATA = Path(__file__).parent / "data"
TRAINING = DATA / "tracker_training.yaml"
WEIGHTS = DATA / "tracker.npz"
PLAIN = ("closest", "top3", "concern", "margin", "constructive", "spoiler", "specific", "blame", "myth")
BANKED = (*PLAIN, "bank_settles", "bank_not", "bank_margin")
BETA = 1.0
CONSTRUCTIVE = {"options_or_recommendation", "owns_problem", "connects_to_goals", "clear_ask", "constructive_suggestion"}
SPOILERS = {"myth-just-execute", "myth-independent-work", "myth-fear", "blame"}
SETTLES_NOTHING = SPOILERS | {"vague"}  # docs/labels.md: such a sentence cannot settle a concern
SPECIFIC = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|half|double|"
                      r"monday|tuesday|wednesday|thursday|friday|january|february|march|april|may|june|"
                      r"july|august|september|october|november|december|weeks?|months?|quarter)\b", re.IGNORECASE)
SPLIT = re.compile(r"(?<=[.!?])\s+")
MAX_CONCERNS = 6  # columns of the bank's labels


def parts_of(text: str) -> list[str]:
    """A turn's sentences, as the tracker splits them."""
    return [p for p in SPLIT.split(text.strip()) if p.strip()] or [text]


def fingerprint(scenario: Scenario) -> str:
    """Which concerns, in which order: the bank's labels hold only for the same list."""
    return hashlib.sha1("\n".join(c.text for c in scenario.concerns).encode("utf-8")).hexdigest()


@dataclass
class Bank:
    """Training turns, embedded, with the concerns each settles, for the scenarios they came from."""

    vectors: np.ndarray  # (turns, dim)
    scenarios: np.ndarray  # (turns,) scenario names
    settles: np.ndarray  # (turns, MAX_CONCERNS) 0/1
    fingerprints: dict[str, str]

    def rows(self, scenario: Scenario) -> np.ndarray | None:
        """Indexes of the bank turns for this scenario, or None when the bank does not cover it."""
        if len(scenario.concerns) > MAX_CONCERNS or self.fingerprints.get(scenario.name) != fingerprint(scenario):
            return None
        rows = np.flatnonzero(self.scenarios == scenario.name)
        return rows if len(rows) else None


class PairFeatures:
    """Features of (turn, concern) pairs for one scenario; its lines are embedded once."""

    def __init__(self, detector: Detector, scenario: Scenario) -> None:
        self.detector = detector
        self.scenario = scenario
        embed = detector.embeddings.embed
        self.blocks = [embed(c.addressed_by) for c in scenario.concerns]
        self.concerns = embed([f"{c.text} {c.hint}" for c in scenario.concerns])

    def plain(self, text: str, judgments: list[SentenceJudgment] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(concerns, len(PLAIN)) features, and the embedded units (sentences, then the whole turn)."""
        parts = parts_of(text)
        if judgments is None or len(judgments) != len(parts):
            judgments = self.detector.judge(parts)
        labels = set().union(*(j.labels for j in judgments)) if judgments else set()
        units = self.detector.embeddings.embed(parts + ([text] if len(parts) > 1 else []))
        whole = units[-1]
        # A sentence that falls into a myth, blames or is vague settles nothing, however close its
        # words come: it is left out of the closeness, and so is the whole turn it spoils.
        spoilt = [bool(j.labels & SETTLES_NOTHING) for j in judgments]
        keep = [not s for s in spoilt] + ([not any(spoilt)] if len(parts) > 1 else [])
        units = units[np.array(keep)] if any(keep) else np.zeros((1, units.shape[1]), dtype=units.dtype)
        closest = [float((units @ b.T).max()) for b in self.blocks]
        rows = []
        for i, block in enumerate(self.blocks):
            top = np.sort((units @ block.T).ravel())[::-1][:3]
            others = [c for j, c in enumerate(closest) if j != i]
            rows.append([closest[i], float(top.mean()), float(whole @ self.concerns[i]),
                         closest[i] - (max(others) if others else 0.0),
                         bool(labels & CONSTRUCTIVE), bool(labels & SPOILERS), bool(SPECIFIC.search(text)),
                         "blame" in labels, bool(labels & (SPOILERS - {"blame"}))])
        return np.array(rows, dtype=np.float32), units


def bank_features(units: np.ndarray, vectors: np.ndarray, settles: np.ndarray, n_concerns: int) -> np.ndarray:
    """(concerns, 3): closest bank turn that settles the concern, closest that does not, the margin."""
    out = np.zeros((n_concerns, 3), dtype=np.float32)
    if not len(vectors):
        return out
    sims = (units @ vectors.T).max(axis=0)  # each bank turn's closeness to any unit of this turn
    for i in range(n_concerns):
        yes, no = sims[settles[:, i] == 1], sims[settles[:, i] == 0]
        out[i, 0] = yes.max() if len(yes) else 0.0
        out[i, 1] = no.max() if len(no) else 0.0
        out[i, 2] = out[i, 0] - out[i, 1]
    return out


class SettleModel:
    """The shipped heads and bank: P(turn settles concern) for every concern of a scenario."""

    def __init__(self, path: Path = WEIGHTS) -> None:
        self.path = path
        self.heads = ShippedHeads(path, "the concern tracker", "coach train tracker")
        self._bank: Bank | None = None

    @property
    def bank(self) -> Bank:
        if self._bank is None:
            self.heads["plain"]  # a missing file raises the clear message
            with np.load(self.path, allow_pickle=False) as data:
                names = [str(x) for x in data["bank.fingerprint_names"]]
                self._bank = Bank(data["bank.vectors"].astype(np.float32), data["bank.scenarios"].astype(str),
                                  data["bank.settles"], dict(zip(names, (str(x) for x in data["bank.fingerprints"]))))
        return self._bank

    def probabilities(self, features: PairFeatures, text: str,
                      judgments: list[SentenceJudgment] | None = None) -> tuple[np.ndarray, float, np.ndarray]:
        """P(settles) for each concern, the threshold of the head that judged them, and the turn's
        embedded units (its sentences, then the whole turn)."""
        X, units = features.plain(text, judgments)
        rows = self.bank.rows(features.scenario)
        if rows is None:
            head = self.heads["plain"]
        else:
            head = self.heads["banked"]
            b = self.bank
            X = np.hstack([X, bank_features(units, b.vectors[rows], b.settles[rows], len(X))])
        return head.probabilities(X)[:, 0], float(head.thresholds[0]), units


def load_turns(path: Path = TRAINING) -> list[dict]:
    """The labelled training turns; raise ValueError naming an item that is wrong."""
    turns = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for n, t in enumerate(turns, 1):
        if not isinstance(t, dict) or not isinstance(t.get("text"), str) or not isinstance(t.get("settles"), list):
            raise ValueError(f"{path.name} item {n}: needs a scenario, a text and a settles list")
    return turns


def train(detector: Detector, scenarios: dict[str, Scenario], turns: list[dict], out: Path = WEIGHTS) -> dict:
    """Fit both heads on the training turns, choose their thresholds by cross-validation, save them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from coach.errors import InputError

    unknown = sorted({t["scenario"] for t in turns} - set(scenarios))
    if unknown:
        raise InputError(f"The tracker's training turns name scenarios that are not loaded: {', '.join(unknown)}.",
                         "Train with the shipped scenarios (unset COACH_SCENARIOS_DIR).")
    featurers = {name: PairFeatures(detector, scenarios[name]) for name in sorted({t["scenario"] for t in turns})}
    # Rounded as they are shipped, so training sees what run time sees.
    vectors = detector.embeddings.embed([t["text"] for t in turns]).astype(np.float16).astype(np.float32)
    names = np.array([t["scenario"] for t in turns])
    settles = np.zeros((len(turns), MAX_CONCERNS), dtype=np.int8)
    for k, t in enumerate(turns):
        settles[k, [i for i in t["settles"] if i < MAX_CONCERNS]] = 1
    plain, units, pair_turn, y = [], [], [], []
    for k, t in enumerate(turns):
        X, u = featurers[t["scenario"]].plain(t["text"])
        plain.append(X)
        units.append(u)
        pair_turn += [k] * len(X)
        y += [i in t["settles"] for i in range(len(X))]
    plain_X, pair_turn, y = np.vstack(plain), np.array(pair_turn), np.array(y)
    if y.sum() < 10 or (~y).sum() < 10:
        raise InputError("Too few training turns to fit the tracker.", "Each head needs at least 10 settling and 10 "
                         f"non-settling (turn, concern) pairs in {TRAINING.name}.")

    def banked(allowed: np.ndarray) -> np.ndarray:
        """Bank features for every pair, from the allowed bank turns only, never the pair's own turn."""
        rows = []
        for k, t in enumerate(turns):
            keep = allowed & (names == t["scenario"])
            keep[k] = False
            rows.append(bank_features(units[k], vectors[keep], settles[keep], len(scenarios[t["scenario"]].concerns)))
        return np.vstack(rows)

    report, heads = {}, {}
    everything = np.ones(len(turns), dtype=bool)
    for name in ("plain", "banked"):
        held_out = np.zeros(len(y))
        for train_pairs, test_pairs in GroupKFold(5).split(plain_X, y, pair_turn):
            X = plain_X
            if name == "banked":
                allowed = np.zeros(len(turns), dtype=bool)
                allowed[np.unique(pair_turn[train_pairs])] = True
                X = np.hstack([plain_X, banked(allowed)])
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000).fit(X[train_pairs], y[train_pairs])
            held_out[test_pairs] = model.predict_proba(X[test_pairs])[:, 1]
        threshold, precision, recall = _best_threshold(y, held_out)
        X = plain_X if name == "plain" else np.hstack([plain_X, banked(everything)])
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000).fit(X, y)
        heads[name] = LinearHeads(["settles"], model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32),
                                  np.array([threshold], dtype=np.float32), uses_ngrams=False)
        report[name] = {"threshold": threshold, "precision": round(precision, 3), "recall": round(recall, 3)}
    covered = sorted(featurers)
    bank = {"bank.vectors": vectors.astype(np.float16), "bank.scenarios": names, "bank.settles": settles,
            "bank.fingerprint_names": np.array(covered),
            "bank.fingerprints": np.array([fingerprint(scenarios[n]) for n in covered])}
    save_heads(out, heads, extra=bank, trained_on=f"{len(turns)} turns in {TRAINING.name}")
    return {"turns": len(turns), "pairs": len(y), "settled": int(y.sum()), **report}


def _best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """The threshold with the best F-0.5 on out-of-fold probabilities, with its precision and recall."""
    best = (0.5, -1.0, 0.0, 0.0)
    for t in np.round(np.arange(0.3, 0.96, 0.01), 2):
        on = p >= t
        tp = float((on & y).sum())
        precision, recall = tp / max(float(on.sum()), 1), tp / max(float(y.sum()), 1)
        f = (1 + BETA**2) * precision * recall / max(BETA**2 * precision + recall, 1e-9)
        if f > best[1]:
            best = (float(t), f, precision, recall)
    return best[0], best[2], best[3]
