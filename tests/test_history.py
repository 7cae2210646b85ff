
from coach.ask import Turn
from coach.history import Conversations
from coach.store import Hit

HIT = Hit("playbook", "myth", "myth-fear", "Myth", "myth-fear.md", 0.5, "Be honest.")


def test_turns_survive_a_new_session_in_order(tmp_path):
    db = tmp_path / "upward.db"
    store = Conversations(db)
    cid = store.start("Mistake")
    store.append(cid, Turn("q1", "prompt1", "a1 [1]", [HIT]))
    store.append(cid, Turn("q2", "prompt2", "a2", []))
    again = Conversations(db)
    assert again.latest() == cid
    turns = again.turns(cid)
    assert [(t.question, t.prompt, t.answer) for t in turns] == [("q1", "prompt1", "a1 [1]"), ("q2", "prompt2", "a2")]
    assert turns[0].sources[0].topic == "myth-fear"


def test_workspaces_do_not_see_each_others_conversations(tmp_path):
    db = tmp_path / "upward.db"
    mine = Conversations(db, "alice")
    cid = mine.start("private")
    mine.append(cid, Turn("q", "p", "a", []))
    theirs = Conversations(db, "bob")
    assert theirs.latest() is None and theirs.turns(cid) == []


