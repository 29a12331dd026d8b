"""Quiz attempts in SQLite: start or resume, save answers, submit exactly once, results.

Every write goes through :func:`base.store.write` (``BEGIN IMMEDIATE`` under the process's
writer lock). Concurrency is settled by constraints and conditional statements, never by
reading a value and writing it back later:

* at most one in-progress attempt per person and quiz: a partial UNIQUE index;
* ``attempts_allowed``: the next attempt number is computed inside the INSERT, which only
  inserts while the number stays within the limit, and (quiz, person, number) is UNIQUE;
* one graded result per attempt: grading and ``status = 'submitted'`` are written in one
  transaction guarded by ``UPDATE ... WHERE id = ? AND status = 'in_progress'``.

Times are stored as UTC ISO-8601 text with a fixed width (microseconds, ``+00:00``), so
text order is time order in SQL. ``now`` and ``rng`` are arguments so tests are exact.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd
import sqlite_utils

from base.clock import from_stamp, to_stamp
from base.sql import in_list_sql, query_frame
from base.store import migrate, write
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from quizzes.attempt_tallies import (
    SCORE_BANDS,
    cover_day_tallies,
    create_tallies,
    index_attempt_pace,
    rebuild_tallies,
    tally_attempts,
)
from quizzes.bank import CHOICE_TYPES, AnswerKey, Bank, Question, Quiz, Source
from quizzes.grading import grade_question
from quizzes.plan_status import refresh_plan_status

GRACE_SECONDS = 10
"""Saves and submissions arriving this long after the deadline still count (network lag)."""

MAX_FILL_CHARS = 200

AttemptStatus = Literal["in_progress", "submitted", "expired"]
QuizState = Literal["not_started", "in_progress", "passed", "failed"]

_GRACE = timedelta(seconds=GRACE_SECONDS)


class AttemptError(Exception):
    """Base of the refusals below; ``str(error)`` is a message for the person, in Chinese."""


class AccessDenied(AttemptError, PermissionError):
    """The attempt does not exist or belongs to someone else (the two are not told apart)."""

    def __init__(self) -> None:
        super().__init__("无权访问这次作答")


class AttemptClosed(AttemptError):
    """The attempt was submitted, or its time (plus grace) is over: answers are frozen."""


class NoAttemptsLeft(AttemptError):
    """Every allowed attempt of the quiz has been used."""


class QuizUnavailable(AttemptError):
    """The quiz is not in the bank now (its file failed to load) or has no usable question."""


class InvalidAnswer(AttemptError, ValueError):
    """The answer does not fit the question (unknown question, option or form)."""


@dataclass(frozen=True)
class Attempt:
    """One person's attempt at a quiz, with the answers saved so far.

    Attributes:
        attempt_no: 1 for the person's first attempt at this quiz, 2 for the second, ...
        question_ids: the drawn questions in the order they are shown.
        option_orders: for each choice question, its original option keys in the order
            they are shown. The UI maps a displayed position back to a key with it.
        answers: question id -> saved answer (in original option keys); unanswered
            questions are absent.
        submit_token: a random per-attempt nonce from ``rng`` (not a secret, not an id):
            the UI may use it in widget and form keys so a stale tab's state never
            mixes with a newer attempt's.
    """

    id: int
    quiz_id: str
    employee_no: str
    attempt_no: int
    status: AttemptStatus
    started_at: datetime
    expires_at: datetime | None
    submitted_at: datetime | None
    question_ids: tuple[str, ...]
    option_orders: dict[str, tuple[str, ...]]
    answers: dict[str, Any]
    submit_token: str

    def is_open(self, now: datetime) -> bool:
        """Whether answers may still be saved at ``now`` (in progress, within time + grace)."""
        return self.status == "in_progress" and not _overdue(self.expires_at, now)

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds until the time limit (not counting grace), 0 when over; ``None`` if untimed."""
        if self.expires_at is None:
            return None
        return max(0.0, (self.expires_at - now).total_seconds())

    def displayed_options(self, question: Question) -> tuple[tuple[str, str], ...]:
        """The ``(key, text)`` options of ``question`` in the order this attempt shows them."""
        return shown_options(question, self.option_orders.get(question.id))


def shown_options(question: Question, order: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """The ``(key, text)`` options of ``question`` in ``order`` (bank order when empty).

    A key no longer in the bank is dropped.
    """
    texts = dict(question.options)
    return tuple((key, texts[key]) for key in order or question.option_keys if key in texts)


@dataclass(frozen=True)
class QuestionResult:
    """How one drawn question was graded.

    ``points``, ``max_points`` and ``correct`` are ``None`` for a question that was no
    longer in the bank at grading time: it is void and left out of the score.
    """

    question_id: str
    answer: Any
    points: float | None
    max_points: float | None
    correct: bool | None


@dataclass(frozen=True)
class AttemptResult:
    """The stored, graded outcome of an attempt.

    Attributes:
        status: ``submitted``, or ``expired`` when graded after the time limit and grace.
        submitted_at: when it was submitted; for an expired attempt, its deadline.
        questions: per drawn question, in the order shown (the first is question 1).
        option_orders: for each choice question, its option keys in the order shown
            (lettered A, B, … by position during the attempt).
    """

    attempt_id: int
    quiz_id: str
    employee_no: str
    attempt_no: int
    status: AttemptStatus
    started_at: datetime
    submitted_at: datetime
    score: float
    max_score: float
    passed: bool
    questions: tuple[QuestionResult, ...]
    option_orders: dict[str, tuple[str, ...]]

    def displayed_options(self, question: Question) -> tuple[tuple[str, str], ...]:
        """The ``(key, text)`` options of ``question`` in the order the attempt showed them."""
        return shown_options(question, self.option_orders.get(question.id))

    @property
    def percent(self) -> float:
        """The score as a percentage of the maximum (0 when nothing could be scored)."""
        return 100 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class QuizStatus:
    """Where a person stands with one quiz.

    Attributes:
        state: ``in_progress`` while an attempt is open, else ``passed`` if any attempt
            passed, else ``failed`` if any was graded, else ``not_started``.
        passed: whether any attempt passed (also true while retrying after a pass).
        best_score, best_max_score: the graded attempt with the best percentage.
        open_attempt_id: the attempt to resume, if any.
    """

    quiz_id: str
    title: str
    state: QuizState
    passed: bool
    attempts_used: int
    attempts_left: int
    best_score: float | None
    best_max_score: float | None
    open_attempt_id: int | None


@dataclass(frozen=True)
class WrongQuestion:
    """A question of the 错题本: answered wrong (or left blank) in a graded attempt.

    Attributes:
        question: the question as it is in the bank now (explanation and source included).
        times_wrong: in how many graded attempts it was not correct.
        last_wrong_answer: the most recent wrong answer (``None`` if left blank).
        last_wrong_at: when that attempt was submitted.
        answered_right_later: whether a later graded attempt got it right.
        last_wrong_number: the question's number in that attempt (1 for the first shown).
        last_wrong_order: its option keys in the order that attempt showed them (empty
            for a question without options).
    """

    quiz_id: str
    quiz_title: str
    question: Question
    times_wrong: int
    last_wrong_answer: Any
    last_wrong_at: datetime
    answered_right_later: bool
    last_wrong_number: int
    last_wrong_order: tuple[str, ...]

    def displayed_options(self) -> tuple[tuple[str, str], ...]:
        """The options in the order of the attempt last answered wrong (its letters)."""
        return shown_options(self.question, self.last_wrong_order)


@dataclass(frozen=True)
class PracticeFeedback:
    """The outcome of a practice answer (never stored)."""

    question_id: str
    points: float
    max_points: float
    correct: bool
    partial: bool
    correct_answer: AnswerKey
    explanation: str
    source: Source


def _schema_v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            quiz_id TEXT NOT NULL,
            employee_no TEXT NOT NULL,
            attempt_no INTEGER NOT NULL CHECK (attempt_no >= 1),
            started_at TEXT NOT NULL,
            expires_at TEXT,
            submitted_at TEXT,
            status TEXT NOT NULL DEFAULT 'in_progress'
                CHECK (status IN ('in_progress', 'submitted', 'expired')),
            score REAL,
            max_score REAL,
            passed INTEGER CHECK (passed IN (0, 1)),
            question_ids TEXT NOT NULL,
            option_orders TEXT NOT NULL,
            submit_token TEXT NOT NULL,
            UNIQUE (quiz_id, employee_no, attempt_no)
        )
        """
    )
    # Two tabs (or two processes) starting the same quiz must end up in one attempt.
    db.execute(
        "CREATE UNIQUE INDEX attempts_one_open ON attempts (quiz_id, employee_no) "
        "WHERE status = 'in_progress'"
    )
    db.execute("CREATE INDEX attempts_by_person ON attempts (employee_no, quiz_id)")
    db.execute("CREATE INDEX attempts_deadline ON attempts (status, expires_at)")
    # max_points keeps a stored result exact even after the bank changes a question's points.
    db.execute(
        """
        CREATE TABLE answers (
            attempt_id INTEGER NOT NULL REFERENCES attempts (id),
            question_id TEXT NOT NULL,
            answer TEXT NOT NULL,
            saved_at TEXT,
            points REAL,
            max_points REAL,
            correct INTEGER CHECK (correct IN (0, 1)),
            PRIMARY KEY (attempt_id, question_id)
        )
        """
    )


_BAND_COLUMNS = ", ".join(f"band{i} INTEGER NOT NULL" for i in range(len(SCORE_BANDS)))


def _schema_v2(db: sqlite_utils.Database) -> None:
    # Per person and quiz, what the office's figures need, kept in the same write
    # transaction as every attempt started or graded (``_refresh_summaries``), so it can
    # never drift from the attempts; ``rebuild_summaries`` makes it again from them.
    # ``changed_at`` is the latest start or submission: a row is the state as of any
    # moment at or after it (see ``quiz_progress``).
    db.execute(
        f"""
        CREATE TABLE quiz_summaries (
            employee_no TEXT NOT NULL,
            quiz_id TEXT NOT NULL,
            attempts_used INTEGER NOT NULL,
            first_started_at TEXT NOT NULL,
            last_started_at TEXT NOT NULL,
            first_pass_at TEXT,
            best_percent REAL,
            graded INTEGER NOT NULL,
            passed_attempts INTEGER NOT NULL,
            percent_sum REAL NOT NULL,
            {_BAND_COLUMNS},
            changed_at TEXT NOT NULL,
            PRIMARY KEY (employee_no, quiz_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX quiz_summaries_changed ON quiz_summaries (changed_at)")
    db.execute(f"INSERT INTO quiz_summaries {_summary_select()}")


# Step 3: the tallies of the graded attempts (quizzes.attempt_tallies), built from the
# attempts already stored. Step 4: their index by day covers the counts. Step 5: the
# marks by pace.
_MIGRATIONS = (_schema_v1, _schema_v2, create_tallies, cover_day_tallies, index_attempt_pace)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or upgrade the attempts tables (component ``attempts``), after the accounts'
    (the tallies key each graded attempt by the person's department then)."""
    ensure_accounts_schema(db)
    migrate(db, "attempts", _MIGRATIONS)


def start_attempt(
    db: sqlite_utils.Database,
    quiz: Quiz,
    employee_no: str,
    now: datetime,
    rng: random.Random,
) -> Attempt:
    """Start an attempt at ``quiz``, or resume the person's open one.

    An open attempt whose time (plus grace) is over is graded as expired first; it counts
    as used. A new attempt draws ``quiz.draw`` of the unflagged questions at random (all
    when ``draw`` is all), shuffles them and each question's options when the quiz says
    so, and stores the order. Passing does not stop a person from retrying while attempts
    remain.

    Args:
        db: the database (schema from :func:`ensure_schema`).
        quiz: the quiz, as in the bank now.
        employee_no: who is taking it.
        now: the current time (aware).
        rng: the source of the draw, the shuffles and the token.

    Returns:
        The attempt, with the answers saved so far when resumed.

    Raises:
        NoAttemptsLeft: every allowed attempt has been used.
        QuizUnavailable: the quiz has no unflagged question.
    """
    now = _utc(now)
    attempt_id: int | None = None
    with write(db):
        row = _one(
            db,
            "SELECT * FROM attempts WHERE quiz_id = ? AND employee_no = ? "
            "AND status = 'in_progress'",
            [quiz.id, employee_no],
        )
        if row is not None and not _overdue(from_stamp(row["expires_at"]), now):
            attempt_id = row["id"]
        else:
            if row is not None:
                _finalize(db, row, quiz, now)
            if quiz.active_questions:
                attempt_id = _insert_attempt(db, quiz, employee_no, now, rng)
    # Raised after the transaction: grading an overdue attempt above must still commit.
    if not quiz.active_questions and attempt_id is None:
        raise QuizUnavailable(f"测验《{quiz.title}》暂无可用题目，请联系创建办")
    if attempt_id is None:
        raise NoAttemptsLeft(f"测验《{quiz.title}》的 {quiz.attempts_allowed} 次作答机会已用完")
    return get_attempt(db, attempt_id, employee_no)


def _insert_attempt(
    db: sqlite_utils.Database, quiz: Quiz, employee_no: str, now: datetime, rng: random.Random
) -> int | None:
    active = list(quiz.active_questions)
    drawn = rng.sample(active, quiz.draw_count)
    if not quiz.shuffle_questions:
        position = {q.id: i for i, q in enumerate(active)}
        drawn.sort(key=lambda q: position[q.id])
    orders: dict[str, list[str]] = {}
    for question in drawn:
        if question.type in CHOICE_TYPES:
            keys = list(question.option_keys)
            if quiz.shuffle_options:
                rng.shuffle(keys)
            orders[question.id] = keys
    expires_at = (
        None
        if quiz.time_limit_minutes is None
        else now + timedelta(minutes=quiz.time_limit_minutes)
    )
    # The attempt number is computed and bounded inside the INSERT itself: HAVING drops
    # the row when the limit is reached. The open-attempt index turns a racing twin into
    # no row; any other constraint violation is a bug and raises.
    cursor = db.execute(
        """
        INSERT INTO attempts (quiz_id, employee_no, attempt_no, started_at, expires_at,
                              status, question_ids, option_orders, submit_token)
        SELECT :quiz_id, :employee_no, COALESCE(MAX(attempt_no), 0) + 1, :started_at,
               :expires_at, 'in_progress', :question_ids, :option_orders, :token
        FROM attempts WHERE quiz_id = :quiz_id AND employee_no = :employee_no
        HAVING COALESCE(MAX(attempt_no), 0) < :allowed
        ON CONFLICT (quiz_id, employee_no) WHERE status = 'in_progress' DO NOTHING
        RETURNING id
        """,
        {
            "quiz_id": quiz.id,
            "employee_no": employee_no,
            "started_at": to_stamp(now),
            "expires_at": None if expires_at is None else to_stamp(expires_at),
            "question_ids": _dumps([q.id for q in drawn]),
            "option_orders": _dumps(orders),
            "token": f"{rng.getrandbits(128):032x}",
            "allowed": quiz.attempts_allowed,
        },
    )
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None
    _refresh_summaries(db, [employee_no], quiz.id)
    return int(row[0])


def save_answer(
    db: sqlite_utils.Database,
    attempt_id: int,
    employee_no: str,
    question_id: str,
    answer: Any,
    now: datetime,
) -> None:
    """Save (or replace) the answer to one question of an open attempt.

    Args:
        answer: in original option keys: a key, a list of keys, a bool or the text typed;
            ``None`` clears it.
        now: the current time (aware).

    Raises:
        AccessDenied: not this person's attempt.
        AttemptClosed: already submitted, or past the time limit plus GRACE_SECONDS.
        InvalidAnswer: the question is not in the attempt, or the answer does not fit it.
    """
    now = _utc(now)
    with write(db):
        row = _owned(db, attempt_id, employee_no)
        if row["status"] != "in_progress":
            raise AttemptClosed("这次作答已经提交，答案不能再修改")
        if _overdue(from_stamp(row["expires_at"]), now):
            raise AttemptClosed("作答时间已到，答案未能保存")
        if question_id not in json.loads(row["question_ids"]):
            raise InvalidAnswer(f"题目 “{question_id}” 不在这次作答中")
        keys = json.loads(row["option_orders"]).get(question_id)
        value = _clean_answer(answer, None if keys is None else tuple(keys))
        db.execute(
            "INSERT INTO answers (attempt_id, question_id, answer, saved_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (attempt_id, question_id) "
            "DO UPDATE SET answer = excluded.answer, saved_at = excluded.saved_at",
            [attempt_id, question_id, _dumps(value), to_stamp(now)],
        )


def _clean_answer(answer: Any, keys: tuple[str, ...] | None) -> Any:
    if answer is None:
        return None
    if keys is not None:
        if isinstance(answer, str):
            if answer not in keys:
                raise InvalidAnswer(f"选项 “{answer}” 不存在")
            return answer
        if isinstance(answer, list | tuple | set | frozenset):
            for key in answer:
                if not isinstance(key, str) or key not in keys:
                    raise InvalidAnswer(f"选项 “{key}” 不存在")
            return sorted(set(answer))
        raise InvalidAnswer("选择题的答案应为选项")
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str):
        if len(answer) > MAX_FILL_CHARS:
            raise InvalidAnswer(f"答案不能超过 {MAX_FILL_CHARS} 个字")
        return answer
    raise InvalidAnswer("答案的形式与题目不符")


def submit_attempt(
    db: sqlite_utils.Database,
    attempt_id: int,
    employee_no: str,
    now: datetime,
    bank: Bank,
) -> AttemptResult:
    """Grade and close an attempt; idempotent.

    Grading and the change of status happen in one write transaction guarded by
    ``status = 'in_progress'``: a double click, two tabs or many threads at once produce
    one graded result, and every caller gets that stored result back. Submitted within
    the time limit plus GRACE_SECONDS the attempt is ``submitted``; later, what was
    saved is graded and the attempt is ``expired``.

    Args:
        now: the current time (aware).
        bank: the bank the attempt's quiz is graded against.

    Raises:
        AccessDenied: not this person's attempt.
        QuizUnavailable: the attempt is still open and its quiz is not in the bank (the
            answers stay saved; submitting works again once the quiz loads).
    """
    now = _utc(now)
    row = _owned(db, attempt_id, employee_no)
    if row["status"] == "in_progress":
        quiz = bank.quizzes.get(row["quiz_id"])
        if quiz is None:
            raise QuizUnavailable(f"测验 “{row['quiz_id']}” 暂不可用，答案已保存，请稍后再提交")
        # Read and grade before taking the writer lock; the write below only lands if the
        # attempt is still open with exactly the answers graded. Under the deadline burst
        # the writer lock is what 200 submits queue for, and its holder shares the
        # interpreter with every other thread: grading inside it held the lock 6 ms
        # median, 2 s in all for 200 submits (bench/load_sessions.py, bench/README_load.md).
        saved = _saved_answers(db, row["id"])
        grading = _grade(row, quiz, saved, now)
        with write(db):
            if not _store_grading(db, row["id"], grading, expected_answers=saved):
                # An answer was saved meanwhile, or another submit got there first.
                fresh = _owned(db, attempt_id, employee_no)
                if fresh["status"] == "in_progress":
                    _finalize(db, fresh, quiz, now)
    result = get_result(db, attempt_id, employee_no)
    assert result is not None
    return result


@dataclass(frozen=True)
class _Grading:
    status: str
    submitted_at: datetime
    score: float
    max_score: float
    passed: bool
    rows: str  # JSON: [[question_id, points, max_points, correct], ...]


_SAVED_ANSWERS_SQL = (
    "SELECT COALESCE(json_group_object(question_id, json(answer)), '{}') "
    "FROM answers WHERE attempt_id = ?"
)


def _saved_answers(db: sqlite_utils.Database, attempt_id: int) -> str:
    # The saved answers as one JSON object in one statement (a row at a time would hand
    # the interpreter lock over once per row); also the fingerprint _store_grading checks.
    return db.execute(_SAVED_ANSWERS_SQL, [attempt_id]).fetchone()[0]


def _grade(row: dict[str, Any], quiz: Quiz, saved_json: str, now: datetime) -> _Grading:
    expires_at = from_stamp(row["expires_at"])
    overdue = _overdue(expires_at, now)
    saved = json.loads(saved_json)
    rows: list[list[Any]] = []
    score = 0.0
    max_score = 0.0
    for question_id in json.loads(row["question_ids"]):
        try:
            question = quiz.question(question_id)
        except KeyError:
            rows.append([question_id, None, None, None])
            continue
        points, correct = grade_question(question, saved.get(question_id))
        rows.append(
            [question_id, points, question.points, None if correct is None else int(correct)]
        )
        score += points
        max_score += question.points
    return _Grading(
        status="expired" if overdue else "submitted",
        submitted_at=expires_at if overdue and expires_at is not None else now,
        score=score,
        max_score=max_score,
        passed=max_score > 0 and score * 100 >= quiz.pass_mark * max_score,
        rows=json.dumps(rows, ensure_ascii=False),
    )


def _store_grading(
    db: sqlite_utils.Database, attempt_id: int, grading: _Grading, expected_answers: str | None
) -> bool:
    # Runs inside a write transaction. Closes the attempt only if it is still open (and,
    # with ``expected_answers``, only if its saved answers are still those graded);
    # returns whether it did.
    sql = (
        "UPDATE attempts SET status = ?, submitted_at = ?, score = ?, max_score = ?, passed = ? "
        "WHERE id = ? AND status = 'in_progress'"
    )
    params: list[Any] = [
        grading.status,
        to_stamp(grading.submitted_at),
        grading.score,
        grading.max_score,
        int(grading.passed),
        attempt_id,
    ]
    if expected_answers is not None:
        sql += f" AND ({_SAVED_ANSWERS_SQL}) = ?"
        params += [attempt_id, expected_answers]
    if db.execute(sql, params).rowcount != 1:
        return False
    owner, quiz_id = db.execute(
        "SELECT employee_no, quiz_id FROM attempts WHERE id = ?", [attempt_id]
    ).fetchone()
    _refresh_summaries(db, [owner], quiz_id)
    # Unanswered questions get a row too, so per-question statistics count them as wrong.
    db.execute(
        "INSERT INTO answers (attempt_id, question_id, answer, saved_at, points, max_points, "
        "correct) SELECT ?, g.value ->> 0, 'null', NULL, g.value ->> 1, g.value ->> 2, "
        "g.value ->> 3 FROM json_each(?) AS g WHERE true "
        "ON CONFLICT (attempt_id, question_id) DO UPDATE SET points = excluded.points, "
        "max_points = excluded.max_points, correct = excluded.correct",
        [attempt_id, grading.rows],
    )
    tally_attempts(db, "a.id = :graded_id", {"graded_id": attempt_id})
    return True


def _finalize(db: sqlite_utils.Database, row: dict[str, Any], quiz: Quiz, now: datetime) -> bool:
    # Runs inside a write transaction. Returns whether this call did the grading.
    grading = _grade(row, quiz, _saved_answers(db, row["id"]), now)
    return _store_grading(db, row["id"], grading, expected_answers=None)


def expire_overdue_attempts(
    db: sqlite_utils.Database, now: datetime, bank: Bank
) -> tuple[int, ...]:
    """Grade, as expired, every open attempt whose time limit plus grace is over.

    Attempts of quizzes missing from the bank are left open (they cannot be graded).

    Returns:
        The ids of the attempts this call graded.
    """
    return _close_overdue(db, _utc(now), bank, employee_no=None)


def _close_overdue(
    db: sqlite_utils.Database, now: datetime, bank: Bank, employee_no: str | None
) -> tuple[int, ...]:
    sql = (
        "SELECT id, quiz_id FROM attempts WHERE status = 'in_progress' "
        "AND expires_at IS NOT NULL AND expires_at < ?"
    )
    params: list[Any] = [to_stamp(now - _GRACE)]
    if employee_no is not None:
        sql += " AND employee_no = ?"
        params.append(employee_no)
    closed = []
    for candidate in list(db.query(sql + " ORDER BY id", params)):
        quiz = bank.quizzes.get(candidate["quiz_id"])
        if quiz is None:
            continue
        # One short transaction per attempt keeps other writers (submissions) moving.
        with write(db):
            row = _one(
                db,
                "SELECT * FROM attempts WHERE id = ? AND status = 'in_progress'",
                [candidate["id"]],
            )
            if row is not None and _finalize(db, row, quiz, now):
                closed.append(row["id"])
    return tuple(closed)


def get_attempt(db: sqlite_utils.Database, attempt_id: int, employee_no: str) -> Attempt:
    """The attempt with its saved answers.

    Raises:
        AccessDenied: no such attempt for this person.
    """
    row = _owned(db, attempt_id, employee_no)
    answers = {
        r["question_id"]: json.loads(r["answer"])
        for r in db.query(
            "SELECT question_id, answer FROM answers WHERE attempt_id = ? AND answer != 'null'",
            [attempt_id],
        )
    }
    return Attempt(
        id=row["id"],
        quiz_id=row["quiz_id"],
        employee_no=row["employee_no"],
        attempt_no=row["attempt_no"],
        status=row["status"],
        started_at=_required_time(row["started_at"]),
        expires_at=from_stamp(row["expires_at"]),
        submitted_at=from_stamp(row["submitted_at"]),
        question_ids=tuple(json.loads(row["question_ids"])),
        option_orders={k: tuple(v) for k, v in json.loads(row["option_orders"]).items()},
        answers=answers,
        submit_token=row["submit_token"],
    )


def get_result(
    db: sqlite_utils.Database, attempt_id: int, employee_no: str
) -> AttemptResult | None:
    """The graded result of an attempt, or ``None`` while it is still in progress.

    Raises:
        AccessDenied: no such attempt for this person.
    """
    row = _owned(db, attempt_id, employee_no)
    if row["status"] == "in_progress":
        return None
    stored = {
        r["question_id"]: r
        for r in db.query(
            "SELECT question_id, answer, points, max_points, correct FROM answers "
            "WHERE attempt_id = ?",
            [attempt_id],
        )
    }
    questions = []
    for question_id in json.loads(row["question_ids"]):
        r = stored.get(question_id)
        questions.append(
            QuestionResult(
                question_id=question_id,
                answer=None if r is None else json.loads(r["answer"]),
                points=None if r is None else r["points"],
                max_points=None if r is None else r["max_points"],
                correct=None if r is None or r["correct"] is None else bool(r["correct"]),
            )
        )
    return AttemptResult(
        attempt_id=row["id"],
        quiz_id=row["quiz_id"],
        employee_no=row["employee_no"],
        attempt_no=row["attempt_no"],
        status=row["status"],
        started_at=_required_time(row["started_at"]),
        submitted_at=_required_time(row["submitted_at"]),
        score=row["score"],
        max_score=row["max_score"],
        passed=bool(row["passed"]),
        questions=tuple(questions),
        option_orders={k: tuple(v) for k, v in json.loads(row["option_orders"]).items()},
    )


def quiz_statuses(
    db: sqlite_utils.Database, employee_no: str, bank: Bank, now: datetime
) -> list[QuizStatus]:
    """Where the person stands with each quiz of the bank, in the bank's order.

    The person's attempts that ran out of time are graded (as expired) first, so the
    figures are final.
    """
    now = _utc(now)
    _close_overdue(db, now, bank, employee_no=employee_no)
    rows_by_quiz: dict[str, list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT id, quiz_id, status, score, max_score, passed FROM attempts "
        "WHERE employee_no = ? ORDER BY id",
        [employee_no],
    ):
        rows_by_quiz.setdefault(row["quiz_id"], []).append(row)

    statuses = []
    for quiz in bank.quizzes.values():
        rows = rows_by_quiz.get(quiz.id, [])
        open_ids = [r["id"] for r in rows if r["status"] == "in_progress"]
        graded = [r for r in rows if r["status"] != "in_progress"]
        passed = any(r["passed"] for r in graded)
        best = max(
            graded,
            key=lambda r: (r["score"] / r["max_score"] if r["max_score"] else 0.0, r["score"]),
            default=None,
        )
        state: QuizState
        if open_ids:
            state = "in_progress"
        elif passed:
            state = "passed"
        elif graded:
            state = "failed"
        else:
            state = "not_started"
        statuses.append(
            QuizStatus(
                quiz_id=quiz.id,
                title=quiz.title,
                state=state,
                passed=passed,
                attempts_used=len(rows),
                attempts_left=max(0, quiz.attempts_allowed - len(rows)),
                best_score=None if best is None else best["score"],
                best_max_score=None if best is None else best["max_score"],
                open_attempt_id=open_ids[0] if open_ids else None,
            )
        )
    return statuses


def wrong_questions(db: sqlite_utils.Database, employee_no: str, bank: Bank) -> list[WrongQuestion]:
    """The person's 错题本: every question not answered correctly in a graded attempt.

    A partly right multiple-choice answer counts as wrong; so does a blank. Questions no
    longer in the bank are left out. Most recently missed first.
    """
    tally: dict[tuple[str, str], dict[str, Any]] = {}
    for row in db.query(
        """
        SELECT a.quiz_id, a.submitted_at, a.question_ids, a.option_orders,
               s.question_id, s.answer, s.correct
        FROM answers s JOIN attempts a ON a.id = s.attempt_id
        WHERE a.employee_no = ? AND a.status IN ('submitted', 'expired')
          AND s.correct IS NOT NULL
        ORDER BY a.submitted_at, a.id
        """,
        [employee_no],
    ):
        entry = tally.setdefault(
            (row["quiz_id"], row["question_id"]),
            {
                "times_wrong": 0,
                "answer": None,
                "at": None,
                "right_after": False,
                "number": 0,
                "order": (),
            },
        )
        if row["correct"]:
            entry["right_after"] = entry["times_wrong"] > 0
        else:
            entry["times_wrong"] += 1
            entry["answer"] = json.loads(row["answer"])
            entry["at"] = row["submitted_at"]
            entry["right_after"] = False
            entry["number"] = json.loads(row["question_ids"]).index(row["question_id"]) + 1
            entry["order"] = tuple(json.loads(row["option_orders"]).get(row["question_id"], ()))

    quiz_order = {quiz_id: i for i, quiz_id in enumerate(bank.quizzes)}
    keyed: list[tuple[tuple[int, int], WrongQuestion]] = []
    for (quiz_id, question_id), entry in tally.items():
        quiz = bank.quizzes.get(quiz_id)
        if not entry["times_wrong"] or quiz is None:
            continue
        position = next((i for i, q in enumerate(quiz.questions) if q.id == question_id), None)
        if position is None:
            continue
        question = quiz.questions[position]
        order = (quiz_order[quiz_id], position)
        keyed.append(
            (
                order,
                WrongQuestion(
                    quiz_id=quiz_id,
                    quiz_title=quiz.title,
                    question=question,
                    times_wrong=entry["times_wrong"],
                    last_wrong_answer=entry["answer"],
                    last_wrong_at=_required_time(entry["at"]),
                    answered_right_later=entry["right_after"],
                    last_wrong_number=entry["number"],
                    last_wrong_order=entry["order"],
                ),
            )
        )
    # Most recently missed first; ties in bank order, as the questions are in the file
    # (sorting is stable, also in reverse).
    keyed.sort(key=lambda pair: pair[0])
    keyed.sort(key=lambda pair: pair[1].last_wrong_at, reverse=True)
    return [wrong for _, wrong in keyed]


def practice_check(question: Question, answer: Any) -> PracticeFeedback:
    """Grade a practice answer and return the feedback to show; nothing is stored.

    Args:
        question: the question practised.
        answer: in the question's original option keys (see :mod:`quizzes.grading`).
    """
    points, correct = grade_question(question, answer)
    return PracticeFeedback(
        question_id=question.id,
        points=points,
        max_points=question.points,
        correct=correct,
        partial=0 < points < question.points,
        correct_answer=question.answer,
        explanation=question.explanation,
        source=question.source,
    )


def _owned(db: sqlite_utils.Database, attempt_id: int, employee_no: str) -> dict[str, Any]:
    # Ownership is part of the query: another person's attempt is simply not found.
    row = _one(
        db, "SELECT * FROM attempts WHERE id = ? AND employee_no = ?", [attempt_id, employee_no]
    )
    if row is None:
        raise AccessDenied()
    return row


def _one(db: sqlite_utils.Database, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    # fetchone and done: no half-read statement is left open inside a write transaction.
    cursor = db.execute(sql, params)
    row = cursor.fetchone()
    names = [d[0] for d in cursor.description]
    cursor.close()
    return None if row is None else dict(zip(names, row, strict=True))


def _overdue(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now > expires_at + _GRACE


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return moment.astimezone(UTC)


def _required_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- the per person and quiz summary ----------------------------------------------------------


def _summary_select(
    where: str = "true", as_of: str | None = None, source: str = "attempts a"
) -> str:
    """The ``quiz_summaries`` columns computed from the attempts, per person and quiz.

    With ``as_of`` (a parameter name such as ``:as_of``), as they stood then: attempts
    started by then, graded by then.
    """
    graded = "a.status != 'in_progress'" + (
        "" if as_of is None else f" AND a.submitted_at <= {as_of}"
    )
    started = "true" if as_of is None else f"a.started_at <= {as_of}"
    pct = "CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score ELSE 0 END"
    bands = ", ".join(
        f"SUM(CASE WHEN {graded} AND {pct} >= {low} AND {pct} < {high} THEN 1 ELSE 0 END)"
        for _, low, high in SCORE_BANDS
    )
    return f"""SELECT a.employee_no, a.quiz_id, COUNT(*),
            MIN(a.started_at), MAX(a.started_at),
            MIN(CASE WHEN {graded} AND a.passed = 1 THEN a.submitted_at END),
            MAX(CASE WHEN {graded} AND a.max_score > 0 THEN a.score * 100.0 / a.max_score END),
            SUM(CASE WHEN {graded} THEN 1 ELSE 0 END),
            SUM(CASE WHEN {graded} AND a.passed = 1 THEN 1 ELSE 0 END),
            TOTAL(CASE WHEN {graded} THEN {pct} END),
            {bands},
            MAX(MAX(a.started_at), COALESCE(MAX(a.submitted_at), ''))
        FROM {source} WHERE {started} AND {where}
        GROUP BY a.employee_no, a.quiz_id"""


_SUMMARY_COLUMNS = (
    "employee_no, quiz_id, attempts_used, first_started_at, last_started_at, first_pass_at, "
    "best_percent, graded, passed_attempts, percent_sum, "
    + ", ".join(f"band{i}" for i in range(len(SCORE_BANDS)))
    + ", changed_at"
)


def _refresh_summaries(
    db: sqlite_utils.Database, employee_nos: Sequence[str], quiz_id: str | None = None
) -> None:
    # Inside the caller's write transaction: these people's summary rows (of one quiz, or
    # of all), made again from their attempts. A handful of rows through the
    # (employee_no, quiz_id) index: cheaper than keeping counts by hand, and exact by
    # construction.
    quiz = "" if quiz_id is None else " AND quiz_id = ?"
    params: list[Any] = [_dumps(list(employee_nos))] + ([] if quiz_id is None else [quiz_id])
    people = "employee_no IN (SELECT value FROM json_each(?))"
    db.execute(f"DELETE FROM quiz_summaries WHERE {people}{quiz}", params)
    select = _summary_select(f"a.{people}{quiz.replace('quiz_id', 'a.quiz_id')}")
    db.execute(f"INSERT INTO quiz_summaries ({_SUMMARY_COLUMNS}) {select}", params)
    refresh_plan_status(db, employee_nos)


def quiz_records_sql(people: str, starts: bool) -> str:
    """A SELECT of the attempts' records per person and quiz, for another component's
    query that keeps a summary of them (:mod:`quizzes.plan_status`) inside the write
    transactions here: columns ``employee_no``, ``quiz_id``, ``first_pass_at``,
    ``last_started_at``, ``changed_at``, ``attempts_used`` (from ``quiz_summaries``) and
    ``starts``, every start, space-separated (NULL unless ``starts``).

    Args:
        people: an SQL list of 工号 the rows are limited to (empty: everyone).
        starts: whether to gather every start (a subquery per row).
    """
    every_start = (
        "(SELECT group_concat(a.started_at, ' ') FROM attempts a "
        "WHERE a.employee_no = s.employee_no AND a.quiz_id = s.quiz_id)"
        if starts
        else "NULL"
    )
    scoped = f"WHERE s.employee_no IN ({people})" if people else ""
    return f"""SELECT s.employee_no, s.quiz_id, s.first_pass_at, s.last_started_at,
            s.changed_at, s.attempts_used, {every_start} AS starts
        FROM quiz_summaries s {scoped}"""


def rebuild_summaries(db: sqlite_utils.Database) -> int:
    """Make ``quiz_summaries`` again from the attempts, in one write transaction.

    The summary is kept with every attempt started or graded, so this is for a database
    whose attempts were written by other means, or to check the kept one
    (``tests/test_attempts.py``). Returns the number of rows.
    """
    with write(db):
        db.execute("DELETE FROM quiz_summaries")
        return db.execute(
            f"INSERT INTO quiz_summaries ({_SUMMARY_COLUMNS}) {_summary_select()}"
        ).rowcount


def rebuild_attempt_tallies(db: sqlite_utils.Database) -> dict[str, int]:
    """Make the graded attempts' tallies (:mod:`quizzes.attempt_tallies`) again from the
    attempts, in one write transaction; returns the rows per table. They are kept with
    every attempt graded, so this is for attempts written by other means, or to check the
    kept ones (``tests/test_attempt_tallies.py``)."""
    with write(db):
        return rebuild_tallies(db)


# -- bulk writes and reads for the other components -----------------------------------------


def insert_graded_attempts(
    db: sqlite_utils.Database, attempts: Sequence[tuple], answers: Sequence[tuple]
) -> None:
    """Store many submitted, graded attempts with their answers at once, inside the
    caller's write transaction (demo data: :mod:`quizzes.demo`).

    Args:
        db: the app database, in :func:`base.store.write`.
        attempts: ``(id, quiz_id, employee_no, attempt_no, started_at, expires_at,
            submitted_at, score, max_score, passed, question_ids, option_orders,
            submit_token)`` rows, times as stored text.
        answers: ``(attempt_id, question_id, answer, saved_at, points, max_points,
            correct)`` rows.
    """
    conn = db.conn
    if attempts:
        conn.executemany(
            "INSERT INTO attempts (id, quiz_id, employee_no, attempt_no, started_at, "
            "expires_at, submitted_at, status, score, max_score, passed, question_ids, "
            "option_orders, submit_token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?)",
            attempts,
        )
    if answers:
        conn.executemany(
            "INSERT INTO answers (attempt_id, question_id, answer, saved_at, points, "
            "max_points, correct) VALUES (?, ?, ?, ?, ?, ?, ?)",
            answers,
        )
    _refresh_summaries(db, sorted({row[2] for row in attempts}))
    if attempts:
        tally_attempts(
            db,
            "a.id BETWEEN :first_id AND :last_id",
            {"first_id": min(r[0] for r in attempts), "last_id": max(r[0] for r in attempts)},
        )


def next_attempt_id(db: sqlite_utils.Database) -> int:
    """The id the next attempt would get; call it under the writer lock (demo data)."""
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]) + 1


def delete_attempts_of(
    db: sqlite_utils.Database, people_sql: str, params: Any = ()
) -> tuple[int, int]:
    """Delete every attempt, with its answers, of the people ``people_sql`` selects,
    inside the caller's write transaction (removing demo data).

    Returns:
        ``(answers, attempts)``: how many rows went.
    """
    tally_attempts(db, f"a.employee_no IN ({people_sql})", params, remove=True)
    answers = db.execute(
        "DELETE FROM answers WHERE attempt_id IN (SELECT a.id FROM attempts a "
        f"WHERE a.employee_no IN ({people_sql}))",
        params,
    ).rowcount
    attempts = db.execute(
        f"DELETE FROM attempts WHERE employee_no IN ({people_sql})", params
    ).rowcount
    people = [r[0] for r in db.execute(people_sql, params)]
    db.execute(f"DELETE FROM quiz_summaries WHERE employee_no IN ({people_sql})", params)
    refresh_plan_status(db, people)
    return answers, attempts


_RECOMPUTE_SHARE = 0.05
"""Above this share of summary rows changed after the moment, a figure of the past is
computed from the attempts in one pass instead (:func:`_pairs_as_of`)."""


def _pairs_as_of(
    db: sqlite_utils.Database,
    quiz_ids: Sequence[str],
    as_of: datetime,
    who: tuple[str, dict[str, Any]] | None,
) -> tuple[str, dict[str, Any]]:
    """The SQL (CTEs ``who`` if given, then ``pairs``) of the ``quiz_summaries`` columns
    per person and quiz as they stood at ``as_of``, with its parameters.

    A summary row that last changed by ``as_of`` is the state then; the few that changed
    later (none, when the figures are about now) are made again from their attempts as
    of then. So a figure of the past is exact, and a figure of now costs one pass over
    the summary, not over the attempts.
    """
    cte, params = who if who is not None else ("", {})
    params = {**params, "as_of": to_stamp(as_of)}
    quizzes = in_list_sql("q", quiz_ids, params)

    def scoped(alias: str) -> str:
        return "" if who is None else f"AND {alias}.employee_no IN (SELECT employee_no FROM who)"

    pairs = (
        f"SELECT {_SUMMARY_COLUMNS} FROM quiz_summaries s "
        f"WHERE s.quiz_id IN ({quizzes}) AND s.changed_at <= :as_of {scoped('s')}"
    )
    later, total = db.execute(
        "SELECT (SELECT COUNT(*) FROM quiz_summaries WHERE changed_at > :as_of), "
        "(SELECT COUNT(*) FROM quiz_summaries)",
        params,
    ).fetchone()
    if later > total * _RECOMPUTE_SHARE:
        # Most rows changed since: one pass over the attempts as of then costs less than
        # looking each changed row's attempts up.
        pairs = _summary_select(f"a.quiz_id IN ({quizzes}) {scoped('a')}", as_of=":as_of")
    elif later:
        pairs += " UNION ALL " + _summary_select(
            f"s.changed_at > :as_of AND s.quiz_id IN ({quizzes}) {scoped('s')}",
            as_of=":as_of",
            source="quiz_summaries s JOIN attempts a "
            "ON a.employee_no = s.employee_no AND a.quiz_id = s.quiz_id",
        )
    ctes = ([cte] if cte else []) + [f"pairs ({_SUMMARY_COLUMNS}) AS ({pairs})"]
    return "WITH " + ", ".join(ctes), params


def quiz_progress(
    db: sqlite_utils.Database,
    quiz_ids: Sequence[str],
    as_of: datetime,
    who: tuple[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Per person and quiz, as of a moment: attempts used, the first pass, the best score.

    Counts attempts started by ``as_of``; a pass or a score counts once the attempt was
    graded by then.

    Args:
        db: the app database.
        quiz_ids: the quizzes.
        as_of: the moment, aware.
        who: only the people of this ``who`` CTE (:func:`quizzes.people.people_cte`);
            None for everyone.

    Returns:
        Columns ``employee_no``, ``quiz_id``, ``attempts_used``, ``first_pass_at``
        (stored text or None), ``best_percent`` (or None), ``last_at`` (the last attempt
        started).
    """
    with_pairs, params = _pairs_as_of(db, quiz_ids, as_of, who)
    return query_frame(
        db,
        f"""{with_pairs}
        SELECT employee_no, quiz_id, attempts_used, first_pass_at, best_percent,
            last_started_at AS last_at
        FROM pairs""",
        params,
    )


def quiz_progress_by_person(
    db: sqlite_utils.Database,
    attempts_allowed: dict[str, int | None],
    as_of: datetime,
    who: tuple[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Per person, over some quizzes, as of a moment: which passed, when the last of them
    was first passed, how many are not passed with no attempts left, and the last attempt
    started.

    One pass over the per person and quiz summary, at any moment: a first start and a
    first pass are fixed times (as of a moment they are theirs if by then, else none),
    and running out of attempts is the start of the last one allowed. Only the last start
    by a moment of a summary that changed after it is looked up in its attempts.

    Args:
        db: the app database.
        attempts_allowed: the quizzes in order, each with its attempts allowed (None:
            unknown, never counted as out of attempts).
        as_of: the moment, aware.
        who: only the people of this ``who`` CTE; None for everyone.

    Returns:
        Indexed by ``employee_no`` (people with an attempt only); columns
        ``quizzes_passed``, ``passed_mask`` (bit ``i`` set: the ``i``-th quiz passed),
        ``last_pass_at``, ``blocked_quizzes``, ``last_at`` (times as stored text).
    """
    quiz_ids = list(attempts_allowed)
    cte, params = who if who is not None else ("", {})
    params = {**params, "as_of": to_stamp(as_of)}
    quizzes = in_list_sql("q", quiz_ids, params)
    positions = " ".join(f"WHEN :q{i} THEN {1 << i}" for i in range(len(quiz_ids)))
    bit = f"CASE s.quiz_id {positions} END" if quiz_ids else "0"
    limits = [(i, n) for i, n in enumerate(attempts_allowed.values()) if n is not None]
    allowed = "NULL"
    if limits:
        allowed = f"CASE s.quiz_id {' '.join(f'WHEN :q{i} THEN {int(n)}' for i, n in limits)} END"
    attempts_of = "FROM attempts a WHERE a.employee_no = s.employee_no AND a.quiz_id = s.quiz_id"
    # Out of attempts by the moment: the last attempt allowed was started by then (the
    # summary's last start when every attempt allowed was used; counted in the attempts
    # when the bank allows fewer now than were used).
    exhausted = f"""CASE WHEN s.attempts_used < {allowed} THEN 0
        WHEN s.attempts_used = {allowed} THEN s.last_started_at <= :as_of
        ELSE (SELECT COUNT(*) {attempts_of} AND a.started_at <= :as_of) >= {allowed} END"""
    passed = "COALESCE(s.first_pass_at <= :as_of, 0)"
    last_start = f"""CASE WHEN s.changed_at <= :as_of THEN s.last_started_at
        ELSE (SELECT MAX(a.started_at) {attempts_of} AND a.started_at <= :as_of) END"""
    scoped = "" if who is None else "AND s.employee_no IN (SELECT employee_no FROM who)"
    return query_frame(
        db,
        f"""{"WITH " + cte if cte else ""}
        SELECT s.employee_no, SUM({passed}) AS quizzes_passed,
            TOTAL(CASE WHEN {passed} THEN {bit} END) AS passed_mask,
            MAX(CASE WHEN {passed} THEN s.first_pass_at END) AS last_pass_at,
            TOTAL(NOT {passed} AND COALESCE({exhausted}, 0)) AS blocked_quizzes,
            MAX({last_start}) AS last_at
        FROM quiz_summaries s
        WHERE s.quiz_id IN ({quizzes}) AND s.first_started_at <= :as_of {scoped}
        GROUP BY s.employee_no""",
        params,
    ).set_index("employee_no")
