"""The kept per person status with each phase of the plan in force (component ``studyplan``).

The plan's progress of 50,000 people would otherwise be a pass over every person's quiz
summaries and readings (some 17 rows a person) at every page. Instead, per phase of the
plan in force and per person with any record for it, one row keeps the person's state as
of now (``plan_status``): how many of the required quizzes and documents they have done
and which, when they met the last requirement (if all are met), their last activity, the
attempts used at each required quiz not passed, and ``changed_at``, the latest time among
those records; and apart (``plan_status_times``) the times of those records: each
required quiz's first pass and attempt starts, each document's confirmation.

They are made again from their records (:func:`refresh_plan_status`) inside the write
transaction of everything they summarise: every attempt started or graded and every
attempt stored or deleted in bulk (:mod:`quizzes.attempts`, after the per person and quiz
summary they read), every reading confirmed, stored or deleted (:mod:`quizzes.readings`),
and every version of the plan saved or removed (:mod:`quizzes.plan`: the phases whose
requirements changed are built again). :func:`rebuild_plan_status` makes them from the
records; ``tests/test_plan_status.py`` checks that the kept rows equal the rebuilt ones.

As of a moment (:func:`office.progress.compute_progress`), a row that last changed by
then is the state then, and running out of attempts is its attempts used against the
bank's limits; the rows that changed later are computed from their kept times
(:func:`status_as_of`). The department, the headcount and the exemptions are read at the
moment as before, so department moves and exemptions need nothing here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlite_utils

from base.clock import to_stamp
from base.sql import query_frame


def create_plan_status(db: sqlite_utils.Database) -> None:
    """Migration step: the kept status tables, built for the plan in force."""
    db.execute(
        """
        CREATE TABLE plan_status_phases (
            phase TEXT PRIMARY KEY,
            quiz_ids TEXT NOT NULL,             -- JSON: the required quizzes, in plan order
            documents TEXT NOT NULL             -- JSON: the required documents, in plan order
        )
        """
    )
    db.execute(
        """
        CREATE TABLE plan_status (
            phase TEXT NOT NULL,
            employee_no TEXT NOT NULL,
            quizzes_passed INTEGER NOT NULL,
            passed_mask INTEGER NOT NULL,       -- bit i: the i-th required quiz passed
            documents_read INTEGER NOT NULL,
            read_mask INTEGER NOT NULL,         -- bit i: the i-th required document read
            completed_at TEXT,                  -- when the last requirement was met, if all are
            last_activity_at TEXT NOT NULL,
            unpassed_attempts TEXT NOT NULL,    -- JSON: quiz id -> attempts used, if not passed
            changed_at TEXT NOT NULL,
            PRIMARY KEY (phase, employee_no)
        ) WITHOUT ROWID
        """
    )
    # Per row of plan_status, its records' times (each required quiz's first pass and
    # every start, each required document's confirmation; see _times_select): what a
    # moment before the row's last change is computed from, without reading the attempts.
    # Apart, so that the page's pass over plan_status reads narrow rows.
    db.execute(
        """
        CREATE TABLE plan_status_times (
            phase TEXT NOT NULL,
            employee_no TEXT NOT NULL,
            times TEXT NOT NULL,
            PRIMARY KEY (phase, employee_no)
        ) WITHOUT ROWID
        """
    )
    found = db.execute("SELECT body FROM study_plan_versions ORDER BY id DESC LIMIT 1").fetchone()
    if found is not None:
        phases = json.loads(found[0])["phases"]
        keep_phases(db, [(p["name"], p["quizzes"], p["documents"]) for p in phases])


def _records_sql(people: str, starts: bool) -> str:
    """The CTEs ``required`` (the phase's requirements: parameters ``:quizzes`` and
    ``:documents``, JSON lists) and ``done``: per person and requirement its records, a
    quiz's first pass, last start, attempts used (and with ``starts`` every start,
    space-separated), a reading's confirmation; for the people ``people`` selects (an SQL
    list of 工号; everyone when empty). The records are read through the SQL of the
    components that own them."""
    # Imported here: attempts and readings import this module, to keep the status in
    # their write transactions.
    from quizzes.attempts import quiz_records_sql
    from quizzes.readings import reading_records_sql

    return f"""WITH required (kind, target, bit) AS (
            SELECT 'quiz', value, 1 << key FROM json_each(:quizzes)
            UNION ALL SELECT 'document', value, 1 << key FROM json_each(:documents)
        ),
        done (employee_no, kind, target, bit, done_at, last_at, changed_at, used, starts) AS (
            SELECT s.employee_no, 'quiz', r.target, r.bit, s.first_pass_at, s.last_started_at,
                s.changed_at, s.attempts_used, s.starts
            -- CROSS JOIN: one pass over the summaries (or the people's rows), each row
            -- matched to its requirement, rather than a pass per required quiz.
            FROM ({quiz_records_sql(people, starts)}) s
            CROSS JOIN required r ON r.target = s.quiz_id
            WHERE r.kind = 'quiz'
            UNION ALL
            SELECT d.employee_no, 'document', r.target, r.bit, d.confirmed_at,
                d.confirmed_at, d.confirmed_at, NULL, NULL
            FROM required r JOIN ({reading_records_sql(people)}) d ON d.doc_path = r.target
            WHERE r.kind = 'document'
        )"""


def _status_select(people: str = "") -> str:
    """The ``plan_status`` rows of one phase (parameter ``:phase``) computed from the
    records (:func:`_records_sql`)."""
    return f"""{_records_sql(people, starts=False)}
        SELECT :phase, employee_no,
            COUNT(CASE WHEN kind = 'quiz' THEN done_at END),
            TOTAL(CASE WHEN kind = 'quiz' AND done_at IS NOT NULL THEN bit END),
            COUNT(CASE WHEN kind = 'document' THEN 1 END),
            TOTAL(CASE WHEN kind = 'document' THEN bit END),
            CASE WHEN COUNT(done_at) = json_array_length(:quizzes) + json_array_length(:documents)
                THEN MAX(done_at) END,
            MAX(last_at), MAX(changed_at),
            json_group_object(target, used) FILTER (WHERE kind = 'quiz' AND done_at IS NULL)
        FROM done GROUP BY employee_no"""


def _times_select(people: str = "") -> str:
    """The ``plan_status_times`` rows of one phase, as :func:`_status_select`: per person
    their requirements' times, ``;``-separated, each ``kind|bit|done_at|starts`` (``q``: a
    quiz, its first pass or nothing and the starts of its attempts, space-separated;
    ``d``: a document, its confirmation and nothing). Plain text rather than JSON: a
    figure of the past splits thousands of them, which is several times faster."""
    return f"""{_records_sql(people, starts=True)}
        SELECT :phase, employee_no, group_concat(
            substr(kind, 1, 1) || '|' || bit || '|' || COALESCE(done_at, '') || '|'
            || COALESCE(starts, ''), ';')
        FROM done GROUP BY employee_no"""


_COLUMNS = (
    "phase, employee_no, quizzes_passed, passed_mask, documents_read, read_mask, "
    "completed_at, last_activity_at, changed_at, unpassed_attempts"
)


def _kept_phases(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    # A database with attempts or readings but not the study plan's tables (a component's
    # own tests, the burst benchmark) keeps nothing.
    if not db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'plan_status_phases'"
    ).fetchone():
        return []
    return db.execute("SELECT phase, quiz_ids, documents FROM plan_status_phases").fetchall()


def _build(
    db: sqlite_utils.Database,
    phase: str,
    quizzes: str,
    documents: str,
    people: str = "",
    params: Sequence[Any] = (),
) -> None:
    named = {"phase": phase, "quizzes": quizzes, "documents": documents}
    named.update({f"p{i}": v for i, v in enumerate(params)})
    db.execute(f"INSERT INTO plan_status ({_COLUMNS}) {_status_select(people)}", named)
    db.execute(
        f"INSERT INTO plan_status_times (phase, employee_no, times) {_times_select(people)}",
        named,
    )


def _delete(db: sqlite_utils.Database, where: str, params: Sequence[Any]) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE {where}", params)


TABLES = ("plan_status", "plan_status_times")
"""The kept rows' tables (``plan_status_phases`` says which phases they are of)."""


def keep_phases(
    db: sqlite_utils.Database, phases: Sequence[tuple[str, Sequence[str], Sequence[str]]]
) -> None:
    """Keep the status for these phases, ``(name, quiz ids, document paths)``: those of the
    plan in force, inside the caller's write transaction (a plan saved or removed).

    A phase kept with the same requirements is left as it is; one whose requirements
    changed, or a new one, is built from the records; a phase no longer in the plan goes.
    """
    wanted = {
        name: (
            json.dumps(list(quizzes), ensure_ascii=False),
            json.dumps(list(documents), ensure_ascii=False),
        )
        for name, quizzes, documents in phases
    }
    kept = {name: (quizzes, documents) for name, quizzes, documents in _kept_phases(db)}
    for name in kept.keys() - wanted.keys():
        _delete(db, "phase = ?", [name])
        db.execute("DELETE FROM plan_status_phases WHERE phase = ?", [name])
    for name, (quizzes, documents) in wanted.items():
        if kept.get(name) == (quizzes, documents):
            continue
        _delete(db, "phase = ?", [name])
        db.execute(
            "INSERT INTO plan_status_phases (phase, quiz_ids, documents) VALUES (?, ?, ?) "
            "ON CONFLICT (phase) DO UPDATE SET quiz_ids = excluded.quiz_ids, "
            "documents = excluded.documents",
            [name, quizzes, documents],
        )
        _build(db, name, quizzes, documents)


def refresh_plan_status(db: sqlite_utils.Database, employee_nos: Sequence[str]) -> None:
    """Make these people's kept status again from their records, inside the caller's
    write transaction (their attempts, summaries or readings just changed)."""
    if not employee_nos:
        return
    people = json.dumps(sorted(set(employee_nos)), ensure_ascii=False)
    for phase, quizzes, documents in _kept_phases(db):
        _delete(
            db, "phase = ? AND employee_no IN (SELECT value FROM json_each(?))", [phase, people]
        )
        _build(db, phase, quizzes, documents, "SELECT value FROM json_each(:p0)", [people])


def rebuild_plan_status(db: sqlite_utils.Database) -> int:
    """Make the kept status of every kept phase again from the records, inside the caller's
    write transaction; returns the number of rows. It is kept with every change of its
    records, so this is for records written by other means, or to check the kept one."""
    _delete(db, "true", [])
    for phase, quizzes, documents in _kept_phases(db):
        _build(db, phase, quizzes, documents)
    return db.execute("SELECT COUNT(*) FROM plan_status").fetchone()[0]


def kept_phase(
    db: sqlite_utils.Database, name: str, quiz_ids: Sequence[str], documents: Sequence[str]
) -> bool:
    """Whether the status of the phase ``name`` with exactly these requirements (in this
    order) is kept: a phase of the plan in force, not one changed since or never saved."""
    wanted = (name, list(quiz_ids), list(documents))
    return any(
        (phase, json.loads(quizzes), json.loads(docs)) == wanted
        for phase, quizzes, docs in _kept_phases(db)
    )


def people_status(
    db: sqlite_utils.Database,
    phase: str,
    attempts_allowed: dict[str, int | None],
    as_of: datetime,
    who: tuple[str, dict[str, Any]],
) -> pd.DataFrame:
    """The people of a ``who`` CTE (:func:`quizzes.people.people_cte`) with their kept
    status of a phase, and which rows are the state as of a moment.

    Args:
        db: the app database.
        phase: a kept phase's name (:func:`kept_phase`).
        attempts_allowed: the phase's quizzes with their attempts allowed (None: unknown,
            never counted as out of attempts).
        as_of: the moment, aware.
        who: the people.

    Returns:
        Indexed by ``employee_no``, in department then 工号 order: ``name``, ``role``,
        ``active``, ``department`` (as :func:`quizzes.people.people_at`); ``current``:
        whether the kept row is the state as of ``as_of`` (nothing of it changed after;
        no row: nothing done, ever); and, as they stand now (None without a kept row),
        ``quizzes_passed``, ``passed_mask``, ``documents_read``, ``read_mask``,
        ``completed_at``, ``last_activity_at`` (times as stored text) and ``blocked``
        (a required quiz not passed with every attempt allowed used).
    """
    cte, params = who
    params = {**params, "phase": phase, "as_of": to_stamp(as_of)}
    limits = [(q, n) for q, n in attempts_allowed.items() if n is not None]
    params.update({f"lq{i}": q for i, (q, _) in enumerate(limits)})
    allowed = " ".join(f"WHEN :lq{i} THEN {int(n)}" for i, (_, n) in enumerate(limits))
    blocked = (
        f"k.unpassed_attempts != '{{}}' AND EXISTS (SELECT 1 FROM "
        f"json_each(k.unpassed_attempts) j WHERE j.value >= CASE j.key {allowed} END)"
        if limits
        else "0"
    )
    found = query_frame(
        db,
        f"""WITH {cte}
        SELECT w.employee_no, w.name, w.role, w.active, w.department,
            k.changed_at IS NULL OR k.changed_at <= :as_of AS current,
            k.quizzes_passed, k.passed_mask, k.documents_read, k.read_mask,
            k.completed_at, k.last_activity_at, {blocked} AS blocked
        FROM who w LEFT JOIN plan_status k ON k.phase = :phase AND k.employee_no = w.employee_no""",
        params,
    ).set_index("employee_no")
    # Sorted here rather than by SQLite (a third of the query's time at 50,000 people):
    # by department, then 工号 as the people table orders them (ASCII, without case).
    key = found["department"] + "\x00" + found.index.str.lower()
    return found.iloc[np.argsort(key.to_numpy(dtype=str), kind="stable")]


def status_as_of(
    db: sqlite_utils.Database,
    phase: str,
    attempts_allowed: dict[str, int | None],
    as_of: datetime,
    employee_nos: Sequence[str],
) -> pd.DataFrame:
    """These people's status of a kept phase as of a moment before their rows last
    changed, from the times kept with them (no attempt is read).

    Args:
        db: the app database.
        phase: a kept phase's name.
        attempts_allowed: the phase's quizzes in order with their attempts allowed.
        as_of: the moment, aware.
        employee_nos: the people.

    Returns:
        Indexed by ``employee_no`` (people with a kept row only); the columns of
        :func:`people_status` but ``current``, as they stood at ``as_of``
        (``completed_at`` only when every requirement was met by then).
    """
    moment = to_stamp(as_of)
    limits = list(attempts_allowed.values())
    required = len(attempts_allowed) + len(
        json.loads(
            db.execute(
                "SELECT documents FROM plan_status_phases WHERE phase = ?", [phase]
            ).fetchone()[0]
        )
    )
    found = db.execute(
        "SELECT employee_no, times FROM plan_status_times WHERE phase = ? "
        "AND employee_no IN (SELECT value FROM json_each(?))",
        [phase, json.dumps(list(employee_nos), ensure_ascii=False)],
    ).fetchall()
    rows = []
    for employee_no, times in found:
        passed = passed_mask = read = read_mask = blocked = 0
        last, completed = "", ""
        for entry in times.split(";"):
            kind, bit, done_at, starts = entry.split("|")
            done = "" < done_at <= moment
            if done and done_at > completed:
                completed = done_at
            if kind == "q":
                started = [s for s in starts.split(" ") if s <= moment]
                if started:
                    last = max(last, *started)
                if done:
                    passed, passed_mask = passed + 1, passed_mask | int(bit)
                elif started:
                    allowed = limits[int(bit).bit_length() - 1]
                    blocked |= allowed is not None and len(started) >= allowed
            elif done:
                read, read_mask = read + 1, read_mask | int(bit)
                if done_at > last:
                    last = done_at
        all_met = passed + read == required
        rows.append(
            (
                employee_no,
                passed,
                passed_mask,
                read,
                read_mask,
                completed if all_met else "",
                last,
                bool(blocked),
            )
        )
    columns = [
        "employee_no",
        "quizzes_passed",
        "passed_mask",
        "documents_read",
        "read_mask",
        "completed_at",
        "last_activity_at",
        "blocked",
    ]
    return pd.DataFrame.from_records(rows, columns=columns).set_index("employee_no")
