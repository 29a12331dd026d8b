"""Query embeddings shared out: the searches of many sessions at once run as one batch.

A short query through e5-small is bound by reading the model's weights, not by
arithmetic, so one forward pass over eight queries costs about four queries' time
(bench/bench_model.py). Searches from every session go to one embedding thread per
process. It takes whatever has queued while it was busy and embeds it in one call: an idle
server answers a lone query at once, and a busy one does more per pass instead of
queueing one pass per search.

The thread can also run at a lower CPU priority than the page runs, so that while the
machine is full (a deadline burst) submissions go first and searches take what is left.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kb.embedding import Embedder


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: np.ndarray | None = None
    error: BaseException | None = None


class BatchingEmbedder:
    """An :class:`~kb.embedding.Embedder` whose query embeddings are batched across threads.

    Passages (ingestion) go straight to the wrapped embedder. The vectors are those the
    wrapped embedder gives for the same texts alone, up to float rounding: a batch is
    padded to its longest query and the padding is masked out.

    Args:
        inner: the embedder that does the work.
        max_batch: most queries in one pass; more wait for the next.
        nice: added to the embedding thread's nice value (Linux; 0 leaves it as is).
            Raising it makes searches yield the CPU to page runs when both want it.
    """

    def __init__(self, inner: Embedder, max_batch: int = 32, nice: int = 0) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.label = inner.label
        self.dimension = inner.dimension
        self.max_batch = max_batch
        self.nice = nice
        self.passes = 0  # passes run and queries embedded so far (tests, diagnostics)
        self.queries = 0
        self._pending: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for search queries, computed on the embedding thread with any others
        that are waiting. Raises what the wrapped embedder raised."""
        request = _Request(list(texts))
        if not request.texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="query-embedding", daemon=True
                )
                self._thread.start()
            self._pending.append(request)
            self._ready.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, from the wrapped embedder in the caller's thread."""
        return self.inner.embed_passages(texts)

    def _serve(self) -> None:
        if self.nice and hasattr(os, "setpriority"):
            # On Linux a thread has its own nice value, addressed by its thread id. Where
            # that is not permitted the thread runs at the process's priority.
            with contextlib.suppress(OSError):
                me = threading.get_native_id()
                os.setpriority(
                    os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + self.nice)
                )
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                batch = self._take_batch()
            self._run(batch)

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        count = 0
        while self._pending and (
            not batch or count + len(self._pending[0].texts) <= self.max_batch
        ):
            request = self._pending.popleft()
            batch.append(request)
            count += len(request.texts)
        return batch

    def _run(self, batch: list[_Request]) -> None:
        texts = [text for request in batch for text in request.texts]
        try:
            vectors = self.inner.embed_queries(texts)
        except BaseException as exc:  # handed to every waiting caller, who re-raises it
            for request in batch:
                request.error = exc
                request.done.set()
            return
        self.passes += 1
        self.queries += len(texts)
        start = 0
        for request in batch:
            request.vectors = vectors[start : start + len(request.texts)]
            start += len(request.texts)
            request.done.set()
