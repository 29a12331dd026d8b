"""Initial passwords: who has not logged in yet, re-issuing theirs, and the sheet to hand
them out.

Initial passwords are never stored readable, so they cannot be shown again. Instead the
office re-issues them: a new random password for each chosen person who has never logged
in, stored as a hash like any password; the old one stops working at once. Keeping the
first ones in plain text for a later download would leave a list of working passwords in
the database (and its backups) until each person's first login, readable by anyone who
gets a copy; a re-issue gives the office the same help with nothing to steal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from base.clock import to_stamp
from base.store import write
from quizzes.login import _END_SESSIONS
from quizzes.passwords import generate_password, hash_password
from quizzes.people import Person, get_person, list_people


@dataclass(frozen=True)
class NewAccount:
    """A person with the initial password to hand out (new, or re-issued)."""

    person: Person
    initial_password: str


@dataclass(frozen=True)
class ReissueReport:
    """What a re-issue did.

    Attributes:
        issued: the people given a new initial password, with it, in the order asked.
        refused: (工号, reason in Chinese) for each person who was not given one.
    """

    issued: tuple[NewAccount, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()


def awaiting_first_login(db: sqlite_utils.Database) -> list[Person]:
    """The active people who have never logged in and still hold an initial password,
    by department then 工号: the ones whose initial password may be re-issued."""
    return [
        person
        for person in list_people(db, active_only=True)
        if person.last_login_at is None and person.must_change_password
    ]


def reissue_initial_passwords(
    db: sqlite_utils.Database,
    employee_nos: Sequence[str],
    now: datetime,
    password_factory: Callable[[], str] = generate_password,
) -> ReissueReport:
    """Give each listed person who has never logged in a new initial password.

    The new password replaces the old one (which stops working) and must be changed at
    first login. Someone who has logged in, even once with the initial password, keeps
    theirs: they have it, and a reset is the account page's 重置密码. The check is made
    inside the write transaction, so a first login in the meantime wins.

    Args:
        db: the app database.
        employee_nos: whose; duplicates and letter case do not matter.
        now: the current time, timezone-aware.
        password_factory: makes the passwords.

    Returns:
        The people given a new password, with it, and those refused, with why.
    """
    wanted = list(dict.fromkeys(e.strip() for e in employee_nos if e.strip()))
    # Hash before taking the writer lock: 24 ms a person must not hold up others.
    passwords = [password_factory() for _ in wanted]
    hashes = [hash_password(password) for password in passwords]
    issued, refused = [], []
    stamp = to_stamp(now)
    with write(db):
        for employee_no, password, password_hash in zip(wanted, passwords, hashes, strict=True):
            cursor = db.execute(
                "UPDATE people SET password_hash = ?, must_change_password = 1, "
                f"password_changed_at = ?, updated_at = ?, {_END_SESSIONS} "
                "WHERE employee_no = ? AND active = 1 AND last_login_at IS NULL "
                "AND must_change_password = 1",
                [password_hash, stamp, stamp, employee_no],
            )
            person = get_person(db, employee_no)
            if cursor.rowcount == 1 and person is not None:
                issued.append(NewAccount(person, password))
            else:
                refused.append((employee_no, _refusal(person)))
    return ReissueReport(tuple(issued), tuple(refused))


def _refusal(person: Person | None) -> str:
    if person is None:
        return "没有这个账号"
    if not person.active:
        return "账号已停用"
    return "已登录过，初始密码已不再使用（如忘记密码，请在“账号”中重置密码）"


def passwords_table(accounts: Iterable[NewAccount]) -> list[list[str]]:
    """The rows of the initial-password sheet to hand out: a header, then one per person."""
    return [["工号", "姓名", "部门", "职务", "角色", "初始密码"]] + [
        [
            account.person.employee_no,
            account.person.name,
            account.person.department,
            account.person.title,
            account.person.role.label,
            account.initial_password,
        ]
        for account in accounts
    ]
