"""Login sessions kept on the server: what a browser's login cookie and a page session
refer to, and when they end.

A login makes one row of ``login_sessions`` (:func:`start_session`). The page session that
logged in keeps the row's id in its (server-side) state; the browser gets a random token in
an HttpOnly cookie, so that a reload or a new tab finds the login again
(:func:`check_session` by token). The token is born in :func:`claim_session`, when the
browser presents the login's one-time code (single use, valid for :data:`CODE_LIFETIME`),
and only its SHA-256 is stored, as is the code's: a copy of the database hands out no
session.

A session ends when it is logged out (:func:`end_session`, the row is deleted), after
``idle_minutes`` without a page run, and when the person's session version moves on (a
password change or reset, a deactivation or a change of role: ``quizzes.login``). Every
page run and every widget callback checks it (``ui.auth``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlite_utils

from base.clock import from_stamp, to_stamp
from base.store import write
from quizzes.people import _PERSON_COLUMNS, Person, _fetch_one, _person

CODE_LIFETIME = timedelta(seconds=60)


"""How long a login's one-time code can be exchanged for the cookie's token."""


TOUCH_INTERVAL = timedelta(minutes=1)


"""A session's last activity is written at most this often: a write per page run would
queue every click behind the writer lock, and the idle limit is counted in minutes."""


MAX_SECRET_LENGTH = 128


"""Longer tokens and codes are refused unhashed (:func:`secrets.token_urlsafe` (32) is 43)."""


class SessionEnd(StrEnum):
    """Why :func:`check_session` found no session."""

    GONE = "gone"
    """Logged out (in this tab or another of the browser), or never issued."""
    IDLE = "idle"
    INACTIVE = "inactive"
    CHANGED = "changed"
    """The password was changed or reset, or the role changed, since the login."""


@dataclass(frozen=True)
class NewSession:
    """A login just made by :func:`start_session`.

    Attributes:
        id: the session's row; the page session that logged in keeps it.
        code: the one-time code that gives the browser its cookie (:func:`claim_session`).
    """

    id: int
    code: str


@dataclass(frozen=True)
class SessionCheck:
    """What :func:`check_session` found: the person and the session's id, or why it ended.

    Attributes:
        person: who is logged in; None when there is no live session.
        session_id: the live session's row.
        ended: why there is none (None while it is live).
        token_hash: the hash of the session's cookie token, live or just ended; None
            until the browser has claimed its cookie, and for an unknown session.
    """

    person: Person | None = None
    session_id: int | None = None
    ended: SessionEnd | None = None
    token_hash: str | None = None


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) of a token or code, as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _usable(secret: str | None) -> bool:
    return bool(secret) and len(secret) <= MAX_SECRET_LENGTH  # type: ignore[arg-type]


def start_session(
    db: sqlite_utils.Database, person: Person, now: datetime, idle_minutes: int
) -> NewSession:
    """Open a login session for ``person`` at their current session version.

    Sessions idle for ``idle_minutes`` or more, anyone's, are deleted on the way: they
    can no longer be used.

    Args:
        db: the app database.
        person: who logged in (``quizzes.login.authenticate``'s person).
        now: the current time, timezone-aware.
        idle_minutes: the idle limit (``Settings.session_idle_minutes``).

    Returns:
        The session's id and its one-time code; the cookie's token does not exist yet.
    """
    code = secrets.token_urlsafe(32)
    with write(db):
        db.execute(
            "DELETE FROM login_sessions WHERE last_seen_at <= ?",
            [to_stamp(now - timedelta(minutes=idle_minutes))],
        )
        cursor = db.execute(
            "INSERT INTO login_sessions (employee_no, session_version, code_hash, "
            "code_expires_at, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                person.employee_no,
                person.session_version,
                hash_secret(code),
                to_stamp(now + CODE_LIFETIME),
                to_stamp(now),
                to_stamp(now),
            ],
        )
    assert cursor.lastrowid is not None
    return NewSession(id=cursor.lastrowid, code=code)


def claim_session(db: sqlite_utils.Database, code: str, now: datetime) -> str | None:
    """Exchange a login's one-time code for the token the browser keeps in its cookie.

    The code works once, within :data:`CODE_LIFETIME` of the login. The token is made
    here, and only its hash is stored; a second claim of the same code gets nothing.

    Returns:
        The token (:func:`secrets.token_urlsafe` (32)), or None for an unknown, used or
        expired code.
    """
    if not _usable(code):
        return None
    token = secrets.token_urlsafe(32)
    with write(db):
        cursor = db.execute(
            "UPDATE login_sessions SET token_hash = ?, code_hash = NULL, code_expires_at = NULL "
            "WHERE code_hash = ? AND code_expires_at > ?",
            [hash_secret(token), hash_secret(code), to_stamp(now)],
        )
    return token if cursor.rowcount == 1 else None


def check_session(
    db: sqlite_utils.Database,
    now: datetime,
    idle_minutes: int,
    *,
    session_id: int | None = None,
    token: str | None = None,
) -> SessionCheck:
    """Find the login a page session (by ``session_id``) or a cookie (by ``token``) refers to.

    A session that has ended is deleted here. A live one counts as active at ``now``
    (written at most every :data:`TOUCH_INTERVAL`).

    Args:
        db: the app database.
        now: the current time, timezone-aware.
        idle_minutes: the idle limit (``Settings.session_idle_minutes``).
        session_id: the row a page session keeps since its login; wins over ``token``.
        token: the cookie's token.

    Returns:
        The person, re-read from ``people``, and the session's id; or why there is none.
    """
    if session_id is not None:
        where, key = "s.id = ?", session_id
    elif _usable(token):
        where, key = "s.token_hash = ?", hash_secret(token)  # type: ignore[arg-type]
    else:
        return SessionCheck(ended=SessionEnd.GONE)
    columns = ", ".join(f"p.{c.strip()}" for c in _PERSON_COLUMNS.split(","))
    row = _fetch_one(
        db,
        f"SELECT s.id AS session_id, s.session_version AS at_version, s.last_seen_at, "
        f"s.token_hash, "
        f"{columns} FROM login_sessions s JOIN people p ON p.employee_no = s.employee_no "
        f"WHERE {where}",
        [key],
    )
    if row is None:
        return SessionCheck(ended=SessionEnd.GONE)
    last_seen = from_stamp(row["last_seen_at"])
    assert last_seen is not None
    person = _person(row)
    if now - last_seen >= timedelta(minutes=idle_minutes):
        ended = SessionEnd.IDLE
    elif not person.active:
        ended = SessionEnd.INACTIVE
    elif person.session_version != row["at_version"]:
        ended = SessionEnd.CHANGED
    else:
        if now - last_seen >= TOUCH_INTERVAL:
            _touch(db, row["session_id"], now)
        return SessionCheck(
            person=person, session_id=row["session_id"], token_hash=row["token_hash"]
        )
    end_session(db, row["session_id"])
    return SessionCheck(ended=ended, token_hash=row["token_hash"])


def _touch(db: sqlite_utils.Database, session_id: int, now: datetime) -> None:
    # Committed without waiting for the disk (WAL, synchronous=NORMAL): a last activity lost
    # to a power cut costs nothing, and an fsync here (about 7 ms, holding the writer lock)
    # would come before the submit of every session in a deadline burst. The next FULL
    # commit makes it durable anyway.
    db.execute("PRAGMA synchronous = NORMAL")
    try:
        with write(db):
            db.execute(
                "UPDATE login_sessions SET last_seen_at = ? WHERE id = ?",
                [to_stamp(now), session_id],
            )
    finally:
        db.execute("PRAGMA synchronous = FULL")


def keep_session(db: sqlite_utils.Database, session_id: int, person: Person) -> None:
    """Carry a session over to ``person``'s new session version.

    For the session that changed its own password: the change ends every session of
    the person (``quizzes.login.change_password``) but this one.
    """
    with write(db):
        db.execute(
            "UPDATE login_sessions SET session_version = ? WHERE id = ? AND employee_no = ?",
            [person.session_version, session_id, person.employee_no],
        )


def end_session(db: sqlite_utils.Database, session_id: int) -> str | None:
    """Log a session out: its page sessions and its cookie no longer find it.

    Returns:
        The hash of its cookie's token (so that the browser can be told to drop that
        cookie), or None when no cookie was issued or the session was already gone.
    """
    with write(db):
        row = _fetch_one(db, "SELECT token_hash FROM login_sessions WHERE id = ?", [session_id])
        db.execute("DELETE FROM login_sessions WHERE id = ?", [session_id])
    return row["token_hash"] if row else None
