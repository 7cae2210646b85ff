"""Take the README's screenshot: start the app, ask a question in Chromium, save docs/ask.png.

    .venv/bin/python scripts/screenshot.py "How do I tell my boss I missed a deadline?"

Uses whatever model the environment configures (the default model unless COACH_MODEL is set).
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main(question: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            for _ in range(100):
                try:
                    page.goto(f"http://127.0.0.1:{port}")
                    break
                except Exception:
                    time.sleep(0.5)
            box = page.get_by_placeholder("Ask about working with your boss…")
            expect(box).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Ready", exact=True)).to_be_visible(timeout=300_000)
            box.fill(question)
            box.press("Enter")
            expect(page.get_by_text("Sources (")).to_be_visible(timeout=300_000)
            page.locator("[data-testid=stExpander] summary").first.click()
            time.sleep(1)
            page.screenshot(path=str(ROOT / "docs" / "ask.png"))
            browser.close()
    finally:
        app.terminate()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "How do I tell my boss I missed a deadline?")
