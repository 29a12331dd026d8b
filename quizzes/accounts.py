"""Account administration: adding and updating people, creating accounts, resets,
unlocking, deactivation, the first admin; and the ``accounts`` component's tables.

The component's landed migration steps (people, department history, login throttling,
session versions, login sessions) stay here whole under their component's name
(``tests/test_migrations.py``); the code that uses those tables is split by concern:
:mod:`quizzes.people`, :mod:`quizzes.passwords`, :mod:`quizzes.login`, :mod:`quizzes.sessions`.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlite_utils

from base.clock import to_stamp
from base.store import migrate, write
from quizzes.login import _END_SESSIONS, _clear_failures, end_sessions
from quizzes.passwords import PasswordRejected, generate_password, hash_password, password_problems
from quizzes.people import (
    AccountError,
    Person,
    Role,
    UnknownAccount,
    _fetch_one,
    _record_department,
    get_person,
    role_problem,
)

MAX_EMPLOYEE_NO_LENGTH = 32


MAX_TEXT_LENGTH = 50


FIRST_ADMIN_NO = "admin"


FIRST_ADMIN_NAME = "创建办管理员"


FIRST_ADMIN_DEPARTMENT = "创建办"


_EMPLOYEE_NO_RE = re.compile(r"[A-Za-z0-9._-]+")


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


def create_v4(db: sqlite_utils.Database) -> None:
    """A person's 职务 (科员, 副科长...), kept apart from the role that decides what they see."""
    db.execute("ALTER TABLE people ADD COLUMN title TEXT NOT NULL DEFAULT ''")


def create_v5(db: sqlite_utils.Database) -> None:
    """Login sessions on the server (``quizzes.sessions``): a browser's cookie holds a token
    whose SHA-256 is stored, never the token."""
    # AUTOINCREMENT: a page session keeps its row's id, and a deleted row's id must never
    # come back as somebody else's session.
    db.execute(
        """
        CREATE TABLE login_sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            employee_no TEXT NOT NULL COLLATE NOCASE REFERENCES people (employee_no),
            session_version INTEGER NOT NULL,
            token_hash TEXT UNIQUE,
            code_hash TEXT UNIQUE,
            code_expires_at TEXT,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX login_sessions_last_seen ON login_sessions (last_seen_at)")


STEPS = [create_v1, create_v2, create_v3, create_v4, create_v5]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the accounts tables; returns the schema version."""
    return migrate(db, "accounts", STEPS)


def field_problems(employee_no: str, name: str, department: str, title: str = "") -> list[str]:
    """Say what is wrong with the 工号, name, department and 职务 of an account.

    Args:
        employee_no: the 工号, already stripped.
        name: the person's name, already stripped.
        department: the 科室/站/队, already stripped.
        title: the 职务, already stripped; may be empty.

    Returns:
        One Chinese message per problem, each starting with the field's name; empty when
        all can be used.
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
    if len(title) > MAX_TEXT_LENGTH:
        problems.append(f"职务 “{title}” 过长（最多 {MAX_TEXT_LENGTH} 个字符）")
    return problems


def add_person(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role,
    password_hash: str,
    now: datetime,
    *,
    title: str = "",
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
        title: the 职务, validated; "" when none.

    Returns:
        The new person.

    Raises:
        AccountExists: the 工号 is taken (in any letter case).
    """
    stamp = to_stamp(now)
    with write(db):
        # Checked inside the transaction so two admins cannot both pass it.
        if get_person(db, employee_no) is not None:
            raise AccountExists(employee_no)
        db.execute(
            "INSERT INTO people (employee_no, name, department, role, title, password_hash, "
            "must_change_password, active, created_at, updated_at, password_changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
            [employee_no, name, department, role.value, title, password_hash, stamp, stamp, stamp],
        )
        _record_department(db, employee_no, department, stamp)
    return Person(employee_no, name, department, role, title=title)


def update_person(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role,
    now: datetime,
    *,
    title: str | None = None,
) -> None:
    """Set a person's name, department, role and (when given) 职务; a department move
    enters the history.

    A change of role ends the person's sessions (:func:`end_sessions`): what they may see
    changes with it. The fields are not checked here (see :func:`field_problems`). Joins
    the caller's ``write(db)`` transaction if one is open.

    Raises:
        UnknownAccount: no such 工号.
    """
    stamp = to_stamp(now)
    with write(db):
        person = get_person(db, employee_no)
        if person is None:
            raise UnknownAccount(employee_no.strip())
        db.execute(
            "UPDATE people SET name = ?, department = ?, role = ?, title = ?, updated_at = ? "
            "WHERE employee_no = ?",
            [
                name,
                department,
                role.value,
                person.title if title is None else title,
                stamp,
                person.employee_no,
            ],
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
    title: str = "",
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
        title: the 职务 (科员, 副科长...), apart from the role; "" when none.

    Returns:
        The initial password.

    Raises:
        InvalidAccount: a field cannot be used.
        PasswordRejected: the given initial password breaks the policy.
        AccountExists: the 工号 is taken.
    """
    employee_no, name, department = employee_no.strip(), name.strip(), department.strip()
    title = title.strip()
    problems = field_problems(employee_no, name, department, title)
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
    add_person(db, employee_no, name, department, parsed, hash_password(password), now, title=title)
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
            [password_hash, to_stamp(now), to_stamp(now), employee_no.strip()],
        )
        if cursor.rowcount != 1:
            raise UnknownAccount(employee_no.strip())
        _clear_failures(db, employee_no, None)
    return password


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
            [int(active), to_stamp(now), person.employee_no],
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


def first_admin_notice(employee_no: str, password: str) -> str:
    """What the terminal shows, once, when the first admin account is created."""
    return (
        "\n首次启动：已创建创建办管理员账号。\n"
        f"  工号：{employee_no}\n  初始密码：{password}\n"
        "  首次登录后须修改密码。此密码不会再次显示。\n"
    )
