"""Spaced review of mistakes: one FSRS card per person and question got wrong.

A card is made when a person gets a bank question wrong, in a graded attempt or in
practice, and is scheduled by FSRS (the ``fsrs`` package). Every later practice answer to
that question is a review: right is ``Rating.Good``, wrong is ``Rating.Again``. A card
answered right at :data:`RETIRE_AFTER` due reviews in a row is retired (mastered); a
later wrong answer brings it back. Reviews are stored here only: they never create an
attempt, never change a score and never count towards the study plan.

Rules decided here:

* **Cards from graded attempts are made after grading, idempotently**
  (:func:`sync_attempt_mistakes`, run before the practice page and 我的进度 read the
  cards, and before every review is written), not inside the grading transaction: that
  transaction is what 200 submissions queue for at the deadline, and FSRS has no reason to
  run there. Each card is stamped with the attempt's own submission time, so the schedule
  is the same whenever the sync runs; the log's ``UNIQUE (card_id, attempt_id)`` makes a
  second sync (another tab, the other worker) a no-op.
* **Days, not hours.** FSRS is given each answer at the start of its Beijing day, so a
  card is due from midnight of its day (Beijing time) and two answers on one day are
  "the same day" to FSRS, as Anki counts days. No learning steps (1 and 10 minutes by
  default: a flash-card session, not a mistake seen again tomorrow) and no fuzz (the
  schedule is exact and testable). A wrong answer makes a card due the next day.
* **Right only as Good, wrong only as Again.** Grading says right or wrong (a partly
  right multiple choice is not right); nobody is asked to rate how hard it felt, so Hard
  and Easy have no evidence behind them.
* **The streak counts due reviews.** A right answer before the card is due moves FSRS's
  memory state but not the streak: three right answers in one sitting are not spaced
  recall. A wrong answer, due or not, ends the streak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlite_utils
from fsrs import Card, Rating, Scheduler, State

from base.clock import LOCAL_TZ, from_stamp, start_of_day, to_stamp
from base.sql import query_frame, rows
from base.store import migrate, write
from quizzes.attempt_stats import wrong_answers_of
from quizzes.attempts import PracticeFeedback, practice_check
from quizzes.bank import Bank, Question

COMPONENT = "review"

RETIRE_AFTER = 3
"""Right answers at due reviews in a row that retire a card."""

DESIRED_RETENTION = 0.9
"""FSRS's target: a card is due when the chance of recalling it falls to 90 %."""

SCHEDULER = Scheduler(
    desired_retention=DESIRED_RETENTION,
    learning_steps=(),
    relearning_steps=(),
    enable_fuzzing=False,
)
"""FSRS-6 with its default parameters (:data:`fsrs.scheduler.DEFAULT_PARAMETERS`)."""


def _create_v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE review_cards (
            id INTEGER PRIMARY KEY,
            employee_no TEXT NOT NULL,
            quiz_id TEXT NOT NULL,
            question_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state INTEGER NOT NULL,          -- fsrs.State
            stability REAL NOT NULL,
            difficulty REAL NOT NULL,
            due TEXT NOT NULL,               -- the start of a Beijing day, stored in UTC
            last_review TEXT NOT NULL,       -- as FSRS saw it: the start of a Beijing day
            last_answer_at TEXT NOT NULL,    -- the real moment of the last answer
            reviews INTEGER NOT NULL,        -- answers recorded; also the card's version
            streak INTEGER NOT NULL,         -- right answers at due reviews in a row
            retired_at TEXT,
            UNIQUE (employee_no, quiz_id, question_id)
        )
        """
    )
    db.execute("CREATE INDEX review_cards_due ON review_cards (employee_no, due)")
    # One row per answer that changed a card: the office's figures are made from it.
    db.execute(
        """
        CREATE TABLE review_log (
            id INTEGER PRIMARY KEY,
            card_id INTEGER NOT NULL REFERENCES review_cards (id),
            reviewed_at TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('attempt', 'practice')),
            attempt_id INTEGER,
            correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
            was_due INTEGER NOT NULL CHECK (was_due IN (0, 1)),
            UNIQUE (card_id, attempt_id)
        )
        """
    )
    db.execute("CREATE INDEX review_log_by_card ON review_log (card_id, id)")
    db.execute("CREATE INDEX review_log_by_time ON review_log (reviewed_at)")


STEPS = [_create_v1]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the review tables (component ``review``); returns the version."""
    return migrate(db, COMPONENT, STEPS)


# -- types that cross the boundary ----------------------------------------------------------


@dataclass(frozen=True)
class ReviewCard:
    """One person's card for one question.

    Attributes:
        due: from when it is due: the start of a Beijing day (aware, UTC).
        state, stability, difficulty, last_review: FSRS's memory state (``fsrs.State``;
            the last answer's day as FSRS was given it).
        reviews: answers recorded on it, the first (wrong) one included; the page passes
            the number it showed back with an answer, so a double click records once.
        streak: right answers at due reviews in a row.
        retired_at: when it was retired (mastered); None while in review.
    """

    id: int
    employee_no: str
    quiz_id: str
    question_id: str
    created_at: datetime
    due: datetime
    last_answer_at: datetime
    state: int
    stability: float
    difficulty: float
    last_review: datetime
    reviews: int
    streak: int
    retired_at: datetime | None

    def is_due(self, now: datetime) -> bool:
        """Whether the card is in review and due at ``now``."""
        return self.retired_at is None and self.due <= now


@dataclass(frozen=True)
class ReviewItem:
    """A card with its question as the bank has it now."""

    card: ReviewCard
    quiz_title: str
    question: Question


@dataclass(frozen=True)
class ReviewQueue:
    """A person's cards of questions in service.

    Attributes:
        due: due now, the longest due first (then bank order).
        later: in review, not yet due, the soonest first.
        mastered: retired cards.
    """

    due: tuple[ReviewItem, ...]
    later: tuple[ReviewItem, ...]
    mastered: int

    @property
    def next_due(self) -> datetime | None:
        """When the next card not yet due becomes due; None if none."""
        return self.later[0].card.due if self.later else None


# -- writes -----------------------------------------------------------------------------------


def sync_attempt_mistakes(db: sqlite_utils.Database, employee_no: str) -> int:
    """Make or update the cards of the person's wrong answers in graded attempts that no
    card has seen yet, oldest first, each at its attempt's submission time.

    A read finds the new ones; only then is a write transaction opened (so a page that
    calls this on every run writes nothing when nothing changed). Idempotent.

    Returns:
        How many wrong answers were recorded.
    """
    employee_no = employee_no.strip()
    if not _unseen_mistakes(db, employee_no):
        return 0
    recorded = 0
    with write(db):
        for attempt_id, quiz_id, question_id, submitted_at in _unseen_mistakes(db, employee_no):
            _record(
                db,
                employee_no,
                quiz_id,
                question_id,
                correct=False,
                at=datetime.fromisoformat(submitted_at),
                source="attempt",
                attempt_id=attempt_id,
            )
            recorded += 1
    return recorded


def _unseen_mistakes(db: sqlite_utils.Database, employee_no: str) -> list[tuple[Any, ...]]:
    seen = {
        (row[0], row[1], row[2])
        for row in db.execute(
            "SELECT l.attempt_id, c.quiz_id, c.question_id FROM review_log l "
            "JOIN review_cards c ON c.id = l.card_id "
            "WHERE c.employee_no = ? AND l.attempt_id IS NOT NULL",
            [employee_no],
        )
    }
    return [row for row in wrong_answers_of(db, employee_no) if tuple(row[:3]) not in seen]


def answer_question(
    db: sqlite_utils.Database,
    employee_no: str,
    quiz_id: str,
    question: Question,
    answer: Any,
    now: datetime,
    seen_reviews: int,
) -> tuple[PracticeFeedback, ReviewCard | None]:
    """Grade a practice answer to a bank question and record it on the person's card.

    A wrong answer makes the card if there is none; any answer to a card in review is a
    review (Good or Again); a right answer to a retired card changes nothing, a wrong one
    brings it back into review. Nothing else is stored: no attempt, no score.

    Args:
        quiz_id: the quiz the question belongs to.
        answer: in the question's original option keys (:mod:`quizzes.grading`).
        now: the moment of the answer, aware.
        seen_reviews: the card's ``reviews`` as the page showed it (0 without a card).
            When the card has changed since (a double click, another tab), the answer is
            graded but not recorded again.

    Returns:
        The feedback to show, and the card as it is now (None: no card).
    """
    feedback = practice_check(question, answer)
    employee_no = employee_no.strip()
    sync_attempt_mistakes(db, employee_no)
    with write(db):
        card = _card(db, employee_no, quiz_id, question.id)
        if (0 if card is None else card.reviews) == seen_reviews:
            card = _record(
                db,
                employee_no,
                quiz_id,
                question.id,
                correct=feedback.correct,
                at=_utc(now),
                source="practice",
                attempt_id=None,
            )
    return feedback, card


def _record(
    db: sqlite_utils.Database,
    employee_no: str,
    quiz_id: str,
    question_id: str,
    *,
    correct: bool,
    at: datetime,
    source: str,
    attempt_id: int | None,
) -> ReviewCard | None:
    # Inside a write transaction: one answer applied to the card (made by a first wrong
    # answer), and its log row.
    card = _card(db, employee_no, quiz_id, question_id)
    if correct and (card is None or card.retired_at is not None):
        return card
    if card is None:
        memory, streak, was_due = Card(card_id=0, due=_day(at)), 0, False
    else:
        # An attempt graded late (expired: stamped at its deadline) may be older than the
        # last answer: it is applied as of that answer, so the history stays in order.
        at = max(at, card.last_answer_at)
        was_due = card.is_due(at)
        memory = Card(
            card_id=card.id,
            state=State(card.state),
            step=None,
            stability=card.stability,
            difficulty=card.difficulty,
            due=card.due,
            last_review=card.last_review,
        )
        # Right before it is due: FSRS learns from it, the streak does not count it.
        streak = 0 if not correct else card.streak + int(was_due)
    memory, _ = SCHEDULER.review_card(memory, Rating.Good if correct else Rating.Again, _day(at))
    card_id = db.execute(
        "INSERT INTO review_cards (employee_no, quiz_id, question_id, created_at, state, "
        "stability, difficulty, due, last_review, last_answer_at, reviews, streak, retired_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
        "ON CONFLICT (employee_no, quiz_id, question_id) DO UPDATE SET state = excluded.state, "
        "stability = excluded.stability, difficulty = excluded.difficulty, due = excluded.due, "
        "last_review = excluded.last_review, last_answer_at = excluded.last_answer_at, "
        "reviews = reviews + 1, streak = excluded.streak, retired_at = excluded.retired_at "
        "RETURNING id",
        [
            employee_no,
            quiz_id,
            question_id,
            to_stamp(at),
            int(memory.state),
            memory.stability,
            memory.difficulty,
            to_stamp(memory.due),
            to_stamp(_day(at)),
            to_stamp(at),
            streak,
            to_stamp(at) if streak >= RETIRE_AFTER else None,
        ],
    ).fetchone()[0]
    db.execute(
        "INSERT INTO review_log (card_id, reviewed_at, source, attempt_id, correct, was_due) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [card_id, to_stamp(at), source, attempt_id, int(correct), int(was_due)],
    )
    return _card(db, employee_no, quiz_id, question_id)


# -- reads ------------------------------------------------------------------------------------


def delete_cards_of(db: sqlite_utils.Database, people_sql: str, params: Any = ()) -> int:
    """Delete the review cards, with their log, of the people ``people_sql`` selects,
    inside the caller's write transaction (removing demo data).

    Returns:
        How many cards went.
    """
    cards = f"SELECT id FROM review_cards WHERE employee_no IN ({people_sql})"
    db.execute(f"DELETE FROM review_log WHERE card_id IN ({cards})", params)
    return db.execute(
        f"DELETE FROM review_cards WHERE employee_no IN ({people_sql})", params
    ).rowcount


def cards_of(db: sqlite_utils.Database, employee_no: str) -> list[ReviewCard]:
    """Every card of one person, retired ones included, in the order they were made."""
    return [
        _from_row(row)
        for row in rows(
            db, "SELECT * FROM review_cards WHERE employee_no = ? ORDER BY id", [employee_no]
        )
    ]


def cards_by_question(
    db: sqlite_utils.Database, employee_no: str
) -> dict[tuple[str, str], ReviewCard]:
    """The person's cards by ``(quiz_id, question_id)``, graded mistakes carded first
    (:func:`sync_attempt_mistakes`): what a page shows with a question, to pass the
    card's ``reviews`` back with an answer."""
    employee_no = employee_no.strip()
    sync_attempt_mistakes(db, employee_no)
    return {(c.quiz_id, c.question_id): c for c in cards_of(db, employee_no)}


def review_queue(
    db: sqlite_utils.Database, employee_no: str, bank: Bank, now: datetime
) -> ReviewQueue:
    """The person's cards of questions in service, due ones first (graded mistakes not yet
    carded are carded first, :func:`sync_attempt_mistakes`).

    A card whose quiz or question is no longer in service (retired, replaced, flagged,
    or gone from the bank) is not shown; it stays stored.
    """
    employee_no = employee_no.strip()
    sync_attempt_mistakes(db, employee_no)
    now = _utc(now)
    positions = {
        (quiz_id, question.id): (quiz_index, position, quiz.title, question)
        for quiz_index, (quiz_id, quiz) in enumerate(bank.quizzes.items())
        for position, question in enumerate(quiz.active_questions)
    }
    due: list[tuple[Any, ReviewItem]] = []
    later: list[tuple[Any, ReviewItem]] = []
    mastered = 0
    for card in cards_of(db, employee_no):
        found = positions.get((card.quiz_id, card.question_id))
        if found is None:
            continue
        if card.retired_at is not None:
            mastered += 1
            continue
        quiz_index, position, title, question = found
        item = ReviewItem(card, title, question)
        (due if card.is_due(now) else later).append(((card.due, quiz_index, position), item))
    due.sort(key=lambda pair: pair[0])
    later.sort(key=lambda pair: pair[0])
    return ReviewQueue(
        due=tuple(item for _, item in due),
        later=tuple(item for _, item in later),
        mastered=mastered,
    )


def review_tallies(
    db: sqlite_utils.Database, who: tuple[str, dict[str, Any]], as_of: datetime
) -> pd.DataFrame:
    """Per department of ``who``, the mistakes reviewed by ``as_of`` and how many were
    answered right at that review.

    A mistake is a wrong answer recorded on a card (in a graded attempt, in practice or
    at a review). Its review is the card's next due review (a practice answer given when
    the card was due), provided no other mistake on the card came between: then that
    later mistake is the one the review answers. Everything counted happened by ``as_of``.

    Returns:
        One row per department of ``who`` (also without reviews): ``department``,
        ``reviewers`` (people with a counted review), ``reviewed``, ``right``.
    """
    cte, params = who
    params = {**params, "as_of": to_stamp(as_of)}
    return query_frame(
        db,
        f"""WITH {cte},
        -- The mistakes and the due reviews, each with whether the one before it on the
        -- card was a mistake: a due review right after a mistake is that mistake's review.
        events AS (
            SELECT c.employee_no, l.correct,
                l.source = 'practice' AND l.was_due = 1 AS is_review,
                LAG(l.correct) OVER (PARTITION BY l.card_id ORDER BY l.id) AS after_correct
            FROM review_log l JOIN review_cards c ON c.id = l.card_id
            WHERE l.reviewed_at <= :as_of
              AND (l.correct = 0 OR (l.source = 'practice' AND l.was_due = 1))
              AND c.employee_no IN (SELECT employee_no FROM who)),
        reviewed AS (
            SELECT employee_no, correct FROM events WHERE is_review AND after_correct = 0)
        SELECT w.department, COUNT(DISTINCT r.employee_no) AS reviewers,
            COUNT(r.employee_no) AS reviewed, TOTAL(r.correct) AS "right"
        FROM who w LEFT JOIN reviewed r ON r.employee_no = w.employee_no
        GROUP BY w.department ORDER BY w.department""",
        params,
    )


# -- helpers ----------------------------------------------------------------------------------


def _card(
    db: sqlite_utils.Database, employee_no: str, quiz_id: str, question_id: str
) -> ReviewCard | None:
    row = _one(
        db,
        "SELECT * FROM review_cards WHERE employee_no = ? AND quiz_id = ? AND question_id = ?",
        [employee_no, quiz_id, question_id],
    )
    return None if row is None else _from_row(row)


def _one(db: sqlite_utils.Database, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    found = rows(db, sql, params)
    return found[0] if found else None


def _from_row(row: dict[str, Any]) -> ReviewCard:
    return ReviewCard(
        id=row["id"],
        employee_no=row["employee_no"],
        quiz_id=row["quiz_id"],
        question_id=row["question_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        due=datetime.fromisoformat(row["due"]),
        last_answer_at=datetime.fromisoformat(row["last_answer_at"]),
        state=row["state"],
        stability=row["stability"],
        difficulty=row["difficulty"],
        last_review=datetime.fromisoformat(row["last_review"]),
        reviews=row["reviews"],
        streak=row["streak"],
        retired_at=from_stamp(row["retired_at"]),
    )


def _day(moment: datetime) -> datetime:
    """The start of ``moment``'s Beijing day, in UTC (FSRS wants UTC)."""
    return start_of_day(moment.astimezone(LOCAL_TZ).date()).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return moment.astimezone(UTC)
