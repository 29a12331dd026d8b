"""The kept per person status of the plan in force (quizzes.plan_status): the kept rows equal
the ones rebuilt from the records, and the plan's progress read from them equals the one
computed from the records alone, as of any moment, in any scope, across department moves,
plan versions, demo data and the migration step."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta

import numpy as np
import pandas as pd

from base.clock import to_stamp
from base.store import write
from office.progress import compute_progress, person_progress
from quizzes import demo
from quizzes.accounts import update_person
from quizzes.attempts import quiz_progress, quiz_progress_by_person
from quizzes.bank import Bank
from quizzes.exemptions import add_exemption
from quizzes.people import Role
from quizzes.plan import Phase, StudyPlan, delete_plans_saved_by, get_plan, save_plan
from quizzes.plan_status import TABLES, kept_phase, rebuild_plan_status
from quizzes.readings import confirm_reading
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema
from tests.data.office.office_records import (
    DEADLINE,
    DOCUMENTS,
    LAW,
    OFFICE_DEPT,
    RIGHT,
    START,
    STATION,
    WRONG,
    at,
    burst,
    office_plan,
    table_rows,
    take,
)

MOMENTS = [
    START - timedelta(hours=1),
    at(4, 12),
    at(5, 8, 10),
    at(7, 9, 3),  # between M2's start and submission of alpha
    at(9, 9, 2),
    at(10),  # F1's move
    at(11, 23, 59),
    DEADLINE,
    at(21, 12),
    at(23, 9, 1),
    at(25),
    at(28),
]
SCOPES = [None, (STATION,), (LAW, OFFICE_DEPT), ()]


def kept(db) -> dict[str, list[tuple]]:
    """The kept rows, their sets (attempts used per unpassed quiz; each requirement's
    times) in a canonical order: SQLite's aggregates keep the order rows came in."""

    def canonical(table: str, row: tuple) -> list:
        columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
        row = dict(zip(columns, row, strict=True))
        if table == "plan_status":
            row["unpassed_attempts"] = sorted(json.loads(row["unpassed_attempts"]).items())
        else:
            row["times"] = sorted(
                (*e.split("|")[:3], sorted(e.split("|")[3].split(" ")))
                for e in row["times"].split(";")
            )
        return list(row.items())

    return {table: [canonical(table, row) for row in table_rows(db, table)] for table in TABLES}


def assert_kept_equals_rebuilt(db) -> None:
    before = kept(db)
    with write(db):
        rows = rebuild_plan_status(db)
    assert rows == len(before["plan_status"])
    assert kept(db) == before


def unkept(plan: StudyPlan) -> StudyPlan:
    """The same phases under other names: not the plan in force, so progress is computed
    from the records."""
    return StudyPlan(tuple(dataclasses.replace(p, name=p.name + "（未保存）") for p in plan.phases))


def assert_same_progress(db, plan, bank, as_of, phase=None, **scope) -> None:
    the_phase = plan.phase(phase, as_of)
    assert kept_phase(db, the_phase.name, the_phase.quiz_ids, the_phase.documents)
    from_kept = compute_progress(db, plan, bank, as_of, phase=phase, **scope)
    records = compute_progress(
        db, unkept(plan), bank, as_of, phase=phase and phase + "（未保存）", **scope
    )
    assert from_kept.requirements == records.requirements
    pd.testing.assert_frame_equal(from_kept.people, records.people)


def later_records(db, bank) -> None:
    """Activity after the plan was saved: kept rows change after earlier moments."""
    take(db, bank, "alpha", "O3", at(22), WRONG["alpha"])
    update_person(db, "O3", "张伟", LAW, Role.STAFF, at(23))
    take(db, bank, "alpha", "O3", at(23, 9), RIGHT["alpha"], minutes=7)
    confirm_reading(db, "F2", DOCUMENTS[0], at(24))
    take(db, bank, "beta", "M1", at(24, 10), RIGHT["beta"])
    add_exemption(db, "F2", "外派", at(25, 8), "A1")


def fewer_attempts(bank: Bank) -> Bank:
    """The bank with alpha allowing one attempt: M2 has used more than it allows now."""
    quizzes = dict(bank.quizzes)
    quizzes["alpha"] = dataclasses.replace(quizzes["alpha"], attempts_allowed=1)
    return Bank(quizzes=quizzes)


def test_progress_from_the_kept_status_equals_the_one_from_the_records(bureau, bank):
    # The bureau: a mover (F1), a deactivated person (M4), an admin with attempts (A1),
    # an exemption (O4), someone blocked (M2); then more records after the plan was saved.
    save_plan(bureau, office_plan(), bank, at(1), "A1")
    later_records(bureau, bank)
    plan = get_plan(bureau)
    changed = bureau.execute(
        "SELECT COUNT(*) FROM plan_status WHERE changed_at > ?", [to_stamp(at(9))]
    ).fetchone()[0]
    assert changed >= 5  # moments before a row's last change read the kept times
    for a_bank in (bank, fewer_attempts(bank)):
        for as_of in MOMENTS:
            for departments in SCOPES:
                assert_same_progress(bureau, plan, a_bank, as_of, departments=departments)
            assert_same_progress(
                bureau, plan, a_bank, as_of, employee_nos=["M2", "F1", "A1"], counted_only=False
            )
    blocked = compute_progress(bureau, plan, bank, at(25)).people["blocked"]
    assert list(blocked[blocked].index) == ["M2"]
    for employee_no in ("O3", "F1", "M2", "A1", "M4"):
        for as_of in (at(8), at(22, 12), at(28)):
            mine = person_progress(bureau, employee_no, plan, bank, as_of)
            theirs = person_progress(bureau, employee_no, unkept(plan), bank, as_of)
            assert mine == dataclasses.replace(theirs, phase=mine.phase)


def by_person_reference(db, limits: dict[str, int | None], as_of) -> pd.DataFrame:
    """quiz_progress_by_person computed from quiz_progress, whose rows as of a moment are
    made from the attempts when their summary changed after it."""
    pairs = quiz_progress(db, list(limits), as_of)
    bits = {q: 1 << i for i, q in enumerate(limits)}
    passed = pairs["first_pass_at"].notna()
    allowed = pairs["quiz_id"].map(lambda q: limits[q] if limits[q] is not None else np.inf)
    frame = pairs.assign(
        passed=passed.astype(int),
        bit=np.where(passed, pairs["quiz_id"].map(bits), 0),
        pass_at=pairs["first_pass_at"].where(passed),
        blocked=(~passed & (pairs["attempts_used"] >= allowed)).astype(int),
    )
    return frame.groupby("employee_no").agg(
        quizzes_passed=("passed", "sum"),
        passed_mask=("bit", "sum"),
        last_pass_at=("pass_at", "max"),
        blocked_quizzes=("blocked", "sum"),
        last_at=("last_at", "max"),
    )


def test_quiz_progress_by_person_equals_the_one_from_the_attempts(bureau, bank):
    later_records(bureau, bank)
    for limits in ({"alpha": 2, "beta": 3}, {"alpha": 1, "beta": None}, {"beta": 3}):
        for as_of in MOMENTS:
            mine = quiz_progress_by_person(bureau, limits, as_of).sort_index()
            theirs = by_person_reference(bureau, limits, as_of).sort_index()
            assert list(mine.index) == list(theirs.index), as_of
            for column in ("quizzes_passed", "passed_mask", "blocked_quizzes"):
                assert mine[column].astype(int).tolist() == theirs[column].astype(int).tolist()
            for column in ("last_pass_at", "last_at"):
                assert mine[column].fillna("").tolist() == theirs[column].fillna("").tolist()


def test_the_kept_status_equals_the_rebuilt_one_after_a_burst(office_db, bank):
    # 24 people in three departments submit and confirm readings at once, in threads with
    # their own connections; one moves department meanwhile.
    save_plan(office_db, office_plan(), bank, START - timedelta(days=1), "A1")
    burst(office_db, bank, readings=True)
    assert len(kept(office_db)["plan_status"]) == 24
    assert_kept_equals_rebuilt(office_db)
    plan = get_plan(office_db)
    for as_of in (START + timedelta(days=2, minutes=3), START + timedelta(days=5)):
        for departments in SCOPES:
            assert_same_progress(office_db, plan, bank, as_of, departments=departments)


def test_the_kept_status_follows_the_versions_of_the_plan(bureau, bank):
    assert kept(bureau) == {table: [] for table in TABLES}  # no plan saved yet
    save_plan(bureau, office_plan(), bank, at(1), "A1")
    first = kept(bureau)
    # Everyone with a record of the phase: not O3, O4, F2, who never studied.
    assert [row[1][1] for row in first["plan_status"]] == [
        "A1",
        "F1",
        "M1",
        "M2",
        "M3",
        "M4",
        "O1",
        "O2",
        "O5",
    ]
    # Fewer quizzes, the documents in another order, and a second phase.
    second_phase = Phase("巩固阶段", at(15), at(27), ("beta",), (DOCUMENTS[1],))
    changed = StudyPlan(
        (
            Phase(office_plan().phases[0].name, START, DEADLINE, ("beta",), DOCUMENTS[::-1]),
            second_phase,
        )
    )
    save_plan(bureau, changed, bank, at(14), "X1")
    assert_kept_equals_rebuilt(bureau)
    plan = get_plan(bureau)
    for as_of in (at(9), at(16), at(25)):
        for phase in plan.phases:
            assert_same_progress(bureau, plan, bank, as_of, phase=phase.name)
    # The same requirements saved again: nothing rebuilt, nothing changed.
    kept_then = kept(bureau)
    save_plan(bureau, changed, bank, at(15), "X1")
    assert kept(bureau) == kept_then
    # Removing the versions saved by X1 brings the first plan back into force.
    with write(bureau):
        delete_plans_saved_by(bureau, "X1")
    assert kept(bureau) == first
    assert not kept_phase(bureau, "巩固阶段", ("beta",), (DOCUMENTS[1],))


def test_the_migration_step_builds_the_status_of_the_plan_in_force(bureau, bank):
    save_plan(bureau, office_plan(), bank, at(1), "A1")
    before = kept(bureau)
    assert before["plan_status"]
    for table in (*TABLES, "plan_status_phases"):
        bureau.execute(f"DROP TABLE {table}")
    bureau.execute("UPDATE schema_versions SET version = 1 WHERE component = 'studyplan'")
    assert ensure_studyplan_schema(bureau) == 2
    assert kept(bureau) == before


def test_demo_data_is_kept_and_removed_with_its_status(office_db, bank):
    plan = office_plan()
    save_plan(office_db, plan, bank, START - timedelta(days=1), "A1")
    now = DEADLINE + timedelta(days=3)
    report = demo.generate_demo(
        office_db, bank, DOCUMENTS, random.Random(5), now, 120, None, (1, 3), plan=plan
    )
    assert report.moves > 0
    assert len(kept(office_db)["plan_status"]) > 60
    assert_kept_equals_rebuilt(office_db)
    stored = get_plan(office_db)
    rng = random.Random(1)
    names = list(demo.DEMO_DEPARTMENTS)
    for _ in range(6):
        as_of = START + timedelta(seconds=rng.uniform(0, (now - START).total_seconds()))
        departments = rng.choice([None, tuple(rng.sample(names, 3))])
        assert_same_progress(office_db, stored, bank, as_of, departments=departments)
    demo.remove_demo(office_db)
    assert kept(office_db) == {table: [] for table in TABLES}
