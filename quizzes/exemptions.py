"""Exemptions (请假, 外派, ...): a person excused from study for a while.

Recorded from a moment until ``until`` (if given) or their removal; never deleted, so
figures as of the past stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlite_utils

from base.clock import from_stamp, to_stamp
from base.sql import query_frame, rows
from base.store import write
from quizzes.people import UnknownAccount, get_person
from quizzes.plan import StudyPlanError

MAX_REASON = 100


@dataclass(frozen=True)
class Exemption:
    """A person excused from study (请假, 外派, ...) from ``since`` until ``until``/removal."""

    id: int
    employee_no: str
    reason: str
    since: datetime
    until: datetime | None
    created_by: str
    removed_at: datetime | None = None
    removed_by: str | None = None

    def active_at(self, moment: datetime) -> bool:
        """Whether the exemption applies at ``moment``."""
        return (
            self.since <= moment
            and (self.until is None or moment < self.until)
            and (self.removed_at is None or moment < self.removed_at)
        )


def _exemption(row: dict) -> Exemption:
    return Exemption(
        id=row["id"],
        employee_no=row["employee_no"],
        reason=row["reason"],
        since=datetime.fromisoformat(row["since"]),
        until=from_stamp(row["until"]),
        created_by=row["created_by"],
        removed_at=from_stamp(row["removed_at"]),
        removed_by=row["removed_by"],
    )


def _active_exemption_sql(alias: str = "e") -> str:
    return (
        f"{alias}.since <= :as_of AND ({alias}.until IS NULL OR {alias}.until > :as_of) "
        f"AND ({alias}.removed_at IS NULL OR {alias}.removed_at > :as_of)"
    )


def add_exemption(
    db: sqlite_utils.Database,
    employee_no: str,
    reason: str,
    now: datetime,
    by: str,
    *,
    until: datetime | None = None,
) -> Exemption:
    """Excuse a person from study from ``now`` (e.g. 请假, 外派).

    Args:
        db: the app database.
        employee_no: who (any letter case).
        reason: why, e.g. 请假 or 外派 (at most 100 characters).
        now: the current time, aware: the exemption starts here.
        by: who recorded it (工号).
        until: when it ends (exclusive), if known; afterwards the person counts again
            under the normal rules.

    Returns:
        The stored exemption.

    Raises:
        UnknownAccount: no such 工号.
        StudyPlanError: no reason, ``until`` not after ``now``, or already exempt.
    """
    reason = reason.strip()
    if not reason:
        raise StudyPlanError("请填写免学原因（如 请假、外派）")
    if len(reason) > MAX_REASON:
        raise StudyPlanError(f"免学原因过长（最多 {MAX_REASON} 个字符）")
    if until is not None and until <= now:
        raise StudyPlanError("免学截止时间应晚于现在")
    person = get_person(db, employee_no)
    if person is None:
        raise UnknownAccount(employee_no.strip())
    stamp = to_stamp(now)
    with write(db):
        # Checked under the writer lock: two admins must not both add one.
        current = db.execute(
            f"SELECT 1 FROM exemptions e WHERE e.employee_no = :who AND {_active_exemption_sql()}",
            {"who": person.employee_no, "as_of": stamp},
        ).fetchone()
        if current is not None:
            raise StudyPlanError(f"{person.name}（{person.employee_no}）已在免学名单中")
        cursor = db.execute(
            "INSERT INTO exemptions (employee_no, reason, since, until, created_by) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            [person.employee_no, reason, stamp, None if until is None else to_stamp(until), by],
        )
        exemption_id = int(cursor.fetchone()[0])
        cursor.close()
    found = get_exemption(db, exemption_id)
    assert found is not None
    return found


def remove_exemption(
    db: sqlite_utils.Database, employee_no: str, now: datetime, by: str
) -> Exemption:
    """End a person's exemption at ``now``; the record stays, for figures of the past.

    Returns:
        The exemption as ended.

    Raises:
        StudyPlanError: the person has no exemption in force.
    """
    stamp = to_stamp(now)
    with write(db):
        row = db.execute(
            f"UPDATE exemptions AS e SET removed_at = :as_of, removed_by = :by "
            f"WHERE e.employee_no = :who AND {_active_exemption_sql()} RETURNING id",
            {"who": employee_no.strip(), "as_of": stamp, "by": by},
        ).fetchall()
    if not row:
        raise StudyPlanError(f"{employee_no.strip()} 目前不在免学名单中")
    found = get_exemption(db, row[0][0])
    assert found is not None
    return found


def list_exemptions(db: sqlite_utils.Database, as_of: datetime | None = None) -> list[Exemption]:
    """Exemptions in force at ``as_of``, or every exemption ever recorded when None.

    Ordered by 工号, then start.
    """
    if as_of is None:
        found = rows(db, "SELECT * FROM exemptions ORDER BY employee_no, since, id")
    else:
        found = rows(
            db,
            f"SELECT * FROM exemptions e WHERE {_active_exemption_sql()} "
            "ORDER BY e.employee_no, e.since, e.id",
            {"as_of": to_stamp(as_of)},
        )
    return [_exemption(r) for r in found]


def get_exemption(db: sqlite_utils.Database, exemption_id: int) -> Exemption | None:
    """One exemption by its id, or None."""
    found = rows(db, "SELECT * FROM exemptions WHERE id = ?", [exemption_id])
    return _exemption(found[0]) if found else None


def exemptions_in_force(db: sqlite_utils.Database, as_of: datetime) -> pd.DataFrame:
    """The exemption in force at ``as_of`` of each person who has one (the latest begun).

    Returns:
        Indexed by ``employee_no``; columns ``exemption_id``, ``exemption_reason``,
        ``exemption_since``, ``exemption_until`` (stored text).
    """
    found = query_frame(
        db,
        f"""SELECT e.employee_no, e.id AS exemption_id, e.reason AS exemption_reason,
            e.since AS exemption_since, e.until AS exemption_until
        FROM exemptions e WHERE {_active_exemption_sql()}
        ORDER BY e.employee_no, e.since DESC""",
        {"as_of": to_stamp(as_of)},
    )
    # The index is the people's 工号 as the accounts spell it; exemptions store the same.
    return found.drop_duplicates("employee_no").set_index("employee_no")


def insert_exemptions(db: sqlite_utils.Database, exemptions: Iterable[tuple]) -> None:
    """Store many exemptions at once, inside the caller's write transaction (demo data).

    Args:
        db: the app database, in :func:`base.store.write`.
        exemptions: ``(employee_no, reason, since, created_by)`` rows, ``since`` stored text.
    """
    db.conn.executemany(
        "INSERT INTO exemptions (employee_no, reason, since, created_by) VALUES (?, ?, ?, ?)",
        list(exemptions),
    )


def delete_exemptions_of(db: sqlite_utils.Database, people_sql: str, params: Any) -> int:
    """Delete every exemption of the people ``people_sql`` selects, inside the caller's
    write transaction (removing demo data); returns how many."""
    return db.execute(
        f"DELETE FROM exemptions WHERE employee_no IN ({people_sql})", params
    ).rowcount
