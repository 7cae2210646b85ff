"""What serving people side by side costs each of them: the embedded server with 1 slot against N.

    .venv/bin/python bench/bench_parallel.py [--parallel 1 4] [--people 1 4] [--tokens 96] [--tiny]

For each number of slots, starts the embedded llama.cpp server as the app does (COACH_PARALLEL; each
slot has the whole context window), then, for each number of people, sends that many chat requests
at once, each with a prompt of its own (about 350 tokens: no prefix shared between them) and a cap of
--tokens answer tokens, streamed. Prints per setting: time to first token p50 and worst, each
person's own generation speed (tokens/s from their first token to their last), the time until the
last person is done, and the server's memory. One round per setting: single runs on a shared 2-core
machine vary, so compare settings within one invocation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPICS = ["a missed deadline", "a budget request", "a promotion", "a reorganisation", "a new manager",
          "a project at risk", "a hiring freeze", "a conflict in the team"]
CONTEXT = ("I work as a senior analyst in a team of nine. My manager, Dana, runs three teams and is in "
           "meetings most of the day. She prefers short written updates with the numbers first, and she "
           "dislikes surprises in front of her own director. We meet every two weeks for thirty minutes. ") * 3


def prompt(i: int) -> list[dict]:
    topic = TOPICS[i % len(TOPICS)]
    return [{"role": "system", "content": "You are a concise coach for managing upwards."},
            {"role": "user", "content": f"Person {i}. {CONTEXT}How should I raise {topic} with her? Give three steps."}]


def one(client, model: str, i: int, tokens: int, out: list) -> None:
    started = time.perf_counter()
    first = last = None
    n = 0
    stream = client.chat.completions.create(model=model, messages=prompt(i), max_tokens=tokens, temperature=0,
                                            stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            first = first or now
            last, n = now, n + 1
    out.append({"first": (first or time.perf_counter()) - started, "end": (last or time.perf_counter()) - started,
                "speed": (n - 1) / (last - first) if first and last and last > first else 0.0})


def server_rss_mb(server) -> int:
    import psutil

    proc = server._proc  # noqa: SLF001 - the bench reads the child's memory
    try:
        return psutil.Process(proc.pid).memory_info().rss >> 20 if proc else 0
    except psutil.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--people", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--tiny", action="store_true", help="the tests' SmolLM2-135M instead of the default model")
    args = parser.parse_args()

    from openai import OpenAI

    from coach.local_server import LocalServer
    from coach.settings import Settings

    extra = {}
    if args.tiny:
        from tests.conftest import tiny_model_path

        extra = {"COACH_MODEL": str(tiny_model_path()), "COACH_CONTEXT_TOKENS": 4096}
    rows = []
    for parallel in args.parallel:
        settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-parallel-")),
                            COACH_PARALLEL=parallel, **extra)
        server = LocalServer(settings)
        loading = time.perf_counter()
        client = OpenAI(base_url=server.start(background=False).wait(), api_key="local", timeout=900)
        loaded = time.perf_counter() - loading
        model = client.models.list().data[0].id
        one(client, model, 99, 8, [])  # the first request pays one-off costs; not counted
        try:
            for people in args.people:
                results: list[dict] = []
                threads = [threading.Thread(target=one, args=(client, model, i, args.tokens, results))
                           for i in range(people)]
                started = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                rows.append({
                    "parallel": parallel, "people": people, "load_s": loaded,
                    "first_p50": statistics.median(r["first"] for r in results),
                    "first_max": max(r["first"] for r in results),
                    "speed_p50": statistics.median(r["speed"] for r in results),
                    "all_done": time.perf_counter() - started,
                    "rss_mb": server_rss_mb(server),
                })
                print(rows[-1], flush=True)
        finally:
            server.close()
    name = "SmolLM2-135M" if args.tiny else "default (Qwen2.5-Coder-1.5B)"
    print(f"\n{name}, {args.tokens} answer tokens, prompts of ~350 tokens with no shared prefix")
    print(f"{'slots':>5}  {'people':>6}  {'first token p50':>15}  {'worst':>6}  {'each person tok/s':>17}  "
          f"{'last done':>9}  {'server memory':>13}")
    for r in rows:
        print(f"{r['parallel']:>5}  {r['people']:>6}  {r['first_p50']:>13.1f} s  {r['first_max']:>4.1f} s  "
              f"{r['speed_p50']:>17.1f}  {r['all_done']:>7.1f} s  {r['rss_mb']:>10} MB")


if __name__ == "__main__":
    main()
