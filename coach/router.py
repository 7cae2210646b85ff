"""The chat's router: is a message a question (ask), a draft to check (review) or a request to practise
(rehearse)? And which scenario fits a request to practise?

No language model: a multinomial logistic regression over the MiniLM embedding, hashed n-grams and
the text's shape (greeting and sign-off, line breaks, bullets, a question mark at the end, role-play
words), trained on `coach/data/router_training.yaml` by `coach train router`. A scenario is the one
whose description (title, situation, goal) is closest in meaning, when it is close enough (threshold
chosen on the training inputs); otherwise None, and the chat builds a scenario from the person's own
words. (Matching the training requests as examples, nearest-neighbour style, did worse there: 0.47
against 0.67.)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from coach.classifier import LinearHeads, ShippedHeads, features, save_heads
from coach.embeddings import MiniLMEmbeddings
from coach.scenarios import Scenario

DATA = Path(__file__).parent / "data"
TRAINING = (DATA / "router_training.yaml", DATA / "router_training_2.yaml")
WEIGHTS = DATA / "router.npz"
SCENARIO_THRESHOLD = DATA / "router.json"
MODES = ("ask", "review", "rehearse")
Mode = Literal["ask", "review", "rehearse"]

_GREETING = re.compile(r"^\s*(?:hi|hey|hello|dear|morning|good (?:morning|afternoon)|hiya)\b[^\n]{0,30}[,!\n]",
                       re.IGNORECASE)
_SIGN_OFF = re.compile(r"(?:^|\n)\s*(?:thanks|thank you|best|cheers|regards|kind regards|many thanks|talk soon|"
                       r"-\s*\w+)[^\n]{0,30}\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
_ROLE_PLAY = re.compile(r"\b(?:pretend|role[- ]?play|roleplay|act as|play (?:my|the|a)|practi[sc]e|rehears\w*|"
                        r"simulat\w*|mock|dry run|be my (?:boss|manager|director|lead))\b", re.IGNORECASE)
_ASKING = re.compile(r"^\s*(?:how|what|why|when|should|can i|could i|is it|do i|would it|any tips|tips)\b",
                     re.IGNORECASE)
_ADVICE = re.compile(r"\b(?:how (?:do|should|can) i|what should i|should i|advice|tips?)\b", re.IGNORECASE)


def shape(text: str) -> np.ndarray:
    """What the text looks like, as numbers the classifier can weigh (all in 0..1)."""
    lines = [l for l in text.strip().splitlines() if l.strip()]
    stripped = text.strip()
    return np.array([
        min(len(lines), 12) / 12,
        min(math.log1p(len(stripped)) / 8, 1.0),
        float(bool(_GREETING.search(stripped))),
        float(bool(_SIGN_OFF.search(stripped))),
        min(len(_BULLET.findall(text)), 6) / 6,
        float(stripped.endswith("?")),
        min(stripped.count("?"), 5) / 5,
        float(bool(_ROLE_PLAY.search(stripped))),
        float(bool(_ASKING.search(stripped))),
        float(bool(_ADVICE.search(stripped))),
        float(bool(re.search(r"[\"“”]|^>", stripped, re.MULTILINE))),
        min(len(re.findall(r"\byou(?:r)?\b", stripped, re.IGNORECASE)), 10) / 10,
    ], dtype=np.float32)


def router_features(embedded: np.ndarray, texts: list[str]) -> np.ndarray:
    return np.hstack([features(embedded, texts, True), np.stack([shape(t) for t in texts])])


@dataclass
class Route:
    """Where a message goes, how sure the router is, and the scenario that fits (rehearse only)."""

    mode: Mode
    confidence: float
    scenario: str | None = None
    scenario_similarity: float = 0.0

    def as_dict(self) -> dict:
        return {"mode": self.mode, "scenario": self.scenario, "confidence": round(self.confidence, 3)}


def scenario_text(sc: Scenario) -> str:
    """What a request to practise is compared with: the scenario's title, situation and goal."""
    return f"{sc.title}. {sc.situation.strip()} {sc.goal.strip()}"


class Router:
    """Route chat messages; the weights load on first use."""

    def __init__(self, embeddings: MiniLMEmbeddings, path: Path = WEIGHTS,
                 threshold_path: Path = SCENARIO_THRESHOLD) -> None:
        self.embeddings = embeddings
        self.path = path
        self.threshold_path = threshold_path
        self.weights = ShippedHeads(path, "the router", "coach train router")
        self._scenario_vectors: dict[str, tuple[str, np.ndarray]] = {}

    @property
    def heads(self) -> LinearHeads:
        return self.weights["mode"]

    @property
    def scenario_threshold(self) -> float:
        try:
            return float(json.loads(self.threshold_path.read_text())["scenario_threshold"])
        except (OSError, ValueError, KeyError):
            return 0.45

    def _scenario_matrix(self, scenarios: dict[str, Scenario]) -> tuple[list[str], np.ndarray]:
        names = sorted(scenarios)
        missing = [n for n in names if self._scenario_vectors.get(n, ("",))[0] != scenario_text(scenarios[n])]
        if missing:
            vectors = self.embeddings.embed([scenario_text(scenarios[n]) for n in missing])
            for n, v in zip(missing, vectors):
                self._scenario_vectors[n] = (scenario_text(scenarios[n]), v)
        return names, np.stack([self._scenario_vectors[n][1] for n in names]) if names else np.zeros((0, 384))

    def match_scenario(self, vector: np.ndarray, scenarios: dict[str, Scenario],
                       threshold: float | None = None) -> tuple[str | None, float]:
        """The closest scenario and its similarity, or None when none is close enough."""
        names, matrix = self._scenario_matrix(scenarios)
        if not names:
            return None, 0.0
        sims = matrix @ vector
        best = int(np.argmax(sims))
        t = self.scenario_threshold if threshold is None else threshold
        return (names[best] if sims[best] >= t else None), float(sims[best])

    def route(self, text: str, scenarios: dict[str, Scenario] | None = None) -> Route:
        """Route one message (under 50 ms once loaded: one embedding and a matrix product)."""
        vector = self.embeddings.embed([text])
        probs = self.heads.probabilities(router_features(vector, [text]))[0]
        best = int(np.argmax(probs))
        route = Route(self.heads.labels[best], float(probs[best]))  # type: ignore[arg-type]
        if route.mode == "rehearse" and scenarios:
            route.scenario, route.scenario_similarity = self.match_scenario(vector[0], scenarios)
        return route


def load_inputs(path: Path) -> list[dict]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    for n, item in enumerate(items, 1):
        if item.get("mode") not in MODES or not isinstance(item.get("text"), str):
            raise ValueError(f"{path.name} item {n}: needs a text and a mode from {MODES}")
    return items


def train(embeddings: MiniLMEmbeddings, scenarios: dict[str, Scenario], data: tuple[Path, ...] = TRAINING,
          out: Path = WEIGHTS, threshold_out: Path = SCENARIO_THRESHOLD):
    """Fit the router and choose the scenario threshold on the training inputs; save both."""
    from coach.training import fit_softmax

    items = [item for path in data for item in load_inputs(path)]
    texts = [i["text"].strip() for i in items]
    vectors = embeddings.embed(texts)
    classes = np.array([MODES.index(i["mode"]) for i in items])
    heads, reports, _ = fit_softmax(router_features(vectors, texts), classes, list(MODES), uses_ngrams=True)
    save_heads(out, {"mode": heads}, trained_on=f"{len(items)} inputs in {', '.join(p.name for p in data)}")
    # Scenario threshold: a request labelled with a scenario should reach it on that scenario, and
    # one labelled null (no scenario fits) should not reach it on any.
    router = Router(embeddings, out, threshold_out)
    rehearse = [(v, i.get("scenario")) for v, i in zip(vectors, items) if i["mode"] == "rehearse"]
    best = (0.45, -1.0)
    for t in np.round(np.arange(0.2, 0.9, 0.01), 2):
        right = sum(router.match_scenario(v, scenarios, float(t))[0] == want for v, want in rehearse)
        accuracy = right / max(len(rehearse), 1)
        if accuracy > best[1]:
            best = (float(t), accuracy)
    threshold_out.write_text(json.dumps({"scenario_threshold": best[0], "training_accuracy": round(best[1], 3),
                                         "rehearse_inputs": len(rehearse)}, indent=2) + "\n")
    return items, reports, {"scenario_threshold": best[0], "training_accuracy": best[1]}


def evaluate(router: Router, scenarios: dict[str, Scenario], path: Path) -> dict:
    """Accuracy and confusion on a labelled set, scenario accuracy on its rehearse items, and latency."""
    import time

    items = load_inputs(path)
    confusion = {m: {n: 0 for n in MODES} for m in MODES}
    wrong, scenario_right, scenario_total, latencies = [], 0, 0, []
    router.route("warm up")  # loads the weights and the scenario vectors once
    for item in items:
        started = time.perf_counter()
        got = router.route(item["text"].strip(), scenarios)
        latencies.append((time.perf_counter() - started) * 1000)
        confusion[item["mode"]][got.mode] += 1
        if got.mode != item["mode"]:
            wrong.append(item.get("id", "?"))
        if item["mode"] == "rehearse":
            scenario_total += 1
            # Judged on the scenario alone: what the chat would pick if it routed to rehearse.
            pick, _ = router.match_scenario(router.embeddings.embed([item["text"].strip()])[0], scenarios)
            scenario_right += pick == item.get("scenario")
    right = sum(confusion[m][m] for m in MODES)
    lat = sorted(latencies)
    return {"inputs": len(items), "accuracy": right / max(len(items), 1), "confusion": confusion, "wrong": wrong,
            "scenario_accuracy": scenario_right / max(scenario_total, 1), "rehearse_inputs": scenario_total,
            "latency_ms": {"p50": lat[len(lat) // 2], "p95": lat[int(len(lat) * 0.95) - 1]}}


def print_evaluation(f: dict, name: str) -> None:
    print(f"Router on {name}: {f['inputs']} inputs, accuracy {f['accuracy']:.3f}")
    print("  confusion (rows: labelled, columns: routed)")
    print("  " + " " * 10 + "".join(f"{m:>10}" for m in MODES))
    for m in MODES:
        print(f"  {m:<10}" + "".join(f"{f['confusion'][m][n]:>10}" for n in MODES))
    print(f"  wrong: {', '.join(f['wrong']) or 'none'}")
    print(f"  scenario picked right on {f['scenario_accuracy']:.2f} of {f['rehearse_inputs']} rehearse inputs")
    print(f"  latency per message: p50 {f['latency_ms']['p50']:.1f} ms, p95 {f['latency_ms']['p95']:.1f} ms")


__all__ = ["Router", "Route", "MODES", "train", "evaluate", "asdict"]
