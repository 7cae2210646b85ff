"""Take the README's screenshots with the configured model (the default one unless COACH_MODEL is set).

    .venv/bin/python scripts/screenshot.py [ask] [chat-review] [review] [rehearse]   # docs/NAME.png

Starts the app on a free port with a fresh data folder, drives Debian's Chromium, saves PNGs.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DRAFT = ("Hi Dana,\nSorry to bother you again, I know you're busy. The vendor will probably be late "
         "with the parts, it's probably nothing.\nWhatever you decide is fine, just tell me what to do.")


def settled(locator) -> None:
    """Wait until a streamed message has text that stopped changing."""
    last, same = "", 0
    for _ in range(600):
        body = locator.locator('[data-testid="stMarkdownContainer"]')
        text = body.first.inner_text().strip() if body.count() else ""
        same = same + 1 if text and text == last else 0
        if same >= 6:
            return
        last = text
        time.sleep(0.5)


CHAT = "Ask a question, paste a draft, or say \"let's practise…\""


def send(page, text: str) -> None:
    box = page.locator("[data-testid=stChatInputTextArea]")
    box.fill(text)
    box.press("Enter")


def ask(page) -> None:
    send(page, "I missed a deadline and I'm nervous to tell my boss Dana. What should I do?")
    expect(page.get_by_text("Sources (")).to_be_visible(timeout=300_000)
    page.locator("[data-testid=stExpander] summary").first.click()


def chat_review(page) -> None:
    page.get_by_role("button", name="New chat").click()
    send(page, DRAFT)
    expect(page.locator("mark").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Writing a better version", exact=False)).to_have_count(0, timeout=300_000)


def review(page) -> None:
    page.get_by_role("link", name="Review").click()
    page.get_by_label("Your draft").fill(DRAFT)
    page.get_by_label("What do you want from this message? (optional)").fill("a decision on the backup vendor")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("mark").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Writing a better version", exact=False)).to_have_count(0, timeout=300_000)


def rehearse(page) -> None:
    page.get_by_role("link", name="Rehearse").click()
    page.get_by_role("button", name="Start").click()
    for line in ["Hi Dana, Friday's deadline is at risk: the API team slipped two days.",
                 "I know you promised Friday to your director, so I propose we ship the core report on Friday "
                 "and the export next Wednesday."]:
        box = page.get_by_placeholder("What do you say to Dana?")
        expect(box).to_be_visible(timeout=60_000)
        count = page.locator('[data-testid="stChatMessage"]').count()
        box.fill(line)
        box.press("Enter")
        expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(count + 2, timeout=120_000)
        settled(page.locator('[data-testid="stChatMessage"]').nth(count + 1))
    page.get_by_role("button", name="Hint: what should I say?").click()
    expect(page.locator('[data-testid="stAlertContentInfo"]')).to_be_visible(timeout=120_000)


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COACH_DATA_DIR": tempfile.mkdtemp(prefix="upward-shots-")}
    subprocess.run([sys.executable, "-m", "coach.cli", "profile", "set", "name", "Dana"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "coach.cli", "profile", "set", "update_detail",
                    "bullet points and a clear ask"], env=env, check=True)
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for _ in range(100):
                try:
                    page.goto(f"http://127.0.0.1:{port}")
                    break
                except Exception:
                    time.sleep(0.5)
            expect(page.get_by_text("Ready", exact=True)).to_be_visible(timeout=300_000)
            steps = {"ask": ask, "chat-review": chat_review, "review": review, "rehearse": rehearse}
            wanted = sys.argv[1:] or list(steps)
            for name, step in ((n, steps[n]) for n in wanted):
                try:
                    step(page)
                except Exception:
                    page.screenshot(path=f"/tmp/failed-{name}.png")
                    raise
                page.wait_for_timeout(1500)
                page.screenshot(path=str(ROOT / "docs" / f"{name}.png"))
                print(f"docs/{name}.png")
            browser.close()
    finally:
        app.terminate()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()


if __name__ == "__main__":
    main()
