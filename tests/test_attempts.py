"""Attempts: start or resume, save, submit exactly once, expiry, limits, results."""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from base.store import open_db
from quizzes.attempts import (
    GRACE_SECONDS,
    AccessDenied,
    Attempt,
    AttemptClosed,
    AttemptResult,
    InvalidAnswer,
    NoAttemptsLeft,
    PracticeFeedback,
    QuestionResult,
    QuizStatus,
    QuizUnavailable,
    WrongQuestion,
    ensure_schema,
    expire_overdue_attempts,
    get_attempt,
    get_result,
    practice_check,
    quiz_progress,
    quiz_statuses,
    rebuild_summaries,
    save_answer,
    start_attempt,
    submit_attempt,
    wrong_questions,
)
from quizzes.bank import Bank, Quiz, Source, load_bank

DATA = Path(__file__).resolve().parent / "data" / "bank"
CORPUS = {p.name: p.read_text("utf-8") for p in (DATA / "corpus").glob("*.txt")}
LOADED = load_bank(DATA, CORPUS)
PLAN = LOADED.quiz("plan-basics")  # q01..q07, 20 minutes, 3 attempts, pass at 80%
# File order and original option order: the attempt is predictable question by question.
PLAIN = dataclasses.replace(PLAN, shuffle_questions=False, shuffle_options=False)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=20)
GRACE = timedelta(seconds=GRACE_SECONDS)

ALL_RIGHT = {
    "q01": "B",
    "q02": ["A", "B", "C"],
    "q03": True,
    "q04": "集中",
    "q05": "７",
    "q06": ["A", "B", "C"],
    "q07": "A",
}


def bank_of(*quizzes: Quiz) -> Bank:
    return Bank(quizzes={q.id: q for q in quizzes})


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "t.sqlite3"


@pytest.fixture
def db(db_path):
    db = open_db(db_path)
    ensure_schema(db)
    yield db
    db.close()


def answer_all(db, attempt: Attempt, answers: dict, at: datetime = NOW) -> None:
    for question_id, answer in answers.items():
        save_answer(db, attempt.id, attempt.employee_no, question_id, answer, at)


def test_a_new_attempt_stores_its_questions_and_deadline(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    assert attempt == Attempt(
        id=1,
        quiz_id="plan-basics",
        employee_no="E001",
        attempt_no=1,
        status="in_progress",
        started_at=NOW,
        expires_at=DEADLINE,
        submitted_at=None,
        question_ids=("q01", "q02", "q03", "q04", "q05", "q06", "q07"),
        option_orders={
            "q01": ("A", "B", "C", "D"),
            "q02": ("A", "B", "C", "D"),
            "q06": ("A", "B", "C", "D"),
            "q07": ("A", "B"),
        },
        answers={},
        submit_token=attempt.submit_token,
    )
    assert len(attempt.submit_token) == 32
    assert attempt.is_open(DEADLINE + GRACE)
    assert not attempt.is_open(DEADLINE + GRACE + timedelta(microseconds=1))
    assert attempt.seconds_left(NOW + timedelta(minutes=5)) == 15 * 60


def test_shuffles_are_drawn_from_rng_and_stored(db):
    first = start_attempt(db, PLAN, "E001", NOW, random.Random(7))
    second = start_attempt(db, PLAN, "E002", NOW, random.Random(7))
    third = start_attempt(db, PLAN, "E003", NOW, random.Random(8))
    assert sorted(first.question_ids) == ["q01", "q02", "q03", "q04", "q05", "q06", "q07"]
    assert first.question_ids != ("q01", "q02", "q03", "q04", "q05", "q06", "q07")
    assert {q: sorted(keys) for q, keys in first.option_orders.items()} == {
        "q01": ["A", "B", "C", "D"],
        "q02": ["A", "B", "C", "D"],
        "q06": ["A", "B", "C", "D"],
        "q07": ["A", "B"],
    }
    # Same seed, same draw: the order is the rng's, and it is what was stored.
    assert (second.question_ids, second.option_orders) == (
        first.question_ids,
        first.option_orders,
    )
    assert (third.question_ids, third.option_orders) != (
        first.question_ids,
        first.option_orders,
    )
    assert get_attempt(db, first.id, "E001") == first


def test_answers_to_shuffled_options_are_graded_by_original_key(db):
    attempt = start_attempt(db, PLAN, "E001", NOW, random.Random(3))
    q01 = PLAN.question("q01")
    displayed = attempt.displayed_options(q01)
    assert sorted(displayed) == list(q01.options)
    # The person clicks the option reading "70%", wherever it was shown.
    position = [text for _, text in displayed].index("70%")
    save_answer(db, attempt.id, "E001", "q01", displayed[position][0], NOW)
    result = submit_attempt(db, attempt.id, "E001", NOW, LOADED)
    assert [r for r in result.questions if r.question_id == "q01"] == [
        QuestionResult("q01", "B", 1.0, 1.0, True)
    ]


def test_the_result_and_the_error_book_keep_the_order_the_attempt_showed(db):
    attempt = start_attempt(db, PLAN, "E001", NOW, random.Random(3))
    q01 = PLAN.question("q01")
    shown = attempt.displayed_options(q01)
    assert shown != q01.options  # this seed shuffles q01's options
    wrong_key = next(k for k, text in shown if text != "70%")
    save_answer(db, attempt.id, "E001", "q01", wrong_key, NOW)
    result = submit_attempt(db, attempt.id, "E001", NOW, LOADED)
    assert result.option_orders == attempt.option_orders
    assert result.displayed_options(q01) == shown
    assert [r.question_id for r in result.questions] == list(attempt.question_ids)
    (mistake,) = [m for m in wrong_questions(db, "E001", LOADED) if m.question.id == "q01"]
    assert mistake.displayed_options() == shown
    assert mistake.last_wrong_number == attempt.question_ids.index("q01") + 1


def test_draw_n_takes_n_unflagged_questions(db):
    # Flag q01 as if its document had changed after the bank was written.
    flagged = dataclasses.replace(
        PLAN,
        draw=3,
        questions=(dataclasses.replace(PLAN.questions[0], flag="stale"), *PLAN.questions[1:]),
    )
    seen: set[str] = set()
    for seed in range(40):
        attempt = start_attempt(db, flagged, f"E{seed:03d}", NOW, random.Random(seed))
        assert len(attempt.question_ids) == 3
        assert len(set(attempt.question_ids)) == 3
        seen.update(attempt.question_ids)
    assert seen == {"q02", "q03", "q04", "q05", "q06", "q07"}


def test_flagged_questions_are_kept_out_of_attempts(db):
    quiz = LOADED.quiz("plan-flagged")  # draw 2 of 3, but two are flagged
    attempt = start_attempt(db, quiz, "E001", NOW, random.Random(0))
    assert attempt.question_ids == ("kept",)


def test_a_quiz_with_every_question_flagged_cannot_be_started(db):
    quiz = LOADED.quiz("plan-flagged")
    all_flagged = dataclasses.replace(
        quiz, questions=tuple(dataclasses.replace(q, flag="stale") for q in quiz.questions)
    )
    with pytest.raises(QuizUnavailable, match="暂无可用题目"):
        start_attempt(db, all_flagged, "E001", NOW, random.Random(0))
    assert db.execute("SELECT count(*) FROM attempts").fetchone() == (0,)


def test_starting_again_resumes_the_open_attempt(db):
    first = start_attempt(db, PLAN, "E001", NOW, random.Random(1))
    save_answer(db, first.id, "E001", "q01", "B", NOW)
    again = start_attempt(db, PLAN, "E001", NOW + timedelta(minutes=1), random.Random(2))
    assert again == dataclasses.replace(first, answers={"q01": "B"})
    assert db.execute("SELECT count(*) FROM attempts").fetchone() == (1,)


def test_two_tabs_starting_at_once_get_one_attempt(db_path, db):
    ids = []
    barrier = threading.Barrier(10)

    def tab(seed):
        conn = open_db(db_path)
        try:
            barrier.wait()
            ids.append(start_attempt(conn, PLAN, "E001", NOW, random.Random(seed)).id)
        finally:
            conn.close()

    threads = [threading.Thread(target=tab, args=(seed,)) for seed in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ids == [ids[0]] * 10
    assert db.execute("SELECT count(*) FROM attempts").fetchone() == (1,)


def test_resume_after_a_restart(db_path):
    db = open_db(db_path)
    ensure_schema(db)
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "B", NOW)
    save_answer(db, attempt.id, "E001", "q02", ["B", "A"], NOW)
    db.close()  # the server restarts; the browser tab's session state is gone

    db = open_db(db_path)
    ensure_schema(db)
    later = NOW + timedelta(minutes=3)
    resumed = start_attempt(db, PLAIN, "E001", later, random.Random(99))
    assert resumed == dataclasses.replace(attempt, answers={"q01": "B", "q02": ["A", "B"]})
    save_answer(db, attempt.id, "E001", "q03", True, later)
    result = submit_attempt(db, attempt.id, "E001", later, bank_of(PLAIN))
    db.close()
    assert [(r.question_id, r.answer, r.points) for r in result.questions[:4]] == [
        ("q01", "B", 1.0),
        ("q02", ["A", "B"], 1.0),
        ("q03", True, 1.0),
        ("q04", None, 0.0),
    ]


def test_submit_grades_and_stores_every_question(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(
        db,
        attempt,
        {
            "q01": "B",  # right
            "q02": ["A", "B"],  # 少选: half of 2
            "q03": False,  # wrong
            "q04": " 集 中 ",  # right, spaces ignored
            # q05 left blank
            "q06": ["A", "D"],  # 错选: nothing
            "q07": "A",  # right, 1.5 points
        },
    )
    submitted_at = NOW + timedelta(minutes=12)
    result = submit_attempt(db, attempt.id, "E001", submitted_at, bank_of(PLAIN))
    assert result == AttemptResult(
        attempt_id=attempt.id,
        quiz_id="plan-basics",
        employee_no="E001",
        attempt_no=1,
        status="submitted",
        started_at=NOW,
        submitted_at=submitted_at,
        score=4.5,
        max_score=10.5,
        passed=False,
        questions=(
            QuestionResult("q01", "B", 1.0, 1.0, True),
            QuestionResult("q02", ["A", "B"], 1.0, 2.0, False),
            QuestionResult("q03", False, 0.0, 1.0, False),
            QuestionResult("q04", " 集 中 ", 1.0, 1.0, True),
            QuestionResult("q05", None, 0.0, 1.0, False),
            QuestionResult("q06", ["A", "D"], 0.0, 3.0, False),
            QuestionResult("q07", "A", 1.5, 1.5, True),
        ),
        option_orders={
            "q01": ("A", "B", "C", "D"),
            "q02": ("A", "B", "C", "D"),
            "q06": ("A", "B", "C", "D"),
            "q07": ("A", "B"),
        },
    )
    assert round(result.percent, 2) == 42.86
    assert get_result(db, attempt.id, "E001") == result
    # One graded row per drawn question, blanks included, so statistics are exact.
    assert list(
        db.query(
            "SELECT question_id, points, max_points, correct FROM answers "
            "WHERE attempt_id = ? ORDER BY question_id",
            [attempt.id],
        )
    ) == [
        {"question_id": "q01", "points": 1.0, "max_points": 1.0, "correct": 1},
        {"question_id": "q02", "points": 1.0, "max_points": 2.0, "correct": 0},
        {"question_id": "q03", "points": 0.0, "max_points": 1.0, "correct": 0},
        {"question_id": "q04", "points": 1.0, "max_points": 1.0, "correct": 1},
        {"question_id": "q05", "points": 0.0, "max_points": 1.0, "correct": 0},
        {"question_id": "q06", "points": 0.0, "max_points": 3.0, "correct": 0},
        {"question_id": "q07", "points": 1.5, "max_points": 1.5, "correct": 1},
    ]


def test_pass_mark_is_a_percentage_of_the_drawn_points(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    # Everything right except q07 (1.5 of 10.5 points): 85.7% >= 80%.
    answer_all(db, attempt, {**ALL_RIGHT, "q07": "B"})
    result = submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN))
    assert (result.score, result.max_score, result.passed) == (9.0, 10.5, True)


def test_a_double_submit_returns_the_stored_result(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, attempt, ALL_RIGHT)
    first = submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN))
    second = submit_attempt(db, attempt.id, "E001", NOW + timedelta(seconds=1), bank_of(PLAIN))
    assert second == first
    assert (first.score, first.passed, first.submitted_at) == (10.5, True, NOW)


def test_twenty_threads_submitting_the_same_attempt_get_one_result(db_path, db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, attempt, {"q01": "B", "q02": ["A"], "q03": True})
    barrier = threading.Barrier(20)
    results: list[AttemptResult] = []
    failures: list[BaseException] = []

    def click(i):
        conn = open_db(db_path)  # each session has its own connection
        try:
            barrier.wait()
            at = NOW + timedelta(minutes=5, milliseconds=i)
            results.append(submit_attempt(conn, attempt.id, "E001", at, bank_of(PLAIN)))
        except BaseException as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=click, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(results) == 20
    assert all(r == results[0] for r in results)
    assert (results[0].score, results[0].status) == (3.0, "submitted")
    assert db.execute("SELECT count(*), status FROM attempts").fetchone() == (1, "submitted")
    assert db.execute("SELECT count(*) FROM answers").fetchone() == (7,)


def test_an_answer_saved_while_the_submit_grades_is_graded_too(db_path, db, monkeypatch):
    # submit_attempt grades before it takes the writer lock; an answer saved from another
    # tab in between must make it grade again inside the lock, not store a stale score.
    import quizzes.attempts as attempts_module

    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, attempt, {"q01": "A"})  # wrong
    real_grade = attempts_module._grade
    saves = []

    def grade_while_the_other_tab_saves(*args):
        grading = real_grade(*args)
        if not saves:  # once: the second grading runs inside the writer lock
            other_tab = open_db(db_path)
            save_answer(other_tab, attempt.id, "E001", "q01", "B", NOW)  # now right
            other_tab.close()
            saves.append("q01")
        return grading

    monkeypatch.setattr(attempts_module, "_grade", grade_while_the_other_tab_saves)
    result = submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN))
    assert saves == ["q01"]
    assert (result.questions[0], result.score) == (QuestionResult("q01", "B", 1.0, 1.0, True), 1.0)
    assert get_result(db, attempt.id, "E001") == result


def test_answers_saved_at_once_are_never_lost(db_path, db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    barrier = threading.Barrier(len(ALL_RIGHT))
    failures: list[BaseException] = []

    def save(question_id, answer):
        conn = open_db(db_path)
        try:
            barrier.wait()
            save_answer(conn, attempt.id, "E001", question_id, answer, NOW)
        except BaseException as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=save, args=item) for item in ALL_RIGHT.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert get_attempt(db, attempt.id, "E001").answers == ALL_RIGHT
    result = submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN))
    assert (result.score, result.max_score) == (10.5, 10.5)


def test_saving_replaces_the_earlier_answer(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "A", NOW)
    save_answer(db, attempt.id, "E001", "q01", "B", NOW + timedelta(seconds=5))
    save_answer(db, attempt.id, "E001", "q02", ["C", "A", "A"], NOW)
    save_answer(db, attempt.id, "E001", "q03", True, NOW)
    save_answer(db, attempt.id, "E001", "q03", None, NOW)  # cleared
    assert get_attempt(db, attempt.id, "E001").answers == {"q01": "B", "q02": ["A", "C"]}


def test_someone_elses_attempt_is_refused(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "B", NOW)
    with pytest.raises(AccessDenied, match="无权访问这次作答"):
        save_answer(db, attempt.id, "E002", "q01", "A", NOW)
    with pytest.raises(AccessDenied):
        submit_attempt(db, attempt.id, "E002", NOW, bank_of(PLAIN))
    with pytest.raises(AccessDenied):
        get_attempt(db, attempt.id, "E002")
    with pytest.raises(AccessDenied):
        get_result(db, attempt.id, "E002")
    with pytest.raises(AccessDenied):
        get_attempt(db, 999, "E001")
    assert get_attempt(db, attempt.id, "E001").answers == {"q01": "B"}
    assert get_result(db, attempt.id, "E001") is None  # still in progress


@pytest.mark.parametrize(
    ("question_id", "answer", "message"),
    [
        ("q99", "A", "题目 “q99” 不在这次作答中"),
        ("q01", "E", "选项 “E” 不存在"),
        ("q02", ["A", "X"], "选项 “X” 不存在"),
        ("q01", True, "选择题的答案应为选项"),
        ("q04", ["集中"], "答案的形式与题目不符"),
        ("q04", "长" * 201, "答案不能超过 200 个字"),
    ],
)
def test_answers_that_do_not_fit_are_refused(db, question_id, answer, message):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    with pytest.raises(InvalidAnswer) as error:
        save_answer(db, attempt.id, "E001", question_id, answer, NOW)
    assert str(error.value) == message
    assert db.execute("SELECT count(*) FROM answers").fetchone() == (0,)


def test_no_saving_after_submit(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "A", NOW)
    submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN))
    with pytest.raises(AttemptClosed, match="已经提交"):
        save_answer(db, attempt.id, "E001", "q01", "B", NOW)
    assert get_result(db, attempt.id, "E001").questions[0] == QuestionResult(
        "q01", "A", 0.0, 1.0, False
    )


def test_expiry_with_grace(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "B", DEADLINE)
    save_answer(db, attempt.id, "E001", "q03", True, DEADLINE + GRACE)  # still counts
    late = DEADLINE + GRACE + timedelta(microseconds=1)
    with pytest.raises(AttemptClosed, match="作答时间已到"):
        save_answer(db, attempt.id, "E001", "q07", "A", late)
    assert get_attempt(db, attempt.id, "E001").answers == {"q01": "B", "q03": True}

    result = submit_attempt(db, attempt.id, "E001", late, bank_of(PLAIN))
    # What was saved in time is graded; the attempt is marked expired at its deadline.
    assert (result.status, result.submitted_at, result.score) == ("expired", DEADLINE, 2.0)
    assert submit_attempt(db, attempt.id, "E001", late, bank_of(PLAIN)) == result


def test_submitting_within_the_grace_counts_as_submitted(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    result = submit_attempt(db, attempt.id, "E001", DEADLINE + GRACE, bank_of(PLAIN))
    assert (result.status, result.submitted_at) == ("submitted", DEADLINE + GRACE)


def test_overdue_attempts_are_expired_and_graded(db):
    overdue = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, overdue.id, "E001", "q01", "B", NOW)
    fresh = start_attempt(db, PLAIN, "E002", NOW + timedelta(minutes=10), random.Random(2))
    untimed_quiz = dataclasses.replace(PLAIN, id="untimed", time_limit_minutes=None)
    untimed = start_attempt(db, untimed_quiz, "E001", NOW, random.Random(3))
    bank = bank_of(PLAIN, untimed_quiz)

    later = DEADLINE + GRACE + timedelta(seconds=1)
    assert expire_overdue_attempts(db, later, bank) == (overdue.id,)
    assert expire_overdue_attempts(db, later, bank) == ()
    result = get_result(db, overdue.id, "E001")
    assert (result.status, result.submitted_at, result.score) == ("expired", DEADLINE, 1.0)
    assert get_attempt(db, fresh.id, "E002").status == "in_progress"
    assert get_attempt(db, untimed.id, "E001").status == "in_progress"


def test_an_overdue_attempt_is_closed_when_the_person_starts_again(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    later = DEADLINE + timedelta(minutes=1)
    second = start_attempt(db, PLAIN, "E001", later, random.Random(2))
    assert (second.id, second.attempt_no, second.started_at) == (attempt.id + 1, 2, later)
    assert get_result(db, attempt.id, "E001").status == "expired"


def test_attempts_allowed_is_enforced(db):
    quiz = dataclasses.replace(PLAIN, attempts_allowed=2)
    first = start_attempt(db, quiz, "E001", NOW, random.Random(1))
    answer_all(db, first, ALL_RIGHT)
    assert submit_attempt(db, first.id, "E001", NOW, bank_of(quiz)).passed
    # Passing does not forbid a retry while attempts remain.
    second = start_attempt(db, quiz, "E001", NOW, random.Random(2))
    assert second.attempt_no == 2
    submit_attempt(db, second.id, "E001", NOW, bank_of(quiz))
    with pytest.raises(NoAttemptsLeft) as error:
        start_attempt(db, quiz, "E001", NOW, random.Random(3))
    assert str(error.value) == "测验《创建文明单位实施方案学习测验》的 2 次作答机会已用完"
    # Someone else still has their own attempts.
    assert start_attempt(db, quiz, "E002", NOW, random.Random(4)).attempt_no == 1


def test_submit_while_the_quiz_is_missing_from_the_bank_keeps_the_answers(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    save_answer(db, attempt.id, "E001", "q01", "B", NOW)
    with pytest.raises(QuizUnavailable, match="答案已保存"):
        submit_attempt(db, attempt.id, "E001", NOW, Bank())
    assert get_attempt(db, attempt.id, "E001").status == "in_progress"
    assert submit_attempt(db, attempt.id, "E001", NOW, bank_of(PLAIN)).score == 1.0


def test_a_question_removed_from_the_bank_is_void(db):
    attempt = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, attempt, ALL_RIGHT)
    without_q07 = dataclasses.replace(PLAIN, questions=PLAIN.questions[:6])
    result = submit_attempt(db, attempt.id, "E001", NOW, bank_of(without_q07))
    assert (result.score, result.max_score) == (9.0, 9.0)
    assert result.questions[-1] == QuestionResult("q07", "A", None, None, None)


def test_quiz_statuses(db):
    other = dataclasses.replace(PLAIN, id="other", title="另一测验", attempts_allowed=1)
    third = dataclasses.replace(PLAIN, id="third", title="第三测验")
    bank = bank_of(PLAIN, other, third)

    failed = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, failed, {"q01": "B"})
    submit_attempt(db, failed.id, "E001", NOW, bank)
    passed = start_attempt(db, PLAIN, "E001", NOW, random.Random(2))
    answer_all(db, passed, ALL_RIGHT)
    submit_attempt(db, passed.id, "E001", NOW, bank)
    open_attempt = start_attempt(db, other, "E001", NOW, random.Random(3))

    assert quiz_statuses(db, "E001", bank, NOW) == [
        QuizStatus(
            quiz_id="plan-basics",
            title="创建文明单位实施方案学习测验",
            state="passed",
            passed=True,
            attempts_used=2,
            attempts_left=1,
            best_score=10.5,
            best_max_score=10.5,
            open_attempt_id=None,
        ),
        QuizStatus(
            quiz_id="other",
            title="另一测验",
            state="in_progress",
            passed=False,
            attempts_used=1,
            attempts_left=0,
            best_score=None,
            best_max_score=None,
            open_attempt_id=open_attempt.id,
        ),
        QuizStatus(
            quiz_id="third",
            title="第三测验",
            state="not_started",
            passed=False,
            attempts_used=0,
            attempts_left=3,
            best_score=None,
            best_max_score=None,
            open_attempt_id=None,
        ),
    ]
    # Once the open attempt runs out of time it is graded, and the status is final.
    later = DEADLINE + GRACE + timedelta(seconds=1)
    assert quiz_statuses(db, "E001", bank, later)[1] == QuizStatus(
        quiz_id="other",
        title="另一测验",
        state="failed",
        passed=False,
        attempts_used=1,
        attempts_left=0,
        best_score=0.0,
        best_max_score=10.5,
        open_attempt_id=None,
    )


def test_wrong_questions_for_the_error_book(db):
    first = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, first, {**ALL_RIGHT, "q01": "A", "q02": ["A"], "q05": "八"})
    submit_attempt(db, first.id, "E001", NOW, bank_of(PLAIN))
    later = NOW + timedelta(hours=1)
    second = start_attempt(db, PLAIN, "E001", later, random.Random(2))
    answer_all(db, second, {**ALL_RIGHT, "q02": ["A", "B", "D"], "q05": "7"}, at=later)
    submit_attempt(db, second.id, "E001", later, bank_of(PLAIN))

    assert wrong_questions(db, "E001", bank_of(PLAIN)) == [
        WrongQuestion(
            quiz_id="plan-basics",
            quiz_title="创建文明单位实施方案学习测验",
            question=PLAIN.question("q02"),
            times_wrong=2,
            last_wrong_answer=["A", "B", "D"],
            last_wrong_at=later,
            answered_right_later=False,
            last_wrong_number=2,
            last_wrong_order=("A", "B", "C", "D"),
        ),
        WrongQuestion(
            quiz_id="plan-basics",
            quiz_title="创建文明单位实施方案学习测验",
            question=PLAIN.question("q01"),
            times_wrong=1,
            last_wrong_answer="A",
            last_wrong_at=NOW,
            answered_right_later=True,
            last_wrong_number=1,
            last_wrong_order=("A", "B", "C", "D"),
        ),
        WrongQuestion(
            quiz_id="plan-basics",
            quiz_title="创建文明单位实施方案学习测验",
            question=PLAIN.question("q05"),
            times_wrong=1,
            last_wrong_answer="八",
            last_wrong_at=NOW,
            answered_right_later=True,
            last_wrong_number=5,
            last_wrong_order=(),
        ),
    ]
    assert wrong_questions(db, "E002", bank_of(PLAIN)) == []


def test_practice_is_graded_but_never_stored(db):
    assert practice_check(PLAIN.question("q02"), ["B", "A"]) == PracticeFeedback(
        question_id="q02",
        points=1.0,
        max_points=2.0,
        correct=False,
        partial=True,
        correct_answer=("A", "B", "C"),
        explanation="迎接验收属于第三阶段。",
        source=Source("plan.txt", "全面学习。进一步领会国家相关文件和规定"),
    )
    assert practice_check(PLAIN.question("q05"), "７").correct
    assert db.execute("SELECT count(*) FROM attempts").fetchone() == (0,)


def test_schema_is_created_once(db):
    ensure_schema(db)
    assert db.execute(
        "SELECT version FROM schema_versions WHERE component = 'attempts'"
    ).fetchone() == (5,)


def test_now_must_be_aware(db):
    with pytest.raises(ValueError, match="aware"):
        start_attempt(db, PLAIN, "E001", datetime(2026, 3, 2, 9, 0), random.Random(1))


# -- the per person and quiz summary --------------------------------------------------------


def summary_rows(db) -> list[tuple]:
    return db.execute("SELECT * FROM quiz_summaries ORDER BY employee_no, quiz_id").fetchall()


def test_the_kept_summary_equals_the_rebuilt_one_after_a_burst_of_submissions(db_path, db):
    # 24 people at once, in threads with their own connections as the app's sessions are:
    # each starts, answers (some wrongly), submits, and a third start again.
    barrier = threading.Barrier(24)
    failures = []

    def person(i: int) -> None:
        conn = open_db(db_path)
        try:
            who = f"E{i:03d}"
            barrier.wait()
            for round_ in range(1 + i % 3):
                attempt = start_attempt(
                    conn, PLAIN, who, NOW + timedelta(minutes=round_), random.Random(i)
                )
                answers = ALL_RIGHT if (i + round_) % 2 else {"q01": "A", "q03": False}
                answer_all(conn, attempt, answers, NOW + timedelta(minutes=round_, seconds=30))
                submit_attempt(
                    conn, attempt.id, who, NOW + timedelta(minutes=round_ + 1), bank_of(PLAIN)
                )
            if i % 4 == 0 and 1 + i % 3 < 3:  # left open, with an attempt to spare
                start_attempt(conn, PLAIN, who, NOW + timedelta(minutes=9), random.Random(i))
        except Exception as error:
            failures.append((i, error))
        finally:
            conn.close()

    threads = [threading.Thread(target=person, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    kept = summary_rows(db)
    assert len(kept) == 24
    assert rebuild_summaries(db) == 24
    assert summary_rows(db) == kept
    # spot check one row against the rules: E004 tried 2 times (failed, passed) and left a
    # third open.
    row = dict(
        zip(
            [d[0] for d in db.execute("SELECT * FROM quiz_summaries").description],
            db.execute("SELECT * FROM quiz_summaries WHERE employee_no = 'E004'").fetchone(),
            strict=True,
        )
    )
    assert (row["attempts_used"], row["graded"], row["passed_attempts"]) == (3, 2, 1)
    assert row["first_pass_at"] == "2026-03-02T09:02:00.000000+00:00"
    assert row["changed_at"] == "2026-03-02T09:09:00.000000+00:00"


def test_progress_from_the_summary_is_exact_as_of_any_moment(db):
    # One person: a failed attempt, a pass, then an attempt left open. As of every moment
    # the summary-backed figures equal those computed from the attempts alone.
    first = start_attempt(db, PLAIN, "E001", NOW, random.Random(1))
    answer_all(db, first, {"q01": "A"}, NOW)
    submit_attempt(db, first.id, "E001", NOW + timedelta(minutes=5), bank_of(PLAIN))
    second = start_attempt(db, PLAIN, "E001", NOW + timedelta(hours=1), random.Random(2))
    answer_all(db, second, ALL_RIGHT, NOW + timedelta(hours=1))
    submit_attempt(db, second.id, "E001", NOW + timedelta(hours=1, minutes=5), bank_of(PLAIN))
    start_attempt(db, PLAIN, "E001", NOW + timedelta(hours=2), random.Random(3))

    def figures(as_of):
        return quiz_progress(db, ["plan-basics"], as_of).to_dict("records")

    expected = {
        NOW - timedelta(minutes=1): [],
        NOW + timedelta(minutes=1): [
            {
                "employee_no": "E001",
                "quiz_id": "plan-basics",
                "attempts_used": 1,
                "first_pass_at": None,
                "best_percent": None,
                "last_at": "2026-03-02T09:00:00.000000+00:00",
            }
        ],
        NOW + timedelta(minutes=30): [
            {
                "employee_no": "E001",
                "quiz_id": "plan-basics",
                "attempts_used": 1,
                "first_pass_at": None,
                "best_percent": 0.0,
                "last_at": "2026-03-02T09:00:00.000000+00:00",
            }
        ],
        NOW + timedelta(hours=1, minutes=30): [
            {
                "employee_no": "E001",
                "quiz_id": "plan-basics",
                "attempts_used": 2,
                "first_pass_at": "2026-03-02T10:05:00.000000+00:00",
                "best_percent": 100.0,
                "last_at": "2026-03-02T10:00:00.000000+00:00",
            }
        ],
        NOW + timedelta(days=1): [
            {
                "employee_no": "E001",
                "quiz_id": "plan-basics",
                "attempts_used": 3,
                "first_pass_at": "2026-03-02T10:05:00.000000+00:00",
                "best_percent": 100.0,
                "last_at": "2026-03-02T11:00:00.000000+00:00",
            }
        ],
    }
    assert {moment: figures(moment) for moment in expected} == expected
