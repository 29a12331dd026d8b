"""Reading confirmations: a person clicked 我已学习本文件 in the reader.

One row per person and document; a second click changes nothing. The office's progress
reads them through :func:`confirmed_readings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlite_utils

from base.clock import to_stamp
from base.sql import in_list_sql, query_frame
from base.store import write
from quizzes.people import UnknownAccount, get_person
from quizzes.plan import StudyPlanError
from quizzes.plan_status import refresh_plan_status


@dataclass(frozen=True)
class Reading:
    """A person confirmed having studied a document."""

    doc_path: str
    confirmed_at: datetime


def confirm_reading(
    db: sqlite_utils.Database, employee_no: str, doc_path: str, now: datetime
) -> Reading:
    """Record that a person has studied a document (the reader's 我已学习本文件 button).

    Idempotent: a second confirmation changes nothing and returns the first.

    Args:
        db: the app database.
        employee_no: who (any letter case; stored as the account's 工号).
        doc_path: the document's corpus path.
        now: the current time, aware.

    Returns:
        The stored confirmation.

    Raises:
        UnknownAccount: no such 工号.
        StudyPlanError: the document is not in the index.
    """
    person = get_person(db, employee_no)
    if person is None:
        raise UnknownAccount(employee_no.strip())
    with write(db):
        known = db.execute("SELECT 1 FROM documents WHERE path = ?", [doc_path]).fetchone()
        if known is None:
            raise StudyPlanError(f"文件“{doc_path}”不在文件库中")
        db.execute(
            "INSERT INTO readings (employee_no, doc_path, confirmed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (employee_no, doc_path) DO NOTHING",
            [person.employee_no, doc_path, to_stamp(now)],
        )
        refresh_plan_status(db, [person.employee_no])
    row = db.execute(
        "SELECT doc_path, confirmed_at FROM readings WHERE employee_no = ? AND doc_path = ?",
        [person.employee_no, doc_path],
    ).fetchone()
    return Reading(row[0], datetime.fromisoformat(row[1]))


def readings_of(
    db: sqlite_utils.Database, employee_no: str, as_of: datetime | None = None
) -> list[Reading]:
    """The documents a person confirmed having studied (by ``as_of`` if given), oldest first."""
    sql = "SELECT doc_path, confirmed_at FROM readings WHERE employee_no = ?"
    params: list[Any] = [employee_no.strip()]
    if as_of is not None:
        sql += " AND confirmed_at <= ?"
        params.append(to_stamp(as_of))
    return [
        Reading(path, datetime.fromisoformat(at))
        for path, at in db.execute(sql + " ORDER BY confirmed_at, doc_path", params)
    ]


def confirmed_readings(
    db: sqlite_utils.Database,
    doc_paths: Sequence[str],
    as_of: datetime,
    who: tuple[str, dict[str, Any]],
) -> pd.DataFrame:
    """The confirmations of these documents by ``as_of``, of the people of a ``who`` CTE
    (:func:`quizzes.people.people_cte`).

    Returns:
        Columns ``employee_no``, ``doc_path``, ``confirmed_at`` (stored text).
    """
    sql, params = who
    params = {**params, "as_of": to_stamp(as_of)}
    docs = in_list_sql("d", doc_paths, params)
    return query_frame(
        db,
        f"""WITH {sql}
        SELECT w.employee_no, r.doc_path, r.confirmed_at
        FROM who w JOIN readings r ON r.employee_no = w.employee_no
        WHERE r.doc_path IN ({docs}) AND r.confirmed_at <= :as_of""",
        params,
    )


def insert_readings(db: sqlite_utils.Database, readings: Iterable[tuple[str, str, str]]) -> None:
    """Store many confirmations at once, inside the caller's write transaction (demo data).

    Args:
        db: the app database, in :func:`base.store.write`.
        readings: ``(employee_no, doc_path, confirmed_at)`` rows, the time stored text;
            a confirmation already stored is kept.
    """
    readings = list(readings)
    db.conn.executemany(
        "INSERT INTO readings (employee_no, doc_path, confirmed_at) VALUES (?, ?, ?) "
        "ON CONFLICT (employee_no, doc_path) DO NOTHING",
        readings,
    )
    refresh_plan_status(db, [r[0] for r in readings])


def delete_readings_of(db: sqlite_utils.Database, people_sql: str, params: Any) -> int:
    """Delete every confirmation of the people ``people_sql`` selects, inside the caller's
    write transaction (removing demo data); returns how many."""
    people = [r[0] for r in db.execute(people_sql, params)]
    deleted = db.execute(
        f"DELETE FROM readings WHERE employee_no IN ({people_sql})", params
    ).rowcount
    refresh_plan_status(db, people)
    return deleted


def reading_records_sql(people: str) -> str:
    """A SELECT of the confirmations (``employee_no``, ``doc_path``, ``confirmed_at``),
    for another component's query that keeps a summary of them (:mod:`quizzes.plan_status`)
    inside the write transactions here; ``people``: an SQL list of 工号 the rows are
    limited to (empty: everyone)."""
    scoped = f"WHERE d.employee_no IN ({people})" if people else ""
    return f"SELECT d.employee_no, d.doc_path, d.confirmed_at FROM readings d {scoped}"


def readings_by_person(
    db: sqlite_utils.Database,
    doc_paths: Sequence[str],
    as_of: datetime,
    who: tuple[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Per person, which of these documents they confirmed by ``as_of``, and when the
    last of them.

    Args:
        who: only the people of this ``who`` CTE (:func:`quizzes.people.people_cte`);
            None for everyone.

    Returns:
        Indexed by ``employee_no`` (people with a confirmation only); columns
        ``documents_read``, ``read_mask`` (bit ``i`` set: the ``i``-th document read),
        ``last_read_at`` (stored text).
    """
    cte, params = who if who is not None else ("", {})
    params = {**params, "as_of": to_stamp(as_of)}
    docs = in_list_sql("d", doc_paths, params)
    positions = " ".join(f"WHEN :d{i} THEN {1 << i}" for i in range(len(doc_paths)))
    bit = f"CASE r.doc_path {positions} END" if doc_paths else "0"
    scoped = "" if who is None else "AND r.employee_no IN (SELECT employee_no FROM who)"
    return query_frame(
        db,
        f"""{"WITH " + cte if cte else ""}
        SELECT r.employee_no, COUNT(*) AS documents_read, TOTAL({bit}) AS read_mask,
            MAX(r.confirmed_at) AS last_read_at
        FROM readings r
        -- "+": one pass in 工号 order beats a search per document (three times over).
        WHERE +r.doc_path IN ({docs}) AND +r.confirmed_at <= :as_of {scoped}
        GROUP BY r.employee_no""",
        params,
    ).set_index("employee_no")
