"""Retrieval with the real embeddings and real Chroma (embedded, and a `chroma run` server)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coach.errors import StoreError
from coach.runtime import Runtime
from tests.conftest import free_port, wait_for_port

QUESTIONS = yaml.safe_load((Path(__file__).parent / "data" / "retrieval_questions.yaml").read_text())


@pytest.mark.parametrize("case", QUESTIONS, ids=[c["q"][:40] for c in QUESTIONS])
def test_labelled_question_ranks_its_topic_in_the_top_3(playbook_index, case):
    topics = [hit.topic for hit in playbook_index.search(case["q"], k=3)]
    assert case["topic"] in topics, topics


def test_labelled_set_covers_every_topic():
    from coach.knowledge import TOPICS

    assert {c["topic"] for c in QUESTIONS} == set(TOPICS)


def test_hits_say_where_they_come_from(playbook_index):
    hit = playbook_index.search("afraid to tell my boss about a mistake", k=1)[0]
    assert (hit.origin, hit.kind, hit.topic, hit.source) == ("playbook", "myth", "myth-fear", "myth-fear.md")
    assert 0 < hit.score <= 1 and "honest" in hit.text


def test_the_keyword_match_scales_the_best_card_to_one_and_ignores_function_words():
    from coach.store import keyword_scores

    texts = {"a.md": ["Escalate", "Escalate a blocker early, with options."],
             "b.md": ["Weekly updates", "Send a short update every week."],
             "c.md": ["Feedback", "Suggest, don't blame."]}
    scores = keyword_scores("How do I escalate a blocker?", texts)
    assert scores["a.md"] == 1.0 and scores["b.md"] == scores["c.md"] == 0.0
    assert keyword_scores("how do I", texts) == {}  # only function words: no keyword term at all
    assert keyword_scores("anything", {}) == {}


def test_the_shipped_topic_classifier_knows_exactly_the_shipped_topics(embeddings):
    """Weights trained before a card's topic changed would rank on stale labels: retrain them
    (`coach train topics`) whenever the cards' topics change."""
    from coach.knowledge import load_cards
    from coach.settings import REPO_DIR
    from coach.topics import TopicClassifier

    cards, _ = load_cards(REPO_DIR / "knowledge")
    classifier = TopicClassifier(embeddings)
    assert sorted(classifier.heads.labels) == sorted({c.topic for c in cards})
    p = classifier.probabilities("I'm scared to tell my manager I broke the build")
    assert abs(sum(p.values()) - 1) < 1e-4 and max(p, key=p.get) == "myth-fear"


def test_a_persons_own_card_on_a_topic_the_classifier_never_saw_still_ranks_first(settings, knowledge_dir, tmp_path,
                                                                                   monkeypatch):
    """The topic classifier cannot know a person's own topic. Such a card gets the uniform share of the
    topic term, or the likeliest topic's share when it is the closest card in meaning, so the
    classifier never outvotes its words: these questions go to it even at twice the shipped weight
    (with the uniform share alone, the first went to the shipped communication card at twice the weight).
    Its missing questions are stood in by its passage plus the median gap between the two terms: with
    the passage simply counted twice, the third went to the communication card once the shipped cards
    had 860 questions (stop 26)."""
    import coach.store

    cards = copy_cards(knowledge_dir, tmp_path / "cards")
    (cards / "escalate.md").write_text(
        "---\ntopic: escalation\nkind: strategy\ntitle: Escalating a blocker\n---\n"
        "When work is blocked by another team, escalate early: tell your boss what is blocked, since when, what "
        "you tried, and the decision you need from them, with a recommendation. Do not wait until the deadline "
        "slips.\n")
    settings.knowledge_dir = cards
    with Runtime(settings) as rt:
        for weight in (coach.store.TOPIC_WEIGHT, 2 * coach.store.TOPIC_WEIGHT):
            monkeypatch.setattr(coach.store, "TOPIC_WEIGHT", weight)
            for question in ("The deployment is blocked by another team. How do I escalate it to my boss?",
                             "another team is blocking us, when should I escalate?",
                             "Platform team hasn't delivered the thing we depend on for two weeks, what now?"):
                hits = rt.index.search(question, k=3)
                assert hits[0].topic == "escalation", (weight, question, [h.topic for h in hits])


def test_the_keyword_and_topic_terms_hold_their_first_card_figures(playbook_index):
    """hit@1 with the questions file as shipped, without and with the keyword and topic terms: the
    older set 0.963 and 1.00, the first blind set (no longer blind) 0.849 and 0.906. Floors at the
    figures with them, so removing or weakening the terms fails here."""
    from coach.evaluate_ask import ASK_BLIND, ask_questions

    older = [playbook_index.search(c["q"], k=1)[0].topic == c["topic"] for c in QUESTIONS]
    assert all(older), older.count(False)
    covered = [q for q in ask_questions(ASK_BLIND) if q["covered"]]
    first = [playbook_index.search(q["question"], k=1)[0].topic in q["topics"] for q in covered]
    assert sum(first) / len(first) >= 0.90, sum(first)


def copy_cards(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_index_is_built_once_and_only_changed_cards_are_re_embedded(settings, knowledge_dir, tmp_path):
    settings.knowledge_dir = copy_cards(knowledge_dir, tmp_path / "cards")
    with Runtime(settings) as first:
        report = first.refresh()
        assert first.index.count() >= 12
    # A second start (new process, same data dir) embeds nothing.
    with Runtime(settings) as second:
        _ = second.index
        assert second.last_sync.added == 0 and second.embeddings.calls == 0
        card = settings.knowledge_dir / "myth-fear.md"
        card.write_text(card.read_text() + "\nIn practice: say it out loud in the next 1:1.\n")
        (settings.knowledge_dir / "benefit-growth.md").unlink()
        (settings.knowledge_dir / "mine.md").write_text(
            "---\ntopic: skip-level\nkind: strategy\ntitle: Skip-level meetings\n---\n"
            "Meet your boss's boss twice a year, with your boss's knowledge.\n"
        )
        report = second.refresh()
        assert (report.added, report.removed) == (2, 1)
        # The changed card's passage and its questions, and the new card's passage: nothing else.
        asked = len(next(c for c in second.cards if c.source == "myth-fear.md").questions)
        assert asked >= 10 and second.embeddings.calls == 2 + asked
        assert second.index.search("meeting my boss's boss", k=1)[0].topic == "skip-level"
        assert "benefit-growth" not in {h.topic for h in second.index.search("promotion", k=10)}


def test_a_card_with_bad_front_matter_is_skipped_and_the_rest_are_indexed(settings, knowledge_dir, tmp_path):
    settings.knowledge_dir = copy_cards(knowledge_dir, tmp_path / "cards")
    (settings.knowledge_dir / "broken.md").write_text("---\ntitle: no topic\n---\ntext\n")
    with Runtime(settings) as rt:
        _ = rt.index
        assert [p.source for p in rt.problems] == ["broken.md"]
        assert len(rt.cards) == len(list(knowledge_dir.glob("*.md")))


def test_a_corrupt_index_gets_a_clear_error_and_is_rebuilt_without_deleting_it(settings):
    settings.chroma_dir.mkdir(parents=True)
    (settings.chroma_dir / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with Runtime(settings) as rt:
        with pytest.raises(StoreError) as caught:
            _ = rt.index
        assert "coach index --rebuild" in caught.value.hint
        rt.rebuild_index()
        assert rt.index.count() >= 12
    kept = list(settings.data_dir.glob("chroma.damaged-*"))
    assert len(kept) == 1 and (kept[0] / "chroma.sqlite3").exists()


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    wait_for_port(port, proc, "chroma run", 60)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_the_same_code_uses_a_chroma_server_when_configured(settings, chroma_server):
    settings.chroma_host, settings.chroma_port = "127.0.0.1", chroma_server
    with Runtime(settings) as rt:
        assert rt.index.search("afraid to tell my boss about a mistake", k=1)[0].topic == "myth-fear"
    assert not settings.chroma_dir.exists()  # nothing embedded on disk
    with Runtime(settings) as again:
        _ = again.index
        assert again.last_sync.added == 0


def test_an_unreachable_chroma_server_says_what_to_do(settings):
    settings.chroma_host, settings.chroma_port = "127.0.0.1", free_port()
    with pytest.raises(StoreError) as caught:
        Runtime(settings).index
    assert "chroma run" in caught.value.hint


def test_blind_questions_find_an_acceptable_card_in_the_top_3(playbook_index):
    """62 questions written blind (53 the playbook covers). Before the cards carried the questions
    they answer, hit@3 was 0.868; with them, 1.000; with the keyword and topic terms (stop 25), 0.981."""
    from coach.evaluate_ask import ASK_BLIND, ask_questions

    covered = [q for q in ask_questions(ASK_BLIND) if q["covered"]]
    missed = [q["id"] for q in covered
              if not {h.topic for h in playbook_index.search(q["question"], k=3)} & set(q["topics"])]
    assert len(covered) == 53 and len(missed) / len(covered) <= 0.05, missed


@pytest.mark.parametrize("name, top3, first", [("blind2", 39, 34), ("blind3", 40, 37)])
def test_the_later_blind_sets_hold_their_measured_figures(playbook_index, name, top3, first):
    """42 covered questions in each. Stop 26, with 860 card questions: blind2 hit@3 0.929, hit@1 0.810
    (its first runs, stop 25: 0.881 / 0.714 before the topic and keyword terms, 0.905 / 0.810 after);
    blind3, first runs before and after the 337 added questions: hit@3 0.952 both, hit@1 0.833 → 0.881.
    Floors at the counts measured, so a retrieval change that loses a question fails here."""
    from coach.evaluate_ask import ASK_SETS, ask_questions

    covered = [q for q in ask_questions(ASK_SETS[name]) if q["covered"]]
    hits = [[h.topic for h in playbook_index.search(q["question"], k=3)] for q in covered]
    assert len(covered) == 42
    assert sum(bool(set(h) & set(q["topics"])) for h, q in zip(hits, covered)) >= top3
    assert sum(h[0] in q["topics"] for h, q in zip(hits, covered)) >= first


@pytest.mark.parametrize("name, found, uncovered", [("blind", 9, 9), ("blind2", 5, 8), ("blind3", 7, 8)])
def test_the_scope_classifier_holds_its_measured_figures(embeddings, name, found, uncovered):
    """Which questions the playbook does not cover, as shipped (trained with the 218 card questions
    of the time): blind 9 of 9, blind2 5 of 8, blind3 7 of 8 (its first run), and no covered question called
    uncovered in any. Retrained with the 860 questions, blind2 went to 6 of 8, but "How do I ask for
    feedback?" was then called uncovered (0.37 → 0.18 against 0.30; a test of the app caught it), so
    that retraining was not kept."""
    from coach.evaluate_ask import ASK_SETS, ask_questions, evaluate_scope
    from coach.scope import ScopeClassifier

    figures = evaluate_scope(ScopeClassifier(embeddings), ask_questions(ASK_SETS[name]))
    assert figures["uncovered"] == uncovered and figures["uncovered_found"] >= found, figures["wrong"]
    assert figures["covered_called_uncovered"] == 0, figures["wrong"]


def test_the_card_questions_are_disjoint_from_every_evaluation_question(embeddings):
    import yaml

    from coach.evaluate_ask import ASK_BLIND, ASK_BLIND2, ASK_BLIND3, RETRIEVAL_OLD, ask_questions
    from coach.knowledge import load_cards
    from coach.settings import REPO_DIR

    cards, _ = load_cards(REPO_DIR / "knowledge")
    asked = [q for c in cards for q in c.questions]
    assert len(asked) >= 14 * 14
    evaluation = [q["question"] for path in (ASK_BLIND, ASK_BLIND2, ASK_BLIND3, RETRIEVAL_OLD) for q in ask_questions(path)]
    evaluation += [q for chat in yaml.safe_load(ASK_BLIND.read_text())["chats"] for q in chat]
    similarity = embeddings.embed(asked) @ embeddings.embed(evaluation).T
    print(f"max cosine {similarity.max():.3f}")
    assert similarity.max() < 0.9


def test_training_the_topic_classifier_without_enough_questions_says_what_to_do(embeddings, tmp_path):
    from coach.errors import InputError
    from coach.knowledge import Card
    from coach.topics import train

    cards = [Card("a", "strategy", "A", "Text.", "a.md", "x", ("one?", "two?")),
             Card("b", "strategy", "B", "Text.", "b.md", "y", ())]
    with pytest.raises(InputError, match="at least two topics"):
        train(embeddings, cards, out=tmp_path / "topics.npz")
    assert not (tmp_path / "topics.npz").exists()
