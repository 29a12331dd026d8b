"""Spaced review: what it costs a page run, an answer and the office's figure.

A temporary database gets the shipped corpus and bank and a demo bureau (every person
one to three attempts at each quiz, :func:`quizzes.demo.generate_demo`). Every person's
graded mistakes are then carded (the first sync, timed), and a third of the people review
their due cards on each of ``--days`` days (right 70 % of the time). Then, timed:

* a page run's read of 错题练习 / 我的进度 (:func:`quizzes.review.review_queue`, nothing
  new to card), beside the 错题本 read the page made before (``wrong_questions``);
* one review answer (:func:`quizzes.review.answer_question`: grade, sync check, write);
* the office's per-department figure over the bureau, beside its floor: one aggregate
  pass over the review log joined to the cards.

    .venv/bin/python bench/bench_review.py [--people 1000] [--days 6] [--sample 40]

The build runs with ``synchronous = OFF`` (setup only); the timed answers run with the
app's ``synchronous = FULL``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import SHIPPED_BANK  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.documents import document_texts, list_documents  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema as ensure_kb_schema  # noqa: E402
from office.review_stats import review_by_department  # noqa: E402
from office.scope import Scope  # noqa: E402
from quizzes import demo  # noqa: E402
from quizzes.accounts import ensure_schema as ensure_accounts_schema  # noqa: E402
from quizzes.attempts import ensure_schema as ensure_attempts_schema  # noqa: E402
from quizzes.attempts import wrong_questions  # noqa: E402
from quizzes.bank import load_bank  # noqa: E402
from quizzes.plan import Phase, StudyPlan  # noqa: E402
from quizzes.review import answer_question, review_queue, sync_attempt_mistakes  # noqa: E402
from quizzes.review import ensure_schema as ensure_review_schema  # noqa: E402
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema  # noqa: E402

START = datetime(2026, 9, 1, tzinfo=UTC)
DEADLINE = START + timedelta(days=30)
NOW = START + timedelta(days=31)


def right_answer(question):
    return question.answer[0] if question.type == "fill" else question.answer


def wrong_answer(question):
    if question.type == "true_false":
        return not question.answer
    if question.type == "fill":
        return "不知道"
    keys = [k for k in question.option_keys if k not in set(question.answer)]
    return keys[0] if question.type == "single" else [keys[0]]


def per_call(run: Callable[[str], object], who: list[str]) -> tuple[float, float, float]:
    """p50 and p95 wall milliseconds, and mean CPU milliseconds, of ``run`` per person."""
    walls = []
    cpu = time.process_time()
    for employee_no in who:
        started = time.perf_counter()
        run(employee_no)
        walls.append((time.perf_counter() - started) * 1e3)
    cpu_ms = (time.process_time() - cpu) * 1e3 / len(who)
    walls.sort()
    return statistics.median(walls), walls[int(0.95 * (len(walls) - 1))], cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "review.sqlite3")
        for ensure in (
            ensure_kb_schema,
            ensure_accounts_schema,
            ensure_attempts_schema,
            ensure_studyplan_schema,
            demo.ensure_schema,
            ensure_review_schema,
        ):
            ensure(db)
        sync_corpus(db, ROOT / "corpus", None)
        bank = load_bank(SHIPPED_BANK, document_texts(db))
        documents = tuple(d.path for d in list_documents(db))
        plan = StudyPlan(
            (Phase("启动阶段·全面学习", START, DEADLINE, tuple(bank.quizzes), documents),)
        )
        db.execute("PRAGMA synchronous = OFF")
        report = demo.generate_demo(
            db, bank, documents, rng, DEADLINE, args.people, None, (1, 3), plan=plan
        )
        people = [
            r[0]
            for r in db.execute("SELECT employee_no FROM people WHERE employee_no LIKE 'DEMO-%'")
        ]
        started = time.perf_counter()
        carded = sum(sync_attempt_mistakes(db, p) for p in people)
        first_sync = time.perf_counter() - started
        print(
            f"{len(people):,} people, {report.attempts:,} attempts, {report.answers:,} answer rows; "
            f"first sync carded {carded:,} wrong answers in {first_sync:.1f} s "
            f"({first_sync / len(people) * 1e3:.1f} ms a person)"
        )
        reviewers = people[::3]
        answers = 0
        started = time.perf_counter()
        for day in range(1, args.days + 1):
            when = DEADLINE + timedelta(days=day, hours=2)
            for employee_no in reviewers:
                for item in review_queue(db, employee_no, bank, when).due:
                    question = item.question
                    given = right_answer(question) if rng.random() < 0.7 else wrong_answer(question)
                    answer_question(
                        db, employee_no, item.card.quiz_id, question, given, when, item.card.reviews
                    )
                    answers += 1
        print(
            f"{answers:,} review answers over {args.days} days in {time.perf_counter() - started:.1f} s"
        )
        cards, log = db.execute(
            "SELECT (SELECT COUNT(*) FROM review_cards), (SELECT COUNT(*) FROM review_log)"
        ).fetchone()
        print(f"{cards:,} cards, {log:,} log rows")
        db.execute("PRAGMA synchronous = FULL")

        sample = rng.sample(reviewers, min(args.sample, len(reviewers)))
        now = DEADLINE + timedelta(days=args.days + 1, hours=2)
        print("\nper person (wall p50 / p95 ms, CPU mean ms):")
        for label, run in (
            ("review_queue (错题练习 / 我的进度 read)", lambda e: review_queue(db, e, bank, now)),
            ("wrong_questions (the 错题本 read before)", lambda e: wrong_questions(db, e, bank)),
        ):
            p50, p95, cpu = per_call(run, sample)
            print(f"  {label:<45} {p50:7.2f} / {p95:7.2f}   CPU {cpu:6.2f}")

        def one_answer(employee_no: str) -> None:
            queue = review_queue(db, employee_no, bank, now)
            item = (queue.due or queue.later)[0]
            answer_question(
                db,
                employee_no,
                item.card.quiz_id,
                item.question,
                right_answer(item.question),
                now,
                item.card.reviews,
            )

        p50, p95, cpu = per_call(
            one_answer,
            [
                e
                for e in sample
                if review_queue(db, e, bank, now).due or review_queue(db, e, bank, now).later
            ],
        )
        print(
            f"  {'a review answer (queue read + answer_question)':<45} {p50:7.2f} / {p95:7.2f}   CPU {cpu:6.2f}"
        )

        scope = Scope(db, plan, bank, now)
        print("\nbureau (best of 3, wall / CPU ms):")
        for label, run in (
            ("review_by_department (office figure)", lambda: review_by_department(scope)),
            (
                "floor: one aggregate over log x cards",
                lambda: db.execute(
                    "SELECT c.employee_no, COUNT(*), SUM(l.correct) FROM review_log l "
                    "JOIN review_cards c ON c.id = l.card_id GROUP BY c.employee_no"
                ).fetchall(),
            ),
        ):
            best = best_cpu = float("inf")
            for _ in range(3):
                started, cpu = time.perf_counter(), time.process_time()
                run()
                best = min(best, time.perf_counter() - started)
                best_cpu = min(best_cpu, time.process_time() - cpu)
            print(f"  {label:<45} {best * 1e3:8.1f} / {best_cpu * 1e3:8.1f}")
        print(review_by_department(scope).head(5).to_string(index=False))
        db.close()


if __name__ == "__main__":
    main()
