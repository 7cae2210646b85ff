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
    "blind2": DATA / "review_blind2.yaml",  # 80 more, written blind after the detector was final
    "blind3": DATA / "review_blind3.yaml",  # 96 more, written blind before the whole-draft head was trained
    "blind4": DATA / "review_blind4.yaml",  # 90 more, written blind in stop 26, before the head was retrained
    "blind5": DATA / "review_blind5.yaml",  # 90 more, written blind in stop 27
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


# The first set was written by a helper; the second is the default model's own lines (stop 27), labelled
# by a helper who saw only the definition, the half of them held out from training.
CONCESSION_SETS = {"blind": DATA / "superior_replies_blind.yaml", "blind2": DATA / "superior_replies_blind2.yaml"}


def evaluate_concession(classifier, path: Path = CONCESSION_SETS["blind"]) -> dict:
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


# ---- Rehearse: the calibration scripts ----------------------------------------------------------

CALIBRATION = DATA / "rehearse_calibration.yaml"
REHEARSE_BLIND = DATA / "rehearse_blind.yaml"  # written blind after the rubric's changes, scored whole
LABEL_RANK = {"poor": 1, "mixed": 2, "good": 3}


def calibration_halves(path: Path = CALIBRATION) -> dict[str, list[dict]]:
    """Split the scripts in two, fixed before any scoring: in each (scenario, label) pair of scripts
    the first by id tunes the scorer and the second is held out."""
    scripts = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups: dict[tuple, list[dict]] = {}
    for s in scripts:
        groups.setdefault((s["scenario"], s["label"]), []).append(s)
    halves: dict[str, list[dict]] = {"tune": [], "holdout": []}
    for items in groups.values():
        for i, s in enumerate(sorted(items, key=lambda s: s["id"])):
            halves["tune" if i % 2 == 0 else "holdout"].append(s)
    return halves


def rehearse_blind(path: Path = REHEARSE_BLIND) -> list[dict]:
    """The second calibration set, none of it used to tune anything: evaluated whole."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else []


def evaluate_rehearse(rt, scripts: list[dict], with_model: bool = True, progress=None) -> dict:
    """Play each script (the model voices the superior when with_model), score it, compare to its label."""
    import tempfile

    from scipy.stats import spearmanr

    from coach.rehearse import Line, Rehearsal, Rehearsals

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Rehearsals(Path(tmp) / "eval.db", "eval")
        for n, script in enumerate(scripts, 1):
            coach = rt.rehearsal_coach(script["scenario"])
            if with_model:
                r = store.start(coach.scenario, script["difficulty"])
                for turn in script["turns"]:
                    for _ in coach.reply(r, store, turn):
                        pass
            else:
                r = Rehearsal(0, "eval", script["scenario"], script["difficulty"],
                              [Line("user", t) for t in script["turns"]])
            card = coach.score(r)
            replaced = sum(1 for l in r.lines if l.role == "superior" and "replaced" in l.checked)
            regenerated = sum(1 for l in r.lines if l.role == "superior" and l.checked)
            rows.append({"id": script["id"], "scenario": script["scenario"], "difficulty": script["difficulty"],
                         "label": script["label"], "overall": card["overall"], "outcome": card["outcome"],
                         "scores": {k.removeprefix("strategy-"): s["score"] for k, s in card["strategies"].items()},
                         "met": sum(c["addressed"] for c in card["concerns"]), "concerns": len(card["concerns"]),
                         "concession_checks": regenerated, "replaced": replaced})
            if progress:
                progress(n, len(scripts), rows[-1])
    ranks = [LABEL_RANK[r["label"]] for r in rows]
    rho = float(spearmanr([r["overall"] for r in rows], ranks).statistic) if len(rows) > 2 else float("nan")
    means = {label: round(sum(r["overall"] for r in rows if r["label"] == label)
                          / max(1, sum(r["label"] == label for r in rows)), 2) for label in LABEL_RANK}
    outcomes = Counter(f"{r['label']}/{r['outcome']}" for r in rows)
    poor_bad = [r["id"] for r in rows if r["label"] == "poor" and (
        r["overall"] > 2.0 or (r["outcome"] == "agreed" and r["difficulty"] in ("sceptical", "defensive")))]
    good_bad = [r["id"] for r in rows if r["label"] == "good" and r["overall"] < 3.5]
    return {"scripts": len(rows), "spearman": rho, "means": means, "outcomes": dict(sorted(outcomes.items())),
            "poor_failing": poor_bad, "good_failing": good_bad, "rows": rows}


def print_rehearse(f: dict, name: str) -> None:
    print(f"Rehearse calibration, {name}: {f['scripts']} scripts")
    print(f"  Spearman (overall score vs label): {f['spearman']:.2f}")
    print("  mean overall score by label: " + ", ".join(f"{k} {v}" for k, v in f["means"].items()))
    print("  outcomes (label/outcome): " + ", ".join(f"{k} {v}" for k, v in f["outcomes"].items()))
    print(f"  poor scripts above 2.0 or agreed by a sceptical/defensive superior: {f['poor_failing'] or 'none'}")
    print(f"  good scripts below 3.5: {f['good_failing'] or 'none'}")
    checks = sum(r["concession_checks"] for r in f["rows"])
    replaced = sum(r["replaced"] for r in f["rows"])
    print(f"  superior lines caught conceding too early: {checks} (replaced by a pushback line: {replaced})")


TRACKER_BLIND = DATA / "tracker_blind.yaml"
# Each written blind by a helper from the scenarios' situations and concerns only (never addressed_by).
TRACKER_SETS = {"blind": TRACKER_BLIND, "blind2": DATA / "tracker_blind2.yaml"}


def evaluate_tracker(detector, scenarios: dict, path: Path = TRACKER_BLIND) -> dict:
    """Which concerns one turn settles, against turns labelled blind: each turn is the first of a
    rehearsal with a cooperative superior (no bar for specifics), and every (turn, concern) pair counts."""
    from coach.tracker import ConcernTracker

    turns = yaml.safe_load(path.read_text(encoding="utf-8"))["turns"]
    missing = sorted({t["scenario"] for t in turns} - set(scenarios))
    if missing:
        from coach.errors import InputError

        raise InputError(f"The tracker's blind turns need scenarios that are not loaded: {', '.join(missing)}.",
                         "Run it with the shipped scenarios (unset COACH_SCENARIOS_DIR).")
    pairs, exact, wrong = Counts(), 0, []
    for t in turns:
        tracker = ConcernTracker(detector, scenarios[t["scenario"]])
        state = tracker.replay("cooperative", [t["text"]])
        met = {i for i, c in enumerate(state.concerns) if c.met}
        for i in range(len(state.concerns)):
            pairs.add(i in met, i in t["settles"])
        exact += met == set(t["settles"])
        if met != set(t["settles"]):
            wrong.append(t["id"])
    return {"turns": len(turns), "pairs": pairs.tp + pairs.fp + pairs.fn + pairs.tn, "precision": pairs.precision,
            "recall": pairs.recall, "f1": pairs.f1, "false_positives": pairs.fp, "missed": pairs.fn,
            "turns_exactly_right": exact / max(len(turns), 1), "wrong": wrong}


def print_tracker(f: dict) -> None:
    print(f"Concern tracker on {f['turns']} blind turns ({f['pairs']} turn-concern pairs): precision "
          f"{f['precision']:.2f}, recall {f['recall']:.2f}, F1 {f['f1']:.2f}; {f['false_positives']} concerns "
          f"taken as settled wrongly, {f['missed']} missed; turns exactly right {f['turns_exactly_right']:.2f}")
