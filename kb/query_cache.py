"""Query vectors remembered: staff ask the same things, and a query embeds once.

A search's query embedding is most of its cost (38 of 43 ms of CPU at 1x on the loaded
benchmark machine, README "The hybrid query"); the same question asked again, by the same
person paging back or by a colleague, needs the same vector. The cache is keyed by
the model's id and the query's text as search embeds it (spaces collapsed), bounded, and
the least recently used entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from kb.embedding import Embedder

# 1,024 vectors of 384 floats: 1.5 MB a process.
CACHE_SIZE = 1024


class CachingEmbedder:
    """An :class:`~kb.embedding.Embedder` that remembers the last ``size`` query vectors.

    Passages (ingestion) go straight to the wrapped embedder. A query already asked
    gets the vector the wrapped embedder gave it then; the others are embedded together
    in one call. Safe to use from several threads.

    Args:
        inner: the embedder that does the work.
        size: most query vectors kept.
    """

    def __init__(self, inner: Embedder, size: int = CACHE_SIZE) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.label = inner.label
        self.dimension = inner.dimension
        self.size = size
        self.hits = 0  # queries answered from the cache so far (tests, diagnostics)
        self._lock = threading.Lock()
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @property
    def entries(self) -> int:
        """How many query vectors the cache holds. (Not ``__len__``: an empty cache would
        be false where pages ask ``if status.embedder``.)"""
        return len(self._vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries, from the cache where asked before."""
        keys = [(self.model_id, text) for text in texts]
        found: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            for key in keys:
                vector = self._vectors.get(key)
                if vector is not None:
                    self._vectors.move_to_end(key)
                    found[key] = vector
            self.hits += sum(key in found for key in keys)
        missing = list(dict.fromkeys(t for t in texts if (self.model_id, t) not in found))
        if missing:
            vectors = np.asarray(self.inner.embed_queries(missing), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    key = (self.model_id, text)
                    vector = vector.copy()
                    vector.setflags(write=False)  # shared by every caller: never changed
                    found[key] = self._vectors[key] = vector
                    self._vectors.move_to_end(key)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[key] for key in keys])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, from the wrapped embedder, never cached."""
        return self.inner.embed_passages(texts)
