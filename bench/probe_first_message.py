"""Probe: N people sign in at once and send a question the moment the page is ready; does it arrive?

    .venv/bin/python bench/probe_first_message.py [--users 8] [--rounds 3] [--notes]

Starts the app as bench/bench_load.py does (COACH_AUTH=password, the tests' tiny model, a fresh data
folder, 4 slots), then for each round: every person signs in, waits for "Ready", types a question with a
token of their own and presses Enter; the question must show in their chat within 90 s. With --notes,
each then waits for the answer, opens *Notes*, chooses the *Paste text* tab and watches it stay chosen
for 6 s. Prints one line per person: ok, or what failed, with the seconds of each step. Screenshots of
failures go to PROBE_OUT (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_load import PASSWORD, free_port, sign_in, wait_until_up  # noqa: E402

OUT = Path(os.environ.get("PROBE_OUT") or tempfile.mkdtemp(prefix="upward-probe-out-"))


async def person(browser, url: str, user: str, notes: bool, results: list) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    token, started, log = f"ASK{secrets.token_hex(3).upper()}", time.perf_counter(), []

    def at(step: str, *extra) -> None:
        log.append((step, round(time.perf_counter() - started, 2), *extra))

    try:
        box = await sign_in(page, url, user)
        at("ready")
        await box.fill(f"My boss {token} keeps moving my deadlines. How do I raise it with her?")
        at("typed", token in await box.input_value())
        await box.press("Enter")
        at("sent")
        await expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text(token, timeout=90_000)
        at("arrived")
        if notes:
            await expect(page.get_by_text("Sources (")).to_be_visible(timeout=600_000)
            await page.get_by_role("link", name="Notes").click()
            await page.get_by_role("tab", name="Paste text").click()
            at("tab chosen")
            for _ in range(30):
                await asyncio.sleep(0.2)
                if not await page.get_by_label("Name", exact=True).is_visible():
                    raise AssertionError("the Paste text tab went back to "
                                         f"{await page.get_by_role('tab', selected=True).all_inner_texts()}")
            at("tab held")
        results.append((user, "ok", log))
    except Exception as exc:  # noqa: BLE001 - counted and printed
        results.append((user, f"FAILED {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}", log))
        await page.screenshot(path=str(OUT / f"{user}.png"), full_page=True)
    finally:
        await context.close()


async def round_of(url: str, users: list[str], notes: bool) -> list:
    from playwright.async_api import async_playwright

    results: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        await asyncio.gather(*(person(browser, url, u, notes, results) for u in users))
        await browser.close()
    return sorted(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notes", action="store_true", help="then choose the Paste text tab and watch it")
    args = parser.parse_args()
    from tests.conftest import tiny_model_path

    data = Path(tempfile.mkdtemp(prefix="upward-probe-"))
    env = {**os.environ, "COACH_DATA_DIR": str(data), "COACH_AUTH": "password", "COACH_PARALLEL": "4",
           "COACH_ANSWER_TOKENS": "160", "COACH_MODEL": str(tiny_model_path()), "COACH_CONTEXT_TOKENS": "4096"}
    os.environ.update({k: v for k, v in env.items() if k.startswith("COACH_")})
    from coach.accounts import Accounts
    from coach.db import Database

    accounts = Accounts(Database.of(data / "upward.db"))
    rounds = [[f"p{r}u{i}" for i in range(args.users)] for r in range(args.rounds)]
    for user in (u for people in rounds for u in people):
        accounts.add(user, user, PASSWORD)
    port = free_port()
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    failed = tried = 0
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url)
        for people in rounds:
            for user, outcome, log in asyncio.run(round_of(url, people, args.notes)):
                tried, failed = tried + 1, failed + (outcome != "ok")
                print(user, outcome, log, flush=True)
    finally:
        app.kill()
        app.wait()
    print(f"\n{failed} of {tried} failed; screenshots of failures in {OUT}")


if __name__ == "__main__":
    main()
