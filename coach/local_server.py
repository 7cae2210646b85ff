"""The embedded llama.cpp server (xllamacpp): a child process on 127.0.0.1, started in the background."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Literal

from coach.errors import CoachError, ModelUnavailable
from coach.models import local_model_path

if TYPE_CHECKING:
    from pathlib import Path

    from coach.settings import Settings

State = Literal["stopped", "starting", "ready", "failed"]


class LocalServer:
    """The local model server, in a process of its own (see coach/llama_child.py for why)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: State = "stopped"
        self.detail = ""  # what it is doing now, for a status line
        self.progress = 0.0
        self.error: CoachError | None = None
        self.model_path: Path | None = None
        self._address = ""
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.started_at = 0.0

    def _on_progress(self, fraction: float, detail: str) -> None:
        self.progress, self.detail = fraction, detail

    def _run(self) -> None:
        try:
            self.detail = "Checking the model file"
            self.model_path = local_model_path(self.settings, self._on_progress)
            self.detail = f"Loading {self.model_path.name}"
            self.settings.kv_cache_dir.mkdir(parents=True, exist_ok=True)
            config = {
                "model": str(self.model_path),
                "parallel": self.settings.parallel,
                "context_tokens": self.settings.context_tokens,
                "threads": self.settings.threads,
                "slot_save_path": str(self.settings.kv_cache_dir) + "/",
            }
            with self._lock:
                if self._closed:  # released while it checked the file: never start
                    return
                # stderr is dropped: whatever llama.cpp might print could quote a prompt.
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "coach.llama_child", json.dumps(config)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            line = self._proc.stdout.readline()  # b"" when the child died, or was killed by close()
            with self._lock:
                if self._closed:
                    return
                reply = json.loads(line) if line.strip() else {"error": f"exit code {self._proc.wait()}"}
                if "error" in reply:
                    _reap(self._proc)
                    raise ModelUnavailable(
                        f"The local model server failed to start ({reply['error']}).",
                        "Check the model file with `coach doctor`, or choose another with COACH_MODEL.",
                    )
                self._address = reply["address"]
                self.state, self.detail = "ready", f"{self.model_path.name} ready"
        except CoachError as exc:
            self.error, self.state, self.detail = exc, "failed", exc.message
        except Exception as exc:  # the child could not be started at all
            self.error = ModelUnavailable(
                f"The local model server failed to start ({exc}).",
                "Check the model file with `coach doctor`, or choose another with COACH_MODEL.",
            )
            self.state, self.detail = "failed", self.error.message
        finally:
            self._ready.set()

    def start(self, background: bool = True) -> "LocalServer":
        """Start loading the model; return at once when background, else when ready or failed."""
        with self._lock:
            if self.state == "stopped" and not self._closed:
                self.state, self.started_at, self.error = "starting", time.monotonic(), None
                self._ready.clear()
                self._thread = threading.Thread(target=self._run, name="llama-server", daemon=True)
                self._thread.start()
        if not background:
            self.wait()
        return self

    def wait(self, timeout: float | None = None) -> str:
        """Block until the server is ready and return its /v1 URL; raise if it failed or was closed.

        A server whose process has died since (killed for memory, a crash) is started again."""
        if self._closed:
            raise ModelUnavailable("The model server was stopped (the app was reset).", "Reload the page.")
        with self._lock:
            if self.state == "ready" and self._proc is not None and self._proc.poll() is not None:
                _reap(self._proc)
                self.state, self.detail, self._address, self._proc = "stopped", "stopped unexpectedly", "", None
        if self.state == "stopped":
            self.start()
        if not self._ready.wait(timeout):
            raise ModelUnavailable(
                "The local model is still loading.", "Wait a moment and try again."
            )
        if self.error:
            raise self.error
        if self._closed:
            raise ModelUnavailable("The model server was stopped (the app was reset).", "Reload the page.")
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"{self._address}/v1" if self._address else ""

    def _slot(self, action: str, filename: str, slot: int = 0) -> bool:
        import httpx

        if not self._address:
            return False
        try:
            reply = httpx.post(f"{self._address}/slots/{slot}", params={"action": action},
                               json={"filename": filename}, timeout=120)
        except httpx.HTTPError:
            return False
        return reply.status_code == 200

    def restore_prefix(self, filename: str) -> bool:
        """Load a saved prompt prefix into every slot's cache, if the file is there."""
        if not (self.settings.kv_cache_dir / filename).is_file():
            return False
        return all([self._slot("restore", filename, slot) for slot in range(self.settings.parallel)])

    def save_prefix(self, filename: str) -> bool:
        """Save the server's cache (the prefix just evaluated) and drop older saved prefixes."""
        if not self._slot("save", filename):
            return False
        for old in self.settings.kv_cache_dir.glob("*.bin"):
            if old.name != filename:
                old.unlink(missing_ok=True)
        return True

    def close(self) -> None:
        """Stop the server at once and free the model; a closed server does not start again (a new
        one does). Requests still open end with a connection error."""
        with self._lock:
            self._closed = True
            self._address = ""
            self.state, self.detail = "stopped", "stopped"
            proc, self._proc = self._proc, None
        if proc is not None:
            _reap(proc)


def _reap(proc: subprocess.Popen) -> None:
    """End a server process (a no-op if it has ended) and release its pipes."""
    proc.kill()
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()
