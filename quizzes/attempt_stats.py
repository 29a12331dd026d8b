"""Read-only aggregates over the attempts component's tables (``attempts``, ``answers``).

The office's statistics, coverage, integrity flags and a person's attempts read the
attempts through these functions, so every SQL statement over those tables stays in the
study core (:mod:`quizzes.attempts` writes them). People are narrowed by a ``who`` CTE
from :func:`quizzes.people.people_cte`.

Graded means submitted or expired; an attempt counts once graded by ``as_of``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlite_utils

from base.clock import to_stamp
from base.sql import in_list_sql, query_frame


def graded_filter(
    as_of: datetime,
    quiz_ids: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    params: dict[str, Any],
    alias: str = "a",
) -> str:
    """The SQL condition for graded attempts submitted in a range and by ``as_of``; adds
    its parameters to ``params``."""
    end = as_of if until is None else min(until, as_of)
    params["until"] = to_stamp(end)
    where = [
        f"{alias}.status != 'in_progress'",
        f"{alias}.submitted_at <= :until",
    ]
    if since is not None:
        params["since"] = to_stamp(since)
        where.append(f"{alias}.submitted_at >= :since")
    if quiz_ids is not None:
        where.append(f"{alias}.quiz_id IN ({in_list_sql('quiz', quiz_ids, params)})")
    return " AND ".join(where)


def quiz_tallies(
    db: sqlite_utils.Database,
    who: tuple[str, dict[str, Any]],
    as_of: datetime,
    bands: Sequence[tuple[float, float]],
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Per quiz, the graded attempts of the people of ``who``: counts and score bands.

    Returns:
        Indexed by ``quiz_id``; columns ``attempts``, ``people``, ``passed_attempts``,
        ``people_passed``, ``mean`` (mean share of the maximum score), ``band0`` ...
        (attempts whose percentage is in ``[low, high)`` of each band).
    """
    cte, params = who
    params = dict(params)
    where = graded_filter(as_of, quiz_ids, since, until, params)
    band_sql = ", ".join(
        f"SUM(CASE WHEN pct >= {low} AND pct < {high} THEN 1 ELSE 0 END) AS band{i}"
        for i, (low, high) in enumerate(bands)
    )
    return query_frame(
        db,
        f"""WITH {cte}, graded AS (
            SELECT a.quiz_id, a.employee_no, a.passed,
                CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score ELSE 0 END AS pct
            FROM attempts a
            WHERE a.employee_no IN (SELECT employee_no FROM who) AND {where})
        SELECT quiz_id, COUNT(*) AS attempts, COUNT(DISTINCT employee_no) AS people,
            SUM(passed) AS passed_attempts,
            COUNT(DISTINCT CASE WHEN passed = 1 THEN employee_no END) AS people_passed,
            AVG(pct) / 100.0 AS mean, {band_sql}
        FROM graded GROUP BY quiz_id""",
        params,
    ).set_index("quiz_id")


def answer_tallies(
    db: sqlite_utils.Database,
    who: tuple[str, dict[str, Any]],
    as_of: datetime,
    quiz_ids: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    by_department: bool,
) -> pd.DataFrame:
    """Per question (and department, if asked), graded answers and how many were correct,
    of the people of ``who``; columns ``quiz_id``, ``question_id`` [, ``department``],
    ``answered``, ``correct``.

    Computed from every answer row: the definition the kept tallies are checked against
    (:func:`quizzes.attempt_tallies.answer_counts` reads the same figures from them).
    """
    # One grouped query per quiz: SQLite groups by sorting, and many small sorts cost
    # less than one over every answer row (measured: 2.4 s against 3.4 s at 5,000 people).
    who, params = who[0], dict(who[1])
    where = graded_filter(as_of, None, since, until, params)
    department = ", w.department" if by_department else ""
    join = "JOIN who w ON w.employee_no = a.employee_no" if by_department else ""
    scope = "" if by_department else "AND a.employee_no IN (SELECT employee_no FROM who)"
    frames = []
    for quiz_id in quiz_ids:
        params["the_quiz"] = quiz_id
        frame = query_frame(
            db,
            f"""WITH {who}
            SELECT a.quiz_id, s.question_id{department},
                COUNT(*) AS answered, SUM(s.correct) AS correct
            FROM attempts a JOIN answers s ON s.attempt_id = a.id {join}
            WHERE a.quiz_id = :the_quiz AND {where} {scope} AND s.correct IS NOT NULL
            GROUP BY s.question_id{department}""",
            params,
        )
        frames.append(frame)
    columns = ["quiz_id", "question_id"] + (["department"] if by_department else [])
    columns += ["answered", "correct"]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def too_fast_attempts(
    db: sqlite_utils.Database,
    who: tuple[str, dict[str, Any]],
    as_of: datetime,
    min_seconds_per_question: float,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Submitted attempts of the people of ``who`` whose time from start to submission is
    under ``min_seconds_per_question`` per drawn question, by submission time; read from
    the marks kept per graded attempt (:mod:`quizzes.attempt_tallies`).

    Returns:
        Columns ``id``, ``quiz_id``, ``employee_no``, ``name``, ``department``,
        ``submitted_at``, ``questions``, ``seconds``.
    """
    cte, params = who
    params = dict(params)
    where = graded_filter(as_of, quiz_ids, since, until, params, alias="m")
    params["min_seconds"] = float(min_seconds_per_question)
    return query_frame(
        db,
        f"""WITH {cte}
        SELECT m.attempt_id AS id, m.quiz_id, m.employee_no, w.name, w.department,
            m.submitted_at, m.questions, m.seconds
        FROM attempt_marks m JOIN who w ON w.employee_no = m.employee_no
        -- The pace, as the attempt_marks_pace index holds it, finds the few (an attempt
        -- without questions has none); the product keeps the rule exact at the boundary.
        WHERE {where} AND m.status = 'submitted' AND m.seconds / m.questions < :min_seconds
            AND m.seconds < :min_seconds * m.questions
        ORDER BY m.submitted_at, m.attempt_id""",
        params,
    )


def wrong_answer_keys(
    db: sqlite_utils.Database,
    who: tuple[str, dict[str, Any]],
    as_of: datetime,
    min_shared_wrong: int,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """The graded attempts of the people of ``who`` with at least ``min_shared_wrong``
    wrong answers whose key of wrong answers (kept per graded attempt:
    :mod:`quizzes.attempt_tallies`) another graded attempt shares: identical sheets always
    share it, different sheets rarely do.

    Returns:
        Columns ``attempt_id``, ``quiz_id``, ``employee_no``, ``submitted_at``, ``wrong``,
        ``first_wrong``, ``last_wrong``, ``checksum``.
    """
    cte, params = who
    params = dict(params)
    where = graded_filter(as_of, quiz_ids, since, until, params, alias="m")
    params["min_wrong"] = int(min_shared_wrong)
    # The keys shared by two attempts or more, whoever made them and whenever: one pass
    # over the key index in its order (no sort); then only their attempts are read.
    return query_frame(
        db,
        f"""WITH {cte}, shared AS (
            SELECT quiz_id, wrong, first_wrong, last_wrong, checksum FROM attempt_marks
            WHERE wrong >= :min_wrong
            GROUP BY quiz_id, wrong, first_wrong, last_wrong, checksum HAVING COUNT(*) >= 2)
        SELECT m.attempt_id, m.quiz_id, m.employee_no, m.submitted_at, m.wrong,
            m.first_wrong, m.last_wrong, m.checksum
        FROM shared k JOIN attempt_marks m ON m.quiz_id = k.quiz_id AND m.wrong = k.wrong
            AND m.first_wrong = k.first_wrong AND m.last_wrong = k.last_wrong
            AND m.checksum IS k.checksum
        WHERE {where} AND m.employee_no IN (SELECT employee_no FROM who)""",
        params,
    )


def answer_sheets(db: sqlite_utils.Database, attempt_ids: list[int]) -> dict[int, str]:
    """Each attempt's full sheet (drawn questions in id order, with the stored answers)."""
    if not attempt_ids:
        return {}
    params: dict[str, Any] = {}
    ids = in_list_sql("a", attempt_ids, params)
    answers: dict[int, dict[str, str]] = {}
    for attempt_id, question_id, answer in db.execute(
        f"SELECT attempt_id, question_id, answer FROM answers WHERE attempt_id IN ({ids})", params
    ):
        answers.setdefault(attempt_id, {})[question_id] = answer
    sheets = {}
    for attempt_id, question_ids in db.execute(
        f"SELECT id, question_ids FROM attempts WHERE id IN ({ids})", params
    ):
        mine = answers.get(attempt_id, {})
        drawn = sorted(json.loads(question_ids))
        sheets[attempt_id] = json.dumps([[q, mine.get(q)] for q in drawn], ensure_ascii=False)
    return sheets


def attempts_of(
    db: sqlite_utils.Database, employee_no: str, as_of: datetime | None = None
) -> pd.DataFrame:
    """Every attempt of one person (started by ``as_of`` if given), oldest first.

    Returns:
        Columns ``id``, ``quiz_id``, ``attempt_no``, ``status``, ``started_at``,
        ``submitted_at``, ``score``, ``max_score``, ``passed``; an attempt submitted
        after ``as_of`` shows as it was then: in progress, ungraded.
    """
    params: dict[str, Any] = {"who": employee_no.strip()}
    where = "employee_no = :who"
    if as_of is not None:
        params["as_of"] = to_stamp(as_of)
        where += " AND started_at <= :as_of"
    rows = query_frame(
        db,
        "SELECT id, quiz_id, attempt_no, status, started_at, submitted_at, score, max_score, "
        f"passed FROM attempts WHERE {where} ORDER BY started_at, id",
        params,
    )
    if as_of is not None:
        # Submitted after the moment: as of then it was still open.
        later = rows["submitted_at"].notna() & (rows["submitted_at"] > params["as_of"])
        rows.loc[later, ["status", "submitted_at", "score", "max_score", "passed"]] = [
            "in_progress",
            None,
            None,
            None,
            None,
        ]
    return rows


def wrong_answers_of(db: sqlite_utils.Database, employee_no: str) -> list[tuple[Any, ...]]:
    """Every answer of one person that was not correct in a graded attempt (a blank and a
    partly right multiple choice included), oldest first: ``(attempt_id, quiz_id,
    question_id, submitted_at)`` with the time as stored text (spaced review,
    :mod:`quizzes.review`)."""
    return db.execute(
        "SELECT a.id, a.quiz_id, s.question_id, a.submitted_at "
        "FROM attempts a JOIN answers s ON s.attempt_id = a.id "
        "WHERE a.employee_no = ? AND a.status IN ('submitted', 'expired') AND s.correct = 0 "
        "ORDER BY a.submitted_at, a.id, s.question_id",
        [employee_no],
    ).fetchall()
