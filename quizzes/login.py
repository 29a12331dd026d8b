"""Logging in: throttling of failed logins, authentication, password changes and the
session version that ends a person's login sessions (the sessions: ``quizzes.sessions``).

Failed logins are counted per login name as typed, whether or not such an account exists,
so neither the messages nor the slowdown tell anyone which 工号 are real; and per client
address, so that one client's failures never lock the owner out (see "throttling").

Times are timezone-aware datetimes passed in by the caller (``now``); they are stored as
UTC text in one fixed format so that SQL can compare them as strings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlite_utils

from base.clock import LOCAL_TZ, from_stamp, to_stamp
from base.store import write
from quizzes.passwords import (
    _DUMMY_HASH,
    HASHER,
    PasswordRejected,
    _verify,
    hash_password,
    password_problems,
)
from quizzes.people import (
    _PERSON_COLUMNS,
    AccountError,
    Person,
    UnknownAccount,
    _fetch_one,
    _person,
    get_person,
)

SLOWDOWN_FROM_FAILURE = 3


"""From this many failures of one login from one client, each attempt waits (:func:`backoff`)."""


SLOWDOWN_BASE = timedelta(seconds=15)


MAX_WAIT = timedelta(minutes=15)


FAILURE_WINDOW = timedelta(hours=24)


"""Failures further apart than this do not add up: that is a forgetful user, not a guesser."""


CLIENT_FREE_FAILURES = 10


"""A client's failures across all logins within CLIENT_WINDOW before it must wait (spraying)."""


CLIENT_WINDOW = timedelta(hours=1)


GUARD_AFTER_FAILURES = 10


"""Failures of one login from all clients within GUARD_WINDOW that put it under guard."""


GUARD_WINDOW = timedelta(minutes=15)


GUARD_DELAY = timedelta(seconds=3)


"""The pause before a client with no failures may try a login under guard."""


# What a login form accepts at all: longer input is refused before any work is done.
MAX_LOGIN_EMPLOYEE_NO_LENGTH = 64


MAX_LOGIN_PASSWORD_LENGTH = 256


MAX_CLIENT_LENGTH = 64


class LoginStatus(StrEnum):
    """The outcome of a login attempt."""

    OK = "ok"
    MUST_CHANGE_PASSWORD = "must_change_password"
    WRONG_CREDENTIALS = "wrong_credentials"
    MUST_WAIT = "must_wait"
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class LoginResult:
    """What :func:`authenticate` found, with the message to show.

    Attributes:
        status: the outcome.
        message: what to tell the person, in Chinese.
        person: the account, only when the password was right.
        retry_after: seconds to wait before the next attempt (MUST_WAIT, and a wrong
            password that started a wait).
        locked_until: when the lock ends (LOCKED).
        failed_attempts: the failure count this attempt brought the login to; None when
            the attempt was not counted (refused before the password was checked, or right).
    """

    status: LoginStatus
    message: str
    person: Person | None = None
    retry_after: int | None = None
    locked_until: datetime | None = None
    failed_attempts: int | None = None

    @property
    def authenticated(self) -> bool:
        """True when the password was right and the account is in use.

        MUST_CHANGE_PASSWORD counts: the person is who they say, but the UI must show
        nothing but the change-password form until :func:`change_password` succeeds.
        """
        return self.status in (LoginStatus.OK, LoginStatus.MUST_CHANGE_PASSWORD)


class LoginRefused(AccountError):
    """The current password was wrong, or attempts are throttled; ``result`` says which."""

    def __init__(self, result: LoginResult) -> None:
        super().__init__(result.message)
        self.result = result


def _login_key(employee_no: str) -> str:
    return employee_no.strip().lower()


_END_SESSIONS = "session_version = session_version + 1"


"""SET clause that ends every session of the updated people (see :func:`end_sessions`)."""


#
# Every failed password check is one row of login_failures: the login as typed and the
# client's address. Three counts are read from it before a password is checked:
#
# * the login from this client: from the 3rd failure on, each attempt waits (15 s, 30 s,
#   ... up to 15 minutes); a success from the client clears them;
# * the client across all logins (password spraying): from the 10th failure within an
#   hour, the client waits the same way;
# * the login from all clients: 10 failures within 15 minutes put the account under guard
#   until 15 minutes after the last one. Under guard a client with a failure on that login
#   is refused, and a client with none is let through after a pause of GUARD_DELAY. So no
#   one can lock the owner out: their own browser has no failures (or only its own).


def backoff(failures: int, free: int) -> timedelta:
    """How long a login or client must rest after ``failures`` failures, ``free`` of them free.

    Nothing before the ``free``-th failure; 15 s after it, doubling with each further
    failure, never more than :data:`MAX_WAIT`.
    """
    if failures < free:
        return timedelta(0)
    return min(MAX_WAIT, SLOWDOWN_BASE * 2 ** min(failures - free, 16))


@dataclass(frozen=True)
class FailureCounts:
    """Failed password checks on record that bear on one attempt (see the section comment).

    Attributes:
        pair, pair_last: this login from this client, within :data:`FAILURE_WINDOW`.
        client, client_last: this client, any login, within :data:`CLIENT_WINDOW`.
        account, account_last: this login, any client, within :data:`GUARD_WINDOW`.
    """

    pair: int = 0
    pair_last: datetime | None = None
    client: int = 0
    client_last: datetime | None = None
    account: int = 0
    account_last: datetime | None = None


def _client_key(client: str) -> str:
    return client.strip()[:MAX_CLIENT_LENGTH] or "unknown"


def failure_counts(
    db: sqlite_utils.Database, employee_no: str, client: str, now: datetime
) -> FailureCounts:
    """Count the failures on record for a login attempt from ``client`` at ``now``."""
    row = _fetch_one(
        db,
        """
        SELECT
            sum(login = :login AND client = :client AND failed_at > :day) AS pair,
            max(CASE WHEN login = :login AND client = :client AND failed_at > :day
                THEN failed_at END) AS pair_last,
            sum(client = :client AND failed_at > :hour) AS client,
            max(CASE WHEN client = :client AND failed_at > :hour THEN failed_at END)
                AS client_last,
            sum(login = :login AND failed_at > :guard) AS account,
            max(CASE WHEN login = :login AND failed_at > :guard THEN failed_at END)
                AS account_last
        FROM login_failures
        WHERE (login = :login OR client = :client) AND failed_at > :day
        """,
        {
            "login": _login_key(employee_no),
            "client": _client_key(client),
            "day": to_stamp(now - FAILURE_WINDOW),
            "hour": to_stamp(now - CLIENT_WINDOW),
            "guard": to_stamp(now - GUARD_WINDOW),
        },
    )
    assert row is not None
    return FailureCounts(
        pair=row["pair"] or 0,
        pair_last=from_stamp(row["pair_last"]),
        client=row["client"] or 0,
        client_last=from_stamp(row["client_last"]),
        account=row["account"] or 0,
        account_last=from_stamp(row["account_last"]),
    )


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _clock(moment: datetime, now: datetime) -> str:
    # People read 北京时间, whatever zone ``now`` came in (the server's clock is UTC).
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M")


def guarded_until(counts: FailureCounts) -> datetime | None:
    """When the guard on the login ends, or None if it is not under guard."""
    if counts.account < GUARD_AFTER_FAILURES or counts.account_last is None:
        return None
    return counts.account_last + GUARD_WINDOW


def throttle(counts: FailureCounts, now: datetime) -> tuple[LoginResult | None, timedelta]:
    """Decide an attempt before its password is checked: (refusal or None, pause first).

    Args:
        counts: from :func:`failure_counts`.
        now: the current time, timezone-aware.

    Returns:
        A MUST_WAIT or LOCKED result when the attempt is refused uncounted; otherwise
        None and how long to pause before checking the password (under guard).
    """
    ready = [
        last + backoff(n, free)
        for n, last, free in (
            (counts.pair, counts.pair_last, SLOWDOWN_FROM_FAILURE),
            (counts.client, counts.client_last, CLIENT_FREE_FAILURES),
        )
        if last is not None
    ]
    latest = max(ready, default=now)
    if latest > now:
        seconds = _seconds(latest - now)
        return (
            LoginResult(
                status=LoginStatus.MUST_WAIT,
                message=f"尝试过于频繁，请 {seconds} 秒后再试",
                retry_after=seconds,
            ),
            timedelta(0),
        )
    until = guarded_until(counts)
    if until is None or until <= now:
        return None, timedelta(0)
    if counts.pair:
        return (
            LoginResult(
                status=LoginStatus.LOCKED,
                message=(
                    f"此账号近期密码错误次数过多，本机须等到 {_clock(until, now)} 再试，"
                    "或联系创建办解锁"
                ),
                locked_until=until,
            ),
            timedelta(0),
        )
    return None, GUARD_DELAY


def _record_failure(
    db: sqlite_utils.Database, employee_no: str, client: str, now: datetime, wrong_message: str
) -> LoginResult:
    with write(db):
        # A day-old failure counts for nothing: keep the table small.
        db.execute(
            "DELETE FROM login_failures WHERE failed_at <= ?", [to_stamp(now - FAILURE_WINDOW)]
        )
        db.execute(
            "INSERT INTO login_failures (login, client, failed_at) VALUES (?, ?, ?)",
            [_login_key(employee_no), _client_key(client), to_stamp(now)],
        )
        # Counted inside the transaction: concurrent failures each see their own number.
        counts = failure_counts(db, employee_no, client, now)
    wait = max(
        backoff(counts.pair, SLOWDOWN_FROM_FAILURE), backoff(counts.client, CLIENT_FREE_FAILURES)
    )
    if wait:
        seconds = _seconds(wait)
        return LoginResult(
            status=LoginStatus.WRONG_CREDENTIALS,
            message=f"{wrong_message}。请 {seconds} 秒后再试",
            retry_after=seconds,
            failed_attempts=counts.pair,
        )
    return LoginResult(
        status=LoginStatus.WRONG_CREDENTIALS, message=wrong_message, failed_attempts=counts.pair
    )


def _clear_failures(db: sqlite_utils.Database, employee_no: str, client: str | None) -> None:
    # Joins the caller's transaction. client None: from every client (reset, unlock).
    if client is None:
        db.execute("DELETE FROM login_failures WHERE login = ?", [_login_key(employee_no)])
    else:
        db.execute(
            "DELETE FROM login_failures WHERE login = ? AND client = ?",
            [_login_key(employee_no), _client_key(client)],
        )


def _check_password(
    db: sqlite_utils.Database,
    employee_no: str,
    password: str,
    now: datetime,
    wrong: str,
    client: str,
    pause: Callable[[float], None],
) -> tuple[dict | None, LoginResult | None]:
    """Verify a password under throttling: (person row and hash, None) or (None, refusal)."""
    refusal, delay = throttle(failure_counts(db, employee_no, client, now), now)
    if refusal is not None:
        return None, refusal
    if delay:
        pause(delay.total_seconds())
    row = _fetch_one(
        db,
        f"SELECT {_PERSON_COLUMNS}, password_hash FROM people WHERE employee_no = ?",
        [employee_no.strip()],
    )
    # Verify even when nobody has this 工号, so that a miss takes as long as a wrong password.
    matched = _verify(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or not matched:
        return None, _record_failure(db, employee_no, client, now, wrong)
    return row, None


def authenticate(
    db: sqlite_utils.Database,
    employee_no: str,
    password: str,
    now: datetime,
    client: str = "",
    pause: Callable[[float], None] = time.sleep,
) -> LoginResult:
    """Check a login, slowing down repeated failures (see the "throttling" section).

    An unknown 工号 and a wrong password get the same answer, and are throttled the same
    way. A success clears this client's failures on the login, and rehashes the password
    if the hashing parameters have changed since it was set.

    Args:
        db: the app database.
        employee_no: the 工号 as typed.
        password: the password as typed.
        now: the current time, timezone-aware.
        client: the client's address (``ui.auth.client_address``); "" when unknown.
        pause: sleeps the given seconds (the pause under guard); tests pass a recorder.

    Returns:
        The outcome and the Chinese message for it. When the status is
        MUST_CHANGE_PASSWORD the UI must ask for a new password before anything else.
    """
    if len(employee_no) > MAX_LOGIN_EMPLOYEE_NO_LENGTH or len(password) > MAX_LOGIN_PASSWORD_LENGTH:
        # Refused before anything is stored or hashed.
        return LoginResult(status=LoginStatus.WRONG_CREDENTIALS, message="工号或密码过长")
    if not employee_no.strip() or not password:
        return LoginResult(status=LoginStatus.WRONG_CREDENTIALS, message="请输入工号和密码")
    row, refusal = _check_password(db, employee_no, password, now, "工号或密码错误", client, pause)
    if refusal is not None:
        return refusal
    assert row is not None
    person = _person(row)
    old_hash = row["password_hash"]
    # Hash before taking the writer lock: 24 ms of argon2 must not hold up other writers.
    new_hash = hash_password(password) if HASHER.check_needs_rehash(old_hash) else None
    with write(db):
        _clear_failures(db, employee_no, client)
        if new_hash is not None:
            # Only if the password was not changed meanwhile by someone else.
            db.execute(
                "UPDATE people SET password_hash = ? WHERE employee_no = ? AND password_hash = ?",
                [new_hash, person.employee_no, old_hash],
            )
        if person.active:
            db.execute(
                "UPDATE people SET last_login_at = ? WHERE employee_no = ?",
                [to_stamp(now), person.employee_no],
            )
    if not person.active:
        return LoginResult(status=LoginStatus.INACTIVE, message="账号已停用，请联系创建办")
    person = get_person(db, person.employee_no) or person
    if person.must_change_password:
        return LoginResult(
            status=LoginStatus.MUST_CHANGE_PASSWORD,
            message="这是初始密码（或已被重置），请先修改密码",
            person=person,
        )
    return LoginResult(status=LoginStatus.OK, message="登录成功", person=person)


def change_password(
    db: sqlite_utils.Database,
    employee_no: str,
    old: str,
    new: str,
    now: datetime,
    client: str = "",
    pause: Callable[[float], None] = time.sleep,
) -> Person:
    """Replace a person's password after checking the current one.

    The check of the current password is throttled and counted like a login, so this
    form cannot be used to guess passwords faster.

    Args:
        db: the app database.
        employee_no: whose password.
        old: the current password.
        new: the new password; must pass :func:`password_problems`.
        now: the current time, timezone-aware.
        client, pause: as for :func:`authenticate`.

    Returns:
        The person, no longer required to change their password, at a new session
        version: every other session of theirs is over; the caller's own session carries
        on at the version returned.

    Raises:
        PasswordRejected: the new password breaks the policy (nothing is counted).
        LoginRefused: the current password is wrong, or attempts are throttled.
        AccountError: the account is deactivated, or the password changed meanwhile.
    """
    problems = password_problems(new, employee_no, old)
    if problems:
        raise PasswordRejected(problems)
    if len(old) > MAX_LOGIN_PASSWORD_LENGTH:
        raise LoginRefused(
            LoginResult(status=LoginStatus.WRONG_CREDENTIALS, message="原密码不正确")
        )
    row, refusal = _check_password(db, employee_no, old, now, "原密码不正确", client, pause)
    if refusal is not None:
        raise LoginRefused(refusal)
    assert row is not None
    if not row["active"]:
        raise AccountError("账号已停用，请联系创建办")
    new_hash = hash_password(new)
    with write(db):
        cursor = db.execute(
            "UPDATE people SET password_hash = ?, must_change_password = 0, "
            f"password_changed_at = ?, updated_at = ?, {_END_SESSIONS} "
            "WHERE employee_no = ? AND password_hash = ?",
            [new_hash, to_stamp(now), to_stamp(now), row["employee_no"], row["password_hash"]],
        )
        if cursor.rowcount != 1:
            raise AccountError("密码刚刚已被修改或重置，请重新登录")
        _clear_failures(db, employee_no, client)
    person = get_person(db, row["employee_no"])
    assert person is not None
    return person


def end_sessions(db: sqlite_utils.Database, employee_no: str) -> None:
    """End every session of a person at its next page run or click.

    A login session (``quizzes.sessions``) remembers the person's session version from
    its login, and ends when it is no longer the stored one; the UI checks it on every
    page run and in every widget callback. A reset, a
    password change, a deactivation and a change of role call this. Joins the caller's
    ``write(db)`` transaction if one is open.
    """
    with write(db):
        db.execute(
            f"UPDATE people SET {_END_SESSIONS} WHERE employee_no = ?", [employee_no.strip()]
        )


def unlock_account(db: sqlite_utils.Database, employee_no: str) -> None:
    """Lift a lock and clear the failure count of an account.

    Raises:
        UnknownAccount: no such 工号.
    """
    with write(db):
        if get_person(db, employee_no) is None:
            raise UnknownAccount(employee_no.strip())
        _clear_failures(db, employee_no, None)


def locked_until(db: sqlite_utils.Database, employee_no: str, now: datetime) -> datetime | None:
    """When the guard on a login ends (clients with failures on it are refused meanwhile),
    or None if it is not under guard at ``now``."""
    until = guarded_until(failure_counts(db, employee_no, "", now))
    return until if until is not None and until > now else None
