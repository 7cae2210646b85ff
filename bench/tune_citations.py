"""Choose the citation checker's relevance weight and cite_top on answers to the older, non-blind question set.

    .venv/bin/python bench/tune_citations.py [--write]

Asks each question of tests/data/retrieval_questions.yaml (27 questions, one topic each; it is not
an evaluation set) with the default model, keeps every line the model cited, and replays the
checker over those lines with each weight, then each cite_top (how many first-ranked sources of
an origin are citable): the precision (the cited card is the question's topic) and the share of
lines that keep a citation. The weight is the one with the best precision with every source
citable; cite_top the one with the best precision among those that keep a citation on at least
MIN_KEPT of the cited lines (a rule that cites nothing is not precise, it is silent). The answers are cached in bench/results/, so the replay can be rerun without the
model. --write stores both in coach/data/citations.json; `coach eval ask` then measures them on
the blind questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.citations import THRESHOLD_FILE, CitationChecker  # noqa: E402
from coach.store import Hit  # noqa: E402

CACHE = ROOT / "bench" / "results" / "citation-dev-answers.json"
WEIGHTS = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0]
CITE_TOPS = [None, 3, 2, 1]
MIN_KEPT = 0.6


def collect() -> list[dict]:
    from coach.runtime import Runtime

    if CACHE.is_file():
        return json.loads(CACHE.read_text())
    rt = Runtime()
    rt.warm_up()
    answers = []
    for n, q in enumerate(yaml.safe_load((ROOT / "tests" / "data" / "retrieval_questions.yaml").read_text()), 1):
        chain = rt.ask_chain(None)
        turn = chain.ask(q["q"])
        answers.append({"question": q["q"], "topic": q["topic"], "raw": chain.raw_answer,
                        "sources": [h.as_dict() for h in turn.sources]})
        print(f"  {n} answered", file=sys.stderr, flush=True)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps(answers, indent=1))
    return answers


def replay(answers: list[dict], weight: float, embeddings, cite_top: int | None = None) -> tuple[int, int, int]:
    """(lines citing the question's topic, lines keeping a citation, lines the model cited)."""
    good = kept = cited = 0
    for a in answers:
        sources = [Hit(**{k: h[k] for k in ("origin", "kind", "topic", "title", "source", "score", "text")})
                   for h in a["sources"]]
        checker = CitationChecker(embeddings, sources, relevance_weight=weight, cite_top=cite_top)
        for line in a["raw"].splitlines():
            if "[" not in line:
                continue
            checker.check(line)
            check = checker.lines[-1]
            if not check.cited:
                continue
            cited += 1
            if check.kept:
                kept += 1
                good += sources[check.kept - 1].topic == a["topic"]
    return good, kept, cited


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="store the best weight in coach/data/citations.json")
    args = parser.parse_args()
    from coach.embeddings import MiniLMEmbeddings

    answers = collect()
    embeddings = MiniLMEmbeddings()
    rows = []
    print(f"{'weight':>6}  {'precision':>9}  {'kept cited':>10}")
    for w in WEIGHTS:
        good, kept, cited = replay(answers, w, embeddings)
        rows.append((good / max(kept, 1), -w, w, kept / max(cited, 1)))
        print(f"{w:>6}  {good / max(kept, 1):>9.3f}  {kept:>4} of {cited:<4}")
    precision, _, best, share = max(rows)
    print(f"best weight {best}: precision {precision:.3f}, {share:.0%} of cited lines keep a citation")
    print(f"\n{'cite_top':>8}  {'precision':>9}  {'kept cited':>10}   (weight {best})")
    rows = []
    for top in CITE_TOPS:
        good, kept, cited = replay(answers, best, embeddings, top)
        print(f"{str(top or 'all'):>8}  {good / max(kept, 1):>9.3f}  {kept:>4} of {cited:<4}")
        if kept >= MIN_KEPT * cited:
            rows.append((good / max(kept, 1), top or 99, kept / max(cited, 1)))
    if not rows:
        sys.exit("No cite_top keeps a citation on enough lines; nothing chosen.")
    t_precision, top, t_share = max(rows)  # ties: the larger cite_top, which cites more
    top = None if top == 99 else top
    print(f"best cite_top {top or 'all'}: precision {t_precision:.3f}, {t_share:.0%} of cited lines keep a citation")
    if args.write:
        data = json.loads(THRESHOLD_FILE.read_text())
        data.update(relevance_weight=best, relevance_weight_dev_precision=round(precision, 3),
                    relevance_weight_dev_lines=sum(1 for a in answers for line in a["raw"].splitlines() if "[" in line),
                    cite_top=top, cite_top_dev_precision=round(t_precision, 3), cite_top_dev_kept=round(t_share, 3))
        THRESHOLD_FILE.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
