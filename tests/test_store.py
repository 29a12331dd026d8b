"""The group-commit writer: batches share one transaction, a failing job fails alone."""

from __future__ import annotations

import threading
import time

import pytest

from kb.store import GroupWriter, open_db, write


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "store.sqlite3"
    db = open_db(path)
    with write(db):
        db.execute("CREATE TABLE items (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.close()
    return path


def insert(name: str, n: int):
    def job(db):
        db.execute("INSERT INTO items (name, n) VALUES (?, ?)", [name, n])
        return name.upper()

    return job


def hold(writer: GroupWriter) -> threading.Event:
    """Keep the writer busy in a job until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def job(db):
        started.set()
        release.wait(10)

    threading.Thread(target=writer.run, args=(job,)).start()
    assert started.wait(10)
    return release


def queue_jobs(writer: GroupWriter, jobs: list) -> tuple[list[threading.Thread], dict[int, object]]:
    """Queue ``jobs`` in this order, each from its own thread; outcomes by index."""
    outcomes: dict[int, object] = {}

    def caller(index: int, job) -> None:
        try:
            outcomes[index] = writer.run(job)
        except Exception as exc:
            outcomes[index] = type(exc).__name__

    threads = []
    for index, job in enumerate(jobs):
        threads.append(threading.Thread(target=caller, args=(index, job)))
        threads[-1].start()
        while writer._jobs.qsize() < index + 1:
            time.sleep(0.005)
    return threads, outcomes


def rows(path) -> list[tuple[str, int]]:
    db = open_db(path)
    try:
        return [tuple(r) for r in db.execute("SELECT name, n FROM items ORDER BY name")]
    finally:
        db.close()


def test_jobs_queued_together_commit_in_one_transaction(path):
    writer = GroupWriter(path)
    statements: list[str] = []
    writer._db.conn.set_trace_callback(statements.append)
    release = hold(writer)
    threads, outcomes = queue_jobs(writer, [insert(f"p{i:02d}", i) for i in range(30)])
    release.set()
    for thread in threads:
        thread.join()
    writer.close()
    assert outcomes == {i: f"P{i:02d}" for i in range(30)}
    assert rows(path) == [(f"p{i:02d}", i) for i in range(30)]
    # The holding job's transaction, then one for all thirty.
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]


def test_a_failing_job_fails_alone_and_the_rest_of_its_batch_commits(path):
    writer = GroupWriter(path)
    release = hold(writer)
    # The second "a" breaks the primary key: the batch rolls back, each job runs alone.
    threads, outcomes = queue_jobs(
        writer, [insert("a", 0), insert("b", 1), insert("a", 2), insert("c", 3)]
    )
    release.set()
    for thread in threads:
        thread.join()
    writer.close()
    assert outcomes == {0: "A", 1: "B", 2: "IntegrityError", 3: "C"}
    assert rows(path) == [("a", 0), ("b", 1), ("c", 3)]


def test_close_finishes_the_queued_jobs_and_stops(path):
    writer = GroupWriter(path)
    release = hold(writer)
    threads, outcomes = queue_jobs(writer, [insert("x", 1), insert("y", 2)])
    release.set()
    writer.close()
    for thread in threads:
        thread.join()
    assert outcomes == {0: "X", 1: "Y"}
    assert not writer._thread.is_alive()
    assert rows(path) == [("x", 1), ("y", 2)]
