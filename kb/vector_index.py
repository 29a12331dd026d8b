"""The dense ranker's index: the current model's unit vectors in memory, and past a size
a compressed copy of them that picks the candidates.

Below ``EXACT_BELOW`` units every query multiplies the whole float32 matrix: exact, and
what the shipped corpus and the benchmark use (4,648 units). The product reads
every vector once a query, 1.5 KB a unit, so it grows with the corpus: 368,000 units
(100x the six laws) are 565 MB read, 53 ms of CPU, memory-bound. Past the threshold a
4-bit product-quantized copy (faiss ``PQ{d/2}x4fs``: 2 dimensions a code of 4 bits,
d/4 bytes a unit, scanned with SIMD lookup tables) finds the ``CANDIDATES_PER_PASSAGE x
depth`` most likely rows, and only those are scored in float32, so a passage's score is
its exact cosine and only which rows are looked at is approximate. Measured on 100
replicas of the laws with vectors of their own (bench/bench_search_scale.py, README
"The dense side at 100x"): 9 ms of CPU a query instead of 52, and the exact top 50's
scores on 197 of 200 queries (recall 0.9992; the other three each miss one passage, at
rank 30, 44 or 48, for the 51st).

The copy is built in memory whenever the vectors are (re)loaded, from the same matrix:
a few seconds at 100x beside the seconds that reading the vectors from SQLite takes, so
nothing is persisted and SQLite stays the only source (README: why).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import sqlite_utils

from kb.schema import generation

log = logging.getLogger(__name__)

# Units (rows) from which the compressed copy picks the candidates; below, exact search.
# The exact product costs ~5 ms of CPU at 37,000 units and 53 ms at 368,000.
EXACT_BELOW = 100_000
# Rows rescored in float32 per passage asked for (8,000 for the usual 50): at 100x, 3,000
# keep recall 0.997 of the exact top 50, 5,000 0.999, 8,000 0.9992 (bench_dense_options).
CANDIDATES_PER_PASSAGE = 160
# Rows the product quantizer is trained on (enough for 16 centroids per sub-space).
TRAIN_ROWS = 65_536
SEED = 15


class VectorIndex:
    """The current model's vectors, in memory, reloaded when the index changes.

    Shared by all sessions of a process: it holds arrays, never a connection, and is
    safe to use from several threads. ``exact_below`` is the number of units from which
    a compressed copy picks the candidates (``EXACT_BELOW``; 0 always, a huge number
    never).
    """

    def __init__(self, exact_below: int = EXACT_BELOW) -> None:
        self.exact_below = exact_below
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._coarse: Any = None

    def _current(
        self, db: sqlite_utils.Database, model_id: str
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        key = (model_id, generation(db))
        with self._lock:
            if key != self._key:
                self._ids, self._matrix = load_vectors(db, model_id)
                self._coarse = None
                if len(self._ids) >= max(self.exact_below, 1):
                    self._coarse = build_coarse(self._matrix)
                self._key = key
            return self._ids, self._matrix, self._coarse

    def arrays(self, db: sqlite_utils.Database, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and their vectors (rows) for ``model_id``, current as of ``db``."""
        ids, matrix, _ = self._current(db, model_id)
        return ids, matrix

    def nearest(
        self,
        db: sqlite_utils.Database,
        model_id: str,
        vector: np.ndarray,
        depth: int,
        allowed: set[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``depth`` passages whose best unit is nearest ``vector``, as (chunk id,
        cosine), best first; ``allowed`` keeps only those passages.

        Exact below ``exact_below`` units; above, the compressed copy picks the rows
        that are scored (a document filter is few rows: those are all scored).
        """
        ids, matrix, coarse = self._current(db, model_id)
        if len(ids) == 0:
            return []
        if allowed is not None:
            mask = np.isin(ids, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            if coarse is None:
                return rank_passages(ids, np.where(mask, matrix @ vector, -np.inf), depth)
            rows = np.flatnonzero(mask)
            return rank_passages(ids[rows], matrix[rows] @ vector, depth)
        if coarse is not None:
            rows = candidate_rows(coarse, vector, depth * CANDIDATES_PER_PASSAGE)
            ranked = rank_passages(ids[rows], matrix[rows] @ vector, depth)
            if len(ranked) == depth or len(rows) == len(ids):
                return ranked
        return rank_passages(ids, matrix @ vector, depth)


def load_vectors(db: sqlite_utils.Database, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Read the vectors of every passage's units for ``model_id``: one row per unit, with
    the passage's id (a passage has several rows: itself and its clause windows)."""
    rows = db.execute(
        "SELECT u.chunk_id, v.vector FROM chunk_units u JOIN vectors v"
        " ON v.embed_hash = u.embed_hash AND v.model = ? ORDER BY u.chunk_id, u.seq",
        [model_id],
    ).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    return ids, matrix


def build_coarse(matrix: np.ndarray) -> Any:
    """A 4-bit product-quantized copy of ``matrix`` for inner products, or None when the
    dimension has no even split (then search stays exact)."""
    rows, dim = matrix.shape
    if dim % 2:
        log.warning("vector index: dimension %d is odd; dense search stays exact", dim)
        return None
    import faiss
    from threadpoolctl import threadpool_limits

    # One thread, like the rest of search: a spinning second thread stalls on a busy core.
    faiss.omp_set_num_threads(1)
    with threadpool_limits(1):
        coarse = faiss.index_factory(dim, f"PQ{dim // 2}x4fs", faiss.METRIC_INNER_PRODUCT)
        sample = matrix
        if rows > TRAIN_ROWS:
            picked = np.random.default_rng(SEED).choice(rows, TRAIN_ROWS, replace=False)
            sample = matrix[np.sort(picked)]
        coarse.train(np.ascontiguousarray(sample, dtype=np.float32))
        coarse.add(np.ascontiguousarray(matrix, dtype=np.float32))
    return coarse


def candidate_rows(coarse: Any, vector: np.ndarray, count: int) -> np.ndarray:
    """The rows the compressed copy ranks highest for ``vector``, in row order (so exact
    ties among them fall to the lower row, as in the exact path's stable sort)."""
    count = min(count, coarse.ntotal)
    _, rows = coarse.search(np.ascontiguousarray(vector, dtype=np.float32)[None, :], count)
    found = rows[0]
    return np.sort(found[found >= 0])


def rank_passages(ids: np.ndarray, scores: np.ndarray, depth: int) -> list[tuple[int, float]]:
    """Passages (chunk id, best unit's score), best first, from per-unit ``scores``."""
    # A passage scores as its best unit: order the best units, keep each passage's first.
    # A passage has at most a handful of units, so a partial sort of depth x 8 rows holds
    # `depth` passages unless nearly all the best units are one passage's (then sort all).
    order = _best_rows(scores, depth * 8)
    if len(order) < len(scores) and len(np.unique(ids[order])) < depth:
        order = np.argsort(-scores, kind="stable")
    seen: set[int] = set()
    ranked: list[tuple[int, float]] = []
    for row in order:
        score = float(scores[row])
        if not np.isfinite(score) or len(ranked) >= depth:
            break
        chunk_id = int(ids[row])
        if chunk_id not in seen:
            seen.add(chunk_id)
            ranked.append((chunk_id, score))
    return ranked


def _best_rows(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` highest scores, highest first."""
    if count >= len(scores):
        return np.argsort(-scores, kind="stable")
    top = np.argpartition(-scores, count - 1)[:count]
    return top[np.argsort(-scores[top], kind="stable")]
