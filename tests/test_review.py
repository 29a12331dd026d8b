"""Spaced review of mistakes (quizzes/review.py, office/review_stats.py), on a fixed clock.

Times are Beijing times of November 2026 (``at(day, hour)``); a card is due from the start
of a Beijing day. The schedule asserted is FSRS-6's with its default parameters, no
learning steps and no fuzz: wrong -> due the next day; then right at each due review ->
2 days, then 6 days later.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from base.clock import start_of_day
from office.progress import person_progress
from office.review_stats import review_by_department
from office.scope import Scope
from quizzes.review import (
    RETIRE_AFTER,
    answer_question,
    cards_by_question,
    cards_of,
    review_queue,
    sync_attempt_mistakes,
)
from tests.data.office.office_records import (
    HALF_ALPHA,
    RIGHT,
    WRONG,
    at,
    office_plan,
    person,
    table_rows,
    take,
)


def day(d: int) -> datetime:
    """The start of November ``d``, Beijing time: when a card due that day becomes due."""
    return start_of_day(datetime(2026, 11, d).date())


def card_states(db, employee_no):
    return [
        (c.quiz_id, c.question_id, c.due, c.reviews, c.streak, c.retired_at)
        for c in cards_of(db, employee_no)
    ]


def answer(db, bank, employee_no, quiz_id, question_id, given, when):
    """A practice answer as the page gives it: with the card's version as shown (the page
    reads the cards after carding the graded mistakes)."""
    card = cards_by_question(db, employee_no).get((quiz_id, question_id))
    seen = 0 if card is None else card.reviews
    question = bank.quiz(quiz_id).question(question_id)
    return answer_question(db, employee_no, quiz_id, question, given, when, seen)


@pytest.fixture
def staff(office_db):
    person(office_db, "A1", "张敏", "监测站")
    return office_db


def test_cards_are_made_from_wrong_answers_only(staff, bank):
    db = staff
    take(db, bank, "alpha", "A1", at(3, 9), HALF_ALPHA)  # a1, a2 right; a3, a4 wrong
    assert cards_of(db, "A1") == []  # made when the person's mistakes are next read
    assert sync_attempt_mistakes(db, "A1") == 2
    assert sync_attempt_mistakes(db, "A1") == 0  # idempotent
    submitted = at(3, 9, 5)
    assert [(c.question_id, c.created_at, c.last_answer_at) for c in cards_of(db, "A1")] == [
        ("a3", submitted, submitted),
        ("a4", submitted, submitted),
    ]
    assert card_states(db, "A1") == [
        ("alpha", "a3", day(4), 1, 0, None),
        ("alpha", "a4", day(4), 1, 0, None),
    ]
    # Practice: a right answer without a card stores nothing, a wrong one makes a card.
    feedback, card = answer(db, bank, "A1", "beta", "b1", "A", at(3, 10))
    assert (feedback.correct, card) == (True, None)
    feedback, card = answer(db, bank, "A1", "beta", "b2", False, at(3, 10))
    assert feedback.correct is False
    assert (card.question_id, card.due, card.reviews) == ("b2", day(4), 1)
    # Stored in UTC: the start of 4 November in Beijing is 16:00 UTC on the 3rd.
    assert db.execute("SELECT due FROM review_cards WHERE question_id = 'b2'").fetchone() == (
        "2026-11-03T16:00:00.000000+00:00",
    )
    # A right answer in a later graded attempt is not a review: the cards stay as they are.
    take(db, bank, "alpha", "A1", at(3, 11), RIGHT["alpha"])
    assert sync_attempt_mistakes(db, "A1") == 0
    assert [c[:4] for c in card_states(db, "A1")] == [
        ("alpha", "a3", day(4), 1),
        ("alpha", "a4", day(4), 1),
        ("beta", "b2", day(4), 1),
    ]


def test_the_queue_shows_due_cards_first_longest_due_then_bank_order(staff, bank):
    db = staff
    take(db, bank, "beta", "A1", at(3, 9), WRONG["beta"])  # b1, b2 due on the 4th
    take(db, bank, "alpha", "A1", at(5, 9), {**RIGHT["alpha"], "a1": "A", "a4": "平安"})
    queue = review_queue(db, "A1", bank, at(6, 8))  # a1, a4 due on the 6th
    assert [(i.card.question_id, i.card.due) for i in queue.due] == [
        ("b1", day(4)),
        ("b2", day(4)),
        ("a1", day(6)),
        ("a4", day(6)),
    ]
    assert queue.later == () and queue.next_due is None
    # b1 right on the 6th: due days later, so it leaves today's list for the later one.
    answer(db, bank, "A1", "beta", "b1", "A", at(6, 9))
    queue = review_queue(db, "A1", bank, at(6, 9, 1))
    assert [i.card.question_id for i in queue.due] == ["b2", "a1", "a4"]
    # (3 days after the mistake: FSRS gives it 3 more)
    assert [(i.card.question_id, i.card.due) for i in queue.later] == [("b1", day(9))]
    assert queue.next_due == day(9)
    # Until the start of the 6th, a1 and a4 are not due yet.
    early = review_queue(db, "A1", bank, day(6) - timedelta(microseconds=1))
    assert [i.card.question_id for i in early.due] == ["b2"]
    assert [i.card.question_id for i in early.later] == ["a1", "a4", "b1"]


def test_a_right_review_pushes_the_due_date_later_and_a_wrong_one_brings_it_back(staff, bank):
    db = staff
    take(db, bank, "beta", "A1", at(3, 9), {"b1": "B", "b2": True})
    sync_attempt_mistakes(db, "A1")
    assert card_states(db, "A1") == [("beta", "b1", day(4), 1, 0, None)]
    answer(db, bank, "A1", "beta", "b1", "A", at(4, 20))  # right, due: 2 days
    assert card_states(db, "A1") == [("beta", "b1", day(6), 2, 1, None)]
    answer(db, bank, "A1", "beta", "b1", "B", at(6, 8))  # wrong: tomorrow again
    assert card_states(db, "A1") == [("beta", "b1", day(7), 3, 0, None)]
    answer(db, bank, "A1", "beta", "b1", "A", at(7, 8))  # right: 2 days
    assert card_states(db, "A1") == [("beta", "b1", day(9), 4, 1, None)]
    assert [r[3:] for r in db.execute("SELECT * FROM review_log ORDER BY id").fetchall()] == [
        ("attempt", 1, 0, 0),
        ("practice", None, 1, 1),
        ("practice", None, 0, 1),
        ("practice", None, 1, 1),
    ]


def test_a_card_right_at_three_due_reviews_in_a_row_is_retired(staff, bank):
    assert RETIRE_AFTER == 3
    db = staff
    take(db, bank, "beta", "A1", at(3, 9), {"b1": "B", "b2": True})
    sync_attempt_mistakes(db, "A1")
    answer(db, bank, "A1", "beta", "b1", "A", at(4, 9))  # due: streak 1, due on the 6th
    answer(db, bank, "A1", "beta", "b1", "A", at(6, 9))  # due: streak 2, due on the 12th
    assert card_states(db, "A1") == [("beta", "b1", day(12), 3, 2, None)]
    # Right before it is due: FSRS learns from it, the streak does not count it.
    answer(db, bank, "A1", "beta", "b1", "A", at(7, 9))
    assert card_states(db, "A1") == [("beta", "b1", day(16), 4, 2, None)]
    answer(db, bank, "A1", "beta", "b1", "A", at(16, 9))  # due: streak 3, retired
    assert card_states(db, "A1")[0][3:] == (5, 3, at(16, 9))
    queue = review_queue(db, "A1", bank, at(30))
    assert (queue.due, queue.later, queue.mastered) == ((), (), 1)
    # A right answer to a retired card changes nothing; a wrong one in a graded attempt
    # brings it back into review (FSRS: after this lapse, due 2 days later).
    answer(db, bank, "A1", "beta", "b1", "A", at(17, 9))
    assert card_states(db, "A1")[0][3:] == (5, 3, at(16, 9))
    take(db, bank, "beta", "A1", at(20, 9), {"b1": "B", "b2": True})
    queue = review_queue(db, "A1", bank, at(21, 9))
    assert queue.due == () and queue.mastered == 0
    assert [(i.card.question_id, i.card.due, i.card.streak) for i in queue.later] == [
        ("b1", day(22), 0)
    ]


def test_a_double_click_records_one_review(staff, bank):
    db = staff
    take(db, bank, "beta", "A1", at(3, 9), {"b1": "B", "b2": True})
    shown = review_queue(db, "A1", bank, at(4, 9)).due[0].card
    question = bank.quiz("beta").question("b1")
    for _ in range(2):  # both clicks carry the version the page showed
        feedback, card = answer_question(db, "A1", "beta", question, "A", at(4, 9), shown.reviews)
        assert feedback.correct
    assert (card.reviews, card.streak, card.due) == (2, 1, day(6))


def test_review_never_makes_an_attempt_or_changes_completion(staff, bank):
    db = staff
    plan = office_plan()
    take(db, bank, "alpha", "A1", at(3, 9), HALF_ALPHA)
    before = {t: table_rows(db, t) for t in ("attempts", "answers", "quiz_summaries")}
    progress = person_progress(db, "A1", plan, bank, at(10))
    for when in (at(4, 9), at(6, 9), at(12, 9)):
        answer(db, bank, "A1", "alpha", "a3", True, when)
        answer(db, bank, "A1", "alpha", "a4", "身体健康", when)
    assert [c[3:] for c in card_states(db, "A1")] == [(4, 3, at(12, 9)), (4, 3, at(12, 9))]
    assert {t: table_rows(db, t) for t in before} == before
    assert person_progress(db, "A1", plan, bank, at(10)) == progress


def test_cards_of_questions_no_longer_in_service_are_not_shown(staff, bank):
    db = staff
    take(db, bank, "alpha", "A1", at(3, 9), HALF_ALPHA)
    alpha = bank.quiz("alpha")
    retired = dataclasses.replace(
        alpha,
        questions=tuple(
            dataclasses.replace(q, retired="与 a2 重复") if q.id == "a3" else q
            for q in alpha.questions
        ),
    )
    changed = dataclasses.replace(bank, quizzes={**bank.quizzes, "alpha": retired})
    assert [i.card.question_id for i in review_queue(db, "A1", bank, at(4)).due] == ["a3", "a4"]
    assert [i.card.question_id for i in review_queue(db, "A1", changed, at(4)).due] == ["a4"]
    without_alpha = dataclasses.replace(bank, quizzes={"beta": bank.quiz("beta")})
    assert review_queue(db, "A1", without_alpha, at(4)).due == ()
    assert len(cards_of(db, "A1")) == 2  # kept, only not shown


def test_the_office_sees_per_department_the_mistakes_reviewed_and_the_share_right(office_db, bank):
    db = office_db
    person(db, "A1", "张敏", "监测站")
    person(db, "A2", "李强", "监测站")
    person(db, "B1", "王芳", "执法队")
    person(db, "C1", "赵磊", "办公室")
    # A1: a3, a4 wrong on the 3rd; at the due review on the 4th a3 right, a4 wrong.
    take(db, bank, "alpha", "A1", at(3, 9), HALF_ALPHA)
    answer(db, bank, "A1", "alpha", "a3", True, at(4, 9))
    answer(db, bank, "A1", "alpha", "a4", "平安", at(4, 9))
    # A2: b1 wrong on the 3rd, right the same day (not due: not its review), right when
    # due on the 4th; a wrong passage practice on the 5th is a mistake not yet reviewed.
    take(db, bank, "beta", "A2", at(3, 9), {"b1": "B", "b2": True})
    answer(db, bank, "A2", "beta", "b1", "A", at(3, 10))
    answer(db, bank, "A2", "beta", "b1", "A", at(4, 10))
    answer(db, bank, "A2", "alpha", "a1", "A", at(5, 10))
    # B1: a1 wrong on the 3rd, wrong again when due on the 4th, right when due on the 5th.
    take(
        db,
        bank,
        "alpha",
        "B1",
        at(3, 9),
        {"a1": "A", **{k: RIGHT["alpha"][k] for k in ("a2", "a3", "a4")}},
    )
    answer(db, bank, "B1", "alpha", "a1", "A", at(4, 9))
    _, card = answer(db, bank, "B1", "alpha", "a1", "B", at(5, 9))
    assert card.streak == 1  # it was due on the 5th

    def figures(as_of):
        table = review_by_department(Scope(db, office_plan(), bank, as_of))
        return table.astype(object).where(table.notna(), None).to_dict("records")

    row = lambda d, people, reviewed, right, share: {  # noqa: E731
        "部门": d,
        "复习人数": people,
        "已复习错题": reviewed,
        "复习时答对": right,
        "复习答对率": share,
    }
    assert figures(at(10)) == [
        row("办公室", 0, 0, 0, None),
        row("执法队", 1, 2, 1, 0.5),
        row("监测站", 2, 3, 2, 2 / 3),
    ]
    # As of the evening of the 4th: B1's review on the 5th has not happened yet.
    assert figures(at(4, 23)) == [
        row("办公室", 0, 0, 0, None),
        row("执法队", 1, 1, 0, 0.0),
        row("监测站", 2, 3, 2, 2 / 3),
    ]
    only = review_by_department(Scope(db, office_plan(), bank, at(10), ("执法队",)))
    assert list(only["部门"]) == ["执法队"]
