"""Notes: reading files, storing them per workspace, deleting, and keeping them as data."""

import io

import pytest

from coach.errors import InputError
from coach.notes import MAX_FILE_BYTES, NoteStore, clean_name, extract_text
from coach.store import make_client
from tests.pdfs import blank_pdf, encrypted_pdf, text_pdf

DANA = (
    "Weekly 1:1 with Dana, 12 March.\n"
    "Dana wants updates as three bullet points and a clear ask at the top.\n"
    "She hates surprises late in the quarter; the Q3 launch date is her main pressure."
)


@pytest.fixture
def store(settings, embeddings) -> NoteStore:
    return NoteStore(make_client(settings), embeddings, settings.data_dir / "upward.db", "default")


# ---- reading files ------------------------------------------------------------------------


def test_text_files_in_utf8_utf16_and_legacy_encodings_are_read():
    assert extract_text("a.txt", "Café ‘Dana’".encode("utf-8")) == "Café ‘Dana’"
    assert extract_text("b.md", "Café ‘Dana’".encode("utf-16")) == "Café ‘Dana’"
    assert extract_text("c.txt", "Café ‘Dana’ – 1:1".encode("cp1252")) == "Café ‘Dana’ – 1:1"
    assert extract_text("d.txt", "crème brûlée".encode("latin-1")) == "crème brûlée"


def test_a_binary_file_renamed_txt_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    with pytest.raises(InputError, match="binary"):
        extract_text("photo.txt", png)


@pytest.mark.parametrize("data", [b"", b"   \n\t  "])
def test_an_empty_file_is_refused(data):
    with pytest.raises(InputError, match="empty"):
        extract_text("empty.txt", data)


def test_a_file_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(InputError) as caught:
        extract_text("huge.txt", b"a" * (MAX_FILE_BYTES + 1))
    assert "limit is 20 MB" in caught.value.message


def test_pdf_text_is_extracted_page_by_page():
    text = extract_text("notes.pdf", text_pdf(["Page one: Dana wants bullets", "Page two: launch date"]))
    assert "Dana wants bullets" in text and "launch date" in text


def test_image_only_and_encrypted_pdfs_get_clear_messages():
    with pytest.raises(InputError, match="no text layer") as caught:
        extract_text("scan.pdf", blank_pdf())
    assert "OCR" in caught.value.hint
    with pytest.raises(InputError, match="encrypted"):
        extract_text("locked.pdf", encrypted_pdf())
    with pytest.raises(InputError, match="not a readable PDF"):
        extract_text("fake.pdf", b"%PDF-1.4 this is not really a pdf")


def test_docx_paragraphs_are_extracted():
    import docx

    document = docx.Document()
    document.add_paragraph("Dana prefers Slack for quick questions.")
    document.add_paragraph("Monthly skip-level with Priya.")
    out = io.BytesIO()
    document.save(out)
    text = extract_text("notes.docx", out.getvalue())
    assert "Slack" in text and "Priya" in text


def test_unsupported_types_name_the_supported_ones():
    with pytest.raises(InputError) as caught:
        extract_text("sheet.xlsx", b"PK\x03\x04")
    assert ".pdf" in caught.value.hint


@pytest.mark.parametrize(
    "raw, clean",
    [("../../etc/passwd", "passwd"), ("C:\\Users\\me\\1on1.txt", "1on1.txt"),
     ("bad\x00name\x1b[31m.txt", "badname[31m.txt"), ("\x07\n", "untitled"), ("", "untitled")],
)
def test_file_names_lose_paths_and_control_characters(raw, clean):
    assert clean_name(raw) == clean


# ---- storing, citing, replacing, deleting -------------------------------------------------


def test_a_note_is_split_stored_and_cited_by_name_and_part(store):
    long_text = "\n\n".join(f"Paragraph {i}: " + DANA for i in range(8))
    seen = []
    note = store.add("1:1 notes, 12 March", long_text, lambda f, d: seen.append(f))
    assert note.parts > 2 and seen[-1] == 1.0
    assert [n.name for n in store.list()] == ["1:1 notes, 12 March"]
    hit = store.search("how does Dana like updates", k=1)[0]
    assert hit.origin == "note" and hit.source.startswith("1:1 notes, 12 March, part ")
    assert "Dana" in hit.text
    assert store.text(note.id) == long_text


def test_re_adding_the_same_file_replaces_it(store):
    first = store.add("dana.txt", DANA)
    second = store.add("dana.txt", DANA + "\nNew: she now wants a weekly written summary.")
    assert [n.id for n in store.list()] == [second.id] and first.id != second.id
    assert store.count() == second.parts
    assert all("weekly written summary" in h.text for h in store.search("weekly summary", k=5))


def test_a_deleted_note_never_comes_back(store):
    keep = store.add("keep.txt", "Priya runs the skip-level meeting every month.")
    gone = store.add("gone.txt", DANA)
    store.delete(gone.id)
    assert [n.id for n in store.list()] == [keep.id]
    assert all(h.title != "gone.txt" for h in store.search("Dana bullet points launch", k=10))
    with pytest.raises(InputError, match="No note"):
        store.delete(gone.id)
    assert store.delete_all() == 1 and store.count() == 0 and store.list() == []


class ExplodingEmbeddings:
    """Embeds the first batch, then fails: an ingestion that dies half-way."""

    def __init__(self, real):
        self.real, self.batches = real, 0

    def embed_documents(self, texts):
        self.batches += 1
        if self.batches > 1:
            raise RuntimeError("disk full")
        return self.real.embed_documents(texts)

    def embed_query(self, text):
        return self.real.embed_query(text)


def test_a_failed_ingestion_leaves_no_rows_and_no_vectors(settings, embeddings):
    store = NoteStore(make_client(settings), ExplodingEmbeddings(embeddings), settings.data_dir / "upward.db", "default")
    with pytest.raises(RuntimeError):
        store.add("big.txt", "\n\n".join(f"Section {i}. " + DANA for i in range(200)))
    assert store.list() == [] and store.count() == 0


def test_a_database_failure_after_embedding_removes_the_vectors(store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken():
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(store.db, "begin", broken)
    with pytest.raises(Exception, match="locked"):
        store.add("dana.txt", DANA)
    monkeypatch.undo()
    assert store.count() == 0 and store.list() == []


def test_orphaned_passages_are_reconciled_away(store):
    store.collection.add(ids=["zzz#1"], embeddings=[store.embeddings.embed_query("x")],
                         documents=["orphan"], metadatas=[{"note_id": "zzz", "name": "x", "part": 1, "parts": 1}])
    assert store.reconcile() == 1 and store.count() == 0


def test_damaged_utf16_and_damaged_pdfs_get_messages():
    with pytest.raises(InputError, match="damaged UTF-16"):
        extract_text("odd.txt", b"\xff\xfeh\x00i")
    broken = text_pdf(["Some text"]).replace(b"/Type /Pages", b"/Type /Pagez")
    with pytest.raises(InputError):
        extract_text("broken.pdf", broken)


def test_a_note_larger_than_one_store_batch_is_stored_whole(store, monkeypatch):
    monkeypatch.setattr(store.collection._client, "get_max_batch_size", lambda: 2)
    note = store.add("long.txt", "\n\n".join(f"Paragraph {i}. " + DANA for i in range(12)))
    assert note.parts > 2 and store.count() == note.parts


def test_notes_come_back_after_the_index_is_rebuilt(settings):
    from coach.runtime import Runtime

    with Runtime(settings) as rt:
        rt.workspace("alice").notes.add("dana.txt", DANA)
        rt.rebuild_index()
        hits = rt.workspace("alice").notes.search("how does Dana like updates", k=1)
        assert hits and hits[0].title == "dana.txt"
