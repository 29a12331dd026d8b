"""People as every component sees them: roles, the Person record, departments and
their history, and who is in scope at a moment.

Reads and writes the accounts' tables (``people``, ``department_history``), whose schema
is the ``accounts`` component's (:mod:`quizzes.accounts`); accounts are administered there
and in :mod:`quizzes.roster`, logins in :mod:`quizzes.login`.

Times are timezone-aware datetimes passed in by the caller; they are stored as UTC text in
one fixed format so that SQL can compare them as strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pandas as pd
import sqlite_utils

from base.clock import from_stamp, to_stamp
from base.sql import in_list_sql, query_frame


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
    """Raised by every change that must end the person's sessions (see :func:`quizzes.login.end_sessions`)."""
    title: str = ""
    """The 职务 (科员, 副科长...) as the roster gives it: shown, never an authority."""


@dataclass(frozen=True)
class DepartmentSpell:
    """A person belonged to ``department`` from ``since`` until the next spell began."""

    department: str
    since: datetime


class AccountError(Exception):
    """An account operation was refused; ``str(error)`` is the Chinese message to show."""


class UnknownAccount(AccountError):
    """No account has this 工号 (only said to admins, never at login)."""

    def __init__(self, employee_no: str) -> None:
        super().__init__(f"没有工号为 “{employee_no}” 的账号")
        self.employee_no = employee_no


def _person(row: dict) -> Person:
    return Person(
        employee_no=row["employee_no"],
        name=row["name"],
        department=row["department"],
        role=Role(row["role"]),
        active=bool(row["active"]),
        must_change_password=bool(row["must_change_password"]),
        last_login_at=from_stamp(row["last_login_at"]),
        session_version=row["session_version"],
        title=row["title"],
    )


_PERSON_COLUMNS = (
    "employee_no, name, department, role, active, must_change_password, last_login_at, "
    "session_version, title"
)


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


def role_problem(text: str) -> str | None:
    """Say why ``text`` names no role, or None when it does."""
    if not text.strip():
        return "角色 为空"
    if Role.parse(text) is None:
        return f"角色 “{text.strip()}” 无法识别（可用：{ROLE_CHOICES}）"
    return None


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
        [employee_no.strip(), to_stamp(when)],
    )
    return row["department"] if row else None


def staff_departments(db: sqlite_utils.Database) -> list[str]:
    """The departments staff and heads belong to now, in name order (the office's
    department choice)."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT department FROM people WHERE role != 'admin' ORDER BY department"
        )
    ]


def people_cte(
    as_of: datetime,
    departments: Sequence[str] | None = None,
    employee_nos: Sequence[str] | None = None,
    counted_only: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The SQL ``who`` CTE: the people in scope with their department at ``as_of``.

    Other components' queries join it (``WITH {who} ...``) so the scope rules (who is
    counted, department at the moment) are written once. The CTE's columns:
    ``employee_no``, ``name``, ``role``, ``active``, ``department``.

    Args:
        as_of: the moment, aware.
        departments: only these departments (at ``as_of``); None for all.
        employee_nos: only these people; None for all.
        counted_only: only people counted in the headcount (staff/head, active).

    Returns:
        ``("who AS (...)", params)`` with named parameters prefixed ``scope_``.
    """
    params: dict[str, Any] = {"scope_as_of": to_stamp(as_of)}
    where = ["department IS NOT NULL"]
    inner_where = []
    if counted_only:
        inner_where.append("p.active = 1 AND p.role IN ('staff', 'head')")
    if employee_nos is not None:
        # One JSON parameter, however many people: an overdue list can name thousands.
        params["scope_people"] = json.dumps([e.strip() for e in employee_nos])
        inner_where.append("p.employee_no IN (SELECT value FROM json_each(:scope_people))")
    if departments is not None:
        names = in_list_sql("scope_d", list(departments), params)
        where.append(f"department IN ({names})")
        # Only people who ever belonged to one of them can be in one at the moment: one
        # pass over the history instead of a department lookup for everyone.
        inner_where.append(
            f"p.employee_no IN (SELECT employee_no FROM department_history "
            f"WHERE department IN ({names}))"
        )
    # MATERIALIZED: computed once per query, not once per attempt row that joins it.
    sql = f"""who AS MATERIALIZED (
        SELECT * FROM (
            SELECT p.employee_no, p.name, p.role, p.active,
                (SELECT h.department FROM department_history h
                 WHERE h.employee_no = p.employee_no AND h.since <= :scope_as_of
                 ORDER BY h.since DESC LIMIT 1) AS department
            FROM people p {"WHERE " + " AND ".join(inner_where) if inner_where else ""}
        ) WHERE {" AND ".join(where)}
    )"""
    return sql, params


def department_then_sql(person: str, moment: str) -> str:
    """The SQL expression of the department a person belonged to at a moment (their first
    one before it, ``''`` with no history): ``person`` and ``moment`` are SQL expressions.

    The attempts' tallies key each graded attempt by it (:mod:`quizzes.attempt_tallies`).
    """
    return (
        f"COALESCE((SELECT h.department FROM department_history h "
        f"WHERE h.employee_no = {person} AND h.since <= {moment} ORDER BY h.since DESC LIMIT 1), "
        f"(SELECT h.department FROM department_history h WHERE h.employee_no = {person} "
        f"ORDER BY h.since LIMIT 1), '')"
    )


def recounted_people(db: sqlite_utils.Database, as_of: datetime) -> list[str]:
    """The people whose figures at ``as_of`` a tally keyed by :func:`department_then_sql`
    may hold under another department or count when it should not: everyone with more than
    one department on record, with none yet at ``as_of``, or not counted (an admin, a
    deactivated account). Few: the rest belong to one department at every moment."""
    return [
        row[0]
        for row in db.execute(
            "SELECT p.employee_no FROM people p WHERE p.active != 1 "
            "OR p.role NOT IN ('staff', 'head') OR p.employee_no IN ("
            "SELECT employee_no FROM department_history GROUP BY employee_no "
            "HAVING COUNT(*) > 1 OR MIN(since) > ?)",
            [to_stamp(as_of)],
        )
    ]


def people_at(db: sqlite_utils.Database, who: tuple[str, dict[str, Any]]) -> pd.DataFrame:
    """The people of a :func:`people_cte`, indexed by ``employee_no``, in department then
    工号 order; columns ``name``, ``role``, ``active``, ``department``."""
    sql, params = who
    return query_frame(
        db,
        f"WITH {sql} SELECT employee_no, name, role, active, department FROM who "
        "ORDER BY department, employee_no",
        params,
    ).set_index("employee_no")


def insert_people(
    db: sqlite_utils.Database, people: Sequence[tuple], history: Sequence[tuple]
) -> None:
    """Store many accounts and their department history at once, inside the caller's
    write transaction (demo data: :mod:`quizzes.demo`).

    Args:
        db: the app database, in :func:`base.store.write`.
        people: ``(employee_no, name, department, role, password_hash, created_at)`` rows;
            each must change the password at first login.
        history: ``(employee_no, department, since)`` rows.
    """
    db.conn.executemany(
        "INSERT INTO people (employee_no, name, department, role, password_hash, "
        "must_change_password, active, created_at, updated_at, password_changed_at) "
        "VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
        [(*r, r[5], r[5]) for r in people],
    )
    db.conn.executemany(
        "INSERT INTO department_history (employee_no, department, since) VALUES (?, ?, ?)",
        history,
    )


def delete_people(db: sqlite_utils.Database, people_sql: str, params: Any = ()) -> dict[str, int]:
    """Delete the accounts ``people_sql`` selects with everything the accounts keep about
    them (login throttling, login sessions, department history), inside the caller's
    write transaction (removing demo data).

    Returns:
        How many rows went, by table: ``login_failures``, ``login_sessions``,
        ``department_history``, ``people``.
    """
    return {
        "login_failures": db.execute(
            f"DELETE FROM login_failures WHERE login IN (SELECT lower(employee_no) "
            f"FROM people WHERE employee_no IN ({people_sql}))",
            params,
        ).rowcount,
        "login_sessions": db.execute(
            f"DELETE FROM login_sessions WHERE employee_no IN ({people_sql})", params
        ).rowcount,
        "department_history": db.execute(
            f"DELETE FROM department_history WHERE employee_no IN ({people_sql})", params
        ).rowcount,
        "people": db.execute(
            f"DELETE FROM people WHERE employee_no IN ({people_sql})", params
        ).rowcount,
    }
