"""Benchmark Ask mode on this machine and print the figures (each measure repeated, median and spread).

    .venv/bin/python bench/bench_ask.py [--runs 5]      # the default model (Qwen2.5-Coder-1.5B Q4_K_M)
    COACH_MODEL=path/to/model.gguf .venv/bin/python bench/bench_ask.py

Prints, each over --runs repetitions (median, then min-max):
- the first answer after start-up, with the shared prompt prefix loaded from disk, in `default` and
  in a brand-new workspace with its own profile (target: within 1.5x a warm answer in `default`);
- the first token of a warm second question in the same chat;
- the app's overhead against the same server called directly with the openai client: the same
  messages, temperature 0, alternating app and direct, as paired runs (target: under 5%);
- a plain LangChain RAG chain that puts the retrieved passages in the system prompt (the tutorial
  shape), on the same model: the first token of its second question;
- retrieval latency p50/p95, and peak memory.
Citation precision and the echo rate are measured by `coach eval ask` (they need the labelled set).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import HumanMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder  # noqa: E402

from coach.ask import Turn  # noqa: E402
from coach.profile import SuperiorProfile  # noqa: E402
from coach.runtime import Runtime  # noqa: E402
from coach.settings import Settings  # noqa: E402
from coach.store import Hit  # noqa: E402

QUESTIONS = [
    "I made a mistake in the quarterly report and my boss hasn't noticed yet. What should I do?",
    "And how should I keep her updated while I fix it?",
]
RETRIEVAL_QUERIES = [
    "How do I disagree with my manager's decision?", "my boss never replies to my emails",
    "how to ask for a promotion", "I am scared of my boss", "what does my boss expect from me",
    "how often should we have one-on-ones", "my boss changes priorities every week",
    "should I just do what I'm told", "give feedback to my manager", "example of managing up",
]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}, n={len(values)})"


def first_token(pieces) -> tuple[float, float, str]:
    """(seconds to the first text, seconds to the end, text) of a stream of Hits and strings."""
    start = time.perf_counter()
    first, text = None, ""
    for piece in pieces:
        if isinstance(piece, Hit) or not piece:
            continue
        if first is None:
            first = time.perf_counter() - start
        text += piece
    end = time.perf_counter() - start
    return (first if first is not None else end), end, text


def evict(rt: Runtime) -> None:
    """Fill the server's cache with another prompt, as a rehearsal or a review would."""
    rt.chat_model(max_tokens=1, streaming=False).invoke([HumanMessage("Say OK. " * 200)])
    rt.used_by("other")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-bench-")))  # model cache is shared
    results: dict[str, object] = {"model": settings.model or "default (Qwen2.5-Coder-1.5B Q4_K_M)", "runs": args.runs}
    figures: dict[str, list[float]] = {k: [] for k in (
        "first_answer_default_s", "first_answer_new_workspace_s", "warm_first_token_s",
        "app_s", "direct_s", "overhead_pct", "baseline_second_first_token_s")}
    with Runtime(settings) as rt:
        started = time.perf_counter()
        rt.start_model(background=False)
        results["model_load_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        results["warm_up"] = rt.warm_up()
        results["warm_up_s"] = round(time.perf_counter() - started, 2)

        samples = []
        for q in RETRIEVAL_QUERIES:
            rt.index.search(q, k=4)
        for _ in range(10):
            for q in RETRIEVAL_QUERIES:
                t = time.perf_counter()
                rt.index.search(q, k=4)
                samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        results["retrieval_ms"] = f"p50 {statistics.median(samples):.1f}, p95 {samples[int(len(samples) * 0.95) - 1]:.1f}"

        for run in range(args.runs):
            # The first answer after another mode used the server: the saved prefix is loaded back.
            evict(rt)
            _, total, _ = first_token(rt.ask_chain().stream(QUESTIONS[0]))
            figures["first_answer_default_s"].append(total)
            name = f"new-{run}"
            rt.workspace(name).profile.save(SuperiorProfile(name=f"Sam {run}", role="Director of Operations",
                                                            update_detail="short bullets and a clear ask"))
            evict(rt)
            _, total, _ = first_token(rt.ask_chain(name).stream(QUESTIONS[0]))
            figures["first_answer_new_workspace_s"].append(total)

            # A warm follow-up in the same chat.
            chain = rt.ask_chain()
            hits: list[Hit] = []
            text = ""
            for piece in chain.stream(QUESTIONS[0]):
                if isinstance(piece, Hit):
                    hits.append(piece)
                else:
                    text += piece
            history = [Turn(QUESTIONS[0], chain.user_message(QUESTIONS[0], hits), text, hits)]
            ttft, _, _ = first_token(chain.stream(QUESTIONS[1], history))
            figures["warm_first_token_s"].append(ttft)

            # Paired: the same messages through the app's chain and straight to the server.
            import openai

            client = openai.OpenAI(base_url=rt.server.base_url, api_key="local")
            messages = chain.messages(QUESTIONS[1], hits, history)
            payload = [{"role": {"system": "system", "human": "user", "ai": "assistant"}[m.type], "content": m.content}
                       for m in messages]
            app_model = rt.chat_model(temperature=0, max_tokens=200)
            t = time.perf_counter()
            app_text = "".join(str(c.content) for c in app_model.stream(messages))
            app_s = time.perf_counter() - t
            t = time.perf_counter()
            stream = client.chat.completions.create(model="local", messages=payload, stream=True, max_tokens=200,
                                                    temperature=0)
            direct_text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            direct_s = time.perf_counter() - t
            figures["app_s"].append(app_s)
            figures["direct_s"].append(direct_s)
            if app_text == direct_text:  # the same tokens, so the times compare like for like
                figures["overhead_pct"].append(100 * (app_s - direct_s) / direct_s)

            # Baseline: the tutorial shape, retrieved context in the system prompt.
            retriever = rt.index.vectors.as_retriever(search_kwargs={"k": settings.top_k})
            prompt = ChatPromptTemplate.from_messages([
                ("system", "You are a helpful coach. Use the following context to answer the "
                           "question. Cite sources.\n\nContext:\n{context}"),
                MessagesPlaceholder("history"),
                ("human", "{question}"),
            ])
            baseline = prompt | rt.chat_model() | StrOutputParser()
            base_history = []
            for label, question in zip(("first", "second"), QUESTIONS):
                context = "\n\n".join(d.page_content for d in retriever.invoke(question))
                ttft, _, answer = first_token(baseline.stream({"context": context, "history": base_history,
                                                               "question": question}))
                if label == "second":
                    figures["baseline_second_first_token_s"].append(ttft)
                base_history += [("human", question), ("ai", answer)]
            rt.used_by("baseline")
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    for key, values in figures.items():
        results[key] = spread(values) if values else "n/a"
    warm = statistics.median(figures["first_answer_default_s"])
    results["new_workspace_vs_default"] = round(statistics.median(figures["first_answer_new_workspace_s"]) / warm, 2)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"ask-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps({"results": results, "raw": figures},
                                                                                indent=2))


if __name__ == "__main__":
    main()
