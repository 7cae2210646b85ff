"""Benchmark Review's checked rewrite with the configured model (the default one unless COACH_MODEL is set).

    .venv/bin/python bench/bench_review.py [--set blind|labelled|heldout] [--approach gaps|free] [--skip N] [--limit N]

For every draft of the set that falls into a myth: the instant analysis, then the rewrite and its
check. Prints the share of rewrites that passed the check (first or second attempt), the share of
the originals' facts (numbers, dates, names) the passing rewrites kept, the time to the first
rewritten text after the analysis, and the time per review (analysis and rewrite).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from coach.evaluate import REVIEW_SETS  # noqa: E402
from coach.runtime import Runtime  # noqa: E402
from coach.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="blind", choices=list(REVIEW_SETS))
    parser.add_argument("--approach", default="gaps", choices=["gaps", "free"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N myth drafts")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N myth drafts (used before)")
    args = parser.parse_args()
    drafts = [d for d in yaml.safe_load(REVIEW_SETS[args.set].read_text()) if d.get("myths")]
    drafts = drafts[args.skip:]
    if args.limit:
        drafts = drafts[: args.limit]
    settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-bench-")))
    rows = []
    with Runtime(settings) as rt:
        rt.start_model(background=False)
        rewriter = rt.rewriter(approach=args.approach)
        for n, d in enumerate(drafts, 1):
            started = time.perf_counter()
            analysis = rt.analyze(d["text"])
            analysed = time.perf_counter()
            review = rewriter.review(analysis)
            done = time.perf_counter()
            check = review.check
            rows.append({
                "id": d["id"], "flagged": bool(analysis.myths), "passed": review.rewrite is not None,
                "attempts": review.attempts, "facts": check.facts_total if check else 0,
                "kept": check.facts_kept if check else 0, "analysis_s": analysed - started,
                "first_s": review.first_token_seconds, "total_s": done - started,
                "problems": check.problems if check and not check.passed else [],
                "cuts": rewriter.cuts, "rewrite": review.rewrite,
            })
            print(f"\r{n}/{len(drafts)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    attempted = [r for r in rows if r["attempts"]]
    passed = [r for r in attempted if r["passed"]]
    facts = sum(r["facts"] for r in passed)
    firsts = [r["first_s"] for r in attempted if r["first_s"] is not None]
    summary = {
        "set": args.set, "skip": args.skip, "approach": args.approach, "myth_drafts": len(rows),
        "rewritten": len(attempted), "passed": len(passed),
        "pass_rate": round(len(passed) / max(len(attempted), 1), 3),
        "passed_first_time": sum(r["attempts"] == 1 for r in passed),
        "passed_with_a_sentence_cut": sum(r["cuts"] > 0 for r in passed),
        "facts_kept": round(sum(r["kept"] for r in passed) / max(facts, 1), 3),
        "first_rewrite_text_s_p50": round(statistics.median(firsts), 2) if firsts else None,
        "review_s_p50": round(statistics.median(r["total_s"] for r in rows), 1),
        "review_s_max": round(max(r["total_s"] for r in rows), 1),
    }
    print(json.dumps(summary, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"review-{args.set}-{args.approach}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps({"summary": summary, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
