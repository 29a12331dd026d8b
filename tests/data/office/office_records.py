"""Hand-built records for the office journey tests (test_studyplan, test_dashboard,
test_reports, test_demo): a database with every schema and a two-document corpus, a
two-quiz bank, a one-phase plan, and helpers that make people, attempts and readings
through the same functions the app uses.

Quiz ``alpha`` (4 questions, 5 points, pass at 75 %, 2 attempts) and ``beta`` (2
questions, pass at 50 %, 3 attempts, 10 minutes), no shuffling: attempts are predictable
question by question.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from kb.documents import document_texts
from kb.ingest import sync_corpus
from base.store import open_db
from quizzes.accounts import add_person
from quizzes.schemas import ensure_schemas
from quizzes.people import Role
from quizzes.attempts import save_answer, start_attempt, submit_attempt
from quizzes.bank import Bank, load_bank
from quizzes.plan import Phase, StudyPlan
from quizzes.readings import confirm_reading

OFFICE = Path(__file__).resolve().parent
CORPUS = OFFICE / "corpus"
BANK_DIR = OFFICE / "bank"

BEIJING = timezone(timedelta(hours=8))
START = datetime(2026, 11, 2, 0, 0, tzinfo=BEIJING)
DEADLINE = datetime(2026, 11, 20, 23, 59, 59, tzinfo=BEIJING)
CREATED = START - timedelta(days=60)
PHASE = "启动阶段·全面学习"
DOCUMENTS = ("plan.txt", "ethics.md")

RIGHT: dict[str, dict[str, Any]] = {
    "alpha": {"a1": "B", "a2": ["A", "B"], "a3": True, "a4": "身体健康"},
    "beta": {"b1": "A", "b2": True},
}
WRONG: dict[str, dict[str, Any]] = {
    "alpha": {"a1": "A", "a2": ["A", "C"], "a3": False, "a4": "平安"},
    "beta": {"b1": "B", "b2": False},
}
# alpha: a1 and a2 right (3 of 5 points = 60 %): not passed.
HALF_ALPHA = {"a1": "B", "a2": ["A", "B"], "a3": False, "a4": "平安"}


def open_office_db(path: Path) -> sqlite_utils.Database:
    """A fresh database with every schema and the test corpus indexed (no embedder)."""
    db = open_db(path)
    ensure_schemas(db)
    report = sync_corpus(db, CORPUS, None)
    assert not report.errors, report.errors
    return db


def office_bank(db: sqlite_utils.Database) -> Bank:
    """The test bank, checked against the indexed corpus."""
    bank = load_bank(BANK_DIR, document_texts(db))
    assert not bank.errors and not bank.flagged
    return bank


def office_plan(quiz_ids: tuple[str, ...] = ("alpha", "beta")) -> StudyPlan:
    """One phase from START to DEADLINE: pass alpha and beta, read both documents."""
    return StudyPlan(phases=(Phase(PHASE, START, DEADLINE, quiz_ids, DOCUMENTS),))


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment of November 2026, Beijing time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


def person(
    db: sqlite_utils.Database,
    employee_no: str,
    name: str,
    department: str,
    role: Role = Role.STAFF,
    created: datetime = CREATED,
) -> None:
    """An account (the hash is not a real one: these tests never log in)."""
    add_person(db, employee_no, name, department, role, "not-a-hash", created)


def take(
    db: sqlite_utils.Database,
    bank: Bank,
    quiz_id: str,
    employee_no: str,
    started: datetime,
    answers: dict[str, Any],
    *,
    minutes: float = 5,
    submit: bool = True,
) -> int:
    """One attempt through the attempts API: start, answer, submit ``minutes`` later."""
    attempt = start_attempt(db, bank.quiz(quiz_id), employee_no, started, random.Random(0))
    saved_at = started + timedelta(minutes=minutes) / 2
    for question_id, answer in answers.items():
        save_answer(db, attempt.id, employee_no, question_id, answer, saved_at)
    if submit:
        submit_attempt(db, attempt.id, employee_no, started + timedelta(minutes=minutes), bank)
    return attempt.id


def read_all(db: sqlite_utils.Database, employee_no: str, when: datetime) -> None:
    """Confirm reading both documents at ``when``."""
    for path in DOCUMENTS:
        confirm_reading(db, employee_no, path, when)


def complete(db: sqlite_utils.Database, bank: Bank, employee_no: str, when: datetime) -> None:
    """Everything done: read both documents, pass both quizzes, the last at ``when``."""
    read_all(db, employee_no, when - timedelta(hours=2))
    take(db, bank, "alpha", employee_no, when - timedelta(hours=1), RIGHT["alpha"])
    take(db, bank, "beta", employee_no, when - timedelta(minutes=5), RIGHT["beta"])


def burst(db: sqlite_utils.Database, bank: Bank, *, readings: bool = False) -> None:
    """24 people in three departments submit at once, in threads with their own
    connections as the app's sessions are; some fail, some retry, some let beta's 10
    minutes run out (graded as expired), with ``readings`` each confirms a document
    between the two quizzes; and E005 moves department during the burst."""
    from quizzes.accounts import update_person

    db_path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    departments = [OFFICE_DEPT, STATION, LAW]
    for i in range(24):
        person(db, f"E{i:03d}", f"人员{i}", departments[i % 3])
    barrier = threading.Barrier(25)
    failures = []

    def someone(i: int) -> None:
        conn = open_db(db_path)
        try:
            who = f"E{i:03d}"
            barrier.wait()
            for round_ in range(1 + i % 2):
                started = START + timedelta(days=i % 4, hours=round_)
                answers = RIGHT if (i + round_) % 2 else WRONG
                take(conn, bank, "alpha", who, started, answers["alpha"])
                if readings:
                    confirm_reading(conn, who, DOCUMENTS[i % 2], started + timedelta(minutes=30))
                take(conn, bank, "beta", who, started, answers["beta"], minutes=5 + 10 * (i % 2))
        except Exception as error:
            failures.append((i, error))
        finally:
            conn.close()

    threads = [threading.Thread(target=someone, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    barrier.wait()
    update_person(db, "E005", "人员5", LAW, Role.STAFF, START + timedelta(days=2))
    for thread in threads:
        thread.join()
    assert failures == []


def table_rows(db: sqlite_utils.Database, table: str) -> list[tuple]:
    """Every row of a table, in a stable order."""
    return sorted(db.execute(f"SELECT * FROM [{table}]").fetchall(), key=repr)


# -- the bureau the dashboard and report tests share ----------------------------------------

OFFICE_DEPT = "办公室"
STATION = "监测站"
LAW = "法规科"
# alpha: a1 right, a2 half (one of two keys: 1 of 2 points, not correct), a3 wrong,
# a4 right: 3 of 5 points = 60 %, not passed.
M1_ALPHA = {"a1": "B", "a2": ["A"], "a3": False, "a4": "身体健康"}


def build_bureau(db: sqlite_utils.Database, bank: Bank) -> None:
    """Three departments and the cases the figures must get right.

    办公室: O1 completes on Nov 5, O2 on Nov 12; O3 never starts; O4 is exempt (请假)
    from Nov 3 until Nov 23 and never studies; O5 (head) completes late, on Nov 21.
    监测站: M1 reads both documents on Nov 6 and fails alpha on Nov 13 (60 %, one attempt
    left); M2 fails alpha twice (Nov 7, all wrong; Nov 8, only a1 answered): blocked;
    M3 completes on Nov 9; M4 completed on Nov 9 but is deactivated.
    法规科: F1 moves to 监测站 on Nov 10 and completes on Nov 11; F2 never starts.
    创建办: A1 (admin) completes on Nov 5: not counted.
    """
    from quizzes.accounts import deactivate_account, update_person
    from quizzes.exemptions import add_exemption

    for employee_no, name, department, role in [
        ("O1", "王芳", OFFICE_DEPT, Role.STAFF),
        ("O2", "李强", OFFICE_DEPT, Role.STAFF),
        ("O3", "张伟", OFFICE_DEPT, Role.STAFF),
        ("O4", "刘洋", OFFICE_DEPT, Role.STAFF),
        ("O5", "陈静", OFFICE_DEPT, Role.HEAD),
        ("M1", "杨磊", STATION, Role.STAFF),
        ("M2", "赵敏", STATION, Role.STAFF),
        ("M3", "黄勇", STATION, Role.HEAD),
        ("M4", "周杰", STATION, Role.STAFF),
        ("F1", "吴娟", LAW, Role.STAFF),
        ("F2", "徐涛", LAW, Role.HEAD),
        ("A1", "创建办管理员", "创建办", Role.ADMIN),
    ]:
        person(db, employee_no, name, department, role)
    complete(db, bank, "O1", at(5))
    complete(db, bank, "O2", at(12))
    add_exemption(db, "O4", "请假", at(3), "A1", until=at(23))
    complete(db, bank, "O5", at(21))
    read_all(db, "M1", at(6))
    take(db, bank, "alpha", "M1", at(13), M1_ALPHA)
    take(db, bank, "alpha", "M2", at(7), WRONG["alpha"])
    take(db, bank, "alpha", "M2", at(8), {"a1": "A"})
    complete(db, bank, "M3", at(9))
    complete(db, bank, "M4", at(9))
    deactivate_account(db, "M4", at(14))
    update_person(db, "F1", "吴娟", STATION, Role.STAFF, at(10))
    complete(db, bank, "F1", at(11))
    complete(db, bank, "A1", at(5))
