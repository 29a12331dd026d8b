"""Tallies of the graded attempts, kept in the grading transaction, for the office's
answer-level views at scale.

Four tables of the attempts component (migration step 3 of :mod:`quizzes.attempts`):

* ``question_day_tallies``: per quiz, department, day and question, the graded answers
  and how many were correct (question statistics, coverage), and ``question_tallies``
  the same without the day (a figure up to now: these less the days after);
* ``quiz_day_tallies``: per quiz, department and day, the graded attempts, how many
  passed, the sum of their percentages, the attempts per score band, and the people whose
  first graded (first passed) attempt at the quiz fell that day (quiz statistics);
* ``attempt_marks``: per graded attempt, its drawn questions, seconds taken and the key
  of its wrong answers (integrity flags).

The department is the person's at the attempt's submission (``department_then_sql``);
the day is the Beijing calendar day of the submission. Each graded attempt adds its
contribution (:func:`tally_attempts`) in the write transaction that grades it, and takes
it away in the one that deletes it, so the tallies are the sum of their attempts'
contributions: :func:`rebuild_tallies` makes them again from the records, and
``tests/test_attempt_tallies.py`` checks kept == rebuilt after a burst.

Reading a figure as of a moment (:func:`answer_counts`, :func:`quiz_counts`): the tallies
serve the whole days of the window; the partial days at its ends come from the attempts
submitted then (the ``attempts_submitted`` index); and the few people a tally may hold
under another department than theirs at the moment, or who are not counted
(:func:`quizzes.people.recounted_people`), have the attempts tallied wrongly taken away
and added where they count, from their own attempts. So every figure is still the one
derived from the records as of its moment.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlite_utils

from base.clock import LOCAL_TZ, end_of_day, from_stamp, start_of_day, to_stamp
from base.sql import in_list_sql, query_frame
from quizzes.people import department_then_sql, people_cte, recounted_people

SCORE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("不足60分", 0.0, 60.0),
    ("60–69分", 60.0, 70.0),
    ("70–79分", 70.0, 80.0),
    ("80–89分", 80.0, 90.0),
    ("90–100分", 90.0, 101.0),
)
"""Score bands on the percentage of the maximum score (the office's quiz statistics)."""

TABLES = ("question_day_tallies", "question_tallies", "quiz_day_tallies", "attempt_marks")
"""The tally tables, all made from the graded attempts."""

_BANDS = [f"band{i}" for i in range(len(SCORE_BANDS))]
_OFFSET_HOURS = int(LOCAL_TZ.utcoffset(None).total_seconds() // 3600)
_DAY = f"date(a.submitted_at, '{_OFFSET_HOURS:+d} hours')"
_PCT = "CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score ELSE 0 END"


def create_tallies(db: sqlite_utils.Database) -> None:
    """Migration step: the tally tables, built from the attempts already stored."""
    db.execute(
        """
        CREATE TABLE question_day_tallies (
            quiz_id TEXT NOT NULL,
            department TEXT NOT NULL,
            day TEXT NOT NULL,
            question_id TEXT NOT NULL,
            answered INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            PRIMARY KEY (quiz_id, department, day, question_id)
        ) WITHOUT ROWID
        """
    )
    # The days after a moment are few when it is recent: read through this index.
    db.execute("CREATE INDEX question_day_tallies_day ON question_day_tallies (day)")
    # The same without the day (some 40 times fewer rows): a figure up to a recent moment
    # is this, less the few days after it.
    db.execute(
        """
        CREATE TABLE question_tallies (
            quiz_id TEXT NOT NULL,
            department TEXT NOT NULL,
            question_id TEXT NOT NULL,
            answered INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            PRIMARY KEY (quiz_id, department, question_id)
        ) WITHOUT ROWID
        """
    )
    bands = ", ".join(f"{b} INTEGER NOT NULL" for b in _BANDS)
    db.execute(
        f"""
        CREATE TABLE quiz_day_tallies (
            quiz_id TEXT NOT NULL,
            department TEXT NOT NULL,
            day TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            people INTEGER NOT NULL,
            passed_attempts INTEGER NOT NULL,
            people_passed INTEGER NOT NULL,
            percent_sum REAL NOT NULL,
            {bands},
            PRIMARY KEY (quiz_id, department, day)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE attempt_marks (
            attempt_id INTEGER PRIMARY KEY,
            quiz_id TEXT NOT NULL,
            employee_no TEXT NOT NULL,
            status TEXT NOT NULL,
            submitted_at TEXT NOT NULL,
            questions INTEGER NOT NULL,
            seconds REAL NOT NULL,
            wrong INTEGER NOT NULL,
            first_wrong TEXT,
            last_wrong TEXT,
            checksum INTEGER
        )
        """
    )
    db.execute(
        "CREATE INDEX attempt_marks_sheet ON attempt_marks "
        "(quiz_id, wrong, first_wrong, last_wrong, checksum)"
    )
    db.execute("CREATE INDEX attempts_submitted ON attempts (submitted_at)")
    _tally_all(db)


def cover_day_tallies(db: sqlite_utils.Database) -> None:
    """Migration step: the day tallies' index by day holds their counts too.

    A figure up to a recent moment reads the few days after it; through an index without
    the counts SQLite chose to read the whole table instead (at 50,000 people 630,000
    rows, 120 MB from disk when the cache is cold)."""
    db.execute("DROP INDEX question_day_tallies_day")
    db.execute(
        "CREATE INDEX question_day_tallies_by_day ON question_day_tallies "
        "(day, quiz_id, department, question_id, answered, correct)"
    )


def index_attempt_pace(db: sqlite_utils.Database) -> None:
    """Migration step: the submitted attempts' marks indexed by seconds per question.

    The integrity flags' too-fast attempts are a few thousand of 1.5 million at 50,000
    people; without it every mark is read (200 MB from disk when the cache is cold)."""
    db.execute(
        "CREATE INDEX attempt_marks_pace ON attempt_marks (seconds / questions) "
        "WHERE status = 'submitted'"
    )


def _tally_all(db: sqlite_utils.Database) -> None:
    # A day of submissions at a time: each day's answers are grouped in memory instead of
    # every answer row being sorted at once on disk.
    first, last = db.execute(
        "SELECT MIN(submitted_at), MAX(submitted_at) FROM attempts WHERE status != 'in_progress'"
    ).fetchone()
    if first is None:
        return
    day = from_stamp(first).astimezone(LOCAL_TZ).date()
    while start_of_day(day) <= from_stamp(last):
        tally_attempts(
            db,
            "a.submitted_at >= :day_start AND a.submitted_at <= :day_end",
            {"day_start": to_stamp(start_of_day(day)), "day_end": to_stamp(end_of_day(day))},
        )
        day += timedelta(days=1)


def _graded_cte(where: str | list[str], name: str = "graded") -> str:
    """The CTE ``graded``: the graded attempts ``where`` selects (a condition on
    ``attempts a``, or several whose attempts are disjoint), with the department and day
    they are tallied under and their percentage."""
    # Materialized: the department lookup runs once per attempt, not once per answer row.
    select = f"""SELECT a.id, a.quiz_id, a.employee_no, a.submitted_at, a.passed,
            {department_then_sql("a.employee_no", "a.submitted_at")} AS department,
            {_DAY} AS day, {_PCT} AS pct
        FROM attempts a WHERE a.status != 'in_progress' AND """
    parts = [where] if isinstance(where, str) else where or ["false"]
    return f"{name} AS MATERIALIZED ({' UNION ALL '.join(select + w for w in parts)})"


def _earlier(condition: str = "") -> str:
    # Whether the attempt ``g`` has an earlier graded attempt (of the same person and
    # quiz) meeting ``condition``: attempts of one person at one quiz are graded one
    # after the other, so "first" is the same when tallied and when rebuilt.
    return (
        "EXISTS (SELECT 1 FROM attempts b WHERE b.employee_no = g.employee_no "
        "AND b.quiz_id = g.quiz_id AND b.status != 'in_progress' "
        f"AND (b.submitted_at, b.id) < (g.submitted_at, g.id){condition})"
    )


def _quiz_columns(weight: str = "1") -> str:
    # The quiz_day_tallies counts of the attempts ``g``, each counted ``weight`` times (-1
    # to take them away).
    w = f"({weight})"
    bands = ", ".join(
        f"SUM({w} * (g.pct >= {low} AND g.pct < {high}))" for _, low, high in SCORE_BANDS
    )
    return (
        f"SUM({w}), SUM({w} * (NOT {_earlier()})), TOTAL({w} * g.passed), "
        f"SUM({w} * (g.passed = 1 AND NOT {_earlier(' AND b.passed = 1')})), "
        f"TOTAL({w} * g.pct), {bands}"
    )


def tally_attempts(
    db: sqlite_utils.Database, where: str, params: dict[str, Any], remove: bool = False
) -> None:
    """Add (or, with ``remove``, take away) the contributions of the graded attempts that
    ``where`` selects (a condition on ``attempts a``), inside the caller's write
    transaction: when attempts are graded, stored in bulk or about to be deleted."""
    sign = "-" if remove else ""
    with_graded = "WITH " + _graded_cte(where)
    # Answers per quiz, department, day and question, gathered once in a temporary table
    # (a sort of every answer row when rebuilding) and added to both answer tallies.
    db.execute("DROP TABLE IF EXISTS temp.tallied_answers")
    db.execute(
        f"""CREATE TEMP TABLE tallied_answers AS {with_graded}
        SELECT g.quiz_id, g.department, g.day, s.question_id, {sign}COUNT(*) AS answered,
            {sign}SUM(s.correct) AS correct
        FROM graded g JOIN answers s ON s.attempt_id = g.id WHERE s.correct IS NOT NULL
        GROUP BY g.quiz_id, g.department, g.day, s.question_id""",
        params,
    )
    db.execute(
        """INSERT INTO question_day_tallies (quiz_id, department, day, question_id, answered,
            correct)
        SELECT quiz_id, department, day, question_id, answered, correct
        FROM temp.tallied_answers WHERE true
        ON CONFLICT DO UPDATE SET answered = answered + excluded.answered,
            correct = correct + excluded.correct"""
    )
    db.execute(
        """INSERT INTO question_tallies (quiz_id, department, question_id, answered, correct)
        SELECT quiz_id, department, question_id, SUM(answered), SUM(correct)
        FROM temp.tallied_answers WHERE true GROUP BY quiz_id, department, question_id
        ON CONFLICT DO UPDATE SET answered = answered + excluded.answered,
            correct = correct + excluded.correct"""
    )
    db.execute("DROP TABLE temp.tallied_answers")
    bands = ", ".join(_BANDS)
    updates = ", ".join(
        f"{c} = {c} + excluded.{c}"
        for c in ["attempts", "people", "passed_attempts", "people_passed", "percent_sum", *_BANDS]
    )
    db.execute(
        f"""{with_graded}
        INSERT INTO quiz_day_tallies (quiz_id, department, day, attempts, people, passed_attempts,
            people_passed, percent_sum, {bands})
        SELECT g.quiz_id, g.department, g.day, {_quiz_columns("-1" if remove else "1")}
        FROM graded g WHERE true GROUP BY g.quiz_id, g.department, g.day
        ON CONFLICT DO UPDATE SET {updates}""",
        params,
    )
    if remove:
        db.execute("DELETE FROM question_day_tallies WHERE answered = 0")
        db.execute("DELETE FROM question_tallies WHERE answered = 0")
        db.execute("DELETE FROM quiz_day_tallies WHERE attempts = 0")
        db.execute(
            "DELETE FROM attempt_marks WHERE attempt_id IN "
            f"(SELECT a.id FROM attempts a WHERE {where})",
            params,
        )
        return
    # The key of the wrong answers, computed in one pass with order-independent
    # aggregates: identical sheets always share it, different sheets rarely do.
    db.execute(
        f"""INSERT INTO attempt_marks (attempt_id, quiz_id, employee_no, status, submitted_at,
            questions, seconds, wrong, first_wrong, last_wrong, checksum)
        SELECT a.id, a.quiz_id, a.employee_no, a.status, a.submitted_at,
            json_array_length(a.question_ids),
            -- Rounded to the millisecond the times are kept to: 12 s must not read 11.999.
            round((julianday(a.submitted_at) - julianday(a.started_at)) * 86400.0, 3),
            COUNT(s.attempt_id),
            MIN(s.question_id || '=' || s.answer), MAX(s.question_id || '=' || s.answer),
            SUM(length(s.answer) * 1000003 + unicode(substr(s.question_id, -1)) * 10007
                + unicode(substr(s.question_id, -2, 1)) * 101
                + unicode(substr(s.answer, 2, 1)) * 7 + unicode(substr(s.answer, -2, 1)))
        FROM attempts a LEFT JOIN answers s ON s.attempt_id = a.id AND s.correct = 0
        WHERE a.status != 'in_progress' AND {where}
        GROUP BY a.id""",
        params,
    )


def rebuild_tallies(db: sqlite_utils.Database) -> dict[str, int]:
    """Make the tallies again from the attempts, inside the caller's write transaction
    (:func:`quizzes.attempts.rebuild_summaries` calls it). Returns the rows per table."""
    for table in TABLES:
        db.execute(f"DELETE FROM {table}")
    _tally_all(db)
    return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


# -- reading a figure as of a moment ---------------------------------------------------------


class _Window:
    """A window of submission times cut into the whole Beijing days the tallies serve and
    the partial days at its ends, read from the attempts."""

    def __init__(self, as_of: datetime, since: datetime | None, until: datetime | None):
        high = as_of if until is None else min(until, as_of)
        self.high = to_stamp(high)
        self.low = None if since is None else to_stamp(since)
        last = high.astimezone(LOCAL_TZ).date()
        if end_of_day(last) > high:
            last -= timedelta(days=1)
        first: date | None = None
        if since is not None:
            first = since.astimezone(LOCAL_TZ).date()
            if start_of_day(first) < since:
                first += timedelta(days=1)
        self.empty = since is not None and since > high
        self.days = None if first is not None and first > last else (first, last)

    def tally_sql(self, params: dict[str, Any], alias: str) -> str:
        """The condition on a tally's ``day`` for the whole days."""
        if self.days is None or self.empty:
            return "false"
        first, last = self.days
        params["w_last"] = last.isoformat()
        where = f"{alias}.day <= :w_last"
        if first is not None:
            params["w_first"] = first.isoformat()
            where += f" AND {alias}.day >= :w_first"
        return where

    def records_sql(self, params: dict[str, Any], alias: str = "a") -> list[str]:
        """The conditions on ``submitted_at`` of the partial days, one per range, each
        read through the ``attempts_submitted`` index (none when the window is whole
        days)."""
        if self.empty:
            return []
        params["w_high"] = self.high
        col = f"{alias}.submitted_at"
        low = "" if self.low is None else f"{col} >= :w_low AND "
        if self.low is not None:
            params["w_low"] = self.low
        if self.days is None:
            return [f"{low}{col} <= :w_high"]
        first, last = self.days
        params["w_after"] = to_stamp(end_of_day(last))
        parts = [f"{col} > :w_after AND {col} <= :w_high"]
        if first is not None:
            params["w_before"] = to_stamp(start_of_day(first))
            parts.append(f"{low}{col} < :w_before")
        return parts

    def whole_sql(self, params: dict[str, Any], alias: str = "a") -> str:
        """The condition on ``submitted_at`` for the whole window."""
        if self.empty:
            return "false"
        params["w_high"] = self.high
        if self.low is None:
            return f"{alias}.submitted_at <= :w_high"
        params["w_low"] = self.low
        return f"{alias}.submitted_at >= :w_low AND {alias}.submitted_at <= :w_high"


class _Read:
    """The SQL pieces of one read as of a moment: the parameters, the conditions on a
    tally row, on a partial day's attempts and on a recounted person's attempts."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        as_of: datetime,
        departments: Sequence[str] | None,
        quiz_ids: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> None:
        self.window = _Window(as_of, since, until)
        self.params: dict[str, Any] = {}
        self.quizzes = in_list_sql("tq", list(quiz_ids), self.params)
        recounted = recounted_people(db, as_of)
        self.params["recounted"] = json.dumps(recounted)
        # The recounted people counted at the moment, with their department then.
        self.who = people_cte(as_of, None, employee_nos=recounted)
        self.params.update(self.who[1])
        self.departments = None
        if departments is not None:
            self.departments = in_list_sql("td", list(departments), self.params)
        self.days = self.window.tally_sql(self.params, "{t}")

    def in_scope(self, department: str) -> str:
        """A department (an SQL expression) is in scope."""
        if self.departments is None:
            return f"{department} != ''"
        return f"{department} IN ({self.departments})"

    def scoped(self, alias: str) -> str:
        """A tally row's (or a contribution's) quiz and department are in scope."""
        return f"{alias}.quiz_id IN ({self.quizzes}) AND {self.in_scope(alias + '.department')}"

    def tallied(self, alias: str) -> str:
        """A tally row (or a contribution) is in scope and on a whole day of the window."""
        return f"{self.scoped(alias)} AND {self.days.format(t=alias)}"

    def partial(self) -> list[str]:
        """The graded attempts of the partial days, of people not recounted (whose
        department then is their department at the moment), one condition per range."""
        return [
            f"{submitted} AND +a.quiz_id IN ({self.quizzes}) "
            "AND a.employee_no NOT IN (SELECT value FROM json_each(:recounted))"
            for submitted in self.window.records_sql(self.params)
        ]

    def recounted_cte(self, by_department: bool = True) -> str:
        """CTEs ``who`` and ``flagged``: the graded attempts of the recounted people that
        the tallies hold wrongly or not at all: with the department and day tallied under,
        their department at the moment (``now_department``; NULL when not counted), whether
        to take them away from the tallied figures (``taken``: tallied under another
        department, or not counted now) and whether to add them (``added``: counted in
        scope, in the window, and not already tallied as they should be).

        Without ``by_department`` the figure is not split by department, so an attempt
        both taken away and added back (a move between two departments in scope, the
        common case) changes nothing and is left out: its answers are never read."""
        misfit = "w.department IS NOT g.department"
        days = self.days.format(t="g")
        return f"""{self.who[0]}, {
            _graded_cte(
                f"a.employee_no IN (SELECT value FROM json_each(:recounted)) "
                f"AND a.quiz_id IN ({self.quizzes})"
            )
        }, flagged AS MATERIALIZED (
            SELECT * FROM (
                SELECT g.*, w.department AS now_department,
                    ({misfit} AND {self.tallied("g")}) AS taken,
                    (w.department IS NOT NULL AND {self.in_scope("w.department")}
                        AND {self.window.whole_sql(self.params, "g")}
                        AND ({misfit} OR NOT ({days}))) AS added
                FROM graded g LEFT JOIN who w ON w.employee_no = g.employee_no)
            WHERE {"taken OR added" if by_department else "taken != added"})"""


def answer_counts(
    db: sqlite_utils.Database,
    as_of: datetime,
    departments: Sequence[str] | None,
    quiz_ids: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    by_department: bool = False,
) -> pd.DataFrame:
    """Per question (and department at ``as_of``, if asked), the graded answers of the
    people counted at ``as_of`` in ``departments`` (None: all) submitted in the window and
    by ``as_of``, and how many were correct: the figures
    :func:`quizzes.attempt_stats.answer_tallies` computes from the records.

    Returns:
        Columns ``quiz_id``, ``question_id`` [, ``department``], ``answered``,
        ``correct``; questions without answers are left out.
    """
    read = _Read(db, as_of, departments, quiz_ids, since, until)
    params = read.params
    department = ", t.department" if by_department else ""
    group = f"t.quiz_id, t.question_id{department}"
    keys = ["quiz_id", "question_id"] + (["department"] if by_department else [])
    recent = group.replace("t.", "g.").replace("g.question_id", "s.question_id")
    # The partial days at the ends of the window, from the attempts submitted then.
    corrections = [
        f"""SELECT {recent}, COUNT(*), SUM(s.correct)
        FROM recent g JOIN answers s ON s.attempt_id = g.id
        WHERE s.correct IS NOT NULL AND {read.scoped("g")} GROUP BY {recent}"""
    ]
    if since is None and read.window.days is not None:
        # Everything up to the last whole day: the totals, less the days after it. By
        # department the totals are read as they are (one row per quiz, department and
        # question already) and summed with the rest below.
        params["after_day"] = read.window.days[1].isoformat()
        kept = (
            f"SELECT {group}, t.answered, t.correct FROM question_tallies t "
            f"WHERE {read.scoped('t')}"
            if by_department
            else f"SELECT {group}, SUM(t.answered), SUM(t.correct) FROM question_tallies t "
            f"WHERE {read.scoped('t')} GROUP BY {group}"
        )
        corrections.append(
            f"""SELECT {group}, -SUM(t.answered), -SUM(t.correct)
            -- Named: grouping by the quiz, SQLite would rather read the whole table in
            -- its key order than the few days after through the index.
            FROM question_day_tallies t INDEXED BY question_day_tallies_by_day
            WHERE t.day > :after_day AND +t.quiz_id IN ({read.quizzes})
                AND {read.in_scope("t.department")}
            GROUP BY {group}"""
        )
    else:
        kept = f"""SELECT {group}, SUM(t.answered), SUM(t.correct)
            FROM question_day_tallies t WHERE {read.tallied("t")} GROUP BY {group}"""
    columns = ", ".join([*keys, "answered", "correct"])
    parts = [
        query_frame(db, f"WITH kept ({columns}) AS ({kept}) SELECT * FROM kept", params),
        query_frame(
            db,
            f"""WITH {_graded_cte(read.partial(), "recent")},
            parts ({columns}) AS ({" UNION ALL ".join(corrections)})
            SELECT {", ".join(keys)}, SUM(answered) AS answered, SUM(correct) AS correct
            FROM parts GROUP BY {", ".join(keys)}""",
            params,
        ),
        _moved_answers(db, read, by_department),
    ]
    parts = [part for part in parts if not part.empty]
    if len(parts) > 1:
        summed = pd.concat(parts, ignore_index=True)
        summed = summed.groupby(keys, sort=False, as_index=False)[["answered", "correct"]].sum()
    else:
        summed = parts[0] if parts else pd.DataFrame(columns=[*keys, "answered", "correct"])
    return summed[summed["answered"] != 0].reset_index(drop=True)


def _moved_answers(db: sqlite_utils.Database, read: _Read, by_department: bool) -> pd.DataFrame:
    """The answers of the recounted people's attempts the tallies hold wrongly
    (:meth:`_Read.recounted_cte`), per question (and department): taken away (negative)
    where they were tallied, added where they count at the moment.

    Each attempt's questions come as one list (answered, and answered right), counted
    here: SQLite grouped every answer row by sorting them (some 500,000 at 50,000 people)
    in twice the time."""
    # Per quiz and department (or quiz alone), the questions answered and answered right,
    # counted apart for the attempts taken away and those added.
    counts: dict[str, defaultdict[tuple, Counter]] = {
        name: defaultdict(Counter) for name in ("taken", "taken_right", "added", "added_right")
    }
    width = 2 if by_department else 1
    for quiz_id, department, now_department, taken, added, asked, right in db.execute(
        f"""WITH {read.recounted_cte(by_department)}
        SELECT g.quiz_id, g.department, g.now_department, g.taken, g.added,
            (SELECT group_concat(s.question_id) FROM answers s
             WHERE s.attempt_id = g.id AND s.correct IS NOT NULL),
            (SELECT group_concat(s.question_id) FROM answers s
             WHERE s.attempt_id = g.id AND s.correct = 1)
        FROM flagged g""",
        read.params,
    ):
        if asked is None:
            continue
        # Question ids are letters, digits, "-" and "_" (quizzes.bank): never a comma.
        asked_ids, right_ids = asked.split(","), right.split(",") if right else []
        for kind, applies, where in (
            ("taken", taken, department),
            ("added", added, now_department),
        ):
            if applies:
                key = (quiz_id, where)[:width]
                counts[kind][key].update(asked_ids)
                counts[f"{kind}_right"][key].update(right_ids)
    rows = []
    for key in sorted(counts["taken"].keys() | counts["added"].keys()):
        taken, added = counts["taken"].get(key, Counter()), counts["added"].get(key, Counter())
        taken_right = counts["taken_right"].get(key, Counter())
        added_right = counts["added_right"].get(key, Counter())
        for question_id in sorted(taken.keys() | added.keys()):
            rows.append(
                (
                    key[0],
                    question_id,
                    *key[1:],
                    added[question_id] - taken[question_id],
                    added_right[question_id] - taken_right[question_id],
                )
            )
    keys = ["quiz_id", "question_id"] + (["department"] if by_department else [])
    return pd.DataFrame(rows, columns=[*keys, "answered", "correct"])


def quiz_counts(
    db: sqlite_utils.Database,
    as_of: datetime,
    departments: Sequence[str] | None,
    quiz_ids: Sequence[str],
) -> pd.DataFrame:
    """Per quiz, the graded attempts by ``as_of`` of the people counted at ``as_of`` in
    ``departments`` (None: all): the figures :func:`quizzes.attempt_stats.quiz_tallies`
    computes from the records without a date range.

    Returns:
        Indexed by ``quiz_id`` (quizzes with graded attempts only); columns ``attempts``,
        ``people``, ``passed_attempts``, ``people_passed``, ``mean`` (mean share of the
        maximum score), ``band0`` ... (:data:`SCORE_BANDS`).
    """
    read = _Read(db, as_of, departments, quiz_ids, None, None)
    params = read.params
    counts = ["attempts", "people", "passed_attempts", "people_passed", "percent_sum", *_BANDS]
    kept = query_frame(
        db,
        f"""SELECT t.quiz_id, {", ".join(f"TOTAL(t.{c}) AS {c}" for c in counts)}
        FROM quiz_day_tallies t WHERE {read.tallied("t")} GROUP BY t.quiz_id""",
        params,
    )
    partial = query_frame(
        db,
        f"""WITH {_graded_cte(read.partial())}
        SELECT g.quiz_id, {_quiz_columns()} FROM graded g WHERE {read.scoped("g")}
        GROUP BY g.quiz_id""",
        params,
    )
    partial.columns = ["quiz_id", *counts]
    # A recounted person's attempt counts added less taken away (quiz statistics are not
    # split by department).
    recounted = query_frame(
        db,
        f"""WITH {read.recounted_cte(by_department=False)}
        SELECT g.quiz_id, {_quiz_columns("g.added - g.taken")}
        FROM flagged g GROUP BY g.quiz_id""",
        params,
    )
    recounted.columns = ["quiz_id", *counts]
    rows = _summed([kept, partial, recounted], ["quiz_id"], counts, "attempts")
    rows = rows.set_index("quiz_id")
    rows["mean"] = rows["percent_sum"] / rows["attempts"] / 100.0
    return rows[["attempts", "people", "passed_attempts", "people_passed", "mean", *_BANDS]]


def _summed(
    frames: list[pd.DataFrame], keys: list[str], values: list[str], nonzero: str
) -> pd.DataFrame:
    frames = [f[keys + values] for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=keys + values)
    total = pd.concat(frames, ignore_index=True).groupby(keys, sort=False)[values].sum()
    total = total[total[nonzero] != 0].reset_index()
    for column in values:
        if column != "percent_sum":
            total[column] = total[column].astype(int)
    return total
