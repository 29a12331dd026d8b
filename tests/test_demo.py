"""Demo data: plausible, consistent with grading, reproducible, and removed exactly."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date

import click
import pytest
from click.testing import CliRunner

from base.clock import end_of_day, start_of_day, to_stamp
from kb.documents import list_documents
from office import cli as cli_office
from office.dashboard import completions_per_day, headline
from office.notices import freeze_notice, get_notice, list_notices
from office.scope import Scope
from quizzes.demo import (
    DEMO_DEPARTMENTS,
    DEMO_PLAN_AUTHOR,
    DemoRemoval,
    demo_runs,
    generate_demo,
    plan_for_demo,
    remove_demo,
)
from quizzes.grading import grade_question
from quizzes.passwords import HASHER
from quizzes.people import get_person
from quizzes.plan import DEFAULT_PLAN_AUTHOR, get_plan, save_plan
from quizzes.review import sync_attempt_mistakes
from quizzes.sessions import start_session
from tests.data.office.office_records import (
    BANK_DIR,
    CORPUS,
    at,
    build_bureau,
    office_bank,
    office_plan,
    open_office_db,
    table_rows,
)


def all_tables(office_db) -> dict[str, list[tuple]]:
    names = [
        row[0]
        for row in office_db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {name: table_rows(office_db, name) for name in names}


def demo(office_db, bank, seed=7, people=120, **options):
    return generate_demo(
        office_db,
        bank,
        list_documents(office_db),
        random.Random(seed),
        at(16),
        people,
        plan=office_plan(),
        **options,
    )


def test_generate_then_remove_leaves_every_other_row_as_it_was(office_db, bank):
    build_bureau(office_db, bank)
    kept = freeze_notice(office_db, "第一次通报", at(22), office_plan(), bank, at(22, 10), "A1")
    before = all_tables(office_db)
    report = demo(office_db, bank)
    assert office_db.execute(
        "SELECT COUNT(*) FROM people WHERE employee_no LIKE 'DEMO-%'"
    ).fetchone() == (120,)
    assert (report.people, report.departments, report.heads) == (120, DEMO_DEPARTMENTS, 10)
    # A notice frozen while demo people exist is about demo data: it goes with them.
    mixed = freeze_notice(office_db, "含演示数据", at(22), office_plan(), bank, at(22, 11), "A1")
    # A demo person who logged in (the demo accounts are real accounts) goes with the login.
    (first_demo,) = office_db.execute("SELECT employee_no FROM demo_people LIMIT 1").fetchone()
    demo_person = get_person(office_db, first_demo)
    start_session(office_db, demo_person, at(22, 12), 30)
    # Demo people who opened 错题练习 have review cards of their demo mistakes: they go too.
    demo_people = [row[0] for row in office_db.execute("SELECT employee_no FROM demo_people")]
    for employee_no in demo_people:
        sync_attempt_mistakes(office_db, employee_no)
    (cards,) = office_db.execute("SELECT COUNT(*) FROM review_cards").fetchone()
    assert cards > 0
    removed = remove_demo(office_db)
    assert removed == DemoRemoval(
        runs=1,
        plans=0,
        people=120,
        department_history=120 + report.moves,
        attempts=report.attempts,
        answers=report.answers,
        readings=report.readings,
        exemptions=report.exemptions,
        notices=1,
        login_failures=0,
        login_sessions=1,
        review_cards=cards,
    )
    assert all_tables(office_db) == before
    assert get_notice(office_db, mixed.id) is None
    assert get_notice(office_db, kept.id) == kept
    assert remove_demo(office_db) == DemoRemoval(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_every_demo_answer_is_graded_as_the_app_would(office_db, bank):
    report = demo(office_db, bank, people=80)
    assert report.attempts > 100 and report.answers > 300
    answers = defaultdict(list)
    for attempt_id, question_id, answer, points, max_points, correct in office_db.execute(
        "SELECT attempt_id, question_id, answer, points, max_points, correct FROM answers"
    ):
        answers[attempt_id].append((question_id, answer, points, max_points, correct))
    numbers = defaultdict(list)
    for row in office_db.execute(
        "SELECT id, quiz_id, employee_no, attempt_no, started_at, expires_at, submitted_at, "
        "status, score, max_score, passed, question_ids FROM attempts"
    ):
        (aid, quiz_id, employee_no, number, started, expires, submitted, status) = row[:8]
        score, max_score, passed, question_ids = row[8:]
        quiz = bank.quiz(quiz_id)
        assert status == "submitted"
        assert started < submitted <= "2026-11-16T01:00:00.000000+00:00"
        if expires is not None:
            assert submitted <= expires
        sheet = answers[aid]
        assert sorted(q for q, *_ in sheet) == sorted(json.loads(question_ids))
        for question_id, answer, points, max_points, correct in sheet:
            question = quiz.question(question_id)
            assert (points, bool(correct)) == grade_question(question, json.loads(answer))
            assert max_points == question.points
        assert score == sum(points for _, _, points, _, _ in sheet)
        assert max_score == sum(max_points for _, _, _, max_points, _ in sheet)
        assert bool(passed) == (score * 100 >= quiz.pass_mark * max_score)
        numbers[(employee_no, quiz_id)].append(number)
    for (_, quiz_id), used in numbers.items():
        assert sorted(used) == list(range(1, len(used) + 1))
        assert len(used) <= bank.quiz(quiz_id).attempts_allowed


def test_the_demo_has_people_behind_not_started_and_done(office_db, bank):
    demo(office_db, bank, people=300)
    summary = headline(Scope(office_db, office_plan(), bank, at(16)))
    assert summary.headcount + summary.exempt == 300
    assert summary.not_started > 0 and summary.in_progress > 0 and summary.completed > 0
    assert 0.2 < summary.participation_rate < 1.0


def test_the_same_seed_gives_the_same_demo(tmp_path, bank):
    first = open_office_db(tmp_path / "a.sqlite3")
    second = open_office_db(tmp_path / "b.sqlite3")
    demo(first, bank, seed=3, people=60)
    demo(second, bank, seed=3, people=60)
    for table in ("attempts", "answers", "readings", "exemptions", "department_history"):
        assert table_rows(first, table) == table_rows(second, table), table
    people = "SELECT employee_no, name, department, role FROM people ORDER BY employee_no"
    assert first.execute(people).fetchall() == second.execute(people).fetchall()
    first.close()
    second.close()


def test_one_password_hash_for_every_demo_account(office_db, bank):
    report = demo(office_db, bank, people=30)
    hashes = {row[0] for row in office_db.execute("SELECT password_hash FROM people")}
    assert len(hashes) == 1
    assert HASHER.verify(hashes.pop(), report.password)
    assert office_db.execute("SELECT MIN(must_change_password) FROM people").fetchone() == (1,)


def test_attempts_per_quiz_is_respected_up_to_what_the_quiz_allows(office_db, bank):
    generate_demo(
        office_db,
        bank,
        list_documents(office_db),
        random.Random(5),
        at(30),  # after the simulated period: nothing is cut off by "now"
        40,
        ["一科", "二科"],
        (3, 3),
        plan=office_plan(),
    )
    counts = {
        (quiz_id, n)
        for quiz_id, n in office_db.execute(
            "SELECT quiz_id, COUNT(*) FROM attempts GROUP BY employee_no, quiz_id"
        )
    }
    assert counts == {("alpha", 2), ("beta", 3)}  # alpha allows 2 attempts, beta 3
    people_per_quiz = office_db.execute(
        "SELECT COUNT(DISTINCT employee_no) FROM attempts"
    ).fetchone()
    assert people_per_quiz == (40,)
    departments = {row[0] for row in office_db.execute("SELECT DISTINCT department FROM people")}
    assert departments == {"一科", "二科"}


def test_runs_are_listed_and_numbered(office_db, bank):
    first = demo(office_db, bank, people=10)
    second = demo(office_db, bank, people=5)
    assert [(r["id"], r["people"]) for r in demo_runs(office_db)] == [
        (first.run_id, 10),
        (second.run_id, 5),
    ]
    assert office_db.execute(
        "SELECT COUNT(*) FROM people WHERE employee_no LIKE ?", [f"DEMO-{second.run_id}-%"]
    ).fetchone() == (5,)
    remove_demo(office_db)
    assert demo_runs(office_db) == []
    assert office_db.execute("SELECT COUNT(*) FROM people").fetchone() == (0,)


def test_bad_arguments_are_refused(office_db, bank):
    with pytest.raises(ValueError, match="people"):
        demo(office_db, bank, people=0)
    with pytest.raises(ValueError, match="attempts_per_quiz"):
        demo(office_db, bank, attempts_per_quiz=(2, 1))
    with pytest.raises(ValueError, match="department"):
        demo(office_db, bank, departments=[])
    assert demo_runs(office_db) == []


def test_demo_commands(tmp_path, monkeypatch):
    data = tmp_path / "data"
    env = {
        "KB_DATA_DIR": str(data),
        "KB_CORPUS_DIR": str(CORPUS),
        "KB_QUIZ_DIR": str(BANK_DIR),
        "KB_EMBED_MODEL": "none",
    }
    database = open_office_db(data / "app.sqlite3")
    save_plan(database, office_plan(), office_bank(database), at(1), "A1")
    database.close()
    monkeypatch.setattr(cli_office, "_now", lambda: at(16))

    @click.group()
    def group() -> None:
        pass

    for command in cli_office.OFFICE_COMMANDS:
        group.add_command(command)
    runner = CliRunner(env=env)
    made = runner.invoke(group, ["demo", "--people", "25", "--seed", "4"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    assert "已生成演示数据（第 1 批）：25 人、10 个部门" in made.output
    gone = runner.invoke(group, ["demo", "remove"], catch_exceptions=False)
    assert gone.exit_code == 0, gone.output
    assert "已删除演示数据：1 批、25 人" in gone.output
    database = open_office_db(data / "app.sqlite3")
    assert database.execute("SELECT COUNT(*) FROM people").fetchone() == (0,)
    assert list_notices(database) == []
    database.close()


def test_on_a_fresh_install_the_demo_fills_the_default_plans_days(tmp_path, monkeypatch):
    # Three hours into the default plan stored at install: the demo dates its records by
    # a version of that plan begun 20 days ago, so the daily chart has many points.
    data = tmp_path / "data"
    env = {
        "KB_DATA_DIR": str(data),
        "KB_CORPUS_DIR": str(CORPUS),
        "KB_QUIZ_DIR": str(BANK_DIR),
        "KB_EMBED_MODEL": "none",
    }
    open_office_db(data / "app.sqlite3").close()
    now = at(16, 3)
    monkeypatch.setattr(cli_office, "_now", lambda: now)
    runner = CliRunner(env=env)
    made = runner.invoke(cli_office.cli, ["demo", "--people", "200", "--seed", "5"])
    assert made.exit_code == 0, made.output
    assert "已保存一个演示用的计划版本（2026-10-27 00:00 至 2026-11-26 23:59）" in made.output
    database = open_office_db(data / "app.sqlite3")
    try:
        plan = get_plan(database)
        (phase,) = plan.phases
        assert (plan.saved_by, phase.start, phase.deadline) == (
            DEMO_PLAN_AUTHOR,
            start_of_day(date(2026, 10, 27)),
            end_of_day(date(2026, 11, 26)),
        )
        stamps = database.execute(
            "SELECT MIN(started_at), MAX(submitted_at) FROM attempts"
        ).fetchone()
        read = database.execute(
            "SELECT MIN(confirmed_at), MAX(confirmed_at) FROM readings"
        ).fetchone()
        assert to_stamp(phase.start) <= min(stamps[0], read[0])
        assert max(stamps[1], read[1]) <= to_stamp(now)
        bank = office_bank(database)
        daily = completions_per_day(Scope(database, plan, bank, now))
        assert len(daily) == 21  # Oct 27 .. Nov 16
        active_days = int((daily["当日完成"] > 0).sum())
        assert active_days >= 12, daily
        assert daily["当日完成"].iloc[0] < daily["累计完成"].iloc[-1] / 2
    finally:
        database.close()
    gone = runner.invoke(cli_office.cli, ["demo", "remove"])
    assert "演示用学习计划版本 1 个" in gone.output, gone.output
    database = open_office_db(data / "app.sqlite3")
    try:
        plan = get_plan(database)
        assert (plan.saved_by, plan.phases[0].start) == (DEFAULT_PLAN_AUTHOR, at(16, 0))
    finally:
        database.close()


def test_a_plan_the_office_saved_is_never_redated(office_db, bank):
    saved = save_plan(office_db, office_plan(), bank, at(1), "A1")
    assert plan_for_demo(office_db, saved, bank, at(2, 3)) is saved
    assert get_plan(office_db) == saved
