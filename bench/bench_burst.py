"""The deadline burst at the database layer: 300 submitters at the same instant.

Each submitter is a thread with its own connection that, at one shared start time,
saves the 20 answers of its attempt (``ethics-values`` draws 20) and submits it through
``quizzes.attempts`` (every write goes through ``base.store.write``: the process's writer
lock, then ``BEGIN IMMEDIATE``). Run with the threads in one process, then spread over 4
processes (4 writer locks; SQLite's busy handler arbitrates between them). ``--mode
submit`` saves the answers before the start, so the burst is submissions alone.

Printed per run: throughput (submits/s from the start instant to the last commit), each
submitter's latency (p50/p99/slowest), errors, and what the file holds afterwards.

    .venv/bin/python bench/bench_burst.py                   # 300 threads, 1 and 4 processes
    .venv/bin/python bench/bench_burst.py --people 200 --mode submit --dir /var/tmp
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import SHIPPED_BANK  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.ingest import extract_texts  # noqa: E402
from quizzes.attempts import ensure_schema as ensure_attempts_schema  # noqa: E402
from quizzes.attempts import get_attempt, save_answer, start_attempt, submit_attempt  # noqa: E402
from quizzes.bank import Bank, load_bank  # noqa: E402

QUIZ = "ethics-values"  # draws 20 questions per attempt
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
START_DELAY = 3.0  # seconds between handing out the start time and the start
JOIN_SECONDS = 300  # every submitter must be done by then


def shipped_bank() -> Bank:
    texts, _ = extract_texts(ROOT / "corpus")
    return load_bank(SHIPPED_BANK, texts)


def answer_for(question, rng: random.Random):
    if question.type == "single":
        return rng.choice(question.option_keys)
    if question.type == "multiple":
        return sorted(rng.sample(question.option_keys, 2))
    if question.type == "true_false":
        return rng.random() < 0.5
    return "答案"


def save_all(db, bank: Bank, attempt, rng: random.Random) -> None:
    quiz = bank.quiz(attempt.quiz_id)
    for question_id in attempt.question_ids:
        answer = answer_for(quiz.question(question_id), rng)
        save_answer(db, attempt.id, attempt.employee_no, question_id, answer, NOW)


def prepare(path: Path, bank: Bank, people: int, answers_first: bool) -> dict[str, int]:
    """A fresh database with one open attempt per person (answers saved if asked)."""
    db = open_db(path)
    ensure_attempts_schema(db)
    ids = {}
    for n in range(people):
        employee_no = f"P{n:04d}"
        attempt = start_attempt(db, bank.quiz(QUIZ), employee_no, NOW, random.Random(n))
        ids[employee_no] = attempt.id
        if answers_first:
            save_all(db, bank, attempt, random.Random(attempt.id))
    db.close()
    return ids


def burst(
    path: str, bank: Bank, attempts: dict[str, int], start_at: float, answers_first: bool
) -> tuple[list[tuple[float, float]], list[str]]:
    """Run one thread per attempt from ``start_at`` (time.time()); (start, end) per thread."""
    times: list[tuple[float, float]] = []
    errors: list[str] = []
    ready = threading.Barrier(len(attempts) + 1)

    def submitter(employee_no: str, attempt_id: int) -> None:
        db = open_db(path)
        try:
            attempt = get_attempt(db, attempt_id, employee_no)
            ready.wait(timeout=JOIN_SECONDS)
            pause = start_at - time.time()
            if pause > 0:
                time.sleep(pause)
            began = time.time()
            if not answers_first:
                save_all(db, bank, attempt, random.Random(attempt_id))
            submit_attempt(db, attempt_id, employee_no, NOW, bank)
            times.append((began, time.time()))
        except Exception as exc:  # counted and printed: the figure is "errors: 0"
            errors.append(f"{employee_no}: {type(exc).__name__}: {exc}")
        finally:
            db.close()

    threads = [
        threading.Thread(target=submitter, args=item, daemon=True) for item in attempts.items()
    ]
    for thread in threads:
        thread.start()
    ready.wait(timeout=JOIN_SECONDS)
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        errors.append(f"{stuck} submitters still running after {JOIN_SECONDS} s")
    return times, errors


def _process_main(path: str, attempts: dict[str, int], start_at: float, answers_first: bool, queue):
    bank = shipped_bank()
    queue.put(burst(path, bank, attempts, start_at, answers_first))


def run(path: Path, bank: Bank, attempts: dict[str, int], processes: int, answers_first: bool):
    items = list(attempts.items())
    if processes == 1:
        start_at = time.time() + START_DELAY
        return burst(str(path), bank, attempts, start_at, answers_first)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    # Spawned children import and load the bank first: give them time before the start.
    start_at = time.time() + START_DELAY + 7.0
    children = [
        context.Process(
            target=_process_main,
            args=(str(path), dict(items[i::processes]), start_at, answers_first, queue),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    times, errors = [], []
    try:
        for _ in children:
            got_times, got_errors = queue.get(timeout=JOIN_SECONDS + 60)
            times += got_times
            errors += got_errors
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()
                child.join(timeout=10)
    if any(child.exitcode != 0 for child in children):
        errors.append(f"exit codes {[c.exitcode for c in children]}")
    return times, errors


def stored(path: Path) -> tuple[int, int, str]:
    db = open_db(path)
    try:
        submitted = db.execute("SELECT COUNT(*) FROM attempts WHERE status = 'submitted'")
        answers = db.execute(
            "SELECT COUNT(*) FROM answers a JOIN attempts t ON t.id = a.attempt_id "
            "WHERE t.status = 'submitted' AND a.points IS NOT NULL"
        )
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        return submitted.fetchone()[0], answers.fetchone()[0], integrity
    finally:
        db.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300, help="submitters (300)")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 4], help="process counts to run (1 4)"
    )
    parser.add_argument(
        "--mode",
        choices=("full", "submit", "both"),
        default="both",
        help="full: 20 saves + submit in the burst; submit: answers saved before (both)",
    )
    parser.add_argument("--dir", type=Path, help="where the database files go (a temp folder)")
    args = parser.parse_args(argv)
    if not 1 <= args.people <= 2000:
        parser.error("--people must be between 1 and 2000")
    bank = shipped_bank()
    folder = Path(tempfile.mkdtemp(prefix="bench-burst-", dir=args.dir))
    modes = ["full", "submit"] if args.mode == "both" else [args.mode]
    failed = False
    print(f"{args.people} submitters, one connection each, database in {folder}")
    print(
        f"{'mode':<7} {'procs':>5} {'submits/s':>9} {'wall s':>7} {'p50 s':>7} {'p99 s':>7} "
        f"{'slowest s':>9} {'errors':>6}  stored (attempts, graded answers, integrity)"
    )
    try:
        for mode in modes:
            answers_first = mode == "submit"
            for processes in args.processes:
                path = folder / f"burst-{mode}-{processes}.sqlite3"
                attempts = prepare(path, bank, args.people, answers_first)
                times, errors = run(path, bank, attempts, processes, answers_first)
                latencies = [end - began for began, end in times]
                wall = (max(e for _, e in times) - min(b for b, _ in times)) if times else 0.0
                rows = stored(path)
                print(
                    f"{mode:<7} {processes:>5} {len(times) / wall if wall else 0:>9.0f} "
                    f"{wall:>7.2f} {pct(latencies, 50):>7.3f} {pct(latencies, 99):>7.3f} "
                    f"{max(latencies, default=float('nan')):>9.3f} {len(errors):>6}  {rows}",
                    flush=True,
                )
                for line in errors[:5]:
                    print(f"    {line}")
                failed |= bool(errors) or rows != (args.people, args.people * 20, "ok")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
