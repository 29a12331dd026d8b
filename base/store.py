"""The SQLite store: connections, the one writer path, and schema migrations.

Every write transaction goes through :func:`write`, which serialises writers (the threads
of the process, then other processes: :class:`_WriterLock`) and opens ``BEGIN IMMEDIATE``.
sqlite-utils' own ``atomic()`` opens a deferred ``BEGIN``; under concurrent writers the
later lock upgrade fails at once with "database is locked" without waiting for
busy_timeout (measured in DESIGN.md).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


class _WriterLock:
    """The writers of one database file: this process's threads, then other processes.

    The thread lock is fair where SQLite's busy handler is not (DESIGN.md: 19 of 200
    failed without it). The file lock (flock on ``<database>.writer-lock``) does the same
    across processes (``KB_WORKERS`` > 1, the command line): a waiting process sleeps in
    the kernel and wakes when the lock is free, instead of polling in SQLite's busy
    handler with sleeps of up to 100 ms.
    """

    def __init__(self, path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = None if path is None else f"{path}.writer-lock"
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._path is not None:
                if self._pid != os.getpid():  # a forked child gets its own lock
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_locks_guard = threading.Lock()
_writer_locks: dict[str, _WriterLock] = {}
# Each connection's lock, found once: a PRAGMA per write is one more hand-over of the
# interpreter lock under a burst.
_lock_of: weakref.WeakKeyDictionary[sqlite_utils.Database, _WriterLock] = (
    weakref.WeakKeyDictionary()
)


def _writer_lock(db: sqlite_utils.Database) -> _WriterLock:
    # One per database file, shared by every connection of the process.
    lock = _lock_of.get(db)
    if lock is None:
        key = _db_key(db)
        with _locks_guard:
            lock = _writer_locks.get(key)
            if lock is None:
                lock = _WriterLock(None if key.startswith("memory:") else key)
                _writer_locks[key] = lock
            _lock_of[db] = lock
    return lock


def _db_key(db: sqlite_utils.Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    return os.path.realpath(path) if path else f"memory:{id(db.conn)}"


PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SIDE_FILES = ("-wal", "-shm")
"""SQLite's files beside a WAL database; it gives them the database file's mode."""


def create_private_file(path: Path) -> None:
    """Create ``path`` (empty) readable by its owner only, unless it exists.

    ``os.open`` with a mode of 0600 can only lose bits to the umask, never gain them.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))


def make_private(path: Path) -> None:
    """Make a database file and its -wal and -shm readable by their owner only."""
    for file in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        if file.exists() and file.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
            file.chmod(PRIVATE_FILE_MODE)


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` with the app's pragmas.

    The database holds password hashes and the roster: it is created 0600 (a missing
    folder 0700), whatever the umask, and an existing one is brought to 0600; SQLite
    gives its -wal and -shm files the same mode.

    The connection is in autocommit mode; transactions are opened explicitly by
    :func:`write`. It may be used from another thread, but never by two at once.
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
    if not path.exists():
        # Never open and close an existing database file here: closing any descriptor
        # of it drops the POSIX locks every SQLite connection of this process holds on
        # it (SQLite's "how to corrupt" notes, 2.2); writes were lost that way.
        create_private_file(path)
    make_private(path)
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


@contextmanager
def read(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the enclosed reads in one transaction: one consistent view under WAL.

    A deferred ``BEGIN`` takes no write lock; nested use joins the open transaction.
    """
    if db.conn.in_transaction:
        yield db
        return
    db.execute("BEGIN")
    try:
        yield db
    finally:
        if db.conn.in_transaction:
            db.execute("COMMIT")


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
