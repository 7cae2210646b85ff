"""The chat in a real browser: time from sending a pasted draft to the instant findings, and to the checked rewrite.

    .venv/bin/python bench/bench_chat.py [--drafts 5] [--tiny]

Starts the app (a fresh data folder, the default model unless --tiny), waits until the model is
ready, then pastes drafts from the blind Review set into the coach chat one after another. For each:
seconds from pressing Enter to the highlighted draft (the instant findings) and to the end of the
rewrite (kept after its check, or the plain note that none passed). Prints each draft and the median.
Playwright drives Debian's Chromium; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DONE = "Checked: no pitfall|No rewrite passed|rewrite is unavailable|No pitfalls found"


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import free_port, tiny_model_path, wait_for_port

    parser = argparse.ArgumentParser()
    parser.add_argument("--drafts", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="the tests' SmolLM2-135M instead of the default model")
    args = parser.parse_args()
    drafts = [d["text"] for d in yaml.safe_load((ROOT / "tests/data/review_blind.yaml").read_text())
              if d.get("myths")][: args.drafts]
    env = {**os.environ, "COACH_DATA_DIR": tempfile.mkdtemp(prefix="upward-chat-bench-")}
    if args.tiny:
        env.update(COACH_MODEL=str(tiny_model_path()), COACH_CONTEXT_TOKENS="4096")
    port = free_port()
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                            "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_for_port(port, app, "streamlit")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}")
            expect(page.get_by_text("Ready", exact=True)).to_be_visible(timeout=600_000)
            for n, draft in enumerate(drafts, 1):
                messages = page.locator('[data-testid="stChatMessage"]')
                before = messages.count()
                box = page.locator("[data-testid=stChatInputTextArea]")
                box.fill(draft)
                started = time.perf_counter()
                box.press("Enter")
                while messages.count() < before + 2:  # the draft, then the coach's reply
                    time.sleep(0.02)
                reply = messages.nth(before + 1)
                while not reply.get_by_text("Your draft, flagged words highlighted").count():
                    time.sleep(0.02)
                findings = time.perf_counter() - started
                while not reply.get_by_text(re.compile(DONE)).count() and time.perf_counter() - started < 600:
                    time.sleep(0.1)
                total = time.perf_counter() - started
                rows.append((findings, total))
                print(f"draft {n}: findings {findings:.2f} s, rewrite done {total:.1f} s", flush=True)
            browser.close()
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
    model = "SmolLM2-135M" if args.tiny else "default model"
    print(f"\n{model}, {len(rows)} drafts pasted into the chat: findings p50 "
          f"{statistics.median(r[0] for r in rows):.2f} s (max {max(r[0] for r in rows):.2f} s); "
          f"checked rewrite done p50 {statistics.median(r[1] for r in rows):.1f} s")


if __name__ == "__main__":
    main()
