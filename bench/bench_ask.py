"""Benchmark Ask mode on this machine and print the figures.

    .venv/bin/python bench/bench_ask.py            # the default model (Qwen2.5-Coder-1.5B Q4_K_M)
    COACH_MODEL=path/to/model.gguf .venv/bin/python bench/bench_ask.py

Prints: time to first token (cold, then warm on a second question in the same chat), generation
speed through the app against the same server called directly with the openai client, retrieval
latency p50/p95, peak memory, and the same two questions through a plain LangChain RAG chain that
puts the retrieved context in the system prompt (the common tutorial shape), on the same model.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder  # noqa: E402

from coach.ask import Turn  # noqa: E402
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


def timed_stream(pieces) -> tuple[float, float, int, str]:
    """Return (seconds to first token, tokens per second after it, token count, text)."""
    start = time.perf_counter()
    first = None
    count = 0
    text = ""
    for piece in pieces:
        if not piece:
            continue
        if first is None:
            first = time.perf_counter()
        count += 1
        text += piece
    end = time.perf_counter()
    rate = (count - 1) / (end - first) if count > 1 else 0.0
    return (first or end) - start, rate, count, text


def main() -> None:
    settings = Settings(COACH_DATA_DIR=Path(tempfile.mkdtemp(prefix="upward-bench-")))  # model cache is shared
    results: dict[str, object] = {"model": settings.model or "default (Qwen2.5-Coder-1.5B Q4_K_M)"}
    with Runtime(settings) as rt:
        started = time.perf_counter()
        rt.start_model(background=False)
        results["model_load_s"] = round(time.perf_counter() - started, 2)
        chain = rt.ask_chain()

        # Retrieval latency, query embedding included.
        for q in RETRIEVAL_QUERIES:
            rt.index.search(q, k=4)
        samples = []
        for _ in range(10):
            for q in RETRIEVAL_QUERIES:
                t = time.perf_counter()
                rt.index.search(q, k=4)
                samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        results["retrieval_p50_ms"] = round(statistics.median(samples), 2)
        results["retrieval_p95_ms"] = round(samples[int(len(samples) * 0.95) - 1], 2)

        # Upward: cold first question (prefix not cached), then a warm follow-up.
        history: list[Turn] = []
        for label, question in zip(("cold", "warm"), QUESTIONS):
            hits: list[Hit] = []

            def tokens():
                for piece in chain.stream(question, history):
                    if isinstance(piece, Hit):
                        hits.append(piece)
                    else:
                        yield piece

            ttft, rate, count, text = timed_stream(tokens())
            results[f"upward_ttft_{label}_s"] = round(ttft, 2)
            results[f"upward_tokens_per_s_{label}"] = round(rate, 2)
            history.append(Turn(question, chain.user_message(question, hits), text, hits))
            print(f"\n--- Upward, {label}: {question}\n{text}", file=sys.stderr)

        # The same server called directly: no LangChain, no app, same messages as the warm turn.
        import openai

        client = openai.OpenAI(base_url=rt.server.base_url, api_key="local")
        messages = chain.messages(QUESTIONS[1], history[1].sources, history[:1])
        payload = [{"role": {"system": "system", "human": "user", "ai": "assistant"}[m.type], "content": m.content} for m in messages]

        def direct():
            stream = client.chat.completions.create(
                model="local", messages=payload, stream=True,
                max_tokens=settings.answer_tokens, temperature=settings.temperature,
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        ttft, rate, count, _ = timed_stream(direct())
        results["direct_ttft_s"] = round(ttft, 2)
        results["direct_tokens_per_s"] = round(rate, 2)
        app_rate = results["upward_tokens_per_s_warm"]
        results["app_overhead_pct"] = round(100 * (1 - app_rate / rate), 1) if rate else None

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
            ttft, rate, count, text = timed_stream(
                baseline.stream({"context": context, "history": base_history, "question": question})
            )
            results[f"baseline_ttft_{label}_s"] = round(ttft, 2)
            base_history += [("human", question), ("ai", text)]

    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"ask-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
