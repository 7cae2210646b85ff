"""`coach eval ...`: the judgments measured on labelled sets that were written blind (tests/data/).

Each evaluation prints its figures and returns them as a dict, so tests can assert on the same
numbers a person sees. Nothing here is used for training or for choosing thresholds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from coach.detector import MYTHS, SIGNALS
from coach.settings import REPO_DIR

DATA = REPO_DIR / "tests" / "data"
REVIEW_SETS = {
    "blind": DATA / "review_blind.yaml",  # 103 drafts, written blind; the figure we report
    "labelled": DATA / "review_drafts.yaml",  # older sets, kept as regression tests
    "heldout": DATA / "review_heldout.yaml",
}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / max(p + r, 1e-9)

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1


@dataclass
class ReviewFigures:
    drafts: int
    myths: dict[str, Counts]
    overall: Counts
    clean: int
    clean_flagged: list[str]
    signals: dict[str, Counts] = field(default_factory=dict)
    goals_on_rejection: list[str] = field(default_factory=list)  # rejecting sentences marked connects_to_goals
    missed: list[tuple[str, str]] = field(default_factory=list)
    false_alarms: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "drafts": self.drafts, "clean": self.clean, "clean_flagged": self.clean_flagged,
            "precision": self.overall.precision, "recall": self.overall.recall, "f1": self.overall.f1,
            "myths": {m: {"precision": c.precision, "recall": c.recall, "f1": c.f1, **vars(c)}
                      for m, c in self.myths.items()},
            "signals": {s: vars(c) for s, c in self.signals.items()},
            "goals_on_rejection": self.goals_on_rejection,
        }


def evaluate_review(analyzer, path: Path) -> ReviewFigures:
    """Run the instant analysis on every draft of a labelled set and count against its labels."""
    drafts = yaml.safe_load(path.read_text(encoding="utf-8"))
    myths = {m: Counts() for m in MYTHS}
    overall = Counts()
    signals: dict[str, Counts] = {}
    clean_flagged, goals_on_rejection, missed, false_alarms = [], [], [], []
    for d in drafts:
        analysis = analyzer.analyze(d["text"])
        got = {f.topic for f in analysis.myths}
        want = set(d.get("myths") or [])
        for m in MYTHS:
            myths[m].add(m in got, m in want)
            overall.add(m in got, m in want)
            if m in want - got:
                missed.append((d["id"], m))
            if m in got - want:
                false_alarms.append((d["id"], m))
        if not want and got:
            clean_flagged.append(d["id"])
        for name, value in (d.get("signals") or {}).items():
            if name in SIGNALS:
                signals.setdefault(name, Counts()).add(analysis.has(name), bool(value))
        for sentence in d.get("rejects_goals") or []:
            for span, judgment in analysis.sentences:
                overlaps = span.quote in sentence or sentence in span.quote
                if overlaps and judgment.has("connects_to_goals"):
                    goals_on_rejection.append(f"{d['id']}: {span.quote}")
    return ReviewFigures(len(drafts), myths, overall, sum(not d.get("myths") for d in drafts),
                         clean_flagged, signals, goals_on_rejection, missed, false_alarms)


def print_review(f: ReviewFigures, name: str) -> None:
    print(f"Review on {name}: {f.drafts} drafts, {f.clean} clean")
    print(f"  {'myth':<24} {'prec':>5} {'rec':>5} {'F1':>5}   tp  fp  fn")
    for m, c in f.myths.items():
        print(f"  {m:<24} {c.precision:>5.2f} {c.recall:>5.2f} {c.f1:>5.2f}  {c.tp:>3} {c.fp:>3} {c.fn:>3}")
    o = f.overall
    print(f"  {'all myths':<24} {o.precision:>5.2f} {o.recall:>5.2f} {o.f1:>5.2f}  {o.tp:>3} {o.fp:>3} {o.fn:>3}")
    print(f"  clean drafts flagged: {len(f.clean_flagged)} of {f.clean} {f.clean_flagged or ''}")
    if f.signals:
        print("  signals (draft level)     present/labelled: tp  fp  fn  tn   prec  rec")
        for s, c in f.signals.items():
            print(f"    {s:<26} {c.tp:>4} {c.fp:>3} {c.fn:>3} {c.tn:>3}   {c.precision:.2f} {c.recall:.2f}")
    # Ids only: printing a blind set's sentences would let whoever tunes the detector read them.
    ids = sorted({item.split(":")[0] for item in f.goals_on_rejection})
    print(f"  connects_to_goals on a sentence that rejects the goals: {len(f.goals_on_rejection)} {ids or ''}")


def count(values) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(values).items()))


def evaluate_concession(classifier, path: Path = DATA / "superior_replies_blind.yaml") -> dict:
    """Precision and recall of "concedes" on the blind superior lines."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    probs = classifier.probabilities([i["text"] for i in items])
    c = Counts()
    wrong = []
    for item, p in zip(items, probs):
        predicted = bool(p >= classifier.heads.thresholds[0])
        c.add(predicted, bool(item["concedes"]))
        if predicted != bool(item["concedes"]):
            wrong.append(item["id"])
    return {"lines": len(items), "precision": c.precision, "recall": c.recall, "f1": c.f1,
            "accuracy": (c.tp + c.tn) / max(len(items), 1), **vars(c), "wrong": wrong}


def print_concession(f: dict) -> None:
    print(f"Concession classifier on {f['lines']} blind superior lines: precision {f['precision']:.2f}, "
          f"recall {f['recall']:.2f}, F1 {f['f1']:.2f}, accuracy {f['accuracy']:.2f} "
          f"(tp {f['tp']}, fp {f['fp']}, fn {f['fn']}, tn {f['tn']}); wrong: {', '.join(f['wrong']) or 'none'}")
