"""The user's own notes: read from pasted text or files, split, embedded, stored per workspace."""

from __future__ import annotations

import hashlib
import io
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from langchain_chroma import Chroma
from langchain_text_splitters import RecursiveCharacterTextSplitter

from sqlalchemy import delete, func, insert, select

from coach.db import Database
from coach.db import notes as notes_table
from coach.embeddings import MODEL_ID, MiniLMEmbeddings
from coach.errors import InputError, StoreError
from coach.store import Hit

MAX_FILE_BYTES = 20 * 1024 * 1024  # stated in the app and the README
MAX_TEXT_CHARS = 2_000_000
SUFFIXES = (".md", ".txt", ".pdf", ".docx")
# Note passages are quoted in full with each question, so they are kept short.
_SPLITTER = RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=80)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Note:
    """A stored note (its text is loaded only when asked for)."""

    id: str
    name: str
    parts: int
    chars: int
    created: float


def clean_name(name: str) -> str:
    """Keep a file name's last path component, without control characters; never empty."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:120] or "untitled"


def decode_text(data: bytes, name: str) -> str:
    """Decode text in UTF-8, UTF-16 (with a byte-order mark) or a legacy encoding; refuse binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name} is damaged UTF-16 text.", "Save it again as UTF-8 text.") from None
    sample = data[:8192]
    if b"\x00" in sample:
        raise InputError(
            f"{name} looks like a binary file, not text.",
            "Upload notes as .txt, .md, .pdf or .docx, or paste the text.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Legacy Windows/Latin-1 files: cp1252 covers the common cases and decodes most bytes.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text[:8192] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:8192]) // 50):
        raise InputError(
            f"{name} looks like a binary file, not text.",
            "Upload notes as .txt, .md, .pdf or .docx, or paste the text.",
        )
    return text


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ValueError
            except Exception:
                raise InputError(
                    f"{name} is an encrypted PDF.", "Save a copy without a password, then add that."
                ) from None
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on damaged files
        raise InputError(f"{name} is not a readable PDF ({exc.__class__.__name__}).", "Check the file.") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise InputError(
            f"{name} has no text layer (a scanned or image-only PDF).",
            "Run it through OCR first, or paste the text.",
        )
    return text


def _docx_text(data: bytes, name: str) -> str:
    try:
        import docx
    except ImportError:
        raise InputError("Word files need python-docx.", "Run `pip install python-docx`.") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise InputError(f"{name} is not a readable .docx file ({exc.__class__.__name__}).", "Check the file.") from None
    return "\n".join(p.text for p in document.paragraphs)


def extract_text(name: str, data: bytes) -> str:
    """Return the text of an uploaded file, or raise InputError saying what to do."""
    name = clean_name(name)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{name} is {len(data) / 1e6:,.0f} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB.",
            "Split it, or add only the part you want the coach to use.",
        )
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(data, name)
    elif suffix == ".docx":
        text = _docx_text(data, name)
    elif suffix in (".md", ".txt", ""):
        text = decode_text(data, name)
    else:
        raise InputError(f"{name}: {suffix} files are not supported.", f"Use one of {', '.join(SUFFIXES)}.")
    return check_text(text, name)


def check_text(text: str, name: str = "The note") -> str:
    """Normalise note text; refuse empty or oversized text."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise InputError(f"{name} is empty.", "Add a file or paste text with something in it.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"{name} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}.", "Split it."
        )
    return text


def collection_name(workspace: str) -> str:
    """The Chroma collection of a workspace's notes (a hash for an owned key: names are capped at 63)."""
    if "--" in workspace or len(workspace) > 40:
        return f"notes-{hashlib.sha256(workspace.encode()).hexdigest()[:32]}"
    return f"notes-{workspace}"


class NoteStore:
    """One workspace's notes: text and rows in SQLite, passages in a Chroma collection of its own."""

    def __init__(self, client, embeddings: MiniLMEmbeddings, db: Database | Path | str, workspace: str) -> None:
        self.workspace = workspace
        self.embeddings = embeddings
        self.db = Database.of(db)
        try:
            self.vectors = Chroma(
                collection_name=collection_name(workspace),
                embedding_function=embeddings,
                client=client,
                collection_metadata={"hnsw:space": "cosine", "embedding_model": MODEL_ID},
            )
            self.collection = self.vectors._collection
        except Exception as exc:
            raise StoreError(f"The notes index cannot be opened ({exc.__class__.__name__}).",
                             "Run `coach index --rebuild`.") from None

    def _mine(self):
        return notes_table.c.workspace == self.workspace

    def _ids(self) -> set[str]:
        with self.db.connect() as c:
            return set(c.execute(select(notes_table.c.id).where(self._mine())).scalars())

    def list(self) -> list[Note]:
        t = notes_table.c
        with self.db.connect() as c:
            rows = c.execute(select(t.id, t.name, t.parts, func.length(t.text), t.created)
                             .where(self._mine()).order_by(t.created.desc())).all()
        return [Note(*row) for row in rows]

    def text(self, note_id: str) -> str:
        with self.db.connect() as c:
            row = c.execute(select(notes_table.c.text).where(notes_table.c.id == note_id, self._mine())).first()
        if row is None:
            raise InputError(f"No note with id {note_id} in workspace {self.workspace}.", "See `coach notes list`.")
        return row[0]

    def add(self, name: str, text: str, progress: Progress | None = None) -> Note:
        """Store a note (replacing one of the same name); all or nothing."""
        name = clean_name(name)
        text = check_text(text, name)
        parts = _SPLITTER.split_text(text)
        note_id = uuid.uuid4().hex[:12]
        vectors: list[list[float]] = []
        step = 32
        for start in range(0, len(parts), step):
            vectors += self.embeddings.embed_documents(parts[start : start + step])
            if progress:
                progress(min(1.0, (start + step) / len(parts)), f"Embedding {name}")
        metadatas = [
            {"note_id": note_id, "name": name, "part": i + 1, "parts": len(parts)} for i in range(len(parts))
        ]
        ids = [f"{note_id}#{i + 1}" for i in range(len(parts))]
        now = time.time()
        try:
            self._add_vectors(ids, vectors, parts, metadatas)
            same = (self._mine(), notes_table.c.name == name)
            with self.db.begin() as c:
                old = list(c.execute(select(notes_table.c.id).where(*same)).scalars())
                c.execute(delete(notes_table).where(*same))
                c.execute(insert(notes_table).values(
                    id=note_id, workspace=self.workspace, name=name, text=text,
                    sha256=hashlib.sha256(text.encode()).hexdigest(), parts=len(parts), created=now,
                ))
        except Exception as exc:
            self.collection.delete(where={"note_id": note_id})
            if isinstance(exc, InputError):
                raise
            raise StoreError(f"Could not store {name} ({exc.__class__.__name__}: {exc}).",
                             "Nothing was saved; try again, or run `coach doctor`.") from exc
        for old_id in old:
            self.collection.delete(where={"note_id": old_id})
        return Note(note_id, name, len(parts), len(text), now)

    def _add_vectors(self, ids, vectors, parts, metadatas) -> None:
        """Add passages in batches the store accepts (a long note can exceed one batch)."""
        try:
            size = self.collection._client.get_max_batch_size()
        except Exception:
            size = 1000
        for start in range(0, len(ids), size):
            end = start + size
            self.collection.add(ids=ids[start:end], embeddings=vectors[start:end],
                                documents=parts[start:end], metadatas=metadatas[start:end])

    def restore_missing(self, progress: Progress | None = None) -> int:
        """Re-embed notes that have rows but no passages (after the index was rebuilt); return how many."""
        with self.db.connect() as c:
            rows = c.execute(select(notes_table.c.id, notes_table.c.name, notes_table.c.text)
                             .where(self._mine())).all()
        present = {(m or {}).get("note_id") for m in self.collection.get(include=["metadatas"])["metadatas"]}
        restored = 0
        for note_id, name, text in rows:
            if note_id in present:
                continue
            parts = _SPLITTER.split_text(text)
            vectors = self.embeddings.embed_documents(parts)
            metadatas = [{"note_id": note_id, "name": name, "part": i + 1, "parts": len(parts)} for i in range(len(parts))]
            self._add_vectors([f"{note_id}#{i + 1}" for i in range(len(parts))], vectors, parts, metadatas)
            restored += 1
            if progress:
                progress(restored / len(rows), f"Restoring {name}")
        return restored

    def delete(self, note_id: str) -> None:
        """Delete one note and its passages."""
        with self.db.begin() as c:
            gone = c.execute(delete(notes_table).where(notes_table.c.id == note_id, self._mine())).rowcount
        if not gone:
            raise InputError(f"No note with id {note_id} in workspace {self.workspace}.", "See `coach notes list`.")
        self.collection.delete(where={"note_id": note_id})

    def delete_all(self) -> int:
        """Delete every note in this workspace; return how many."""
        with self.db.begin() as c:
            count = c.execute(delete(notes_table).where(self._mine())).rowcount
        existing = self.collection.get(include=[])["ids"]
        if existing:
            self.collection.delete(ids=existing)
        return count

    def reconcile(self) -> int:
        """Drop passages whose note is gone (left by an interrupted add); return how many."""
        known = self._ids()
        got = self.collection.get(include=["metadatas"])
        orphans = [i for i, m in zip(got["ids"], got["metadatas"]) if (m or {}).get("note_id") not in known]
        if orphans:
            self.collection.delete(ids=orphans)
        return len(orphans)

    def count(self) -> int:
        return self.collection.count()

    def search(self, query: str, k: int = 2, vector: list[float] | None = None) -> list[Hit]:
        """Return up to k passages from this workspace's notes, best first."""
        if self.collection.count() == 0:
            return []
        vector = vector or self.embeddings.embed_query(query)
        pairs = self.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        known = self._ids()  # a note deleted a moment ago never comes back
        return [
            Hit(
                origin="note", kind="note", topic="your notes", title=doc.metadata["name"],
                source=f"{doc.metadata['name']}, part {doc.metadata['part']}",
                score=1.0 - distance, text=doc.page_content,
            )
            for doc, distance in pairs
            if doc.metadata.get("note_id") in known
        ]
