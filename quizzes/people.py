"""People as the other components see them: who is in scope at a moment, and where.

Reads the accounts' tables (``people``, ``department_history``); the accounts are written
by :mod:`quizzes.accounts` and :mod:`quizzes.roster`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlite_utils

from kb.timestamps import to_stamp
from quizzes.sql import in_list_sql, query_frame


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
        where.append(f"department IN ({in_list_sql('scope_d', list(departments), params)})")
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
        db: the app database, in :func:`kb.store.write`.
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
    them (login throttling, department history), inside the caller's write transaction
    (removing demo data).

    Returns:
        How many rows went, by table: ``login_failures``, ``department_history``, ``people``.
    """
    return {
        "login_failures": db.execute(
            f"DELETE FROM login_failures WHERE login IN (SELECT lower(employee_no) "
            f"FROM people WHERE employee_no IN ({people_sql}))",
            params,
        ).rowcount,
        "department_history": db.execute(
            f"DELETE FROM department_history WHERE employee_no IN ({people_sql})", params
        ).rowcount,
        "people": db.execute(
            f"DELETE FROM people WHERE employee_no IN ({people_sql})", params
        ).rowcount,
    }
