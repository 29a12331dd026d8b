"""The lexical ranker's index: FTS5's own BM25, as postings of precomputed impacts.

SQLite's ``bm25()`` scores every row that matches any query term, and it has no top-k
pruning: a median query ORs 25 characters and bigrams and matches most passages, so at
121,200 passages it scored ~87,000 rows a query (206 ms of CPU, README). Its score is a sum
over the query's terms of a weight that depends only on the term and the passage::

    idf(t) * f * (k1 + 1) / (f + k1 * (1 - b + b * len / avglen))

with f the term's count in the body plus 0.3 times its count in the heading path, len the
passage's terms in both columns, idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6, and
k1 = 1.2, b = 0.75 (fts5_aux.c). So each weight is computed once, when the index is
built, and a query adds up the posting lists of its terms with ``numpy.bincount``: the
same scores as FTS5 (to float32 rounding), the same order (ties broken by passage id), in
about a millisecond at 100x.

SQLite stays the source of truth. The index is built from the FTS5 table's stored
content (the characters and bigrams that ``kb.lexical.index_text`` wrote), and saved as
a snapshot beside the database, ``<database>.lexical/g<generation>/``, one ``.npy`` file
per array, which every process maps read-only (the page cache holds one copy for all
workers). A snapshot is written to a temporary folder and renamed into place, under a
file lock, after the ingest's commit; a reader that finds none for the database's
current generation (a crash between the commit and the snapshot, a restored backup, a
deleted folder) builds it itself under the same lock. A snapshot is taken only if its
recorded generation and passage fingerprint match the database.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlite_utils

from base.store import read
from kb.lexical import CJK_CLASS, CJK_RANGES, MAX_QUERY_TERMS, match_expression, query_terms
from kb.schema import generation as generation_of

log = logging.getLogger(__name__)

FORMAT = 1
PATH_WEIGHT = 0.3  # the heading path counts for less than the passage (bm25 column weight)
K1, B = 1.2, 0.75  # FTS5's bm25() constants
# Term keys: a CJK character is its code point (< 2**18); a bigram packs two code points;
# any other word is numbered in the snapshot's word list, from WORD_BASE up.
_BIGRAM_SHIFT = 21
WORD_BASE = 1 << 40
_ROW_BITS = 22  # passages per index: up to 4 million (a posting packs term key and row)
_CJK_TERM = re.compile(f"[{CJK_CLASS}]+")
_ARRAYS = ("chunk_ids", "doc_ids", "keys", "indptr", "rows", "impacts")


def _cjk_table() -> np.ndarray:
    # One entry past the last range stays False: higher code points are clamped onto it.
    table = np.zeros(CJK_RANGES[-1][1] + 2, dtype=bool)
    for low, high in CJK_RANGES:
        table[low : high + 1] = True
    return table


_IS_CJK = _cjk_table()


def _is_cjk(cp: np.ndarray) -> np.ndarray:
    """Which code points are CJK (kb.lexical.CJK_RANGES), in bulk."""
    return _IS_CJK[np.minimum(cp, len(_IS_CJK) - 1)]


def _cjk_key(term: str) -> int | None:
    if not 1 <= len(term) <= 2 or not _CJK_TERM.fullmatch(term):
        return None
    codes = [ord(ch) for ch in term]
    return codes[0] if len(codes) == 1 else (codes[0] << _BIGRAM_SHIFT) | codes[1]


class _Scratch:
    """Buffers for a query's postings, reused from query to query.

    Fresh arrays of a few MB cost more in page faults than the arithmetic on them (at
    100x: 4.6 ms a query against 0.8 ms with reused buffers). One set per query running at
    that moment, so threads never share one; sets larger than MAX_KEPT are not kept.
    """

    MAX_KEPT = 1 << 22

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    @contextmanager
    def arrays(self, size: int, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For the block: posting rows (intp) and weights (float64) of ``size`` elements,
        and a float64 array of ``rows`` elements."""
        with self._lock:
            kept = self._free.pop() if self._free else None
        postings, weights, work = kept or (np.empty(0, np.intp), np.empty(0), np.empty(0))
        if len(postings) < size:
            postings, weights = np.empty(max(size, 1 << 16), np.intp), np.empty(max(size, 1 << 16))
        if len(work) < rows:
            work = np.empty(rows)
        try:
            yield postings[:size], weights[:size], work
        finally:
            if len(postings) <= self.MAX_KEPT:
                with self._lock:
                    self._free.append((postings, weights, work))


@dataclass(frozen=True)
class Snapshot:
    """One generation of the index: read-only arrays, usually mapped from disk.

    Attributes:
        generation: the database generation it was built from.
        fingerprint: passage count, highest id and sum of ids when it was built.
        chunk_ids: the passage of each row, ascending.
        doc_ids: the document of each row.
        keys: the term keys, ascending; term i's postings are ``indptr[i]:indptr[i+1]``.
        indptr: where each term's postings start.
        rows: the row of each posting.
        impacts: the BM25 weight of each posting.
        words: the words (non-CJK terms) by number.
    """

    generation: int
    fingerprint: tuple[int, int, int]
    chunk_ids: np.ndarray
    doc_ids: np.ndarray
    keys: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    impacts: np.ndarray
    words: dict[str, int]
    scratch: _Scratch = field(default_factory=lambda: _Scratch(), compare=False, repr=False)

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """The index positions of those terms that occur in the index."""
        wanted = []
        for term in terms:
            key = _cjk_key(term)
            if key is None and term in self.words:
                key = WORD_BASE + self.words[term]
            if key is not None:
                wanted.append(key)
        if not wanted or len(self.keys) == 0:
            return []
        wanted_keys = np.array(wanted, dtype=np.int64)
        where = np.minimum(np.searchsorted(self.keys, wanted_keys), len(self.keys) - 1)
        return [int(i) for i in where[self.keys[where] == wanted_keys]]

    def top(
        self, query: str, depth: int, doc_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``depth`` best passages for ``query`` as (chunk id, BM25), best first.

        ``doc_ids`` keeps only those documents' passages, before the cut at ``depth``.
        Ties go to the lower passage id, as ``ORDER BY score DESC, rowid`` did.
        """
        n = len(self.chunk_ids)
        ids = self.term_ids(query_terms(query)[:MAX_QUERY_TERMS])
        if not ids or n == 0 or depth <= 0:
            return []
        spans = [(int(self.indptr[i]), int(self.indptr[i + 1])) for i in ids]
        with self.scratch.arrays(sum(b - a for a, b in spans), n) as (rows, weights, work):
            np.concatenate([self.rows[a:b] for a, b in spans], out=rows, casting="safe")
            np.concatenate([self.impacts[a:b] for a, b in spans], out=weights, casting="safe")
            scores = np.bincount(rows, weights=weights, minlength=n)
            # The document filter picks the rows that may rank before the cut at depth.
            pool = None
            if doc_ids is not None:
                wanted = np.asarray(list(doc_ids), dtype=np.int64)
                pool = np.flatnonzero(np.isin(self.doc_ids, wanted))
            pooled = scores if pool is None else scores[pool]
            # Every matching row scores above 0 (idf is at least 1e-6); find the depth-th
            # score, then order every row at or above it so that ties are exact.
            if depth < len(pooled):
                kth = len(pooled) - depth
                work = work[: len(pooled)]
                np.copyto(work, pooled)
                work.partition(kth)
                picked = np.flatnonzero(pooled >= max(work[kth], np.nextafter(0.0, 1.0)))
            else:
                picked = np.flatnonzero(pooled > 0)
        candidates = picked if pool is None else pool[picked]
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:depth]
        return [(int(self.chunk_ids[r]), float(scores[r])) for r in order]


def fts5_top(db: sqlite_utils.Database, query: str, depth: int) -> list[tuple[int, float]]:
    """The same ranking straight from SQLite: ``bm25()`` over an OR of the query's terms.

    What the lexical ranker ran before this index; kept as the reference that tests and
    bench/bench_search_scale.py compare the index with.
    """
    expression = match_expression(query)
    if expression is None:
        return []
    rows = db.execute(
        "SELECT rowid, -bm25(chunks_fts, 1.0, ?) AS score FROM chunks_fts"
        " WHERE chunks_fts MATCH ? ORDER BY score DESC, rowid LIMIT ?",
        [PATH_WEIGHT, expression, depth],
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def fingerprint(db: sqlite_utils.Database) -> tuple[int, int, int]:
    """Passage count, highest id and sum of ids: tells a replaced database from ours."""
    row = db.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(id), 0) FROM chunks"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def build(db: sqlite_utils.Database) -> Snapshot:
    """Build the index from the database's FTS5 content, in one read transaction."""
    with read(db):
        generation, stamp = generation_of(db), fingerprint(db)
        data = db.execute(
            "SELECT f.rowid, c.doc_id, f.body, f.path FROM chunks_fts f"
            " JOIN chunks c ON c.id = f.rowid ORDER BY f.rowid"
        ).fetchall()
    n = len(data)
    if n >= 1 << _ROW_BITS:
        raise ValueError(f"the lexical index holds at most {1 << _ROW_BITS} passages, not {n}")
    chunk_ids = np.fromiter((r[0] for r in data), dtype=np.int64, count=n)
    doc_ids = np.fromiter((r[1] for r in data), dtype=np.int64, count=n)
    words: dict[str, int] = {}
    body_keys, body_rows, body_len = _term_keys([r[2] for r in data], words)
    path_keys, path_rows, path_len = _term_keys([r[3] for r in data], words)
    # One posting per (term, row): counts per column, then body + 0.3 x path.
    body_pairs, body_counts = np.unique((body_keys << _ROW_BITS) | body_rows, return_counts=True)
    path_pairs, path_counts = np.unique((path_keys << _ROW_BITS) | path_rows, return_counts=True)
    pairs = np.concatenate([body_pairs, path_pairs])
    freq = np.concatenate([body_counts.astype(np.float64), PATH_WEIGHT * path_counts])
    order = np.argsort(pairs, kind="stable")  # two sorted runs: a merge
    pairs, freq = pairs[order], freq[order]
    if len(pairs):
        starts = np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]])
        pairs, freq = pairs[starts], np.add.reduceat(freq, starts)
    term_keys = pairs >> _ROW_BITS
    rows = (pairs & ((1 << _ROW_BITS) - 1)).astype(np.int32)
    bounds = np.flatnonzero(np.r_[True, term_keys[1:] != term_keys[:-1]][: len(pairs)])
    keys = term_keys[bounds]
    indptr = np.r_[bounds, len(pairs)].astype(np.int64)
    hits = np.diff(indptr).astype(np.float64)
    idf = np.log((n - hits + 0.5) / (hits + 0.5))
    idf[idf <= 0.0] = 1e-6
    length = (body_len + path_len).astype(np.float64)
    avg = length.sum() / n if n else 1.0
    term_idf = np.repeat(idf, np.diff(indptr))
    norm = K1 * (1 - B + B * length[rows] / avg)
    impacts = (term_idf * freq * (K1 + 1) / (freq + norm)).astype(np.float32)
    return Snapshot(generation, stamp, chunk_ids, doc_ids, keys, indptr, rows, impacts, words)


def _term_keys(
    texts: list[str], words: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key and row of every term in ``texts`` (space-separated terms), and terms per row.

    Works on code points in bulk: Python touches only the few non-CJK words.
    """
    counts = np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), np.int64, len(texts))
    joined = " ".join(t for t in texts if t)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, counts
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
    spaces = np.flatnonzero(cp == 0x20)
    starts = np.r_[0, spaces + 1]
    ends = np.r_[spaces, len(cp)]
    size = ends - starts
    first = cp[starts].astype(np.int64)
    second = cp[np.minimum(starts + 1, len(cp) - 1)].astype(np.int64)
    single = (size == 1) & _is_cjk(first)
    pair = (size == 2) & _is_cjk(first) & _is_cjk(second)
    keys = np.where(single, first, (first << _BIGRAM_SHIFT) | second)
    others = np.flatnonzero(~(single | pair))
    keys[others] = [
        WORD_BASE + words.setdefault(joined[a:b], len(words))
        for a, b in zip(starts[others].tolist(), ends[others].tolist(), strict=True)
    ]
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    return keys, rows, counts


# ---- snapshots on disk ---------------------------------------------------------------


def snapshot_dir(db: sqlite_utils.Database) -> Path | None:
    """Where the database's snapshots live, or None for a database without a file."""
    row = db.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    return Path(f"{os.path.realpath(path)}.lexical") if path else None


def save(snapshot: Snapshot, folder: Path, interrupt: Callable[[str], None] | None = None) -> Path:
    """Write ``snapshot`` as ``folder/g<generation>``, whole or not at all.

    ``interrupt`` is called with ``"written"`` once the files are written and before the
    rename: tests pass one that raises, to stand for a crash there (a BaseException that
    is not an Exception leaves the temporary folder behind, as a killed process would).
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"g{snapshot.generation}"
    tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=folder))
    try:
        for name in _ARRAYS:
            with open(tmp / f"{name}.npy", "wb") as f:
                np.save(f, getattr(snapshot, name))
                f.flush()
                os.fsync(f.fileno())
        meta = {
            "format": FORMAT,
            "generation": snapshot.generation,
            "fingerprint": list(snapshot.fingerprint),
            "words": sorted(snapshot.words, key=snapshot.words.__getitem__),
        }
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        if interrupt is not None:
            interrupt("written")
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return target


def load(folder: Path, generation: int, stamp: tuple[int, int, int]) -> Snapshot | None:
    """The snapshot of ``generation`` in ``folder``, mapped read-only, if it is whole and
    matches ``stamp``; else None."""
    target = folder / f"g{generation}"
    try:
        meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        if (
            meta.get("format") != FORMAT
            or meta.get("generation") != generation
            or tuple(meta.get("fingerprint", ())) != stamp
        ):
            return None
        # Plain arrays over the mapped files: np.memmap's slicing costs 10x more.
        arrays = {
            name: np.asarray(np.load(target / f"{name}.npy", mmap_mode="r")) for name in _ARRAYS
        }
    except (OSError, ValueError):
        return None
    words = {word: i for i, word in enumerate(meta["words"])}
    return Snapshot(generation, stamp, words=words, **arrays)


def _current(db: sqlite_utils.Database) -> tuple[int, tuple[int, int, int]]:
    with read(db):
        return generation_of(db), fingerprint(db)


class _FolderLock:
    """An exclusive flock on ``folder/lock``: one builder at a time across processes."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / "lock"
        self._fd = -1

    def __enter__(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the lock


def publish(db: sqlite_utils.Database, interrupt: Callable[[str], None] | None = None) -> Snapshot:
    """Make sure a snapshot of the database's current state is on disk; return it.

    Ingest calls this after its commit; a reader that finds the snapshot missing or
    stale calls it too. Under the folder's lock, a snapshot that another process has
    just written is taken instead of being built twice. Older snapshots and folders left
    by an interrupted build are removed (a process that has one mapped keeps reading it).
    Where the snapshot cannot be written (a full or read-only disk), the index is built
    in memory and the reason logged: search stays right, only slower to start.
    """
    folder = snapshot_dir(db)
    if folder is None:
        return build(db)
    snapshot = None
    try:
        with _FolderLock(folder):
            generation, stamp = _current(db)
            found = load(folder, generation, stamp)
            if found is not None:
                return found
            snapshot = build(db)
            save(snapshot, folder, interrupt)
            for old in folder.iterdir():
                if old.is_dir() and old.name != f"g{snapshot.generation}":
                    shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        log.warning("lexical index: no snapshot written in %s: %s", folder, exc)
        return snapshot or build(db)
    return load(folder, snapshot.generation, snapshot.fingerprint) or snapshot


class LexicalIndex:
    """The current snapshot of one database, shared by the threads of a process.

    Checks the database's generation on every use (one small query) and follows it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self, db: sqlite_utils.Database) -> Snapshot:
        """The index as of the database's current generation."""
        generation = generation_of(db)
        with self._lock:
            current = self._snapshot
            if current is None or current.generation != generation:
                current = self._find(db)
                self._snapshot = current
            return current

    @staticmethod
    def _find(db: sqlite_utils.Database) -> Snapshot:
        folder = snapshot_dir(db)
        if folder is not None:
            generation, stamp = _current(db)
            found = load(folder, generation, stamp)
            if found is not None:
                return found
        return publish(db)


_indexes_guard = threading.Lock()
_indexes: dict[str, LexicalIndex] = {}
_index_of: weakref.WeakKeyDictionary[sqlite_utils.Database, LexicalIndex] = (
    weakref.WeakKeyDictionary()
)


def index_for(db: sqlite_utils.Database) -> LexicalIndex:
    """The process's index of ``db``'s file: one per file, like its writer lock, so
    every connection and session of a process shares one mapped snapshot."""
    index = _index_of.get(db)
    if index is None:
        folder = snapshot_dir(db)
        if folder is None:
            index = LexicalIndex()
        else:
            with _indexes_guard:
                index = _indexes.setdefault(str(folder), LexicalIndex())
        _index_of[db] = index
    return index
