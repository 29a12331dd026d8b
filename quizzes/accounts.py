"""Accounts: people, roles, passwords, login throttling and department history.

Passwords are stored as argon2id hashes at OWASP's minimum cost (t=2, 19 MiB, p=1), which
verifies in about 24 ms here; the library default takes 150-220 ms (DESIGN.md).

Failed logins are counted per login name as typed, whether or not such an account exists,
so neither the messages nor the slowdown tell anyone which 工号 are real; and per client
address, so that one client's failures never lock the owner out (see "throttling").

Times are timezone-aware datetimes passed in by the caller (``now``); they are stored as
UTC text in one fixed format so that SQL can compare them as strings.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlite_utils
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kb.store import migrate, write
from kb.timestamps import BEIJING
from kb.timestamps import from_stamp as _unstamp
from kb.timestamps import to_stamp as _stamp

# -- policy numbers -------------------------------------------------------------------------

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

MIN_PASSWORD_LENGTH = 8
# argon2 takes any length, but a cap keeps a pasted novel from costing memory and time.
MAX_PASSWORD_LENGTH = 128
MAX_EMPLOYEE_NO_LENGTH = 32
# What a login form accepts at all: longer input is refused before any work is done.
MAX_LOGIN_EMPLOYEE_NO_LENGTH = 64
MAX_LOGIN_PASSWORD_LENGTH = 256
MAX_CLIENT_LENGTH = 64
MAX_TEXT_LENGTH = 50

FIRST_ADMIN_NO = "admin"
FIRST_ADMIN_NAME = "创建办管理员"
FIRST_ADMIN_DEPARTMENT = "创建办"

# Lower-case letters and digits without the look-alikes 0/o, 1/l/i, so a password read off
# a printed sheet is typed right the first time; 12 symbols of 31 carry about 59 bits.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 3
PASSWORD_GROUP_LENGTH = 4

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)

# Verified against when the 工号 is unknown, so that a miss costs as long as a wrong
# password; the parameters match HASHER (a test checks it).
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$DnfZuMjUuEq+NDX9RkeJWg$"
    "BDr/NQLh2prlNiftwvNjdm8wwy3HnnT31cQSYOfwBl4"
)

_EMPLOYEE_NO_RE = re.compile(r"[A-Za-z0-9._-]+")


# -- types that cross the boundary ----------------------------------------------------------


class Role(StrEnum):
    """What a person may see: their own study, their department's figures, or everything."""

    STAFF = "staff"
    HEAD = "head"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's name as the office writes it (职工, 负责人, 创建办)."""
        return _ROLE_LABELS[self]

    @classmethod
    def parse(cls, text: str | Role) -> Role | None:
        """Read a role as written in a roster or typed on the command line.

        Args:
            text: a Chinese name (职工/员工/干部, 负责人, 创建办/管理员) or the English
                value (staff, head, admin), in any case and with surrounding blanks.

        Returns:
            The role, or None when the text names none.
        """
        if isinstance(text, Role):
            return text
        return _ROLE_ALIASES.get(text.strip().lower())


_ROLE_LABELS = {Role.STAFF: "职工", Role.HEAD: "负责人", Role.ADMIN: "创建办"}
_ROLE_ALIASES = {
    "职工": Role.STAFF,
    "员工": Role.STAFF,
    "干部": Role.STAFF,
    "staff": Role.STAFF,
    "负责人": Role.HEAD,
    "head": Role.HEAD,
    "创建办": Role.ADMIN,
    "管理员": Role.ADMIN,
    "admin": Role.ADMIN,
}
ROLE_CHOICES = "、".join(_ROLE_LABELS.values())


@dataclass(frozen=True)
class Person:
    """Someone who can log in. Never carries the password hash."""

    employee_no: str
    name: str
    department: str
    role: Role
    active: bool = True
    must_change_password: bool = True
    last_login_at: datetime | None = None
    session_version: int = 0
    """Raised by every change that must end the person's sessions (see :func:`end_sessions`)."""


@dataclass(frozen=True)
class DepartmentSpell:
    """A person belonged to ``department`` from ``since`` until the next spell began."""

    department: str
    since: datetime


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


class AccountError(Exception):
    """An account operation was refused; ``str(error)`` is the Chinese message to show."""


class UnknownAccount(AccountError):
    """No account has this 工号 (only said to admins, never at login)."""

    def __init__(self, employee_no: str) -> None:
        super().__init__(f"没有工号为 “{employee_no}” 的账号")
        self.employee_no = employee_no


class AccountExists(AccountError):
    """An account with this 工号 already exists."""

    def __init__(self, employee_no: str) -> None:
        super().__init__(f"工号 “{employee_no}” 已有账号")
        self.employee_no = employee_no


class InvalidAccount(AccountError):
    """The 工号, name, department or role given for an account cannot be used."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = list(problems)


class PasswordRejected(AccountError):
    """A new password does not meet the policy; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("新密码不符合要求：" + "；".join(problems))
        self.problems = list(problems)


class LoginRefused(AccountError):
    """The current password was wrong, or attempts are throttled; ``result`` says which."""

    def __init__(self, result: LoginResult) -> None:
        super().__init__(result.message)
        self.result = result


# -- schema ---------------------------------------------------------------------------------


def create_v1(db: sqlite_utils.Database) -> None:
    """Create the people, department history and login throttle tables."""
    # COLLATE NOCASE: 工号 are ASCII (checked on the way in), and "hb001" typed at login
    # or in next year's roster must find "HB001", never make a second account.
    db.execute(
        """
        CREATE TABLE people (
            employee_no TEXT PRIMARY KEY COLLATE NOCASE,
            name TEXT NOT NULL CHECK (name <> ''),
            department TEXT NOT NULL CHECK (department <> ''),
            role TEXT NOT NULL CHECK (role IN ('staff', 'head', 'admin')),
            password_hash TEXT NOT NULL,
            must_change_password INTEGER NOT NULL DEFAULT 1,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL,
            last_login_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX people_department ON people (department)")
    # Completion figures are per department at the time of study, so moves are kept.
    db.execute(
        """
        CREATE TABLE department_history (
            employee_no TEXT NOT NULL COLLATE NOCASE REFERENCES people (employee_no),
            department TEXT NOT NULL,
            since TEXT NOT NULL,
            PRIMARY KEY (employee_no, since)
        )
        """
    )
    # Keyed by the login as typed (lower-cased), not by person: unknown 工号 are throttled
    # exactly like real ones.
    db.execute(
        """
        CREATE TABLE login_throttle (
            login TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_failed_at TEXT NOT NULL,
            locked_until TEXT
        )
        """
    )


def create_v2(db: sqlite_utils.Database) -> None:
    """Failed logins by login and client (throttling), replacing the per-login lock."""
    db.execute(
        """
        CREATE TABLE login_failures (
            login TEXT NOT NULL,
            client TEXT NOT NULL,
            failed_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX login_failures_login ON login_failures (login, failed_at)")
    db.execute("CREATE INDEX login_failures_client ON login_failures (client, failed_at)")
    db.execute("DROP TABLE login_throttle")


def create_v3(db: sqlite_utils.Database) -> None:
    """A session version per person: a session that logged in at another version is over."""
    db.execute("ALTER TABLE people ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")


STEPS = [create_v1, create_v2, create_v3]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the accounts tables; returns the schema version."""
    return migrate(db, "accounts", STEPS)


# -- small helpers --------------------------------------------------------------------------


def _login_key(employee_no: str) -> str:
    return employee_no.strip().lower()


def _person(row: dict) -> Person:
    return Person(
        employee_no=row["employee_no"],
        name=row["name"],
        department=row["department"],
        role=Role(row["role"]),
        active=bool(row["active"]),
        must_change_password=bool(row["must_change_password"]),
        last_login_at=_unstamp(row["last_login_at"]),
        session_version=row["session_version"],
    )


_PERSON_COLUMNS = (
    "employee_no, name, department, role, active, must_change_password, last_login_at, "
    "session_version"
)
_END_SESSIONS = "session_version = session_version + 1"
"""SET clause that ends every session of the updated people (see :func:`end_sessions`)."""


def _fetch_one(db: sqlite_utils.Database, sql: str, params: list) -> dict | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def _record_department(
    db: sqlite_utils.Database, employee_no: str, department: str, since: str
) -> None:
    # Two changes in the same instant: the later one is where the person ended up.
    db.execute(
        "INSERT INTO department_history (employee_no, department, since) VALUES (?, ?, ?) "
        "ON CONFLICT (employee_no, since) DO UPDATE SET department = excluded.department",
        [employee_no, department, since],
    )


# -- validation -----------------------------------------------------------------------------


def field_problems(employee_no: str, name: str, department: str) -> list[str]:
    """Say what is wrong with the 工号, name and department of an account.

    Args:
        employee_no: the 工号, already stripped.
        name: the person's name, already stripped.
        department: the 科室/站/队, already stripped.

    Returns:
        One Chinese message per problem, each starting with the field's name; empty when
        all three can be used.
    """
    problems = []
    if not employee_no:
        problems.append("工号 为空")
    elif len(employee_no) > MAX_EMPLOYEE_NO_LENGTH:
        problems.append(f"工号 “{employee_no}” 过长（最多 {MAX_EMPLOYEE_NO_LENGTH} 个字符）")
    elif not _EMPLOYEE_NO_RE.fullmatch(employee_no):
        problems.append(f"工号 “{employee_no}” 只能包含英文字母、数字和 . _ -")
    for label, value in (("姓名", name), ("部门", department)):
        if not value:
            problems.append(f"{label} 为空")
        elif len(value) > MAX_TEXT_LENGTH:
            problems.append(f"{label} “{value}” 过长（最多 {MAX_TEXT_LENGTH} 个字符）")
    return problems


def role_problem(text: str) -> str | None:
    """Say why ``text`` names no role, or None when it does."""
    if not text.strip():
        return "角色 为空"
    if Role.parse(text) is None:
        return f"角色 “{text.strip()}” 无法识别（可用：{ROLE_CHOICES}）"
    return None


def password_problems(password: str, employee_no: str, old: str | None = None) -> list[str]:
    """Check a password against the policy.

    The policy: at least 8 and at most 128 characters, at least one English letter and one
    digit, not the 工号, not the old password.

    Args:
        password: the proposed password.
        employee_no: the account's 工号.
        old: the password it replaces, when there is one.

    Returns:
        One Chinese message per rule broken; empty when the password is acceptable.
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"不能超过 {MAX_PASSWORD_LENGTH} 个字符")
    if not re.search(r"[A-Za-z]", password):
        problems.append("须包含英文字母")
    if not re.search(r"[0-9]", password):
        problems.append("须包含数字")
    if password.strip().lower() == employee_no.strip().lower():
        problems.append("不能与工号相同")
    if old is not None and password == old:
        problems.append("不能与原密码相同")
    return problems


def generate_password() -> str:
    """Make a random initial password that is easy to read aloud and type.

    Returns:
        Three groups of four lower-case letters and digits, e.g. ``k7mp-x3fq-9hta``:
        about 59 random bits, no look-alike characters, and always within the policy.
    """
    length = PASSWORD_GROUPS * PASSWORD_GROUP_LENGTH
    while True:
        chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        # Redraw the rare all-letter or all-digit draw instead of forcing a position,
        # which would make that position predictable.
        if re.search(r"[a-z]", chars) and re.search(r"[0-9]", chars):
            step = PASSWORD_GROUP_LENGTH
            return "-".join(chars[i : i + step] for i in range(0, length, step))


def hash_password(password: str) -> str:
    """Hash ``password`` with argon2id at the app's parameters."""
    return HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- throttling -----------------------------------------------------------------------------
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
            "day": _stamp(now - FAILURE_WINDOW),
            "hour": _stamp(now - CLIENT_WINDOW),
            "guard": _stamp(now - GUARD_WINDOW),
        },
    )
    assert row is not None
    return FailureCounts(
        pair=row["pair"] or 0,
        pair_last=_unstamp(row["pair_last"]),
        client=row["client"] or 0,
        client_last=_unstamp(row["client_last"]),
        account=row["account"] or 0,
        account_last=_unstamp(row["account_last"]),
    )


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _clock(moment: datetime, now: datetime) -> str:
    # People read 北京时间, whatever zone ``now`` came in (the server's clock is UTC).
    return moment.astimezone(BEIJING).strftime("%H:%M")


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
            "DELETE FROM login_failures WHERE failed_at <= ?", [_stamp(now - FAILURE_WINDOW)]
        )
        db.execute(
            "INSERT INTO login_failures (login, client, failed_at) VALUES (?, ?, ?)",
            [_login_key(employee_no), _client_key(client), _stamp(now)],
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


# -- logging in -----------------------------------------------------------------------------


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
                [_stamp(now), person.employee_no],
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
            [new_hash, _stamp(now), _stamp(now), row["employee_no"], row["password_hash"]],
        )
        if cursor.rowcount != 1:
            raise AccountError("密码刚刚已被修改或重置，请重新登录")
        _clear_failures(db, employee_no, client)
    person = get_person(db, row["employee_no"])
    assert person is not None
    return person


def end_sessions(db: sqlite_utils.Database, employee_no: str) -> None:
    """End every session of a person at its next page run or click.

    A session remembers the person's session version from its login; the UI compares it
    with the stored one on every page run and in every widget callback. A reset, a
    password change, a deactivation and a change of role call this. Joins the caller's
    ``write(db)`` transaction if one is open.
    """
    with write(db):
        db.execute(
            f"UPDATE people SET {_END_SESSIONS} WHERE employee_no = ?", [employee_no.strip()]
        )


def session_expired(last_seen: datetime, now: datetime, idle_minutes: int) -> bool:
    """Whether a login idle since ``last_seen`` has ended by ``now``.

    Args:
        last_seen: when the session last did something.
        now: the current time (same kind of datetime as ``last_seen``).
        idle_minutes: the idle limit (``Settings.session_idle_minutes``).

    Returns:
        True once ``idle_minutes`` or more have passed.
    """
    return now - last_seen >= timedelta(minutes=idle_minutes)


# -- administration -------------------------------------------------------------------------


def add_person(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role,
    password_hash: str,
    now: datetime,
) -> Person:
    """Insert an account that must change its password at first login, unchecked.

    For callers that have validated the fields and hashed the password beforehand (the
    roster import hashes hundreds of passwords before it takes the writer lock); others
    use :func:`create_account`. Joins the caller's ``write(db)`` transaction if open.

    Args:
        db: the app database.
        employee_no: the 工号, validated.
        name: the name, validated.
        department: the department, validated.
        role: the role.
        password_hash: from :func:`hash_password`.
        now: the current time, timezone-aware; also the start of the first department.

    Returns:
        The new person.

    Raises:
        AccountExists: the 工号 is taken (in any letter case).
    """
    stamp = _stamp(now)
    with write(db):
        # Checked inside the transaction so two admins cannot both pass it.
        if get_person(db, employee_no) is not None:
            raise AccountExists(employee_no)
        db.execute(
            "INSERT INTO people (employee_no, name, department, role, password_hash, "
            "must_change_password, active, created_at, updated_at, password_changed_at) "
            "VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
            [employee_no, name, department, role.value, password_hash, stamp, stamp, stamp],
        )
        _record_department(db, employee_no, department, stamp)
    return Person(employee_no, name, department, role)


def update_person(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role,
    now: datetime,
) -> None:
    """Set a person's name, department and role; a department move enters the history.

    A change of role ends the person's sessions (:func:`end_sessions`): what they may see
    changes with it. The fields are not checked here (see :func:`field_problems`). Joins
    the caller's ``write(db)`` transaction if one is open.

    Raises:
        UnknownAccount: no such 工号.
    """
    stamp = _stamp(now)
    with write(db):
        person = get_person(db, employee_no)
        if person is None:
            raise UnknownAccount(employee_no.strip())
        db.execute(
            "UPDATE people SET name = ?, department = ?, role = ?, updated_at = ? "
            "WHERE employee_no = ?",
            [name, department, role.value, stamp, person.employee_no],
        )
        if role is not person.role:
            end_sessions(db, person.employee_no)
        if department != person.department:
            _record_department(db, person.employee_no, department, stamp)


def create_account(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role | str,
    now: datetime,
    *,
    initial_password: str | None = None,
) -> str:
    """Create one account that must change its password at first login.

    Args:
        db: the app database.
        employee_no: the 工号 (English letters, digits, ``._-``).
        name: the person's name.
        department: the 科室/站/队.
        role: a :class:`Role`, or its name as in a roster (职工, 负责人, 创建办, ...).
        now: the current time, timezone-aware.
        initial_password: the password to hand out; a random one when not given.

    Returns:
        The initial password.

    Raises:
        InvalidAccount: a field cannot be used.
        PasswordRejected: the given initial password breaks the policy.
        AccountExists: the 工号 is taken.
    """
    employee_no, name, department = employee_no.strip(), name.strip(), department.strip()
    problems = field_problems(employee_no, name, department)
    role_text = role.value if isinstance(role, Role) else role
    problem = role_problem(role_text)
    if problem:
        problems.append(problem)
    if problems:
        raise InvalidAccount(problems)
    parsed = Role.parse(role_text)
    assert parsed is not None
    if initial_password is not None:
        weak = password_problems(initial_password, employee_no)
        if weak:
            raise PasswordRejected(weak)
    password = initial_password if initial_password is not None else generate_password()
    add_person(db, employee_no, name, department, parsed, hash_password(password), now)
    return password


def reset_password(db: sqlite_utils.Database, employee_no: str, now: datetime) -> str:
    """Give an account a new random password that must be changed at next login.

    Also lifts any lock, clears the failure count and ends the account's sessions.

    Args:
        db: the app database.
        employee_no: whose password.
        now: the current time, timezone-aware.

    Returns:
        The new password, to hand to the person.

    Raises:
        UnknownAccount: no such 工号.
    """
    password = generate_password()
    password_hash = hash_password(password)
    with write(db):
        cursor = db.execute(
            "UPDATE people SET password_hash = ?, must_change_password = 1, "
            f"password_changed_at = ?, updated_at = ?, {_END_SESSIONS} WHERE employee_no = ?",
            [password_hash, _stamp(now), _stamp(now), employee_no.strip()],
        )
        if cursor.rowcount != 1:
            raise UnknownAccount(employee_no.strip())
        _clear_failures(db, employee_no, None)
    return password


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


def _set_active(db: sqlite_utils.Database, employee_no: str, active: bool, now: datetime) -> None:
    with write(db):
        person = get_person(db, employee_no)
        if person is None:
            raise UnknownAccount(employee_no.strip())
        if not active and person.role is Role.ADMIN and person.active:
            others = _fetch_one(
                db,
                "SELECT count(*) AS n FROM people WHERE role = 'admin' AND active = 1 "
                "AND employee_no <> ?",
                [person.employee_no],
            )
            if others is None or others["n"] == 0:
                raise AccountError("这是最后一个在用的创建办账号，不能停用")
        db.execute(
            f"UPDATE people SET active = ?, updated_at = ?, {_END_SESSIONS} WHERE employee_no = ?",
            [int(active), _stamp(now), person.employee_no],
        )


def deactivate_account(db: sqlite_utils.Database, employee_no: str, now: datetime) -> None:
    """Stop an account from logging in, keeping its history and results.

    Raises:
        UnknownAccount: no such 工号.
        AccountError: it is the last active admin account.
    """
    _set_active(db, employee_no, False, now)


def reactivate_account(db: sqlite_utils.Database, employee_no: str, now: datetime) -> None:
    """Let a deactivated account log in again.

    Raises:
        UnknownAccount: no such 工号.
    """
    _set_active(db, employee_no, True, now)


def ensure_first_admin(db: sqlite_utils.Database, now: datetime) -> str | None:
    """Create the first admin account on a database that has none.

    The account is ``admin`` (创建办管理员, department 创建办) with a random password that
    must be changed at first login. Once any admin exists, active or not, this does
    nothing, so it is safe to call at every start.

    Args:
        db: the app database.
        now: the current time, timezone-aware.

    Returns:
        The initial password, to print once in the terminal; None if nothing was created.

    Raises:
        AccountExists: there is no admin, but a non-admin account already holds 工号 admin.
    """
    if _fetch_one(db, "SELECT 1 AS x FROM people WHERE role = 'admin' LIMIT 1", []):
        return None
    password = generate_password()
    password_hash = hash_password(password)
    with write(db):
        # Checked again under the lock: two app processes may start at once.
        if _fetch_one(db, "SELECT 1 AS x FROM people WHERE role = 'admin' LIMIT 1", []):
            return None
        add_person(
            db,
            FIRST_ADMIN_NO,
            FIRST_ADMIN_NAME,
            FIRST_ADMIN_DEPARTMENT,
            Role.ADMIN,
            password_hash,
            now,
        )
    return password


# -- reading --------------------------------------------------------------------------------


def first_admin_notice(employee_no: str, password: str) -> str:
    """What the terminal shows, once, when the first admin account is created."""
    return (
        "\n首次启动：已创建创建办管理员账号。\n"
        f"  工号：{employee_no}\n  初始密码：{password}\n"
        "  首次登录后须修改密码。此密码不会再次显示。\n"
    )


def get_person(db: sqlite_utils.Database, employee_no: str) -> Person | None:
    """The account with this 工号 (any letter case), or None."""
    row = _fetch_one(
        db, f"SELECT {_PERSON_COLUMNS} FROM people WHERE employee_no = ?", [employee_no.strip()]
    )
    return _person(row) if row else None


def list_people(
    db: sqlite_utils.Database, department: str | None = None, *, active_only: bool = False
) -> list[Person]:
    """Everyone, or one department, ordered by department then 工号.

    Args:
        db: the app database.
        department: only this department when given.
        active_only: leave out deactivated accounts (e.g. for completion figures).
    """
    where, params = [], []
    if department is not None:
        where.append("department = ?")
        params.append(department)
    if active_only:
        where.append("active = 1")
    sql = f"SELECT {_PERSON_COLUMNS} FROM people"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY department, employee_no"
    return [_person(row) for row in db.query(sql, params)]


def department_history(db: sqlite_utils.Database, employee_no: str) -> list[DepartmentSpell]:
    """Where a person has been, oldest first."""
    return [
        DepartmentSpell(department=row["department"], since=datetime.fromisoformat(row["since"]))
        for row in db.query(
            "SELECT department, since FROM department_history WHERE employee_no = ? ORDER BY since",
            [employee_no.strip()],
        )
    ]


def department_at(db: sqlite_utils.Database, employee_no: str, when: datetime) -> str | None:
    """The department a person belonged to at ``when``; None if before their account."""
    row = _fetch_one(
        db,
        "SELECT department FROM department_history WHERE employee_no = ? AND since <= ? "
        "ORDER BY since DESC LIMIT 1",
        [employee_no.strip(), _stamp(when)],
    )
    return row["department"] if row else None
