"""The long-lived parts (embeddings, index, model server), built once and shared by every face."""

from __future__ import annotations

import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING

from coach.errors import CoachError, ConfigError
from coach.embeddings import MiniLMEmbeddings
from coach.jobs import Jobs
from coach.knowledge import Card, CardProblem, load_cards
from coach.prompts import load_prompt
from coach.settings import Settings
from coach.store import KnowledgeIndex, SyncReport, make_client, move_aside
from coach.workspace import Workspace, check_workspace

if TYPE_CHECKING:  # for annotations only: the model client (langchain-openai) loads with the first model built
    from langchain_core.language_models import BaseChatModel

    from coach.ask import AskChain
    from coach.local_server import LocalServer


class Runtime:
    """Build resources lazily and once; pass `model` to use a given chat model (tests)."""

    def __init__(self, settings: Settings | None = None, *, model: BaseChatModel | None = None) -> None:
        self.settings = settings or Settings()
        self._model = model
        self._lock = threading.Lock()
        self.server: LocalServer | None = None
        self.cards: list[Card] = []
        self.problems: list[CardProblem] = []
        self.last_sync: SyncReport | None = None
        self.warming = False
        self._workspaces: dict[tuple[str | None, str], Workspace] = {}
        self._server_holds = ""  # which mode's prompt the local server's cache holds
        # The user a command-line process acts for (--user); the app's shared runtime never has one.
        self.default_user: str | None = None
        self._index: KnowledgeIndex | None = None
        self._index_lock = threading.Lock()
        self.answers = Jobs()  # Ask answers being written, by (user, workspace, chat, message number)

    @cached_property
    def embeddings(self) -> MiniLMEmbeddings:
        return MiniLMEmbeddings(threads=self.settings.threads)

    @cached_property
    def client(self):
        return make_client(self.settings)

    @property
    def index(self) -> KnowledgeIndex:
        """The playbook index, built (and synced with the cards) once, whichever thread asks first."""
        with self._index_lock:
            if self._index is None:
                index = KnowledgeIndex(self.client, self.embeddings)
                self.refresh(index)
                self._index = index
            return self._index

    @property
    def database(self):
        """The database (SQLite under the data directory unless COACH_DATABASE_URL), migrated on first use."""
        from coach.db import Database

        return Database.of(self.settings.database_url.get_secret_value() or self.settings.data_dir / "upward.db")

    def workspace(self, name: "str | Workspace | None" = None, user: str | None = None) -> Workspace:
        """Open a workspace of this user (created on first use); the same object is returned each time.

        With accounts on (COACH_AUTH=password) a user is required, and only that user's workspaces
        can be opened: their rows and notes are stored under keys derived from the user here.
        """
        if isinstance(name, Workspace):
            return name
        user = user or self.default_user
        if self.settings.auth == "password":
            if not user:
                raise ConfigError("This deployment has accounts (COACH_AUTH=password): say whose workspace.",
                                  "Sign in in the app, or give --user NAME on the command line.")
            from coach.accounts import check_username

            user = check_username(user)
        elif user:
            raise ConfigError("Accounts are off (COACH_AUTH=off), so there are no users.",
                              "Leave out --user, or set COACH_AUTH=password.")
        name = check_workspace(name)
        with self._lock:
            if (user, name) not in self._workspaces:
                space = Workspace(name, self.client, self.embeddings, self.database, owner=user)
                space.notes.reconcile()
                space.notes.restore_missing()  # after an index rebuild, notes are embedded again
                self._workspaces[(user, name)] = space
            return self._workspaces[(user, name)]

    @cached_property
    def accounts(self):
        from coach.accounts import Accounts

        return Accounts(self.database)

    def refresh(self, index: KnowledgeIndex | None = None) -> SyncReport:
        """Reload the cards and bring the index in step with them."""
        self.cards, self.problems = load_cards(self.settings.knowledge_dir)
        self.last_sync = (index or self.index).sync(self.cards)
        return self.last_sync

    def rebuild_index(self) -> SyncReport:
        """Move a damaged index aside and build a fresh one from the cards."""
        self._index = None
        self.__dict__.pop("client", None)
        self._workspaces.clear()
        move_aside(self.settings)
        if self.settings.chroma_host:
            make_client(self.settings).delete_collection("playbook")
        _ = self.index
        return self.last_sync

    def start_model(self, background: bool = True, warm: bool = False) -> None:
        """Start the local model server (no-op for remote backends or an injected model).

        With warm, the Ask prompt's stable prefix is evaluated as soon as the model is loaded,
        so the first question is answered from the server's prompt cache.
        """
        if self._model is not None or self.settings.backend != "local":
            return
        with self._lock:
            if self.server is None:
                from coach.local_server import LocalServer

                self.server = LocalServer(self.settings)
        self.server.start(background=background)
        if warm:
            self.warming = True
            threading.Thread(target=self.warm_up, name="warm-up", daemon=True).start()

    def _prefix_file(self, chain: AskChain) -> str:
        import hashlib

        key = f"{self.server.model_path}:{self.settings.context_tokens}:{chain.shared_prefix.content}"
        return f"ask-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"

    def warm_up(self) -> str:
        """Put the Ask prompt's shared prefix in the server's cache: "restored" from disk when an
        earlier start saved it, else "evaluated" (and saved for next time); "failed" otherwise.

        The prefix is the instructions and the playbook, with an empty profile: the same for every
        workspace, so a workspace's first question evaluates only its own short profile.
        """
        from langchain_core.messages import HumanMessage

        self.warming = True
        try:
            chain = self._ask_chain(None, shared_only=True)
            server = self.server if self._model is None and self.settings.backend == "local" else None
            name = ""
            if server is not None:
                server.wait()
                name = self._prefix_file(chain)
                if server.restore_prefix(name):
                    self._server_holds = "ask"
                    return "restored"
            self.chat_model(max_tokens=1, streaming=False).invoke([chain.shared_prefix, HumanMessage("Hello")])
            # Saved right after the prefix alone was evaluated: the file holds the playbook, never a
            # profile, notes or a conversation.
            if server is not None:
                server.save_prefix(name)
                self._server_holds = "ask"
            return "evaluated"
        except Exception:  # warming is an optimisation; a real request reports the failure
            return "failed"
        finally:
            self.warming = False

    def used_by(self, mode: str) -> None:
        """Note which mode's prompt the local server's cache now holds (see ask_chain)."""
        self._server_holds = mode

    def model_status(self) -> tuple[str, str]:
        """Return (state, detail) of the chat model for a status line."""
        if self._model is not None:
            return "ready", "test model"
        if self.settings.backend == "openai":
            where = self.settings.base_url or "api.openai.com"
            return "ready", f"{self.settings.model or 'gpt-4o-mini'} at {where}"
        if self.server is None:
            return "stopped", "not started"
        if self.server.state == "ready" and self.warming:
            return "warming", "Reading the playbook into the model's cache (first question may wait)"
        return self.server.state, self.server.detail

    def wait_until_ready(self, timeout: float = 600.0) -> None:
        """Wait while the model loads and reads the playbook; a failure is raised by the next request."""
        deadline = time.monotonic() + timeout
        while self.model_status()[0] in ("starting", "warming") and time.monotonic() < deadline:
            time.sleep(0.2)

    def chat_model(self, **overrides) -> BaseChatModel:
        """Return the chat model, waiting for the local server if it is still loading."""
        if self._model is not None:
            return self._model
        base_url = ""
        if self.settings.backend == "local":
            self.start_model()
            base_url = self.server.wait()
        from coach.models import chat_model

        return chat_model(self.settings, base_url, **overrides)

    def ask_chain(self, workspace: str | None = None) -> AskChain:
        """Build the Ask chain for a workspace: the playbook, its notes and its profile.

        If another mode used the local server since, its cache no longer holds the playbook: the
        saved prefix is loaded back (milliseconds) instead of evaluating it again (20 s and more).
        """
        chain = self._ask_chain(workspace)
        server = self.server if self._model is None and self.settings.backend == "local" else None
        if server is not None and server.state == "ready" and not self.warming and self._server_holds != "ask":
            if server.restore_prefix(self._prefix_file(chain)):
                self._server_holds = "ask"
        return chain

    def _ask_chain(self, workspace: "str | Workspace | None", shared_only: bool = False) -> AskChain:
        """The Ask chain of a workspace; shared_only: of no workspace (no notes, no profile), whose
        prompt prefix every workspace shares; it needs no user, so it warms up with accounts on too."""
        from coach.ask import AskChain

        index = self.index
        space = None if shared_only else self.workspace(workspace)
        return AskChain(
            self.chat_model(),
            index,
            self.cards,
            load_prompt("ask", self.settings.prompts_dir),
            notes=space.notes if space else None,
            profile=space.profile.load() if space else None,
            k=self.settings.top_k,
            context_tokens=self.settings.context_tokens,
            answer_tokens=self.settings.answer_tokens,
            history_mode=self.settings.ask_history,
            detector=self.detector,
            say_prompt=load_prompt("ask_say", self.settings.prompts_dir),
            scope=self.scope,
        )

    @cached_property
    def detector(self):
        """The sentence detector every judgment shares (myths and signals)."""
        from coach.detector import Detector

        return Detector(self.embeddings)

    @cached_property
    def analyzer(self):
        from coach.analysis import Analyzer

        return Analyzer(self.detector)

    def analyze(self, draft: str, workspace: str | None = None, goal: str = ""):
        """Review's instant analysis of a draft, against the workspace's profile."""
        return self.analyzer.analyze(draft, self.workspace(workspace).profile.load(), goal)

    def rewriter(self, workspace: str | None = None, approach: str = "gaps"):
        """A Rewriter for the workspace: writes a rewrite and checks it before it is kept."""
        from coach.rewriter import Rewriter

        self.used_by("review")
        return Rewriter(self.chat_model(streaming=True), load_prompt("rewrite", self.settings.prompts_dir),
                        self.analyzer, self.workspace(workspace).profile.load(), approach)

    def review(self, draft: str, workspace: str | None = None, goal: str = "", use_model: bool = True,
               approach: str = "gaps"):
        """Review a draft: the instant analysis, then a checked rewrite unless use_model is off."""
        from coach.review import Review

        analysis = self.analyze(draft, workspace, goal)
        if not use_model or not analysis.sentences:
            return Review(analysis)
        try:
            rewriter = self.rewriter(workspace, approach)
        except CoachError as exc:  # the instant analysis still stands
            return Review(analysis, note=f"The coach's rewrite is unavailable: {exc}")
        return rewriter.review(analysis, goal)

    def scenarios(self):
        """The rehearsal scenarios, and the files that could not be read."""
        from coach.scenarios import load_scenarios

        return load_scenarios(self.settings.scenarios_dir)

    def scenario(self, name: str):
        from coach.errors import InputError

        found, _ = self.scenarios()
        if name not in found:
            raise InputError(f"No scenario called {name!r}.", f"Choose one of: {', '.join(found)}.")
        return found[name]

    @cached_property
    def scope(self):
        """Whether the playbook covers a question."""
        from coach.scope import ScopeClassifier

        return ScopeClassifier(self.embeddings)

    @cached_property
    def router(self):
        """Routes chat messages to ask, review or rehearse."""
        from coach.router import Router

        return Router(self.embeddings)

    @cached_property
    def concession(self):
        """Whether a line of the superior's concedes (Rehearse checks every line with it)."""
        from coach.concession import ConcessionClassifier

        return ConcessionClassifier(self.embeddings)

    def rehearsal_coach(self, scenario, workspace: str | None = None):
        """The coach for one rehearsal (a scenario or its name): plays the superior, hints, debriefs."""
        from coach.rehearse import Coach

        prompts = {key: load_prompt(f"rehearse_{key}", self.settings.prompts_dir)
                   for key in ("persona", "hint", "improve")}
        self.used_by("rehearse")
        if isinstance(scenario, str):
            scenario = self.scenario(scenario)
        _ = self.index  # loads the cards
        from coach.models import without_repeats

        model = self.chat_model()
        return Coach(model, prompts, scenario, self.workspace(workspace).profile.load(),
                     self.playbook_text(), self.detector, self.concession, self.cards,
                     voice=model if self._model is not None else without_repeats(model, self.settings))

    def prompt(self, name: str):
        """A prompt file from the prompts folder, checked as it loads."""
        return load_prompt(name, self.settings.prompts_dir)

    def playbook_text(self) -> str:
        """The playbook block every coaching prompt quotes (the same text Ask caches)."""
        from coach.ask import playbook_block

        _ = self.index  # loads the cards
        return playbook_block(self.cards, self.settings.context_tokens // 2)[0]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
