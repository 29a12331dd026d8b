"""Dashboard and export speed at 500, 5,000 and 50,000 people.

For each size a temporary database gets the shipped corpus, a bank of ten quizzes (the
three shipped ones and seven clones under other ids, held in memory), a plan requiring
all ten and the seven documents, and a demo bureau of 40 departments in which everyone
makes three attempts at every quiz (:func:`quizzes.demo.generate_demo` with
``attempts_per_quiz=(3, 3)``): 30 attempts and about 800 answer rows a person. Each
dashboard query and the exports are then timed, the median of ``--repeat`` runs (the machine
may be shared: the process's CPU time is printed beside the wall time), with the figures
as of now (after the simulated period: the live dashboard), and two figures of the past
(the page as of two days after the deadline, progress as of five days before it), beside
the single-aggregate floor: one SQLite pass over every attempt.

    .venv/bin/python bench/bench_dashboard.py [--sizes 500 5000 50000] [--repeat 3]
        [--keep DIR [--reuse]] [--skip NAME ...] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from base.clock import to_stamp  # noqa: E402
from base.settings import SHIPPED_BANK  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.documents import document_texts, list_documents  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema as ensure_kb_schema  # noqa: E402
from office import coverage, dashboard, integrity, statistics  # noqa: E402
from office.progress import compute_progress  # noqa: E402
from office.reports import dashboard_csvs, dashboard_workbook  # noqa: E402
from office.scope import Scope  # noqa: E402
from quizzes import demo  # noqa: E402
from quizzes.accounts import ensure_schema as ensure_accounts_schema  # noqa: E402
from quizzes.attempts import ensure_schema as ensure_attempts_schema  # noqa: E402
from quizzes.bank import Bank, load_bank  # noqa: E402
from quizzes.plan import Phase, StudyPlan, get_plan, save_plan  # noqa: E402
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema  # noqa: E402

QUIZZES = 10
DEPARTMENTS = [*demo.DEMO_DEPARTMENTS] + [f"基层站所{i:02d}" for i in range(1, 31)]
START = datetime(2026, 9, 1, tzinfo=UTC)
DEADLINE = START + timedelta(days=30)
NOW = START + timedelta(days=40)  # after the simulated period: every attempt is kept
MID = DEADLINE - timedelta(days=5)
AFTER = DEADLINE + timedelta(days=2)


def ten_quizzes(bank: Bank) -> Bank:
    quizzes = dict(bank.quizzes)
    shipped = list(bank.quizzes.values())
    copy = 0
    while len(quizzes) < QUIZZES:
        base = shipped[copy % len(shipped)]
        copy += 1
        clone_id = f"{base.id}-{copy}"
        quizzes[clone_id] = dataclasses.replace(base, id=clone_id)
    return Bank(quizzes=quizzes)


def _bank_and_plan(db) -> tuple[Bank, StudyPlan]:
    bank = ten_quizzes(load_bank(SHIPPED_BANK, document_texts(db)))
    documents = tuple(d.path for d in list_documents(db))
    plan = StudyPlan((Phase("启动阶段·全面学习", START, DEADLINE, tuple(bank.quizzes), documents),))
    return bank, plan


def _keep_plan(db, bank: Bank, plan: StudyPlan) -> str:
    """Store the bench's plan as the plan in force, as the office's would be, unless it
    already is: saving it builds the kept per person status of its phase."""
    stored = get_plan(db)
    if stored is not None and stored.phases == plan.phases:
        return "plan in force already"
    started, started_cpu = time.perf_counter(), time.process_time()
    save_plan(db, plan, bank, NOW, "bench")
    return (
        f"plan saved in {time.perf_counter() - started:.1f} s "
        f"(CPU {time.process_time() - started_cpu:.1f} s)"
    )


def _ensure(db) -> None:
    for ensure in (
        ensure_kb_schema,
        ensure_accounts_schema,
        ensure_attempts_schema,
        ensure_studyplan_schema,
        demo.ensure_schema,
    ):
        ensure(db)


def build(folder: Path, people: int) -> tuple[Path, Bank, StudyPlan, str]:
    path = folder / f"bench_{people}.sqlite3"
    db = open_db(path)
    _ensure(db)
    sync_corpus(db, ROOT / "corpus", None)
    bank, plan = _bank_and_plan(db)
    started = time.perf_counter()
    report = demo.generate_demo(
        db,
        bank,
        plan.phases[0].documents,
        random.Random(people),
        NOW,
        people,
        DEPARTMENTS,
        (3, 3),
        plan=plan,
    )
    seconds = time.perf_counter() - started
    saved = _keep_plan(db, bank, plan)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size / 1e6
    return (
        path,
        bank,
        plan,
        (
            f"{report.attempts:,} attempts, {report.answers:,} answer rows, "
            f"{report.readings:,} readings; generated in {report.seconds:.1f} s "
            f"({seconds:.1f} s with setup), {size:,.0f} MB; {saved}"
        ),
    )


def reuse(folder: Path, people: int) -> tuple[Path, Bank, StudyPlan, str]:
    """A database kept by an earlier ``--keep`` run, brought to the current schema (a
    new migration step runs here, once, and is timed)."""
    path = folder / f"bench_{people}.sqlite3"
    db = open_db(path)
    started, started_cpu = time.perf_counter(), time.process_time()
    _ensure(db)
    migrated = time.perf_counter() - started
    migrated_cpu = time.process_time() - started_cpu
    bank, plan = _bank_and_plan(db)
    saved = _keep_plan(db, bank, plan)
    attempts = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size / 1e6
    return (
        path,
        bank,
        plan,
        (
            f"{attempts:,} attempts (reused; schema brought up to date in {migrated:.1f} s, "
            f"CPU {migrated_cpu:.1f} s; {saved}), {size:,.0f} MB"
        ),
    )


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``repeat`` runs. On a machine shared with
    other work the wall time includes waiting for a core; the process's CPU time does not."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return median(walls), median(cpus)


def measure(
    path: Path,
    bank: Bank,
    plan: StudyPlan,
    repeat: int,
    skip: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
) -> dict[str, tuple[float, float]]:
    db = open_db(path)
    one_department = DEPARTMENTS[3]
    someone = db.execute("SELECT employee_no FROM people LIMIT 1 OFFSET 7").fetchone()[0]

    # The same phase under another name: not the plan in force, so its progress is read
    # from the quiz summaries and readings (the rival of the kept status).
    unkept = StudyPlan(
        (dataclasses.replace(plan.phases[0], name=plan.phases[0].name + "（未保存）"),)
    )

    def scope(as_of=NOW, departments=None) -> Scope:
        return Scope(db, plan, bank, as_of, departments)

    def page(as_of=NOW) -> None:
        # What the dashboard page's first tab shows: one scope, its progress computed
        # once, four views.
        shared = scope(as_of)
        dashboard.headline(shared)
        dashboard.by_department(shared)
        dashboard.overdue_list(shared)
        dashboard.completions_per_day(shared)

    def floor() -> None:
        # The single-aggregate floor: one SQLite pass over every attempt, grouped per
        # person and quiz, as any read model computed from the attempts must make.
        db.execute(
            "SELECT employee_no, quiz_id, COUNT(*), MIN(CASE WHEN passed = 1 THEN submitted_at END), "
            "MAX(started_at) FROM attempts WHERE started_at <= ? GROUP BY employee_no, quiz_id",
            [to_stamp(NOW)],
        ).fetchall()

    queries: dict[str, Callable[[], object]] = {
        "floor: 1 aggregate/attempts": floor,
        "compute_progress": lambda: compute_progress(db, plan, bank, NOW),
        "compute_progress, from records": lambda: compute_progress(db, unkept, bank, NOW),
        "page: head+dept+overdue+day": page,
        "headline": lambda: dashboard.headline(scope()),
        "department_people": lambda: dashboard.department_people(
            scope(departments=[one_department]), one_department
        ),
        "person_attempts": lambda: dashboard.person_attempts(scope(), someone),
        "exempt_list": lambda: dashboard.exempt_list(scope()),
        "headline, 1 department": lambda: dashboard.headline(scope(departments=[one_department])),
        "quiz_stats": lambda: statistics.quiz_stats(scope()),
        "question_stats, 1 quiz": lambda: statistics.question_stats(
            scope(), quiz_ids=["plan-basics"]
        ),
        "question_stats, 1 dept": lambda: statistics.question_stats(
            scope(departments=[one_department])
        ),
        "question_stats, all": lambda: statistics.question_stats(scope()),
        "coverage": lambda: coverage.coverage(scope()),
        "integrity_flags": lambda: integrity.integrity_flags(scope()),
        "xlsx export": lambda: dashboard_workbook(scope()),
        "csv export": lambda: dashboard_csvs(scope()),
        "past: page as of deadline+2d": lambda: page(AFTER),
        "past: progress as of deadline-5d": lambda: compute_progress(db, plan, bank, MID),
        "past: progress -5d, from records": lambda: compute_progress(db, unkept, bank, MID),
    }
    results = {}
    for name, run in queries.items():
        if name.startswith(skip) or (only and not name.startswith(only)):
            results[name] = (float("nan"), float("nan"))
            print(f"    {name:32s}  (skipped)", flush=True)
            continue
        # The slow answer-level views run once at the largest size.
        slow = name.startswith(("question_stats, all", "coverage", "integrity", "xlsx", "csv"))
        results[name] = timed(
            run, 1 if slow and repeat > 1 and path.stat().st_size > 2e9 else repeat
        )
        wall, cpu = results[name]
        print(f"    {name:32s} {wall:8.3f} s  (CPU {cpu:7.3f} s)", flush=True)
    db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: measure databases already there"
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="at the largest size, skip the queries whose names start with these",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        help="at every size, time only the queries whose names start with these",
    )
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    folder.mkdir(parents=True, exist_ok=True)
    table: dict[int, dict[str, float]] = {}
    built: dict[int, str] = {}
    try:
        for people in args.sizes:
            kept = folder / f"bench_{people}.sqlite3"
            if args.reuse and kept.exists():
                print(f"{people} people: reusing {kept} ...", flush=True)
                path, bank, plan, built[people] = reuse(folder, people)
            else:
                print(f"{people} people: generating ...", flush=True)
                path, bank, plan, built[people] = build(folder, people)
            print(f"  {built[people]}", flush=True)
            skip = tuple(args.skip) if people == max(args.sizes) else ()
            table[people] = measure(path, bank, plan, args.repeat, skip, tuple(args.only))
            if args.keep is None:
                path.unlink()
                for suffix in ("-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    sizes = sorted(table)
    print("\nseconds, median of", args.repeat, "(answer-level views once at the largest size);")
    print("wall time, and in brackets the process's CPU time")
    print(f"{'query':32s}" + "".join(f"{n:>20,}" for n in sizes))
    for name in table[sizes[0]]:
        cells = "".join(f"{table[n][name][0]:10.3f} ({table[n][name][1]:6.3f})" for n in sizes)
        print(f"{name:32s}{cells}")
    print()
    for people in sizes:
        print(f"{people:>7,} people: {built[people]}")


if __name__ == "__main__":
    main()
