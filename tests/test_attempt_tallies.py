"""The graded attempts' tallies (quizzes.attempt_tallies): the kept ones equal the ones
rebuilt from the records, and every figure and view read from them equals the one
computed from the records alone, as of any moment, in any scope and date window."""

from __future__ import annotations

import random
from datetime import timedelta

import pandas as pd
import pytest

import office.coverage
import office.statistics
from office.coverage import coverage
from office.scope import Scope
from office.statistics import question_stats, quiz_stats
from quizzes import demo
from quizzes.attempt_stats import answer_tallies, quiz_tallies
from quizzes.attempt_tallies import (
    SCORE_BANDS,
    TABLES,
    answer_counts,
    quiz_counts,
)
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.attempts import rebuild_attempt_tallies
from quizzes.people import people_cte
from tests.data.office.office_records import (
    DEADLINE,
    DOCUMENTS,
    LAW,
    OFFICE_DEPT,
    START,
    STATION,
    at,
    burst,
    office_plan,
    table_rows,
)

BANDS = [(low, high) for _, low, high in SCORE_BANDS]


def tallies(db) -> dict[str, list[tuple]]:
    return {table: table_rows(db, table) for table in TABLES}


def from_records_answers(
    db, as_of, departments, quiz_ids, since=None, until=None, by_department=False
):
    who = people_cte(as_of, departments)
    return answer_tallies(db, who, as_of, quiz_ids, since, until, by_department)


def from_records_quizzes(db, as_of, departments, quiz_ids):
    rows = quiz_tallies(db, people_cte(as_of, departments), as_of, BANDS, quiz_ids=quiz_ids)
    return rows[rows["attempts"] > 0]


def ordered(frame: pd.DataFrame) -> list[dict]:
    keys = [c for c in ("quiz_id", "question_id", "department") if c in frame.columns]
    frame = frame.sort_values(keys).reset_index(drop=True) if len(frame) else frame
    return [
        {k: (int(v) if k in ("answered", "correct") else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def assert_same_quiz_rows(kept: pd.DataFrame, records: pd.DataFrame) -> None:
    kept, records = kept.sort_index(), records.sort_index()
    columns = ["attempts", "people", "passed_attempts", "people_passed"] + [
        f"band{i}" for i in range(len(SCORE_BANDS))
    ]
    assert kept[columns].astype(int).to_dict("index") == records[columns].astype(int).to_dict(
        "index"
    )
    # The mean is a sum of percentages added in another order: equal to the last bits.
    assert kept["mean"].astype(float).to_dict() == pytest.approx(
        records["mean"].astype(float).to_dict(), rel=1e-12
    )


MOMENTS = [
    at(4, 12),  # before anyone submitted
    at(5, 8, 10),  # mid-day: the day's partial part from the records
    at(11, 23, 59),
    DEADLINE,
    at(25, 0, 0),  # a day boundary
]
SCOPES = [None, (STATION,), (LAW, OFFICE_DEPT)]
WINDOWS = [
    (None, None),
    (at(5, 0, 0), at(12, 23, 59) + timedelta(seconds=59, microseconds=999999)),  # whole days
    (at(6, 10, 30), at(9, 15)),  # partial days at both ends
    (at(9, 0, 0), None),
    (None, at(8, 12)),
    (at(12, 1), at(12, 2)),  # within one day
    (at(13), at(7)),  # empty
]


def test_figures_from_the_tallies_equal_those_from_the_records(bureau, bank):
    # The bureau has a mover (F1), a deactivated person (M4), an admin with attempts (A1),
    # and attempts on many days.
    quiz_ids = list(bank.quizzes)
    for as_of in MOMENTS:
        for departments in SCOPES:
            for since, until in WINDOWS:
                for by_department in (False, True):
                    args = (bureau, as_of, departments, quiz_ids, since, until, by_department)
                    assert ordered(answer_counts(*args)) == ordered(from_records_answers(*args)), (
                        as_of,
                        departments,
                        since,
                        until,
                    )
            args = (bureau, as_of, departments, quiz_ids)
            assert_same_quiz_rows(quiz_counts(*args), from_records_quizzes(*args))


def view_results(scope: Scope) -> dict:
    cover = coverage(scope)
    return {
        "quiz_stats": quiz_stats(scope),
        "question_stats": question_stats(scope),
        "question_stats in a window": question_stats(scope, since=at(6, 10), until=at(12, 18)),
        "coverage documents": cover.documents,
        "coverage sections": cover.sections,
        "coverage by department": cover.by_department,
    }


def test_every_view_from_the_tallies_equals_the_one_from_the_records(bureau, bank, monkeypatch):
    plan = office_plan()
    scopes = [
        Scope(bureau, plan, bank, as_of, d) for as_of in (at(9, 9, 2), at(25)) for d in SCOPES
    ]
    kept = [view_results(scope) for scope in scopes]
    monkeypatch.setattr(office.statistics, "answer_counts", from_records_answers)
    monkeypatch.setattr(office.statistics, "quiz_counts", from_records_quizzes)
    monkeypatch.setattr(office.coverage, "answer_counts", from_records_answers)
    records = [view_results(scope) for scope in scopes]
    assert len(kept[0]["question_stats"]) > 0
    for mine, theirs in zip(kept, records, strict=True):
        for name in mine:
            pd.testing.assert_frame_equal(mine[name], theirs[name], check_exact=False, rtol=1e-12)


def test_the_kept_tallies_equal_the_rebuilt_ones_after_a_burst(office_db, bank):
    # 24 people submit at once; some fail, some retry, some run out of time, one moves.
    burst(office_db, bank)
    kept = tallies(office_db)
    assert office_db.execute("SELECT COUNT(*) FROM attempt_marks").fetchone()[0] == 2 * (
        12 + 12 * 2
    )
    assert rebuild_attempt_tallies(office_db) == {t: len(kept[t]) for t in TABLES}
    assert tallies(office_db) == kept


def test_demo_data_is_tallied_and_removed_with_its_tallies(office_db, bank):
    plan = office_plan()
    now = DEADLINE + timedelta(days=3)
    report = demo.generate_demo(
        office_db, bank, DOCUMENTS, random.Random(5), now, 120, None, (1, 3), plan=plan
    )
    assert report.moves > 0
    kept = tallies(office_db)
    rebuild_attempt_tallies(office_db)
    assert tallies(office_db) == kept
    quiz_ids = list(bank.quizzes)
    rng = random.Random(1)
    names = list(demo.DEMO_DEPARTMENTS)
    for _ in range(6):
        as_of = START + timedelta(seconds=rng.uniform(0, (now - START).total_seconds()))
        departments = rng.choice([None, tuple(rng.sample(names, 3))])
        args = (office_db, as_of, departments, quiz_ids, None, None, True)
        assert ordered(answer_counts(*args)) == ordered(from_records_answers(*args))
        args = (office_db, as_of, departments, quiz_ids)
        assert_same_quiz_rows(quiz_counts(*args), from_records_quizzes(*args))
    demo.remove_demo(office_db)
    assert tallies(office_db) == {t: [] for t in TABLES}


def test_the_migration_step_builds_the_tallies_of_existing_attempts(bureau):
    kept = tallies(bureau)
    assert all(kept.values())
    # The database as it was before the step: no tallies, attempts at version 2.
    for table in TABLES:
        bureau.execute(f"DROP TABLE {table}")
    bureau.execute("DROP INDEX attempts_submitted")
    bureau.execute("UPDATE schema_versions SET version = 2 WHERE component = 'attempts'")
    ensure_attempts_schema(bureau)
    assert tallies(bureau) == kept
