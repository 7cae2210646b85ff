"""The detector: its training data, its disjointness from every evaluation set, its output."""

import re

import numpy as np
import pytest
import yaml

from coach.analysis import sentences
from coach.detector import LABELS, MYTHS, SIGNALS, WEIGHTS, Detector, label_matrix, load_drafts, load_training
from coach.settings import REPO_DIR

DATA = REPO_DIR / "tests" / "data"


@pytest.fixture(scope="module")
def detector(embeddings) -> Detector:
    return Detector(embeddings)


def test_the_training_data_is_large_varied_and_labelled_from_the_definitions():
    examples = load_training()
    Y = label_matrix(examples)
    counts = dict(zip(LABELS, Y.sum(axis=0)))
    assert all(counts[m] >= 150 for m in MYTHS), counts
    assert counts["healthy"] >= 300
    assert all(counts[s] >= 45 for s in SIGNALS), counts
    registers = {e.register for e in examples}
    assert {"email", "chat", "agenda", "spoken"} <= registers


def test_the_whole_drafts_cover_every_myth_mixes_and_clean_drafts():
    drafts = load_drafts()
    assert sum(not d.labels for d in drafts) >= 60
    assert all(sum(m in d.labels for d in drafts) >= 50 for m in MYTHS)
    assert sum(len(d.labels) >= 2 for d in drafts) >= 40
    assert {d.register for d in drafts} == {"email", "chat", "agenda", "spoken"}


# A line that is only a greeting or a sign-off ("Hi Aisha,", "Kind regards,") carries no label, and
# most emails have one; the whole drafts keep theirs so that they read like real emails.
_COURTESY_LINE = re.compile(r"^(?:(?:hi|hello|hey|dear|morning|good morning)(?:\s+[\w'.-]+){0,3}"
                            r"|(?:kind |best |warm )?regards|best|thanks|thank you|many thanks|cheers|sincerely)"
                            r"\s*[,.!]?$", re.IGNORECASE)


def _training_sentences() -> list[str]:
    """Every phrasing the detector learns from, the whole drafts split the way Review splits them
    (less their greeting and sign-off lines)."""
    drafts = [s.quote for d in load_drafts() for s in sentences(d.text) if not _COURTESY_LINE.match(s.quote)]
    return [e.text for e in load_training()] + drafts


def test_only_greetings_and_sign_offs_count_as_courtesy_lines():
    assert all(_COURTESY_LINE.match(s) for s in ("Hi Aisha,", "Dear Professor Lindqvist,", "Kind regards,", "Dear Dr."))
    assert not any(_COURTESY_LINE.match(s) for s in ("Hi Aisha, whatever you decide is fine.",
                                                     "Thanks for nothing, I'll do my own thing.", "Sorry to bother you."))


def _evaluation_sentences() -> list[tuple[str, str]]:
    """Every sentence of every evaluation set that judges the detector, with where it came from."""
    out = []
    for name in ("review_blind", "review_blind2", "review_blind3", "review_blind4", "review_blind5", "review_drafts",
                 "review_heldout"):
        for d in yaml.safe_load((DATA / f"{name}.yaml").read_text()):
            out += [(f"{name}:{d['id']}", s.quote) for s in sentences(d["text"])]
    for name in ("rehearse_calibration", "rehearse_blind"):
        for script in yaml.safe_load((DATA / f"{name}.yaml").read_text()):
            for turn in script["turns"]:
                out += [(f"{name}:{script['id']}", s.quote) for s in sentences(turn)]
    for name in ("tracker_blind", "tracker_blind2"):
        for turn in yaml.safe_load((DATA / f"{name}.yaml").read_text())["turns"]:
            out += [(f"rehearse_{name}:{turn['id']}", s.quote) for s in sentences(turn["text"])]
    return out


def test_no_training_sentence_is_within_cosine_0_9_of_any_evaluation_sentence(embeddings):
    train = _training_sentences()
    evaluation = _evaluation_sentences()
    similarity = embeddings.embed(train) @ embeddings.embed([s for _, s in evaluation]).T
    close = [(train[i], evaluation[j][0], float(similarity[i, j])) for i, j in zip(*np.where(similarity >= 0.9))]
    print(f"{len(train)} training x {len(evaluation)} evaluation sentences, max cosine {similarity.max():.3f}")
    assert close == []


def test_no_line_the_tracker_matches_against_is_within_cosine_0_9_of_a_rehearsal_evaluation_sentence(embeddings):
    """The scenarios' addressed_by lines are what the concern tracker compares a turn with: none may be a
    near copy of a calibration script's sentence, or the tracker would be measured on what it was given."""
    from coach.scenarios import load_scenarios
    from coach.settings import REPO_DIR

    found, _ = load_scenarios(REPO_DIR / "scenarios")
    lines = [line for sc in found.values() for c in sc.concerns for line in c.addressed_by]
    evaluation = [(where, s) for where, s in _evaluation_sentences() if where.startswith("rehearse_")]
    similarity = embeddings.embed(lines) @ embeddings.embed([s for _, s in evaluation]).T
    close = [(lines[i], evaluation[j][0], float(similarity[i, j])) for i, j in zip(*np.where(similarity >= 0.9))]
    assert close == []


def test_the_tracker_training_turns_are_disjoint_from_every_rehearsal_evaluation_sentence(embeddings):
    """`coach train tracker` fits the tracker on these turns; none may be a near copy of what a tracker is measured on."""
    from coach.settings import REPO_DIR

    turns = [t["text"] for t in yaml.safe_load((REPO_DIR / "coach" / "data" / "tracker_training.yaml").read_text())]
    units = turns + [s.quote for t in turns for s in sentences(t)]  # whole turns, and each of their sentences
    evaluation = [(where, s) for where, s in _evaluation_sentences() if where.startswith("rehearse_")]
    similarity = embeddings.embed(units) @ embeddings.embed([s for _, s in evaluation]).T
    close = [(units[i], evaluation[j][0], float(similarity[i, j])) for i, j in zip(*np.where(similarity >= 0.9))]
    assert len(turns) == 410 and close == []


def test_the_shipped_weights_are_small_and_load_without_pickles():
    assert WEIGHTS.stat().st_size < 1_000_000
    with np.load(WEIGHTS, allow_pickle=False) as data:
        assert {"myths.weights", "signals.weights", "drafts.weights"} <= set(data.files)


def test_judgments_are_deterministic_and_carry_every_label(detector):
    texts = ["Whatever you decide is fine with me, just tell me what to do.",
             "The vendor slipped two days; I recommend the backup supplier. Can you approve by Friday?"]
    first, second = detector.judge(texts), detector.judge(texts)
    assert [j.probabilities for j in first] == [j.probabilities for j in second]
    assert set(first[0].probabilities) == set(LABELS)
    assert first[0].has("myth-just-execute") and first[1].has("healthy")


@pytest.mark.parametrize("text, myth", [
    ("Honestly I will go along with anything you choose here, no strong feelings either way.", "myth-just-execute"),
    ("This little project of mine has nothing to do with what the department is trying to achieve, "
     "so I won't bother you with it.", "myth-independent-work"),
    ("I'm so sorry to take up your time again with this, it's probably nothing really.", "myth-fear"),
])
def test_each_myth_is_recognised_in_words_not_in_any_training_file(detector, text, myth):
    [judgment] = detector.judge([text])
    assert judgment.has(myth), judgment.probabilities


def test_rejecting_the_goals_is_the_myth_and_never_a_link_to_them(detector):
    """The issue's own example: a goal word inside a sentence that rejects the goal."""
    [rejects] = detector.judge(["Jo, my team is heads-down on our own backlog, so the quarterly targets you "
                                "mentioned aren't really something we need to factor in."])
    assert rejects.has("myth-independent-work") and not rejects.has("connects_to_goals")
    [serves] = detector.judge(["The new onboarding flow is aimed squarely at your quarterly retention target."])
    assert serves.has("connects_to_goals") and serves.has("healthy")


def test_a_precision_target_takes_the_lowest_threshold_that_reaches_it():
    """Whole-draft myths get the most recall at a cross-validated precision (coach/training.py)."""
    from coach.training import _threshold_for_precision

    # Positives score 0.5-0.95, negatives 0.3-0.69: below 0.7 precision falls as negatives come in.
    y = np.array([1] * 10 + [0] * 10)
    p = np.concatenate([np.linspace(0.5, 0.95, 10), np.linspace(0.3, 0.69, 10)])
    threshold, precision, recall = _threshold_for_precision(y, p, 0.9, floor=0.3)
    # The precision is smoothed over neighbouring thresholds (±0.02) before it is held to the target.
    assert precision >= 0.85 and 0.6 <= threshold <= 0.7 and recall >= 0.4
    looser = _threshold_for_precision(y, p, 0.7, floor=0.3)
    assert looser[0] < threshold and looser[2] > recall  # a lower target buys more recall
    assert _threshold_for_precision(np.array([1, 0]), np.array([0.1, 0.9]), 0.99, floor=0.3) is None
