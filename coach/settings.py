"""One settings object, read from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_DIR = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "upward"


def _default_models_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "upward" / "models"


TEAM_SLOTS = 4  # bench/bench_parallel.py: 4 people at once, worst first token 20.4 s on 1 slot, 8.7 s on 4


class Settings(BaseSettings):
    """Everything Upward can be configured with; each field names its environment variable."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias="COACH_DATA_DIR",
        description="Where the index, the model cache and conversations are stored.",
    )
    knowledge_dir: Path = Field(
        default=REPO_DIR / "knowledge",
        validation_alias="COACH_KNOWLEDGE_DIR",
        description="Folder of playbook cards (Markdown with YAML front matter).",
    )
    prompts_dir: Path = Field(
        default=REPO_DIR / "prompts",
        validation_alias="COACH_PROMPTS_DIR",
        description="Folder of prompt files, loaded by name.",
    )
    scenarios_dir: Path = Field(
        default=REPO_DIR / "scenarios",
        validation_alias="COACH_SCENARIOS_DIR",
        description="Folder of rehearsal scenarios, one YAML file each.",
    )
    models_dir: Path = Field(
        default_factory=_default_models_dir,
        validation_alias="COACH_MODELS_DIR",
        description="Cache for the default model file, joined once from its PyPI packages (1.1 GB).",
    )
    backend: Literal["local", "openai"] = Field(
        default="local",
        validation_alias="COACH_BACKEND",
        description="local: embedded llama.cpp server; openai: any OpenAI-compatible server.",
    )
    model: str = Field(
        default="",
        validation_alias="COACH_MODEL",
        description="local: path to a GGUF file (empty: the bundled Qwen2.5-Coder-1.5B); "
        "openai: the model name, e.g. gpt-4o-mini or llama3.1:8b.",
    )
    base_url: str = Field(
        default="",
        validation_alias=AliasChoices("COACH_BASE_URL", "OPENAI_BASE_URL"),
        description="openai backend: the server's /v1 URL (empty: api.openai.com).",
    )
    api_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("COACH_API_KEY", "OPENAI_API_KEY"),
        description="openai backend: the API key (local servers accept any value).",
    )
    context_tokens: int = Field(
        default=8192, ge=1024, validation_alias="COACH_CONTEXT_TOKENS",
        description="Context window of the local model, and the budget for prompt plus history.",
    )
    answer_tokens: int = Field(
        default=512, ge=32, validation_alias="COACH_ANSWER_TOKENS",
        description="Longest answer the model may write.",
    )
    parallel: int = Field(
        default=1, ge=1, le=16, validation_alias="COACH_PARALLEL",
        description="local backend: requests the embedded server answers side by side (one slot each, "
        "each with the full context; memory grows with it). Unset: 1 for one person (COACH_AUTH=off), "
        f"{TEAM_SLOTS} for a team (COACH_AUTH=password).",
    )
    threads: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        validation_alias="COACH_THREADS",
        description="CPU threads for the local model.",
    )
    temperature: float = Field(default=0.3, validation_alias="COACH_TEMPERATURE")
    timeout: float = Field(
        default=120.0, validation_alias="COACH_TIMEOUT",
        description="Seconds to wait for the model server before giving up on a request.",
    )
    database_url: SecretStr = Field(
        default=SecretStr(""), validation_alias="COACH_DATABASE_URL",
        description="Empty: SQLite under the data directory; else a SQLAlchemy URL, e.g. "
        "postgresql+psycopg://user:password@host/upward (a secret: it may hold a password).",
    )
    auth: Literal["off", "password"] = Field(
        default="off", validation_alias="COACH_AUTH",
        description="off: one person on this machine (the app refuses to serve beyond localhost); "
        "password: every user signs in, and sees only their own workspaces.",
    )
    session_days: float = Field(
        default=1.0, gt=0, validation_alias="COACH_SESSION_DAYS",
        description="With accounts: days a sign-in lasts before the user must sign in again.",
    )
    cookie_key: SecretStr = Field(
        default=SecretStr(""), validation_alias="COACH_COOKIE_KEY",
        description="With accounts: the key that signs session cookies (empty: one is made and kept "
        "under the data directory). Give every replica the same one.",
    )
    allow_public_without_auth: bool = Field(
        default=False, validation_alias="COACH_ALLOW_PUBLIC_WITHOUT_AUTH",
        description="Serve beyond localhost with COACH_AUTH=off anyway (only behind a proxy that signs people in).",
    )
    chroma_host: str = Field(
        default="", validation_alias="CHROMA_HOST",
        description="Empty: embedded Chroma under the data directory; else a `chroma run` server.",
    )
    chroma_port: int = Field(default=8000, validation_alias="CHROMA_PORT")
    top_k: int = Field(default=4, ge=1, le=20, validation_alias="COACH_TOP_K")
    ask_history: Literal["full", "questions", "summaries"] = Field(
        default="questions", validation_alias="COACH_ASK_HISTORY",
        description="How earlier turns of a chat reach the model: the questions only (default), questions "
        "with the first line of each answer, or whole turns replayed. See README, Ask figures.",
    )

    @model_validator(mode="after")
    def _team_slots(self) -> Settings:
        """A deployment with accounts serves several people at once: unless COACH_PARALLEL says otherwise,
        its embedded server answers them side by side rather than one after the other."""
        if "parallel" not in self.model_fields_set and self.auth == "password":
            self.parallel = TEAM_SLOTS
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def kv_cache_dir(self) -> Path:
        """Saved model state of the stable prompt prefix (playbook and profile, never notes)."""
        return self.data_dir / "kv-cache"

