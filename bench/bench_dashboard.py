"""Dashboard and export speed at 500, 5,000 and 50,000 people.

For each size a temporary database gets the shipped corpus, a bank of ten quizzes (the
three shipped ones and seven clones under other ids, held in memory), a plan requiring
all ten and the seven documents, and a demo bureau of 40 departments in which everyone
makes three attempts at every quiz (:func:`quizzes.demo.generate_demo` with
``attempts_per_quiz=(3, 3)``): 30 attempts and about 800 answer rows a person. Each
dashboard query and the exports are then timed, best of ``--repeat`` runs (the machine
may be shared), with the figures as of five days before the deadline (the overdue list
and the export after it).

    .venv/bin/python bench/bench_dashboard.py [--sizes 500 5000 50000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from kb.documents import document_texts, list_documents  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema as ensure_kb_schema  # noqa: E402
from kb.store import open_db  # noqa: E402
from office import coverage, dashboard, integrity, statistics  # noqa: E402
from office.progress import compute_progress  # noqa: E402
from office.reports import dashboard_csvs, dashboard_workbook  # noqa: E402
from office.scope import Scope  # noqa: E402
from quizzes import demo  # noqa: E402
from quizzes.accounts import ensure_schema as ensure_accounts_schema  # noqa: E402
from quizzes.attempts import ensure_schema as ensure_attempts_schema  # noqa: E402
from quizzes.bank import Bank, load_bank  # noqa: E402
from quizzes.plan import Phase, StudyPlan  # noqa: E402
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


def build(folder: Path, people: int) -> tuple[Path, Bank, StudyPlan, demo.DemoReport]:
    path = folder / f"bench_{people}.sqlite3"
    db = open_db(path)
    for ensure in (
        ensure_kb_schema,
        ensure_accounts_schema,
        ensure_attempts_schema,
        ensure_studyplan_schema,
        demo.ensure_schema,
    ):
        ensure(db)
    sync_corpus(db, ROOT / "corpus", None)
    bank = ten_quizzes(load_bank(ROOT / "quizzes" / "bank", document_texts(db)))
    documents = tuple(d.path for d in list_documents(db))
    plan = StudyPlan((Phase("启动阶段·全面学习", START, DEADLINE, tuple(bank.quizzes), documents),))
    report = demo.generate_demo(
        db,
        bank,
        documents,
        random.Random(people),
        NOW,
        people,
        DEPARTMENTS,
        (3, 3),
        plan=plan,
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, bank, plan, report


def timed(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure(path: Path, bank: Bank, plan: StudyPlan, repeat: int) -> dict[str, float]:
    db = open_db(path)
    one_department = DEPARTMENTS[3]
    someone = db.execute("SELECT employee_no FROM people LIMIT 1 OFFSET 7").fetchone()[0]

    def scope(as_of=MID, departments=None) -> Scope:
        return Scope(db, plan, bank, as_of, departments)

    def page() -> None:
        # What the dashboard page does: one scope, its progress computed once, three views.
        shared = scope()
        dashboard.headline(shared)
        dashboard.by_department(shared)
        dashboard.completions_per_day(shared)

    queries: dict[str, Callable[[], object]] = {
        "compute_progress": lambda: compute_progress(db, plan, bank, MID),
        "headline": lambda: dashboard.headline(scope()),
        "by_department": lambda: dashboard.by_department(scope()),
        "dashboard page (shared)": page,
        "department_people": lambda: dashboard.department_people(
            scope(departments=[one_department]), one_department
        ),
        "person_attempts": lambda: dashboard.person_attempts(scope(NOW), someone),
        "overdue_list (after)": lambda: dashboard.overdue_list(scope(AFTER)),
        "exempt_list": lambda: dashboard.exempt_list(scope()),
        "completions_per_day": lambda: dashboard.completions_per_day(scope()),
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
        "xlsx export (after)": lambda: dashboard_workbook(scope(AFTER)),
        "csv export (after)": lambda: dashboard_csvs(scope(AFTER)),
    }
    results = {}
    for name, run in queries.items():
        # The slow answer-level views run once at the largest size.
        slow = name.startswith(("question_stats, all", "coverage", "integrity", "xlsx", "csv"))
        results[name] = timed(
            run, 1 if slow and repeat > 1 and path.stat().st_size > 2e9 else repeat
        )
        print(f"    {name:26s} {results[name]:8.3f} s", flush=True)
    db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    folder.mkdir(parents=True, exist_ok=True)
    table: dict[int, dict[str, float]] = {}
    built: dict[int, str] = {}
    try:
        for people in args.sizes:
            print(f"{people} people: generating ...", flush=True)
            started = time.perf_counter()
            path, bank, plan, report = build(folder, people)
            seconds = time.perf_counter() - started
            size = path.stat().st_size / 1e6
            built[people] = (
                f"{report.attempts:,} attempts, {report.answers:,} answer rows, "
                f"{report.readings:,} readings; generated in {report.seconds:.1f} s "
                f"({seconds:.1f} s with setup), {size:,.0f} MB"
            )
            print(f"  {built[people]}", flush=True)
            table[people] = measure(path, bank, plan, args.repeat)
            if args.keep is None:
                path.unlink()
                for suffix in ("-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    sizes = sorted(table)
    print("\nseconds, best of", args.repeat, "(answer-level views once at the largest size)")
    header = f"{'query':26s}" + "".join(f"{n:>12,}" for n in sizes)
    growth = [f"{b}/{a}" for a, b in itertools.pairwise(sizes)]
    print(header + "".join(f"{g:>14s}" for g in growth))
    for name in table[sizes[0]]:
        row = f"{name:26s}" + "".join(f"{table[n][name]:12.3f}" for n in sizes)
        ratios = [
            table[b][name] / table[a][name] if table[a][name] else float("nan")
            for a, b in itertools.pairwise(sizes)
        ]
        print(row + "".join(f"{r:13.1f}x" for r in ratios))
    print()
    for people in sizes:
        print(f"{people:>7,} people: {built[people]}")


if __name__ == "__main__":
    main()
