"""Health checks for `coach doctor`: each says what is wrong and how to fix it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from coach.errors import CoachError
from coach.runtime import Runtime


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def _attempt(name: str, action) -> Check:
    started = time.perf_counter()
    try:
        detail = action()
    except CoachError as exc:
        return Check(name, False, exc.message, exc.hint)
    except Exception as exc:  # a check must report, never crash
        return Check(name, False, f"{exc.__class__.__name__}: {exc}", "Run `make install` again.")
    return Check(name, True, f"{detail} ({time.perf_counter() - started:.1f} s)")


def run_checks(rt: Runtime) -> Iterator[Check]:
    """Check cards, embeddings, store and the chat model, in that order."""
    s = rt.settings

    def cards() -> str:
        from coach.knowledge import load_cards

        found, problems = load_cards(s.knowledge_dir)
        if problems:
            raise CoachError(
                f"{len(problems)} card(s) skipped: " + "; ".join(map(str, problems)),
                "Fix their front matter (topic, kind, title).",
            )
        return f"{len(found)} cards in {s.knowledge_dir}"

    yield _attempt("knowledge", cards)
    yield _attempt("embeddings", lambda: f"{len(rt.embeddings.embed_query('check'))} dimensions")
    where = f"server {s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir)
    yield _attempt("store", lambda: f"{rt.index.count()} passages at {where}")

    def judgments() -> str:
        rt.detector.judge(["Whatever you decide is fine."])
        rt.router.route("How do I ask my boss for feedback?")
        rt.concession.concedes("OK, let's do it.")
        rt.scope.covers("How do I ask my boss for feedback?")
        return "detector, router, concession and scope classifiers loaded"

    yield _attempt("judgments", judgments)

    def scenarios() -> str:
        found, problems = rt.scenarios()
        if problems:
            raise CoachError(f"{len(problems)} scenario(s) skipped: " + "; ".join(problems),
                             "Fix the file: title, situation, goal and concerns (README, Rehearse).")
        return f"{len(found)} scenarios in {s.scenarios_dir}"

    yield _attempt("scenarios", scenarios)

    def model() -> str:
        from langchain_core.messages import HumanMessage

        from coach.models import model_errors

        llm = rt.chat_model(max_tokens=4, streaming=False)
        with model_errors(s.base_url or "the local server"):
            llm.invoke([HumanMessage("Reply with OK.")])
        state, detail = rt.model_status()
        return f"{s.backend} backend answers: {detail}"

    yield _attempt("model", model)
