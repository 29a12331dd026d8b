"""The SQLite store: connections, the one writer path, and schema migrations.

Every write transaction goes through :func:`write`, which serialises writers inside the
process with a lock and opens ``BEGIN IMMEDIATE``. sqlite-utils' own ``atomic()`` opens a
deferred ``BEGIN``; under concurrent writers the later lock upgrade fails at once with
"database is locked" without waiting for busy_timeout (measured in DESIGN.md).
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000

_locks_guard = threading.Lock()
_writer_locks: dict[str, threading.Lock] = {}
# Each connection's lock, found once: a PRAGMA per write is one more hand-over of the
# interpreter lock under a burst.
_lock_of: weakref.WeakKeyDictionary[sqlite_utils.Database, threading.Lock] = (
    weakref.WeakKeyDictionary()
)


def _writer_lock(db: sqlite_utils.Database) -> threading.Lock:
    # One lock per database file, shared by every connection of the process: the busy
    # handler is not fair, a lock in the process is (DESIGN.md: 19 of 200 failed without).
    lock = _lock_of.get(db)
    if lock is None:
        key = _db_key(db)
        with _locks_guard:
            lock = _writer_locks.setdefault(key, threading.Lock())
            _lock_of[db] = lock
    return lock


def _db_key(db: sqlite_utils.Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    return os.path.realpath(path) if path else f"memory:{id(db.conn)}"


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` with the app's pragmas.

    The connection is in autocommit mode; transactions are opened explicitly by
    :func:`write`. It may be used from another thread, but never by two at once.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL costs 40-60 ms at the tail here and keeps a committed attempt through power loss.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the enclosed writes as one ``BEGIN IMMEDIATE`` transaction: all or nothing.

    Nested use joins the open transaction (sqlite-utils turns its own writes inside
    into savepoints).
    """
    if db.conn.in_transaction:
        yield db
        return
    lock = _writer_lock(db)
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")


T = TypeVar("T")
_STOP: Any = object()  # queued by GroupWriter.close


class GroupWriter:
    """A thread that commits queued write jobs together: one transaction per batch.

    Under the deadline burst every submitting session's thread held the writer lock for a
    whole transaction of its own (BEGIN IMMEDIATE, its statements, COMMIT with an fsync)
    while sharing the interpreter with 200 others, so the lock's queue was the slowest
    part of a submit (bench/README_load.md). Here the waiting callers sleep, and the one
    writer thread runs every job that queued meanwhile in a single :func:`write`
    transaction (group commit): one BEGIN, one COMMIT and one fsync for the batch.

    A job is a function of the writer's connection; it must do nothing but database work
    (it may run twice: when a job of the batch raises, the batch is rolled back and each
    job runs again alone, so that only the failing one fails).
    """

    def __init__(self, path: Path | str, max_batch: int = 100) -> None:
        self._db = open_db(path)
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[tuple[Callable[[sqlite_utils.Database], Any], Future[Any]]]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="group-writer", daemon=True)
        self._thread.start()

    def run(self, job: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``job`` in a write transaction of the writer thread; its result or its error."""
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future.result()

    def close(self) -> None:
        """Finish the jobs already queued, stop the thread and close its connection."""
        self._jobs.put(_STOP)
        self._thread.join()
        self._db.close()

    def _serve(self) -> None:
        while True:
            batch = [self._jobs.get()]
            while batch[-1] is not _STOP and len(batch) < self._max_batch:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is _STOP
            if stop:
                batch.pop()
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(
        self, batch: list[tuple[Callable[[sqlite_utils.Database], Any], Future[Any]]]
    ) -> None:
        try:
            with write(self._db):
                results = [job(self._db) for job, _ in batch]
        except BaseException as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
            else:
                for item in batch:
                    self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


Migration = Callable[[sqlite_utils.Database], None]


def migrate(db: sqlite_utils.Database, component: str, steps: Sequence[Migration]) -> int:
    """Apply the steps of ``component`` that this database has not had yet.

    Each step runs in its own write transaction together with the record that it ran,
    so an interrupted migration is retried whole. Returns the component's version.
    """
    while True:
        # Read the version inside the write transaction: two processes starting at once
        # must not both apply the same step.
        with write(db):
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = db.execute(
                "SELECT version FROM schema_versions WHERE component = ?", [component]
            ).fetchone()
            version = row[0] if row else 0
            if version >= len(steps):
                return version
            steps[version](db)
            db.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                [component, version + 1],
            )
