"""The vector store: Chroma through langchain-chroma, embedded by default or a `chroma run` server."""

from __future__ import annotations

import re
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from coach.embeddings import MODEL_ID, MiniLMEmbeddings
from coach.errors import StoreError
from coach.knowledge import Card
from coach.settings import Settings
from coach.topics import TopicClassifier

PLAYBOOK = "playbook"
Origin = Literal["playbook", "note"]
# Entries (passages and questions) scored per search; the shipped playbook has 874.
MAX_ENTRIES = 1000
# The weights of the keyword match and of the topic classifier in a card's rank, beside its passage's
# similarity and its closest questions' (see KnowledgeIndex.search; bench/tune_retrieval.py).
KEYWORD_WEIGHT = 0.2
TOPIC_WEIGHT = 1.0
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    "the a an and or of to in i my me is it for on with that this how do what you your be are was at as so but "
    "not have if about can".split())
# Cards are short; a long user card is split so each passage stays compact in a prompt.
_SPLITTER = RecursiveCharacterTextSplitter(chunk_size=1200, chunk_overlap=120)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage and where it came from."""

    origin: Origin
    kind: str
    topic: str
    title: str
    source: str
    score: float
    text: str

    def as_dict(self) -> dict:
        return {
            "origin": self.origin,
            "kind": self.kind,
            "topic": self.topic,
            "title": self.title,
            "source": self.source,
            "score": round(self.score, 4),
            "text": self.text,
        }


@dataclass(frozen=True)
class SyncReport:
    """What one index sync did."""

    added: int
    removed: int
    unchanged: int


def make_client(settings: Settings):
    """Open Chroma: a server when CHROMA_HOST is set, else a persistent folder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # Notes are private: never let the client phone home.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}).",
                "Start it with `chroma run --path DIR --port N`, or unset CHROMA_HOST to use "
                "the embedded store.",
            ) from None
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"The index at {settings.chroma_dir} cannot be opened ({exc.__class__.__name__}).",
            "Run `coach index --rebuild`: it moves the damaged index aside and builds a new "
            "one from the cards.",
        ) from None


def move_aside(settings: Settings) -> Path | None:
    """Move a damaged embedded index out of the way (never delete it) and return where it went."""
    if settings.chroma_host or not settings.chroma_dir.exists():
        return None
    from chromadb.api.client import SharedSystemClient

    target = settings.chroma_dir.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.move(str(settings.chroma_dir), target)
    # Chroma caches one client per path, broken or not; forget it so the next open starts clean.
    SharedSystemClient.clear_system_cache()
    return target


def card_documents(card: Card) -> list[Document]:
    """Split a card into passages with the metadata a citation needs, plus one entry per question it
    answers (embedded as the question, returned as the card's first passage)."""
    meta = {"origin": PLAYBOOK, "kind": card.kind, "topic": card.topic, "title": card.title,
            "source": card.source, "digest": card.digest}
    parts = _SPLITTER.split_text(card.text)
    docs = [Document(page_content=part, metadata={**meta, "part": str(i)}) for i, part in enumerate(parts)]
    docs += [Document(page_content=parts[0], metadata={**meta, "part": f"q{i}", "question": q})
             for i, q in enumerate(card.questions)]
    return docs


def embedding_text(doc: Document) -> str:
    """What is embedded for an entry: its question, or the passage with the card's title."""
    return doc.metadata.get("question") or f"{doc.metadata['title']}. {doc.page_content}"


def _hit(doc: Document, score: float) -> Hit:
    meta = doc.metadata
    return Hit(
        origin=meta.get("origin", PLAYBOOK),
        kind=meta.get("kind", ""),
        topic=meta.get("topic", ""),
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        score=score,
        text=doc.page_content,
    )


class KnowledgeIndex:
    """The playbook's passages in Chroma, kept in step with the card files by content hash."""

    def __init__(self, client, embeddings: MiniLMEmbeddings, collection: str = PLAYBOOK,
                 topics: TopicClassifier | None = None) -> None:
        """topics: the topic classifier one term of a card's rank comes from (default: the shipped one)."""
        self.embeddings = embeddings
        self.topics = topics or TopicClassifier(embeddings)
        self._client = client
        self._name = collection
        try:
            self.vectors = self._open()
        except Exception as exc:
            raise StoreError(
                f"The index cannot be read ({exc.__class__.__name__}: {exc}).",
                "Run `coach index --rebuild` to rebuild it from the cards.",
            ) from None

    def _open(self) -> Chroma:
        existing = {c.name: c for c in self._client.list_collections()}
        found = existing.get(self._name)
        if found is not None and (found.metadata or {}).get("embedding_model") != MODEL_ID:
            # Vectors from another model are not comparable: start this collection again.
            self._client.delete_collection(self._name)
        return Chroma(
            collection_name=self._name,
            embedding_function=self.embeddings,
            client=self._client,
            collection_metadata={"hnsw:space": "cosine", "embedding_model": MODEL_ID},
        )

    def _stored_digests(self) -> dict[str, tuple[str, list[str]]]:
        got = self.vectors.get(include=["metadatas"])
        stored: dict[str, tuple[str, list[str]]] = {}
        for doc_id, meta in zip(got["ids"], got["metadatas"]):
            source = (meta or {}).get("source", "")
            digest, ids = stored.get(source, ((meta or {}).get("digest", ""), []))
            ids.append(doc_id)
            stored[source] = (digest, ids)
        return stored

    def sync(self, cards: list[Card]) -> SyncReport:
        """Embed new and changed cards, drop removed ones; touch nothing else."""
        stored = self._stored_digests()
        wanted = {card.source: card for card in cards}
        stale = [
            doc_id
            for source, (digest, ids) in stored.items()
            if source not in wanted or wanted[source].digest != digest
            for doc_id in ids
        ]
        fresh = [card for card in cards if stored.get(card.source, ("",))[0] != card.digest]
        docs = [doc for card in fresh for doc in card_documents(card)]
        if docs:
            # Embed before deleting anything, so a failure leaves the old index whole.
            # The title is embedded with the passage: it names the topic in the playbook's terms.
            vectors = self.embeddings.embed_documents([embedding_text(d) for d in docs])
            ids = [f"{d.metadata['source']}#{d.metadata['part']}" for d in docs]
            if stale:
                self.vectors.delete(ids=stale)
            self.vectors._collection.upsert(
                ids=ids,
                embeddings=vectors,
                documents=[d.page_content for d in docs],
                metadatas=[d.metadata for d in docs],
            )
        elif stale:
            self.vectors.delete(ids=stale)
        return SyncReport(added=len(fresh), removed=len({s for s in stored if s not in wanted}),
                          unchanged=len(cards) - len(fresh))

    def count(self) -> int:
        return self.vectors._collection.count()

    def search(self, query: str, k: int = 4, vector: list[float] | None = None) -> list[Hit]:
        """Return the k passages closest to the query, best first; score is the passage's cosine similarity.

        A card's rank adds four terms: its passage's similarity; the mean similarity of its two
        closest questions (knowledge/questions.yaml; for a card without questions, a stand-in, see
        below); `KEYWORD_WEIGHT` times its BM25 keyword match
        (rank_bm25, over the cards' text, scaled so the best card has 1); and `TOPIC_WEIGHT` times the
        probability of its topic (coach/topics.py). The weights were chosen by 5-fold cross-validation
        over the questions file and on the older question sets, never the second blind set
        (bench/tune_retrieval.py): first card right 0.635 → 0.742 in cross-validation (top three
        0.845 → 0.910), 0.963 → 1.00 on the older set and 0.849 → 0.906 on the first blind set.
        """
        count = self.count()
        if count == 0:
            return []
        vector = vector or self.embeddings.embed_query(query)
        pairs = self.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=min(count, MAX_ENTRIES))
        passages: dict[tuple, tuple[Document, float]] = {}
        questions: dict[str, list[float]] = {}
        texts: dict[str, list[str]] = {}
        for doc, distance in pairs:
            similarity = 1.0 - distance
            source = doc.metadata.get("source", "")
            if doc.metadata.get("question"):
                questions.setdefault(source, []).append(similarity)
                continue
            if doc.page_content not in texts.setdefault(source, [doc.metadata.get("title", "")]):
                texts[source].append(doc.page_content)
            key = (source, doc.page_content)
            if key not in passages or passages[key][1] < similarity:
                passages[key] = (doc, similarity)
        keywords = keyword_scores(query, texts)
        topic = self.topics.probabilities(query, vector)

        # The mean similarity of each card's two closest questions.
        asked = {source: sum(top) / len(top) for source, sims in questions.items()
                 if (top := sorted(sims, reverse=True)[:2])}
        # A question is worded like the query, so it comes closer than a passage does; the more
        # questions a card has, the closer its best two. A card with none (a person's own) stands in
        # its passage plus the median gap between the two terms over the cards that have them, so
        # it is ranked on the same scale.
        gaps = [asked[source] - similarity for doc, similarity in passages.values()
                if (source := doc.metadata.get("source", "")) in asked]
        gap = statistics.median(gaps) if gaps else 0.0

        def closeness(item: tuple[Document, float]) -> float:
            doc, similarity = item
            return similarity + asked.get(doc.metadata.get("source", ""), similarity + gap)

        closest = max(passages.values(), key=closeness)[0].metadata.get("source") if passages else None

        def topic_share(doc: Document) -> float:
            """The classifier's probability of the card's topic. A topic it never learnt (a person's own
            card) gets the uniform share, or the likeliest topic's when the card is the closest of all
            in meaning: the classifier cannot vouch for it, so it must not outvote its words."""
            if doc.metadata.get("topic", "") in topic:
                return topic[doc.metadata["topic"]]
            return max(topic.values()) if doc.metadata.get("source") == closest else self.topics.prior()

        def rank(item: tuple[Document, float]) -> float:
            doc, _ = item
            return (closeness(item) + KEYWORD_WEIGHT * keywords.get(doc.metadata.get("source", ""), 0.0)
                    + TOPIC_WEIGHT * topic_share(doc))

        ranked = sorted(passages.values(), key=rank, reverse=True)
        return [_hit(doc, similarity) for doc, similarity in ranked[:k]]


def words(text: str) -> list[str]:
    """Lower-case words less the commonest function words, for the keyword match."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def keyword_scores(query: str, texts: dict[str, list[str]]) -> dict[str, float]:
    """Each card's BM25 match with the query (over its title and passages), the best scaled to 1."""
    from rank_bm25 import BM25Okapi

    sources = list(texts)
    asked = words(query)
    if not sources or not asked:
        return {}
    scores = BM25Okapi([words(" ".join(texts[s])) for s in sources]).get_scores(asked)
    top = float(max(scores))
    # With three cards or fewer, BM25's idf is zero or below for any word half of them share: no keyword term.
    return {s: float(x) / top for s, x in zip(sources, scores)} if top > 0 else {}
