"""`coach eval ...`: the judgments measured on labelled sets that were written blind (tests/data/).

Each evaluation prints its figures and returns them as a dict, so tests can assert on the same
numbers a person sees. Nothing here is used for training or for choosing thresholds.
"""

from __future__ import annotations

import re
import statistics
import time
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


# ---- Rehearse: the calibration scripts ----------------------------------------------------------

CALIBRATION = DATA / "rehearse_calibration.yaml"
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


# ---- Ask ----------------------------------------------------------------------------------------

ASK_BLIND = DATA / "ask_blind.yaml"
RETRIEVAL_OLD = DATA / "retrieval_questions.yaml"


def ask_questions(path: Path = ASK_BLIND) -> list[dict]:
    """The labelled questions: `question`, acceptable `topics`, `specifics`, `covered`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return data["questions"]
    return [{"id": f"old-{n}", "question": q["q"], "topics": [q["topic"]], "specifics": [], "covered": True}
            for n, q in enumerate(data, 1)]


def evaluate_retrieval(chain, questions: list[dict], k: int = 3) -> dict:
    """hit@k: an acceptable card among the top k playbook cards the Ask chain retrieves."""
    covered = [q for q in questions if q["covered"]]
    hits, missed = 0, []
    for q in covered:
        got = [h.topic for h in chain.retrieve(q["question"]) if h.origin == "playbook"][:k]
        if set(got) & set(q["topics"]):
            hits += 1
        else:
            missed.append(q["id"])
    return {"questions": len(covered), f"hit@{k}": hits / max(len(covered), 1), "missed": missed}


_CITE = re.compile(r"\[(\d{1,2})\]")
_UNCOVERED = re.compile(r"playbook (?:doesn't|does not) cover", re.IGNORECASE)


def citation_counts(answer: str, sources: list, topics: list[str]) -> tuple[int, int]:
    """(citations that point at an acceptable card, citations) in one answer."""
    good = total = 0
    for n in _CITE.findall(answer):
        i = int(n) - 1
        total += 1
        good += 0 <= i < len(sources) and sources[i].topic in topics
    return good, total


def mentions(answer: str, specifics: list[str]) -> float:
    """The share of the question's specifics (names, events, constraints) the answer picks up."""
    if not specifics:
        return 1.0
    text = answer.lower()
    found = 0
    for s in specifics:
        words = [w for w in re.findall(r"[a-z0-9']+", s.lower()) if len(w) > 2] or [s.lower()]
        found += sum(w in text for w in words) / len(words) >= 0.5
    return found / len(specifics)


def evaluate_answers(rt, questions: list[dict], workspace: str | None = None, progress=None) -> dict:
    """Ask each question in a fresh chat; measure citation precision, specifics, and the uncovered ones."""
    good = total = raw_good = raw_total = 0
    fits, with_specifics, uncovered_said, uncovered = 0, 0, 0, 0
    seconds = []
    shape = Counter()
    records = []  # each answer as written and as shown, with its sources: a checker change can be replayed
    for n, q in enumerate(questions, 1):
        chain = rt.ask_chain(workspace)
        started = time.perf_counter()
        turn = chain.ask(q["question"])
        seconds.append(time.perf_counter() - started)
        records.append({"id": q["id"], "question": q["question"], "raw": getattr(chain, "raw_answer", turn.answer),
                        "shown": turn.answer, "sources": [vars(h).copy() for h in turn.sources]})
        shape.update(cut_off=bool(chain.guard.dropped), retried=chain.retried,
                     no_answer=chain.guard.stop and not chain.guard.steps,
                     with_say="You could say:" in turn.answer)
        if q["covered"]:
            g, t = citation_counts(turn.answer, turn.sources, q["topics"])
            good, total = good + g, total + t
            raw = getattr(chain, "raw_answer", turn.answer)
            g, t = citation_counts(raw, turn.sources, q["topics"])
            raw_good, raw_total = raw_good + g, raw_total + t
            if q["specifics"]:
                with_specifics += 1
                fits += mentions(turn.answer, q["specifics"]) >= 0.5
        else:
            uncovered += 1
            uncovered_said += bool(_UNCOVERED.search(turn.answer))
        if progress:
            progress(n, len(questions))
    return {"questions": len(questions), "citation_precision": good / max(total, 1), "citations": total,
            "raw_citation_precision": raw_good / max(raw_total, 1), "raw_citations": raw_total,
            "fit_specifics": fits / max(with_specifics, 1), "with_specifics": with_specifics,
            "uncovered_said": uncovered_said, "uncovered": uncovered,
            "lines_dropped_in": shape["cut_off"], "written_twice": shape["retried"],
            "no_good_answer": shape["no_answer"], "with_a_line_to_say": shape["with_say"],
            "seconds_median": statistics.median(seconds) if seconds else 0.0, "records": records}


def replay_citations(embeddings, records: list[dict], questions: list[dict]) -> dict:
    """Citation precision of saved answers (`coach eval ask --save`) re-checked by the current checker.

    Each shown line that carried a citation, or lost one (general advice), is checked again as the
    model's cited line; no model runs, so a change to the checker is measured on the same answers.
    """
    from coach.citations import GENERAL, CitationChecker
    from coach.store import Hit

    by_id = {q["id"]: q for q in questions}
    good = total = answered = 0
    for r in records:
        q = by_id.get(r["id"])
        if q is None or not q["covered"]:
            continue
        answered += 1
        sources = [Hit(**h) for h in r["sources"]]
        checker = CitationChecker(embeddings, sources)
        shown = []
        for line in r["shown"].splitlines():
            body = _CITE.sub("", line.replace(GENERAL, "")).rstrip()
            shown.append(checker.check(f"{body} [1]") if body != line.rstrip() else line)
        g, t = citation_counts("\n".join(shown), sources, q["topics"])
        good, total = good + g, total + t
    return {"answers": answered, "citation_precision": good / max(total, 1), "citations": total}


def echo_rate(answers: list[str]) -> tuple[int, int]:
    """(lines of answers 2.. repeated exactly or nearly from an earlier answer, lines of answers 2..)."""
    from coach.shape import comparable, repeats

    repeated = total = 0
    earlier: list[str] = []
    for i, answer in enumerate(answers):
        lines = comparable(answer)
        if i:
            total += len(lines)
            repeated += sum(repeats(line, earlier) for line in lines)
        earlier += lines
    return repeated, total


def evaluate_echo(rt, chats: list[list[str]], workspace: str | None = None, progress=None) -> dict:
    """Play each scripted chat in order, with its history; the share of answer lines echoed, as shown
    (the shape guard drops echoes, so this holds by construction) and as the model wrote them."""
    repeated = total = raw_repeated = raw_total = 0
    for n, chat in enumerate(chats, 1):
        history, answers, raw = [], [], []
        for question in chat:
            chain = rt.ask_chain(workspace)
            turn = chain.ask(question, history)
            history.append(turn)
            answers.append(turn.answer)
            raw.append(getattr(chain, "raw_answer", turn.answer))
        r, t = echo_rate(answers)
        repeated, total = repeated + r, total + t
        r, t = echo_rate(raw)
        raw_repeated, raw_total = raw_repeated + r, raw_total + t
        if progress:
            progress(n, len(chats))
    return {"chats": len(chats), "echoed_lines": repeated, "lines": total, "echo_rate": repeated / max(total, 1),
            "raw_echoed_lines": raw_repeated, "raw_lines": raw_total,
            "raw_echo_rate": raw_repeated / max(raw_total, 1)}


def evaluate_scope(scope, questions: list[dict]) -> dict:
    """Covered or not, as the scope classifier decides, against the blind labels."""
    c = Counts()
    wrong = []
    for q in questions:
        said = scope.covers(q["question"])
        c.add(not said, not q["covered"])  # the positive class: "the playbook does not cover this"
        if said != q["covered"]:
            wrong.append(q["id"])
    return {"questions": len(questions), "uncovered_found": c.tp, "uncovered": c.tp + c.fn,
            "covered_called_uncovered": c.fp, "wrong": wrong}
