"""One real browser (Debian's Chromium, driven by Playwright) against the running app."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.settings import REPO_DIR
from tests.conftest import free_port, seed_index, seed_prefix, tiny_model_path, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.model]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def app_url(tmp_path, saved_prefix, saved_index):
    seed_prefix(saved_prefix, tmp_path / "data")
    seed_index(saved_index, tmp_path / "data")
    env = {
        **os.environ,
        "COACH_DATA_DIR": str(tmp_path / "data"),
        "COACH_MODEL": str(tiny_model_path()),
        "COACH_CONTEXT_TOKENS": "4096",
        "COACH_ANSWER_TOKENS": "200",  # long enough for several lines, which stream one by one
        "COACH_BACKEND": "local",
    }
    yield from serve(env)


def serve(env: dict):
    """Run the app with this environment on a free local port; yield its URL, then stop it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO_DIR / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc, "streamlit")
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


CHAT = "Ask a question, paste a draft, or say \"let's practise…\""


@pytest.fixture
def page(app_url):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (make test does it)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(app_url)
        # On a loaded 2-core machine the first start (index, model load, warm-up) can take a while.
        expect(page.get_by_placeholder(CHAT)).to_be_visible(timeout=180_000)
        expect(page.get_by_text("Ready", exact=True)).to_be_visible(timeout=180_000)
        yield page
        browser.close()


def send(page, text: str, placeholder: str = "") -> None:
    """Type into the chat input (the one with this placeholder, if given) and send."""
    box = page.get_by_placeholder(placeholder) if placeholder else page.locator("[data-testid=stChatInputTextArea]")
    box.fill(text)
    box.press("Enter")


def test_a_user_asks_and_sees_a_streamed_answer_with_sources(page, tmp_path):
    from playwright.sync_api import expect

    send(page, "How do I tell my boss I missed a deadline?")
    assistant = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(assistant).to_be_visible(timeout=60_000)
    # Streamed: the answer grows a checked line at a time while it is being written.
    lengths = []
    deadline = time.time() + 180
    while time.time() < deadline and not page.get_by_text("Sources (").count():
        lengths.append(len(assistant.inner_text()))
        time.sleep(0.05)
    expect(page.get_by_text("Sources (")).to_be_visible(timeout=180_000)  # a loaded machine is slow
    # Streamed: the answer was seen at several lengths before it was finished.
    assert len(set(lengths)) > 2, lengths
    page.locator("[data-testid=stExpander] summary").first.click()
    expect(page.get_by_text("similarity", exact=False).first).to_be_visible()
    shots = Path(os.environ.get("UPWARD_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "ask.png"), full_page=True)


def test_leaving_the_chat_while_an_answer_is_written_neither_waits_for_it_nor_cuts_it_off(page):
    """The answer is written by a job of its own: a page change takes effect at once, and back on the
    chat the same answer goes on (before, the change cut it off, and it was written again from the start)."""
    from playwright.sync_api import expect

    send(page, "How do I tell my boss I missed a deadline?")
    assistant = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(assistant).to_be_visible(timeout=60_000)
    deadline = time.time() + 180
    while time.time() < deadline and len(assistant.inner_text().replace("Answering a question", "")) < 40:
        time.sleep(0.05)  # the first words are on the page
    page.get_by_role("link", name="Notes").click()
    expect(page.get_by_role("tab", name="Paste text")).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="Coach").click()
    seen = []
    deadline = time.time() + 180
    while time.time() < deadline and not page.get_by_text("Sources (").count():
        seen.append(page.inner_text("body"))
        time.sleep(0.05)
    expect(page.get_by_text("Sources (")).to_be_visible(timeout=5_000)
    seen.append(page.inner_text("body"))
    assert not [text for text in seen if "Interrupted" in text or "No reply yet" in text]


def test_a_draft_pasted_into_the_chat_gets_highlighted_findings(page):
    from playwright.sync_api import expect

    send(page, "Hi Dana,\nSorry to bother you again. Whatever you decide on the vendor is fine, just tell me "
               "what to do.\nThanks,\nSam")
    expect(page.locator("mark").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("myth-fear", exact=False).first).to_be_visible()
    assert "Sorry to bother you again." in page.locator("mark").all_inner_texts()


def test_a_rehearsal_started_from_a_sentence_runs_two_turns_and_ends_with_a_debrief(page):
    from playwright.sync_api import expect

    send(page, "Let's practise asking my boss for a promotion and a raise.")
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_visible(timeout=60_000)
    start.click()
    expect(page.get_by_text("Sure, let's talk. What's on your mind?")).to_be_visible(timeout=60_000)
    for turn in ("I'd like to talk about a promotion to senior analyst.",
                 "Since Daniel left I've run the billing migration, which cut invoice errors by 30%."):
        expect(page.get_by_placeholder("What do you say to your superior?", exact=True)).to_be_visible(timeout=60_000)
        send(page, turn, "What do you say to your superior?")
        expect(page.get_by_text(turn)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("concerns met", exact=False)).to_be_visible(timeout=120_000)
    page.get_by_role("button", name="End and get my debrief").click()
    expect(page.get_by_text("Outcome:", exact=False)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("What was on their mind", exact=False)).to_be_visible()
    expect(page.get_by_placeholder(CHAT)).to_be_visible()


@pytest.fixture
def team_url(tmp_path, saved_index):
    """The app with accounts (COACH_AUTH=password) and two users; no chat model is needed to sign in and keep notes."""
    from coach.accounts import Accounts
    from coach.db import Database

    data = tmp_path / "data"
    data.mkdir()
    seed_index(saved_index, data)
    accounts = Accounts(Database.of(data / "upward.db"))
    for user in ("alice", "bob"):
        accounts.add(user, user.title(), f"{user}'s long passphrase")
    env = {**os.environ, "COACH_DATA_DIR": str(data), "COACH_AUTH": "password",
           "COACH_BACKEND": "openai", "COACH_BASE_URL": "http://127.0.0.1:9/v1"}
    yield from serve(env)


def test_two_signed_in_people_each_see_only_their_own_notes(team_url, tmp_path):
    """Alice and Bob, each in their own browser context, both in a workspace called 'default'."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (make test does it)")
    from playwright.sync_api import expect, sync_playwright

    def sign_in(browser, user):
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{team_url}/?workspace=default")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password", exact=True).fill(f"{user}'s long passphrase")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(f"Signed in as {user.title()}")).to_be_visible(timeout=180_000)
        # The first sign-in of a fresh deployment embeds the playbook; the sidebar counts it when done.
        expect(page.get_by_text("cards indexed", exact=False)).to_be_visible(timeout=180_000)
        return page

    def add_note(page, name, text):
        page.get_by_role("link", name="Notes").click()
        tab = page.get_by_role("tab", name="Paste text")
        expect(tab).to_be_visible(timeout=120_000)  # the other person's first page may hold the runtime
        tab.click()
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Text", exact=True).fill(text)
        page.get_by_role("button", name="Add note").click()
        expect(page.get_by_text(f"Added {name}", exact=False)).to_be_visible(timeout=120_000)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        alice, bob = sign_in(browser, "alice"), sign_in(browser, "bob")
        add_note(alice, "alice-private", "Alice's boss Carol: APRICOT-4410.")
        add_note(bob, "bob-private", "Bob's boss Dan: BANANA-7731.")
        for page, mine, theirs in ((alice, "alice-private", "bob-private"), (bob, "bob-private", "alice-private")):
            cookies = sorted(c["name"] for c in page.context.cookies())
            page.reload()  # the signed session survives a reload (cookie), on the same page
            form = page.get_by_role("button", name="Sign in")
            expect(page.get_by_text("1 note", exact=True).or_(form)).to_be_visible(timeout=60_000)
            assert not form.is_visible(), f"{mine}: a reload showed the sign-in form; the cookies were {cookies}"
            expect(page.get_by_text("1 note", exact=True)).to_be_visible()
            expect(page.get_by_text(mine, exact=False).first).to_be_visible()
            assert theirs not in page.inner_text("body")
            assert ("BANANA" if mine.startswith("alice") else "APRICOT") not in page.content()
        # A password change ends Bob's session: the sign-in cookie no longer signs him in.
        from coach.accounts import Accounts
        from coach.db import Database

        Accounts(Database.of(tmp_path / "data" / "upward.db")).set_password("bob", "bob's new passphrase")
        bob.reload()
        expect(bob.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
        assert "BANANA" not in bob.content()
        bob.get_by_label("Username").fill("bob")  # the new password signs him in, and he stays in
        bob.get_by_label("Password", exact=True).fill("bob's new passphrase")
        bob.get_by_role("button", name="Sign in").click()
        expect(bob.get_by_text("Signed in as Bob")).to_be_visible(timeout=60_000)
        bob.get_by_role("link", name="Notes").click()  # another run: still signed in, his note still there
        expect(bob.get_by_text("1 note", exact=True)).to_be_visible(timeout=60_000)
        alice.reload()
        expect(alice.get_by_text("1 note", exact=True)).to_be_visible(timeout=60_000)
        browser.close()
