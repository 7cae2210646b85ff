import json
from pathlib import Path

import numpy as np

from coach.embeddings import DIMENSIONS

REFERENCE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


def test_vectors_match_the_reference_sentence_transformers_model(embeddings):
    data = json.loads(REFERENCE.read_text())
    texts = [item["text"] for item in data["items"]]
    expected = np.array([item["vector"] for item in data["items"]], dtype=np.float32)
    got = embeddings.embed(texts)
    assert got.shape == (len(texts), DIMENSIONS)
    cosines = (got * expected).sum(axis=1)  # both sides are unit vectors
    worst = int(cosines.argmin())
    assert cosines.min() >= 0.99, f"{cosines.min():.4f} for {texts[worst][:60]!r}"


def test_vectors_are_unit_length_and_batch_independent(embeddings):
    texts = ["Ask for a deadline extension early.", "short", "x " * 400]
    batch = embeddings.embed(texts)
    alone = np.stack([embeddings.embed([t])[0] for t in texts])
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch, alone, atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones(embeddings):
    a, b, c = embeddings.embed(
        ["How do I tell my boss I made a mistake?", "Admitting an error to my manager", "Bake bread at 220 degrees"]
    )
    assert a @ b > a @ c + 0.2


def test_a_text_embedded_again_comes_from_the_cache_with_the_same_vector():
    from coach.embeddings import CACHE_TEXTS, MiniLMEmbeddings

    e = MiniLMEmbeddings()
    first = e.embed(["Friday is at risk.", "I propose a smaller release.", "Friday is at risk."])
    assert e.calls == 2  # the repeated text is embedded once
    again = e.embed(["I propose a smaller release.", "A new sentence."])
    assert e.calls == 3 and np.array_equal(again[0], first[1])
    assert np.allclose(first[0], first[2]) and len(e._cache) <= CACHE_TEXTS


def test_the_cache_keeps_only_the_most_recent_texts(monkeypatch):
    import coach.embeddings
    from coach.embeddings import MiniLMEmbeddings

    monkeypatch.setattr(coach.embeddings, "CACHE_TEXTS", 2)
    e = MiniLMEmbeddings()
    e.embed(["one sentence.", "two sentences.", "three sentences."])
    assert list(e._cache) == ["two sentences.", "three sentences."]
    e.embed(["one sentence."])
    assert e.calls == 4  # evicted, so embedded again
