"""AppTest of 今日复习 (错题练习), 我的进度's review line and the dashboard's review table,
on the shipped bank: a mistake made three days ago is due, one made now is not."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from base.clock import local_date_text
from kb.documents import document_texts
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.attempts import save_answer, start_attempt, submit_attempt
from quizzes.bank import load_bank
from quizzes.login import change_password
from quizzes.people import Role
from quizzes.practice import source_passage
from quizzes.review import cards_by_question, cards_of
from quizzes.review import ensure_schema as ensure_review_schema
from tests.apptest_support import PASSWORD, logged_in, open_page, texts
from ui.render import md_text

NOW = datetime.now(UTC)


def right_answer(question):
    return question.answer[0] if question.type == "fill" else question.answer


def take_with_one_wrong(db, bank, quiz_id, employee_no, when):
    """An attempt answered right except its first single-choice question; returns that
    question."""
    quiz = bank.quiz(quiz_id)
    attempt = start_attempt(db, quiz, employee_no, when, random.Random(0))
    questions = [quiz.question(q) for q in attempt.question_ids]
    wrong = next(q for q in questions if q.type == "single")
    for question in questions:
        given = right_answer(question)
        if question is wrong:
            given = next(k for k in question.option_keys if k != question.answer)
        save_answer(db, attempt.id, employee_no, question.id, given, when)
    submit_attempt(db, attempt.id, employee_no, when + timedelta(minutes=5), bank)
    return wrong


@pytest.fixture
def mistakes(app_settings):
    """1001 missed one question of service-environment three days ago (due now) and one
    of plan-basics just now (due tomorrow); 9001 is an admin."""
    db = open_kb(app_settings)
    ensure_review_schema(db)
    bank = load_bank(app_settings.quiz_dir, document_texts(db))
    old = take_with_one_wrong(db, bank, "service-environment", "1001", NOW - timedelta(days=3))
    new = take_with_one_wrong(db, bank, "plan-basics", "1001", NOW - timedelta(minutes=10))
    initial = create_account(db, "9001", "王主任", "创建办", Role.ADMIN, NOW)
    change_password(db, "9001", initial, PASSWORD, NOW)
    db.close()
    return bank, old, new


def test_todays_review_lists_due_cards_first_and_a_review_updates_the_card(mistakes, app_settings):
    bank, old, new = mistakes
    at = logged_in("1001")
    open_page(at, "practice")
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at.subheader) == ["今日复习 1 题", "其他错题 1 题（未到期，可提前练习）"]
    stems = [m.value for m in at.markdown if m.value.startswith("**")]
    assert len(stems) == 2
    assert old.stem in stems[0] and new.stem in stems[1]
    title = bank.quiz("service-environment").title
    key = f"practice-None-{title}-{old.id}"
    # The options read in the order of the attempt the question was missed in.
    db = open_kb(app_settings)
    [card] = [c for c in cards_of(db, "1001") if c.question_id == old.id]
    assert (card.reviews, card.streak) == (1, 0)
    radio = at.radio(key=key)
    right = next(
        i
        for i, label in enumerate(radio.options)
        if label.endswith(md_text(dict(old.options)[old.answer]))
    )
    radio.set_value(right)
    at.button(key=f"check-{key}").click().run()
    assert texts(at.success) == ["回答正确！"]
    [reviewed] = [c for c in cards_of(db, "1001") if c.question_id == old.id]
    db.close()
    assert (reviewed.reviews, reviewed.streak) == (2, 1)
    assert reviewed.due > NOW + timedelta(days=1)
    assert f"下次复习：{local_date_text(reviewed.due)}（北京时间）" in texts(at.caption)
    # The next run lists it among the cards not yet due.
    at.run()
    assert texts(at.subheader) == ["今日复习 0 题", "其他错题 2 题（未到期，可提前练习）"]

    # 我的进度 shows what is due: nothing today, the next on tomorrow's date.
    progress = logged_in("1001")
    open_page(progress, "progress")
    [line] = [i.value for i in progress.info if i.value.startswith("今日待复习")]
    db = open_kb(app_settings)
    soonest = min(c.due for c in cards_of(db, "1001"))
    db.close()
    assert line == f"今日待复习 0 题；下次到期 {local_date_text(soonest)}（北京时间）"

    # The office: 监测站 reviewed one mistake and got it right.
    office = logged_in("9001")
    open_page(office, "dashboard")
    office.session_state["dashboard_tab"] = "测验与题目"
    office.run()
    [table] = [d.value for d in office.dataframe if "已复习错题" in d.value.columns]
    assert table.to_dict("records") == [
        {"部门": "监测站", "复习人数": 1, "已复习错题": 1, "复习时答对": 1, "复习答对率": 1.0}
    ]


def test_progress_says_how_many_are_due_today(mistakes, app_settings):
    at = logged_in("1001")
    open_page(at, "progress")
    [line] = [i.value for i in at.info if i.value.startswith("今日待复习")]
    db = open_kb(app_settings)
    [later] = [c.due for c in cards_of(db, "1001") if c.due > NOW]
    db.close()
    assert line == f"今日待复习 1 题；下次到期 {local_date_text(later)}（北京时间）"
    assert [p.label for p in at.get("page_link") if p.label == "去复习错题"] == ["去复习错题"]


def test_a_wrong_answer_in_passage_practice_makes_a_card(mistakes, app_settings):
    bank, _, missed = mistakes
    quiz = bank.quiz("plan-basics")
    db = open_kb(app_settings)
    # A single-choice question of the submitted quiz that was answered right: no card yet.
    question, passage = next(
        (q, p)
        for q in quiz.active_questions
        if q.type == "single" and q.id != missed.id
        for p in [source_passage(db, q)]
        if p is not None
    )
    assert (quiz.id, question.id) not in cards_by_question(db, "1001")
    at = logged_in("1001")
    at.query_params["chunk"] = str(passage.chunk_id)
    open_page(at, "practice")
    key = f"practice-{passage.chunk_id}-{quiz.title}-{question.id}"
    radio = at.radio(key=key)
    # A passage's questions show their options in bank order.
    wrong = next(k for k in question.option_keys if k != question.answer)
    radio.set_value(question.option_keys.index(wrong))
    at.button(key=f"check-{key}").click().run()
    assert texts(at.error) == ["回答错误。"]
    card = cards_by_question(db, "1001")[(quiz.id, question.id)]
    db.close()
    assert (card.reviews, card.streak, card.retired_at) == (1, 0, None)
    assert f"下次复习：{local_date_text(card.due)}（北京时间）" in texts(at.caption)
