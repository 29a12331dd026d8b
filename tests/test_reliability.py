"""The deadline burst, crashes, the write discipline and backups, on real SQLite files."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from base.settings import PROJECT_ROOT, SHIPPED_BANK
from base.store import open_db
from kb.ingest import extract_texts, sync_corpus
from kb.service import backup_database
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.attempts import save_answer, start_attempt, submit_attempt
from quizzes.bank import Bank, load_bank

QUIZ = "ethics-values"  # draws 20 questions per attempt
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def shipped_bank() -> Bank:
    texts, _ = extract_texts(PROJECT_ROOT / "corpus")
    return load_bank(SHIPPED_BANK, texts)


def fresh_attempts_db(path: Path):
    db = open_db(path)
    ensure_attempts_schema(db)
    return db


def answer_all(db, bank: Bank, attempt, rng: random.Random) -> None:
    quiz = bank.quiz(attempt.quiz_id)
    for question_id in attempt.question_ids:
        question = quiz.question(question_id)
        if question.type == "single":
            answer = rng.choice(question.option_keys)
        elif question.type == "multiple":
            answer = sorted(rng.sample(question.option_keys, 2))
        elif question.type == "true_false":
            answer = rng.random() < 0.5
        else:
            answer = "答案"
        save_answer(db, attempt.id, attempt.employee_no, question_id, answer, NOW)


def whole_results(db) -> dict[str, int]:
    return {
        "submitted": db.execute(
            "SELECT COUNT(*) FROM attempts WHERE status = 'submitted'"
        ).fetchone()[0],
        "answers": db.execute(
            "SELECT COUNT(*) FROM answers a JOIN attempts t ON t.id = a.attempt_id"
            " WHERE t.status = 'submitted' AND a.points IS NOT NULL"
        ).fetchone()[0],
        "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
    }


# -- write discipline -------------------------------------------------------------------------


WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def test_every_write_runs_in_a_begin_immediate_transaction(tmp_path, tiny_corpus, embedder):
    from quizzes.accounts import create_account
    from quizzes.accounts import ensure_schema as ensure_accounts_schema
    from quizzes.login import authenticate, change_password

    db = open_db(tmp_path / "trace.sqlite3")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    from kb.schema import ensure_schema

    ensure_schema(db)
    ensure_accounts_schema(db)
    ensure_attempts_schema(db)
    sync_corpus(db, tiny_corpus, embedder)
    password = create_account(db, "1001", "张敏", "监测站", "staff", NOW)
    authenticate(db, "1001", "wrong-password-1", NOW)
    change_password(db, "1001", password, "study2026ok", NOW)
    bank = shipped_bank()
    attempt = start_attempt(db, bank.quiz(QUIZ), "1001", NOW, random.Random(1))
    answer_all(db, bank, attempt, random.Random(2))
    submit_attempt(db, attempt.id, "1001", NOW, bank)
    backup_database(db, tmp_path / "backup.sqlite3")

    # Each transaction as (how it began, whether it wrote). A deferred BEGIN is only for
    # a consistent read (the lexical index's snapshot check); every write is IMMEDIATE.
    transactions: list[tuple[str, bool]] = []
    in_transaction, writes = False, 0
    for statement in statements:
        head = statement.lstrip().upper()
        if head.startswith("BEGIN"):
            assert not in_transaction, "nested BEGIN"
            transactions.append((" ".join(head.split()[:2]), False))
            in_transaction = True
        elif head.startswith(("COMMIT", "ROLLBACK")) and not head.startswith("ROLLBACK TO"):
            in_transaction = False
        elif head.startswith(WRITE_VERBS) and not head.startswith("CREATE TEMP"):
            writes += 1
            assert in_transaction, f"write outside a transaction: {statement[:80]}"
            transactions[-1] = (transactions[-1][0], True)
    assert writes > 50
    assert {begin for begin, wrote in transactions if wrote} == {"BEGIN IMMEDIATE"}
    assert not any(wrote for begin, wrote in transactions if begin == "BEGIN")


def test_begin_immediate_is_issued_only_by_the_writer_path():
    sources = {
        path.relative_to(PROJECT_ROOT).as_posix(): path.read_text(encoding="utf-8")
        for folder in ("base", "kb", "quizzes", "office", "ui")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
    } | {"app.py": (PROJECT_ROOT / "app.py").read_text(encoding="utf-8")}
    begins = re.compile(r"""execute\w*\(\s*f?["']\s*BEGIN""", re.IGNORECASE)
    assert [name for name, text in sources.items() if begins.search(text)] == ["base/store.py"]
    assert [
        name for name, text in sources.items() if ".atomic(" in text or "with db.conn" in text
    ] == []


# -- the deadline burst -------------------------------------------------------------------------


def _prepare_attempts(path: Path, bank: Bank, people: list[str]) -> dict[str, int]:
    db = fresh_attempts_db(path)
    ids = {}
    for n, employee_no in enumerate(people):
        ids[employee_no] = start_attempt(db, bank.quiz(QUIZ), employee_no, NOW, random.Random(n)).id
    db.close()
    return ids


def _burst(path: str, bank: Bank, attempts: dict[str, int], errors: list[str]) -> None:
    """Every thread, its own connection, answers 20 questions and submits at one instant."""
    barrier = threading.Barrier(len(attempts))

    def submitter(employee_no: str, attempt_id: int) -> None:
        db = open_db(path)
        try:
            from quizzes.attempts import get_attempt

            attempt = get_attempt(db, attempt_id, employee_no)
            barrier.wait()
            answer_all(db, bank, attempt, random.Random(attempt_id))
            submit_attempt(db, attempt_id, employee_no, NOW, bank)
        except Exception as exc:  # collected: the test asserts there are none
            errors.append(f"{employee_no}: {type(exc).__name__}: {exc}")
        finally:
            db.close()

    threads = [threading.Thread(target=submitter, args=item) for item in attempts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.slow
def test_deadline_burst_of_300_threads_loses_nothing(tmp_path):
    bank = shipped_bank()
    path = tmp_path / "burst.sqlite3"
    attempts = _prepare_attempts(path, bank, [f"P{n:04d}" for n in range(300)])
    errors: list[str] = []
    _burst(str(path), bank, attempts, errors)
    assert errors == []
    db = open_db(path)
    assert whole_results(db) == {"submitted": 300, "answers": 6000, "integrity": "ok"}


def _process_burst(path: str, attempts: dict[str, int], queue) -> None:
    errors: list[str] = []
    _burst(path, shipped_bank(), attempts, errors)
    queue.put(errors)


@pytest.mark.slow
def test_deadline_burst_from_4_processes_loses_nothing(tmp_path):
    bank = shipped_bank()
    path = tmp_path / "burst4.sqlite3"
    attempts = _prepare_attempts(path, bank, [f"P{n:04d}" for n in range(300)])
    items = list(attempts.items())
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_process_burst, args=(str(path), dict(items[i::4]), queue))
        for i in range(4)
    ]
    for process in processes:
        process.start()
    errors = [e for _ in processes for e in queue.get(timeout=600)]
    for process in processes:
        process.join(timeout=60)
    assert errors == []
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    db = open_db(path)
    assert whole_results(db) == {"submitted": 300, "answers": 6000, "integrity": "ok"}


def test_twenty_tabs_submitting_one_attempt_give_one_result(tmp_path):
    bank = shipped_bank()
    path = tmp_path / "double.sqlite3"
    db = fresh_attempts_db(path)
    attempt = start_attempt(db, bank.quiz(QUIZ), "1001", NOW, random.Random(3))
    answer_all(db, bank, attempt, random.Random(4))
    db.close()
    barrier = threading.Barrier(20)
    results = []

    def tab() -> None:
        own = open_db(path)
        barrier.wait()
        results.append(submit_attempt(own, attempt.id, "1001", NOW, bank))
        own.close()

    threads = [threading.Thread(target=tab) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20 and all(r == results[0] for r in results)
    db = open_db(path)
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    assert whole_results(db) == {"submitted": 1, "answers": 20, "integrity": "ok"}


# -- crashes ------------------------------------------------------------------------------------


def child_main(path: str, seed: int) -> None:
    """Submit attempts in a loop, printing each id once it is saved (run in a child)."""
    bank = shipped_bank()
    db = fresh_attempts_db(Path(path))
    rng = random.Random(seed)
    n = 0
    while True:
        employee_no = f"C{seed:02d}-{n:05d}"
        attempt = start_attempt(db, bank.quiz(QUIZ), employee_no, NOW, rng)
        answer_all(db, bank, attempt, rng)
        submit_attempt(db, attempt.id, employee_no, NOW, bank)
        print(json.dumps({"saved": attempt.id}), flush=True)
        n += 1


@pytest.mark.slow
def test_killed_mid_submission_nothing_is_half_written(tmp_path):
    path = tmp_path / "crash.sqlite3"
    fresh_attempts_db(path).close()
    rng = random.Random(20261125)
    saved: set[int] = set()
    code = "import sys; from tests.test_reliability import child_main; child_main(sys.argv[1], int(sys.argv[2]))"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for round_ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(path), str(round_)],
            stdout=subprocess.PIPE,
            cwd=PROJECT_ROOT,
            env=env,
            text=True,
        )
        # Wait for the first save so the kill lands mid-stream, then at a random moment.
        first = child.stdout.readline()
        assert first, "the child saved nothing"
        saved.add(json.loads(first)["saved"])
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate()
        saved.update(
            json.loads(line)["saved"] for line in rest.splitlines() if line.startswith("{")
        )
    db = open_db(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    submitted = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT t.id, t.score IS NOT NULL, COUNT(a.question_id), COUNT(a.points)"
            " FROM attempts t LEFT JOIN answers a ON a.attempt_id = t.id"
            " WHERE t.status = 'submitted' GROUP BY t.id"
        )
    }
    # every submission the child was told was saved is there, whole
    assert saved <= set(submitted)
    # and no submitted attempt is half there: a score, 20 answers, 20 graded
    assert set(submitted.values()) == {(1, 20, 20)}
    assert len(saved) >= 20


# -- backup ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_backup_while_writing_gives_back_every_committed_attempt(tmp_path):
    bank = shipped_bank()
    path = tmp_path / "live.sqlite3"
    fresh_attempts_db(path).close()
    committed: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        db = open_db(path)
        rng = random.Random(7)
        n = 0
        while not stop.is_set():
            employee_no = f"B{n:05d}"
            attempt = start_attempt(db, bank.quiz(QUIZ), employee_no, NOW, rng)
            answer_all(db, bank, attempt, rng)
            submit_attempt(db, attempt.id, employee_no, NOW, bank)
            committed.append(attempt.id)
            n += 1
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    while len(committed) < 10:
        time.sleep(0.05)
    before = list(committed)
    live = open_db(path)
    backup_database(live, tmp_path / "copy.sqlite3")
    time.sleep(0.3)
    stop.set()
    thread.join()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    in_copy = {
        row[0]: row[1]
        for row in copy.execute(
            "SELECT t.id, COUNT(a.points) FROM attempts t JOIN answers a ON a.attempt_id = t.id"
            " WHERE t.status = 'submitted' GROUP BY t.id"
        )
    }
    assert set(before) <= set(in_copy)
    assert set(in_copy.values()) == {20}
    assert len(committed) > len(before)  # writes went on meanwhile
