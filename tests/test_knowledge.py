from pathlib import Path

from coach.knowledge import KINDS, TOPICS, load_cards, parse_card


def test_playbook_cards_cover_every_topic_with_valid_front_matter(knowledge_dir):
    cards, problems = load_cards(knowledge_dir)
    assert problems == []
    assert {card.topic for card in cards} == set(TOPICS)
    for card in cards:
        assert card.kind in KINDS
        assert card.title and len(card.text.split()) >= 40, card.source
    kinds = {card.topic: card.kind for card in cards}
    assert kinds["managing-up"] == "concept"
    assert kinds["case-li-ming"] == "case"
    assert all(kinds[t] == "benefit" for t in TOPICS if t.startswith("benefit-"))
    assert all(kinds[t] == "strategy" for t in TOPICS if t.startswith("strategy-"))
    assert all(kinds[t] == "myth" for t in TOPICS if t.startswith("myth-"))


def test_cards_carry_the_playbook_points_in_their_own_words(knowledge_dir):
    text = " ".join(card.text.lower() for card in load_cards(knowledge_dir)[0])
    # Points the playbook must make (each card set was checked against the source essay).
    for phrase in ("li ming", "promotion", "constructive", "regular", "initiative", "fear", "honest"):
        assert phrase in text
    essay = (Path(__file__).parents[2] / "shared/seeds/000_28fd325f3ac3a890.txt")
    if essay.exists():
        # Written in our own words: no sentence of ten or more words is copied.
        source = essay.read_text().lower().split()
        ngrams = {" ".join(source[i : i + 10]) for i in range(len(source) - 9)}
        words = text.split()
        copied = [" ".join(words[i : i + 10]) for i in range(len(words) - 9)]
        assert not [c for c in copied if c in ngrams]


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_bad_cards_are_reported_by_file_name_and_the_rest_load(tmp_path):
    write(tmp_path, "good.md", "---\ntopic: my-boss\nkind: strategy\ntitle: Mine\n---\nBody text.\n")
    write(tmp_path, "no-front.md", "Just text\n")
    write(tmp_path, "bad-yaml.md", "---\ntopic: [unclosed\n---\nBody\n")
    write(tmp_path, "bad-kind.md", "---\ntopic: x\nkind: rumour\ntitle: T\n---\nBody\n")
    write(tmp_path, "missing.md", "---\ntopic: x\n---\nBody\n")
    write(tmp_path, "empty-body.md", "---\ntopic: x\nkind: myth\ntitle: T\n---\n\n")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00\x01garbage")
    cards, problems = load_cards(tmp_path)
    assert [c.source for c in cards] == ["good.md"]
    reasons = {p.source: p.reason for p in problems}
    assert set(reasons) == {"no-front.md", "bad-yaml.md", "bad-kind.md", "missing.md", "empty-body.md", "binary.md"}
    assert "front matter" in reasons["no-front.md"]
    assert "rumour" in reasons["bad-kind.md"]
    assert "title" in reasons["missing.md"] and "kind" in reasons["missing.md"]
    assert "UTF-8" in reasons["binary.md"]


def test_digest_changes_with_content():
    a = parse_card("---\ntopic: a\nkind: myth\ntitle: A\n---\nOne", "a.md")
    b = parse_card("---\ntopic: a\nkind: myth\ntitle: A\n---\nTwo", "a.md")
    assert a.digest != b.digest
