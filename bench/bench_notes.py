"""Benchmark notes: ingestion throughput and retrieval latency at 1k and 10k note passages.

    .venv/bin/python bench/bench_notes.py [--max 10000]

Prints chunks/s for ingestion, a 100-page PDF end to end (read, split, embed, store), and
retrieval p50/p95 (query embedding included) with 1k and 10k passages, on embedded Chroma and on
a `chroma run` server started on 127.0.0.1 for the run.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.embeddings import MiniLMEmbeddings  # noqa: E402
from coach.notes import NoteStore, extract_text  # noqa: E402
from coach.settings import Settings  # noqa: E402
from coach.store import make_client  # noqa: E402
from tests.pdfs import text_pdf  # noqa: E402

WORDS = (
    "boss manager update weekly budget roadmap launch deadline risk customer team hiring promotion "
    "feedback priority meeting slack email quarter goal review process approval decision escalation "
    "project report metric incident design proposal estimate scope vendor contract plan"
).split()
QUERIES = [
    "How does my boss want weekly updates?", "what did we decide about the launch date",
    "budget approval process", "feedback on the design proposal", "risk to the Q3 deadline",
    "hiring plan for the team", "what annoys my manager", "escalation to the vendor",
]


def paragraph(rng: random.Random) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        for _ in range(rng.randint(3, 6))
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def latency(store: NoteStore, rounds: int = 25) -> tuple[float, float]:
    for q in QUERIES:
        store.search(q, k=4)
    samples = []
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            store.search(q, k=4)
            samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def fill(store: NoteStore, target: int, rng: random.Random) -> float:
    """Add notes until the store holds target passages; return chunks per second."""
    start, before = time.perf_counter(), store.count()
    n = len(store.list())
    while store.count() < target:
        text = "\n\n".join(paragraph(rng) for _ in range(40))
        store.add(f"note {n}", text)
        n += 1
    return (store.count() - before) / (time.perf_counter() - start)


def chroma_server(path: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("chroma run did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max", type=int, default=10_000, help="largest passage count (default 10000)")
    args = parser.parse_args()
    rng = random.Random(7)
    embeddings = MiniLMEmbeddings()
    embeddings.embed_query("warm up")
    tmp = Path(tempfile.mkdtemp(prefix="upward-bench-notes-"))
    results: dict[str, object] = {}

    # A 100-page PDF, end to end.
    pdf = text_pdf(["\n".join(paragraph(rng)[i:i + 90] for i in range(0, 2400, 90)) for _ in range(100)])
    settings = Settings(COACH_DATA_DIR=tmp / "embedded")
    store = NoteStore(make_client(settings), embeddings, settings.data_dir / "upward.db", "bench")
    t = time.perf_counter()
    note = store.add("100 pages.pdf", extract_text("100 pages.pdf", pdf))
    results["pdf_100_pages_s"] = round(time.perf_counter() - t, 2)
    results["pdf_100_pages_chunks"] = note.parts
    store.delete_all()

    server_proc, port = chroma_server(tmp / "server")
    try:
        server_settings = Settings(COACH_DATA_DIR=tmp / "client", CHROMA_HOST="127.0.0.1", CHROMA_PORT=port)
        server_store = NoteStore(make_client(server_settings), embeddings, server_settings.data_dir / "upward.db", "bench")
        for size in (1_000, args.max):
            rate = fill(store, size, rng)
            results[f"ingest_chunks_per_s_to_{size}"] = round(rate, 1)
            p50, p95 = latency(store)
            results[f"retrieval_{size}_embedded_p50_ms"] = round(p50, 2)
            results[f"retrieval_{size}_embedded_p95_ms"] = round(p95, 2)
            # Same passages into the server, copied with their vectors (no second embedding).
            got = store.collection.get(include=["embeddings", "documents", "metadatas"])
            have = set(server_store.collection.get(include=[])["ids"])
            todo = [i for i, doc_id in enumerate(got["ids"]) if doc_id not in have]
            for start in range(0, len(todo), 1000):
                idx = todo[start:start + 1000]
                server_store.collection.add(
                    ids=[got["ids"][i] for i in idx], embeddings=[got["embeddings"][i] for i in idx],
                    documents=[got["documents"][i] for i in idx], metadatas=[got["metadatas"][i] for i in idx])
            # The server-side store shares the note rows (SQLite) of the embedded one.
            server_store.db = store.db
            p50, p95 = latency(server_store)
            results[f"retrieval_{size}_server_p50_ms"] = round(p50, 2)
            results[f"retrieval_{size}_server_p95_ms"] = round(p95, 2)
            print(f"... {size} passages done", file=sys.stderr)
    finally:
        server_proc.terminate()
        server_proc.wait(timeout=30)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
