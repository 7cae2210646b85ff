"""`coach eval retrieval|scope|ask`: Ask's judgments measured on the blind questions (tests/data/).

Like coach/evaluate.py: each evaluation returns its figures as a dict; nothing here trains or
chooses a threshold.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from pathlib import Path

import yaml

from coach.evaluate import DATA, Counts

ASK_BLIND = DATA / "ask_blind.yaml"
ASK_BLIND2 = DATA / "ask_blind2.yaml"
ASK_BLIND3 = DATA / "ask_blind3.yaml"
RETRIEVAL_OLD = DATA / "retrieval_questions.yaml"
ASK_SETS = {"blind": ASK_BLIND, "blind2": ASK_BLIND2, "blind3": ASK_BLIND3}


def ask_set(name: str) -> Path:
    """The labelled question file for `--set NAME` (blind: the first set; blind2, blind3: the later ones)."""
    from coach.errors import InputError

    if name not in ASK_SETS:
        raise InputError(f"Ask has no question set {name!r}.", "Use --set blind, blind2 or blind3.")
    return ASK_SETS[name]


def ask_chats(path: Path) -> list[list[str]]:
    """The set's five-question chats for the echo measure (a set may have none)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data.get("chats", []) if isinstance(data, dict) else []


def ask_questions(path: Path = ASK_BLIND) -> list[dict]:
    """The labelled questions: `question`, acceptable `topics`, `specifics`, `covered`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return data["questions"]
    return [{"id": f"old-{n}", "question": q["q"], "topics": [q["topic"]], "specifics": [], "covered": True}
            for n, q in enumerate(data, 1)]


def evaluate_retrieval(chain, questions: list[dict], k: int = 3) -> dict:
    """hit@k: an acceptable card among the top k playbook cards the Ask chain retrieves; and hit@1, the
    first card acceptable (the only card a line may cite, coach/citations.py)."""
    covered = [q for q in questions if q["covered"]]
    hits, first, missed, first_wrong = 0, 0, [], []
    for q in covered:
        got = [h.topic for h in chain.retrieve(q["question"]) if h.origin == "playbook"][:k]
        if set(got) & set(q["topics"]):
            hits += 1
        else:
            missed.append(q["id"])
        if got and got[0] in q["topics"]:
            first += 1
        else:
            first_wrong.append(q["id"])
    n = max(len(covered), 1)
    return {"questions": len(covered), f"hit@{k}": hits / n, "hit@1": first / n, "missed": missed,
            "first_wrong": first_wrong}


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
