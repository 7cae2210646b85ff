"""End to end through the real embedded llama.cpp server (xllamacpp) with the tiny SmolLM2 model."""


import pytest
from pydantic import BaseModel, Field

from coach.errors import ModelFileError
from coach.local_server import LocalServer
from coach.models import chat_model, without_repeats
from coach.runtime import Runtime
from coach.store import Hit

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def server(tmp_path_factory, saved_prefix):
    from tests.conftest import seed_prefix, tiny_model_path
    from coach.settings import Settings

    data = tmp_path_factory.mktemp("data")
    seed_prefix(saved_prefix, data)  # as a first start left it: Ask restores the playbook's prefix
    settings = Settings(
        COACH_DATA_DIR=data, COACH_MODEL=str(tiny_model_path()),
        COACH_CONTEXT_TOKENS=4096, COACH_THREADS=2, COACH_ANSWER_TOKENS=96,  # the tiny model runs on to the cap
    )
    srv = LocalServer(settings).start(background=True)
    assert srv.state in ("starting", "ready")  # start() returns before the model is loaded
    srv.wait(timeout=120)
    yield settings, srv
    srv.close()


def test_the_server_listens_on_loopback_and_streams_tokens(server):
    settings, srv = server
    assert srv.state == "ready" and srv.base_url.startswith("http://127.0.0.1:")
    chunks = [c.content for c in chat_model(settings, srv.base_url, max_tokens=24).stream("Say hello.")]
    assert len([c for c in chunks if c]) > 3 and "".join(chunks).strip()


def test_the_superiors_voice_streams_with_repeats_penalised(server):
    """The DRY fields Rehearse sends are ones this server accepts (an out-of-range one is a 400)."""
    settings, srv = server
    voice = without_repeats(chat_model(settings, srv.base_url, max_tokens=24), settings)
    assert voice.kwargs["extra_body"]["dry_multiplier"] > 0
    assert "".join(c.content for c in voice.stream("Say hello.")).strip()


class Rating(BaseModel):
    verdict: str = Field(max_length=60)
    score: int = Field(ge=1, le=5)


def test_json_schema_output_parses_into_a_pydantic_model(server):
    settings, srv = server
    llm = chat_model(settings, srv.base_url, max_tokens=200, streaming=False, temperature=0)
    rating = llm.with_structured_output(Rating, method="json_schema").invoke(
        "Rate this message to a boss from 1 to 5: 'Done, see attached.'"
    )
    assert isinstance(rating, Rating) and 1 <= rating.score <= 5


def test_a_repeated_prompt_prefix_is_served_from_the_cache(server):
    import json
    import urllib.request

    settings, srv = server
    system = "You are a helpful coach. " + "Remember the playbook. " * 150

    def ask(question: str) -> dict:
        body = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": question}], "max_tokens": 1}
        req = urllib.request.Request(f"{srv.base_url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=120))

    ask("First question?")
    second = ask("Another question?")
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] > 500


def test_ask_end_to_end_streams_an_answer_with_sources(server):
    settings, srv = server
    with Runtime(settings) as rt:
        rt.server = srv
        pieces = list(rt.ask_chain().stream("How do I tell my boss about a mistake?"))
    hits = [p for p in pieces if isinstance(p, Hit)]
    text = "".join(p for p in pieces if isinstance(p, str))
    assert hits and hits[0].origin == "playbook" and text.strip()


def test_a_missing_model_file_fails_the_server_with_a_clear_message(tmp_path):
    from coach.settings import Settings

    srv = LocalServer(Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tmp_path / "gone.gguf")))
    srv.start()
    with pytest.raises(ModelFileError, match="does not exist"):
        srv.wait(timeout=30)
    assert srv.state == "failed"


def test_the_stable_prefix_is_saved_and_restored_by_the_next_start(tmp_path, saved_prefix):
    from coach.settings import Settings
    from tests.conftest import seed_prefix, tiny_model_path

    settings = Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tiny_model_path()),
                        COACH_CONTEXT_TOKENS=4096, COACH_THREADS=2, COACH_ANSWER_TOKENS=96)
    # The first start evaluated the prefix and saved it: the session fixture saved_prefix is that start
    # (it asserts "evaluated" and a saved file), in a directory of its own; this one is the next start.
    seed_prefix(saved_prefix, tmp_path)
    saved = list(settings.kv_cache_dir.glob("ask-*.bin"))
    assert len(saved) == 1
    with Runtime(settings) as second:
        second.start_model(background=False)
        assert second.warm_up() == "restored"
        pieces = list(second.ask_chain().stream("How do I tell my boss about a mistake?"))
        assert any(isinstance(p, str) and p for p in pieces)
    # The saved prefix is the playbook alone: a profile, or a new workspace, does not change it.
    with Runtime(settings) as third:
        third.workspace().profile.set("name", "Dana")
        third.workspace("new-team").profile.set("name", "Sam")
        third.start_model(background=False)
        assert third.warm_up() == "restored"
        pieces = list(third.ask_chain("new-team").stream("How do I tell my boss about a mistake?"))
        assert any(isinstance(p, str) and p for p in pieces)
    # A changed playbook saves a new file and drops the old one.
    import shutil

    cards = tmp_path / "cards"
    shutil.copytree(settings.knowledge_dir, cards)
    (cards / "myth-fear.md").write_text((cards / "myth-fear.md").read_text() + "\nSay it at the next 1:1.\n")
    changed = settings.model_copy(update={"knowledge_dir": cards})
    with Runtime(changed) as fourth:
        fourth.start_model(background=False)
        assert fourth.warm_up() == "evaluated"
    assert [p.name for p in settings.kv_cache_dir.glob("ask-*.bin")] != [saved[0].name]
    assert len(list(settings.kv_cache_dir.glob("ask-*.bin"))) == 1


def test_with_two_slots_two_people_are_answered_side_by_side(tmp_path):
    """COACH_PARALLEL=2: the second answer starts before the first one ends (one slot each)."""
    import threading
    import time

    from langchain_core.messages import HumanMessage

    from coach.settings import Settings
    from tests.conftest import tiny_model_path

    settings = Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tiny_model_path()), COACH_CONTEXT_TOKENS=2048,
                        COACH_THREADS=2, COACH_PARALLEL=2, COACH_ANSWER_TOKENS=96)
    with Runtime(settings) as rt:
        rt.start_model(background=False)
        assert rt.warm_up() == "evaluated" and rt.warm_up() == "restored"  # restored into both slots
        spans = {}

        def ask(who: str) -> None:
            started, first = time.perf_counter(), None
            for chunk in rt.chat_model(temperature=0).stream([HumanMessage(f"Write a long story about {who}.")]):
                if first is None and chunk.content:
                    first = time.perf_counter()
            spans[who] = (first, time.perf_counter(), started)

        threads = [threading.Thread(target=ask, args=(who,)) for who in ("Ada", "Bo")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (a_first, a_end, _), (b_first, b_end, _) = spans["Ada"], spans["Bo"]
        assert a_first < b_end and b_first < a_end  # their generations overlapped


def test_a_server_closed_while_it_loads_never_serves_and_says_so(tmp_path):
    """The app's runtime is released (a test's end, "Clear cache") while the model may still be loading."""
    from coach.errors import ModelUnavailable
    from coach.settings import Settings
    from tests.conftest import tiny_model_path

    srv = LocalServer(Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tiny_model_path()),
                               COACH_CONTEXT_TOKENS=1024)).start(background=True)
    srv.close()
    srv._thread.join(timeout=120)
    assert srv._proc is None and srv.state == "stopped" and srv.base_url == ""
    with pytest.raises(ModelUnavailable, match="stopped"):
        srv.wait(timeout=5)
    assert srv.start().state == "stopped"  # a closed server does not load again


def _small_server(tmp_path) -> LocalServer:
    from coach.settings import Settings
    from tests.conftest import tiny_model_path

    return LocalServer(Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tiny_model_path()),
                                COACH_CONTEXT_TOKENS=2048, COACH_THREADS=2))


def test_closing_the_server_ends_an_open_answer_and_its_process(tmp_path):
    """The app's runtime is released while an answer streams. The in-process server used to wait for
    the request while holding Python's lock, which hung the test suite in CI (stop 19)."""
    import threading

    import psutil

    srv = _small_server(tmp_path).start(background=False)
    pid = srv._proc.pid
    model = chat_model(srv.settings, srv.base_url, max_tokens=1500, extra_body={"ignore_eos": True})
    began, outcome = threading.Event(), []

    def listen():
        try:
            for _ in model.stream("Count to a thousand."):
                began.set()
            outcome.append("finished")
        except Exception as exc:
            outcome.append(type(exc).__name__)
        began.set()

    listener = threading.Thread(target=listen)
    listener.start()
    assert began.wait(120)
    srv.close()  # mid-answer: 1500 tokens take the tiny model far longer than one
    listener.join(120)
    assert outcome and outcome != ["finished"]  # cut off, with the client's connection error
    assert not psutil.pid_exists(pid)


def test_a_server_whose_process_died_is_started_again_by_the_next_request(tmp_path):
    srv = _small_server(tmp_path).start(background=False)
    first = srv.base_url
    srv._proc.kill()  # killed for memory, or a crash in llama.cpp: the app lives on
    srv._proc.wait()
    again = srv.wait(timeout=120)
    assert again and again != first and srv.state == "ready"
    assert chat_model(srv.settings, again, max_tokens=8).invoke("Say hello.").content is not None
    srv.close()


def test_the_server_process_ends_when_the_app_dies(tmp_path):
    """An app killed outright leaves no model server holding a gigabyte and a port."""
    import subprocess
    import sys
    import time

    import psutil

    from tests.conftest import tiny_model_path

    script = (
        "import os, sys\n"
        "from coach.local_server import LocalServer\n"
        "from coach.settings import Settings\n"
        f"srv = LocalServer(Settings(COACH_DATA_DIR={str(tmp_path)!r}, COACH_MODEL={str(tiny_model_path())!r},"
        " COACH_CONTEXT_TOKENS=1024)).start(background=False)\n"
        "print(srv._proc.pid, flush=True)\n"
        "os._exit(0)\n"  # no clean-up of any kind, as when killed
    )
    pid = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout)
    deadline = time.monotonic() + 60

    def running():
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    while running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running()


def test_a_request_beyond_the_slots_waits_for_one_instead_of_timing_out(tmp_path):
    """One slot, two people: the second request waits for the first answer to end, then has the whole
    timeout. Sent on to the server, it waited there without a byte and timed out (1 of 8 people at load)."""
    import threading

    from coach.settings import Settings
    from tests.conftest import tiny_model_path

    settings = Settings(COACH_DATA_DIR=tmp_path, COACH_MODEL=str(tiny_model_path()), COACH_CONTEXT_TOKENS=2048,
                        COACH_THREADS=2, COACH_PARALLEL=1, COACH_TIMEOUT=2)
    srv = LocalServer(settings).start(background=False)
    try:
        long = chat_model(settings, srv.base_url, max_tokens=300, extra_body={"ignore_eos": True})
        began, first = threading.Event(), []

        def answer_at_length():
            for chunk in long.stream("Count to a thousand."):
                began.set()
                first.append(chunk.content)

        talker = threading.Thread(target=answer_at_length)
        talker.start()
        assert began.wait(60)
        second = chat_model(settings, srv.base_url, max_tokens=8, streaming=False).invoke("Say hello.")
        ended_first = not talker.is_alive()
        talker.join(120)
        assert second.content is not None and ended_first  # answered, and only once the first had ended
        assert len(first) > 50
    finally:
        srv.close()
