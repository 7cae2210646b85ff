"""Drive the app with N people at once, each in their own browser context, each signed in as a different user.

    .venv/bin/python bench/bench_load.py [--users 1 2 4 8] [--parallel 4] [--tiny]

Starts the app (COACH_AUTH=password, a fresh data folder, COACH_PARALLEL slots), adds one account per
person, then for each N: every person signs in, asks a question carrying a token of their own, and
adds a note carrying another; the bench waits for every answer and note, then checks the store: each
note stored once, each question's answer saved whole. Prints, per N: errors (the target is 0), cross-talk (a token of one person seen on another person's pages; the target is 0),
time to the first answer text p50/p95, and the most slots of the embedded model server busy at once.
Playwright drives Debian's Chromium; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHAT = "Ask a question, paste a draft, or say \"let's practise…\""
PASSWORD = "a long enough passphrase"
DEBUG_DIR = Path(os.environ["LOAD_DEBUG_DIR"]) if os.environ.get("LOAD_DEBUG_DIR") else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_server_ports(pid: int) -> list[int]:
    """The loopback ports the app's child processes listen on (the embedded llama.cpp server's is one)."""
    import psutil

    ports = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            ports += [c.laddr.port for c in child.net_connections("tcp")
                      if c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1"]
        except psutil.Error:
            pass
    return ports


class SlotWatcher(threading.Thread):
    """Samples the model server's /slots every 0.2 s and keeps the most slots busy at once."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.busy_max, self.rss_max_mb, self.stop = pid, 0, 0, threading.Event()
        self.url = None

    def rss_mb(self) -> int:
        """The app's resident memory, with its model server's (a process of its own)."""
        import psutil

        try:
            app = psutil.Process(self.pid)
            return sum(p.memory_info().rss for p in [app, *app.children(recursive=True)]) >> 20
        except psutil.Error:
            return 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.rss_max_mb = max(self.rss_max_mb, self.rss_mb())
            if self.url is None:
                for port in model_server_ports(self.pid):
                    try:  # the model server answers a JSON list of slots (Streamlit answers any path with its page)
                        if isinstance(httpx.get(f"http://127.0.0.1:{port}/slots", timeout=1).json(), list):
                            self.url = f"http://127.0.0.1:{port}/slots"
                    except (httpx.HTTPError, ValueError):
                        pass
            else:
                try:
                    slots = httpx.get(self.url, timeout=1).json()
                    self.busy_max = max(self.busy_max, sum(bool(s.get("is_processing")) for s in slots))
                except (httpx.HTTPError, ValueError):
                    pass
            time.sleep(0.2)


def wait_until_up(url: str, seconds: float = 150) -> None:
    """Wait until the app answers HTTP at url (or the time is up; the rounds then report the errors)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.5)


async def sign_in(page, url: str, user: str):
    """Sign in as user and wait until the page has settled and the model is ready; return the chat input."""
    from playwright.async_api import expect

    await page.goto(url)
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    box = page.get_by_placeholder(CHAT)
    await expect(box).to_be_visible(timeout=180_000)
    # Signed in and the page settled (the sign-in cookie causes one more run): then type.
    await expect(page.get_by_text("Signed in as", exact=False)).to_be_visible(timeout=180_000)
    # .first: under load the sidebar can briefly show the model's status twice (the status
    # fragment's element and the full run's), which is not an error a person would see as one.
    await expect(page.get_by_text("Ready", exact=True).first).to_be_visible(timeout=600_000)
    return box


async def person(browser, url: str, user: str, tokens: dict, timings: list, errors: list) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    step = "sign in"
    try:
        box = await sign_in(page, url, user)
        ask, note = tokens[user]
        step = "ask"
        started = time.perf_counter()
        await box.fill(f"My boss {ask} keeps moving my deadlines. How do I raise it with her?")
        await box.press("Enter")
        assistant = page.locator('[data-testid="stChatMessage"]').nth(1)
        await expect(assistant).to_be_visible(timeout=300_000)
        # The first answer text: the reply holds more than its "Answering a question (97% sure)" line.
        while time.perf_counter() - started < 600:
            lines = (await assistant.inner_text(timeout=600_000)).strip().splitlines()
            if len(" ".join(line for line in lines if not line.startswith("Answering")).strip()) >= 20:
                break
            await asyncio.sleep(0.1)
        timings.append(time.perf_counter() - started)
        step = "answer finished"
        await expect(page.get_by_text("Sources (")).to_be_visible(timeout=600_000)
        step = "add a note"
        await page.get_by_role("link", name="Notes").click()
        await page.get_by_role("tab", name="Paste text").click()
        await page.get_by_label("Name", exact=True).fill(f"note {note}")
        await page.get_by_label("Text", exact=True).fill(f"Private detail {note} about my boss.")
        await page.get_by_role("button", name="Add note").click()
        await expect(page.get_by_text(f"Added **note {note}**".replace("**", ""))).to_be_visible(timeout=120_000)
        # Cross-talk: nothing of anyone else's, on either page.
        step = "back to the chat"
        seen = await page.inner_text("body")
        await page.get_by_role("link", name="Coach").click()
        await expect(page.get_by_text(ask).first).to_be_visible(timeout=60_000)
        seen += await page.inner_text("body")
        others = [t for other, pair in tokens.items() if other != user for t in pair]
        tokens[user + ":crosstalk"] = [t for t in others if t in seen]
    except Exception as exc:  # noqa: BLE001 - counted and printed
        said = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        errors.append(f"{user} ({step}): {exc.__class__.__name__}: {said[:400]}")
        if DEBUG_DIR:  # what the person saw when it failed
            await page.screenshot(path=str(DEBUG_DIR / f"{user}.png"), full_page=True)
            (DEBUG_DIR / f"{user}.txt").write_text(await page.inner_text("body"))
    finally:
        await context.close()


def stored_once(users: list[str], tokens: dict) -> list[str]:
    """What the store holds, whatever the pages showed: each note once, each question answered in full."""
    import json as json_

    from sqlalchemy import func, select

    from coach.db import Database, notes, turns

    problems = []
    with Database.of(Path(os.environ["COACH_DATA_DIR"]) / "upward.db").connect() as c:
        for user in users:
            ask, note = tokens[user]
            n = c.execute(select(func.count()).where(notes.c.text.contains(note))).scalar()
            answers = [json_.loads(p) if p else {} for (p,) in
                       c.execute(select(turns.c.payload).where(turns.c.question.contains(ask))).all()]
            if n != 1:
                problems.append(f"{user} (store): the note is stored {n} times")
            if len(answers) != 1 or {"pending", "interrupted"} & set(answers[0]):
                problems.append(f"{user} (store): the question's saved replies are {answers}")
    return problems


async def round_of(url: str, users: list[str]) -> dict:
    from playwright.async_api import async_playwright

    tokens = {u: (f"ASK{secrets.token_hex(3).upper()}", f"NOTE{secrets.token_hex(3).upper()}") for u in users}
    timings, errors = [], []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        await asyncio.gather(*(person(browser, url, u, tokens, timings, errors) for u in users))
        await browser.close()
    errors += stored_once(users, tokens)
    crosstalk = sum(len(v) for k, v in tokens.items() if k.endswith(":crosstalk"))
    timings.sort()
    return {"users": len(users), "errors": errors, "crosstalk": crosstalk,
            "first_text_p50_s": round(statistics.median(timings), 2) if timings else None,
            "first_text_p95_s": round(timings[math.ceil(len(timings) * 0.95) - 1], 2) if timings else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--parallel", type=int, default=4, help="COACH_PARALLEL: slots of the embedded server")
    parser.add_argument("--tiny", action="store_true", help="the tests' SmolLM2-135M instead of the default model")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="upward-load-"))
    env = {**os.environ, "COACH_DATA_DIR": str(data), "COACH_AUTH": "password",
           "COACH_PARALLEL": str(args.parallel), "COACH_ANSWER_TOKENS": "160"}
    if args.tiny:
        from tests.conftest import tiny_model_path

        env.update(COACH_MODEL=str(tiny_model_path()), COACH_CONTEXT_TOKENS="4096")
    os.environ.update({k: v for k, v in env.items() if k.startswith("COACH_")})
    from coach.accounts import Accounts
    from coach.db import Database

    accounts = Accounts(Database.of(data / "upward.db"))
    rounds = {n: [f"r{n}u{i}" for i in range(n)] for n in args.users}  # fresh people each round
    for u in (u for people in rounds.values() for u in people):
        accounts.add(u, u, PASSWORD)
    port = free_port()
    log = open(DEBUG_DIR / "app.log", "w") if DEBUG_DIR else subprocess.DEVNULL  # noqa: SIM115 - open for the run
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    watcher = SlotWatcher(app.pid)
    watcher.start()
    results = []
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url)
        for n in args.users:
            watcher.busy_max = 0
            result = asyncio.run(round_of(url, rounds[n]))
            result["slots_busy_max"] = watcher.busy_max
            result["app_rss_max_mb"] = watcher.rss_max_mb
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        watcher.stop.set()
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
    model = "SmolLM2-135M" if args.tiny else "default (Qwen2.5-Coder-1.5B)"
    print(f"\n{model}, COACH_PARALLEL={args.parallel}")
    print(f"{'users':>5}  {'people with errors':>18}  {'cross-talk':>10}  {'first text p50':>14}  {'p95':>6}  {'slots busy':>10}  {'app memory':>10}")
    for r in results:
        failed = {e.split(" ", 1)[0] for e in r["errors"]}  # a person's failed step and its store check count once
        print(f"{r['users']:>5}  {len(failed):>18}  {r['crosstalk']:>10}  {r['first_text_p50_s']!s:>14}  "
              f"{r['first_text_p95_s']!s:>6}  {r['slots_busy_max']:>10}  {r['app_rss_max_mb']:>7} MB")
        for e in r["errors"]:
            print(f"       {e}")


if __name__ == "__main__":
    main()
