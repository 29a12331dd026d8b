"""The SQLite store: connections, the one writer path, and schema migrations.

Every write transaction goes through :func:`write`, which serialises writers inside the
process with a lock and opens ``BEGIN IMMEDIATE``. sqlite-utils' own ``atomic()`` opens a
deferred ``BEGIN``; under concurrent writers the later lock upgrade fails at once with
"database is locked" without waiting for busy_timeout (measured in DESIGN.md).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
