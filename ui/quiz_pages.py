"""学习测验 (list, take, result) and 错题练习 (practise mistakes, or a passage's questions)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st
from sqlite_utils import Database

from base.clock import local_date_text
from kb.embedding import ModelStatus
from quizzes.attempts import (
    AccessDenied,
    Attempt,
    AttemptError,
    WrongQuestion,
    get_attempt,
    get_result,
    quiz_statuses,
    save_answer,
    start_attempt,
    submit_attempt,
    wrong_questions,
)
from quizzes.bank import Bank, Question
from quizzes.practice import practisable, related_passages, source_passage
from quizzes.review import (
    RETIRE_AFTER,
    ReviewCard,
    ReviewItem,
    answer_question,
    cards_by_question,
    review_queue,
)
from ui.auth import require, signed_in
from ui.quiz_widgets import (
    answer_input,
    md_answer,
    show_question_stem,
    show_review,
    show_source,
    widget_answer,
)
from ui.render import md_text, without_stray_mark
from ui.services import (
    get_bank,
    get_db,
    get_model_status,
    get_questions_by_passage,
    get_vector_index,
)

COUNTDOWN_SECONDS = 10
"""How often the countdown of a timed quiz is redrawn, until its last minute."""
FINAL_SECONDS = 60
"""The last minute, counted down second by second."""

STATE_LABELS = {
    "not_started": "未开始",
    "in_progress": "作答中",
    "passed": "已通过",
    "failed": "未通过",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _int_param(name: str) -> int | None:
    try:
        return int(st.query_params[name]) if name in st.query_params else None
    except ValueError:
        return None


def quizzes_page() -> None:
    """The quiz list, an attempt in progress (?attempt=ID), or a result (?result=ID)."""
    person = require()
    st.title("学习测验")
    bank = get_bank()
    db = get_db()
    result_id, attempt_id = _int_param("result"), _int_param("attempt")
    try:
        if result_id is not None:
            _result_view(result_id, person.employee_no, bank)
            return
        if attempt_id is not None:
            _attempt_view(get_attempt(db, attempt_id, person.employee_no))
            return
    except AccessDenied:
        # The same answer whether the attempt is someone else's or does not exist.
        st.error("没有找到这次作答。")
        return
    st.caption("先在“政策检索”“文件阅读”中学习，再参加测验。提交后可查看错题、解析和原文出处。")
    for status in quiz_statuses(db, person.employee_no, bank, _now()):
        quiz = bank.quiz(status.quiz_id)
        with st.container(border=True):
            # A small heading and a caption: on a phone a subheader title filled the card.
            st.markdown(f"##### {md_text(quiz.title)}")
            if quiz.description:
                st.caption(md_text(quiz.description))
            limit = f"限时 {quiz.time_limit_minutes} 分钟，" if quiz.time_limit_minutes else ""
            best = (
                f"，最好成绩 {status.best_score:g}/{status.best_max_score:g}"
                if status.best_score is not None
                else ""
            )
            st.caption(
                f"{quiz.draw_count} 题，{limit}{quiz.pass_mark}% 及格。"
                f"状态：{STATE_LABELS[status.state]}；已用 {status.attempts_used} 次，"
                f"剩余 {status.attempts_left} 次{best}"
            )
            if status.open_attempt_id is not None:
                label = "继续作答"
            elif status.attempts_left > 0:
                label = "开始测验" if status.attempts_used == 0 else "再测一次"
            else:
                label = None
            if label and st.button(label, key=f"start-{quiz.id}", type="primary"):
                try:
                    attempt = start_attempt(db, quiz, person.employee_no, _now(), random.Random())
                except AttemptError as exc:
                    st.error(md_text(str(exc)))
                else:
                    st.query_params["attempt"] = str(attempt.id)
                    st.rerun()


def _save(attempt: Attempt, question: Question, key: str) -> None:
    if not signed_in(attempt.employee_no):
        return  # the page run that follows shows the login form
    options = attempt.displayed_options(question)
    try:
        save_answer(
            get_db(),
            attempt.id,
            attempt.employee_no,
            question.id,
            widget_answer(question, options, key),
            _now(),
        )
        st.session_state.pop("quiz_save_error", None)
    except AttemptError as exc:
        st.session_state["quiz_save_error"] = str(exc)


def _attempt_view(attempt: Attempt) -> None:
    bank = get_bank()
    quiz = bank.quiz(attempt.quiz_id)
    now = _now()
    if not attempt.is_open(now):
        # Over time (or already submitted elsewhere): grade what was saved, show the result.
        _submit(attempt)
        st.rerun()
    st.subheader(md_text(quiz.title), anchor=False)
    answered = sum(1 for v in attempt.answers.values() if v not in (None, [], ""))
    st.caption(
        f"第 {attempt.attempt_no} 次作答 · 已答 {answered}/{len(attempt.question_ids)} 题"
        " · 每题作答后自动保存"
    )
    if attempt.expires_at is not None:
        _countdown(attempt)
    error = st.session_state.pop("quiz_save_error", None)
    if error:
        st.error(md_text(error))
    for number, question_id in enumerate(attempt.question_ids, start=1):
        question = quiz.question(question_id)
        key = f"ans-{attempt.id}-{question_id}"
        with st.container(border=True):
            show_question_stem(number, question)
            answer_input(
                question,
                attempt.displayed_options(question),
                key,
                attempt.answers.get(question_id),
                # every answer is saved the moment it is given, so a refresh, a closed
                # tab or a restarted server resumes here
                on_change=lambda q=question, k=key: _save(attempt, q, k),
            )
    confirming = f"confirm-{attempt.id}"
    if not st.session_state.get(confirming):
        st.button(
            "提交试卷",
            type="primary",
            key=f"submit-{attempt.id}",
            on_click=st.session_state.__setitem__,
            args=(confirming, True),
        )
        return
    # One click never grades: the person sees what is still blank and confirms.
    blank = unanswered_numbers(attempt)
    with st.container(border=True, key=f"confirm-box-{attempt.id}"):
        if blank:
            st.warning(
                f"还有 {len(blank)} 题未作答（第 {'、'.join(map(str, blank))} 题）。"
                "提交后不能再修改，未答的题不得分。"
            )
        else:
            st.info(f"全部 {len(attempt.question_ids)} 题已作答。提交后不能再修改。")
        back, confirm = st.columns(2)
        back.button(
            "返回作答",
            key=f"back-{attempt.id}",
            on_click=st.session_state.pop,
            args=(confirming, None),
        )
        # Submitted in the button's callback: the run that follows renders the result
        # page directly, instead of re-rendering the whole attempt first (measured under
        # 200 simultaneous submits: p99 20 s -> 13 s; bench/load_sessions.py).
        confirm.button(
            "确认提交",
            type="primary",
            key=f"submit-{attempt.id}",
            on_click=_submit,
            args=(attempt,),
        )


def unanswered_numbers(attempt: Attempt) -> list[int]:
    """The numbers (as shown, from 1) of the questions without a saved answer."""
    return [
        number
        for number, question_id in enumerate(attempt.question_ids, start=1)
        if attempt.answers.get(question_id) in (None, [], "")
    ]


def _countdown(attempt: Attempt) -> None:
    """The time left, redrawn in the browser by a fragment rerun: every 10 s to the
    nearest 10 s, then each second in the last minute.

    A fragment run renders this one line and costs the server 4-7 ms of CPU
    (bench/countdown_cost.py): each second, 200 people would take more than a core; every
    10 s, 13% of one. The server still grades at the deadline, whatever the browser shows.
    """
    left = attempt.seconds_left(_now()) or 0.0
    final = left <= FINAL_SECONDS

    @st.fragment(run_every=1 if final else COUNTDOWN_SECONDS)
    def tick() -> None:
        left = attempt.seconds_left(_now()) or 0.0
        if left <= 0 or (not final and left <= FINAL_SECONDS):
            # Over time: the page run grades what was saved. The last minute: a page run
            # sets the fragment ticking each second.
            st.rerun(scope="app")
        if left <= FINAL_SECONDS:
            shown = f"剩余 **{math.ceil(left)} 秒**"
        else:
            rounded = math.ceil(left / COUNTDOWN_SECONDS) * COUNTDOWN_SECONDS
            shown = f"剩余约 **{rounded // 60} 分 {rounded % 60:02d} 秒**"
        st.markdown(f":material/timer: {shown}（到时按已保存答案评分）")

    tick()


def _submit(attempt: Attempt) -> None:
    # Also called by the page for an attempt over time, after the page's require().
    if not signed_in(attempt.employee_no):
        return
    try:
        submit_attempt(get_db(), attempt.id, attempt.employee_no, _now(), get_bank())
    except AttemptError as exc:
        st.session_state["quiz_save_error"] = str(exc)
        return
    # One query-string message instead of two (a pop and a set).
    st.query_params.from_dict({"result": str(attempt.id)})


def _result_view(attempt_id: int, employee_no: str, bank: Bank) -> None:
    db = get_db()
    result = get_result(db, attempt_id, employee_no)
    if result is None:
        st.info("这次作答还没有提交。")
        st.query_params.pop("result", None)
        st.query_params["attempt"] = str(attempt_id)
        return
    quiz = bank.quiz(result.quiz_id)
    st.subheader(md_text(f"{quiz.title} · 第 {result.attempt_no} 次作答结果"), anchor=False)
    verdict = "通过" if result.passed else "未通过"
    (st.success if result.passed else st.warning)(
        f"得分 {result.score:g} / {result.max_score:g}（{result.percent:.0f}%），{verdict}（及格线 {quiz.pass_mark}%）"
        + ("；已超时，按已保存答案评分" if result.status == "expired" else "")
    )
    wrong = [r for r in result.questions if r.correct is False]
    if not wrong:
        st.markdown("全部答对！")
    # The review is shown when asked for: the score page stays small, which is what keeps
    # 200 simultaneous submits answered in about 2 s instead of 13 (bench/load_sessions.py).
    elif st.toggle(
        f"查看答错或未答的 {len(wrong)} 题：正确答案、解析和原文出处", key=f"review-{attempt_id}"
    ):
        for number, item in enumerate(result.questions, start=1):
            if item.correct is False:
                show_review(db, number, quiz.question(item.question_id), result, item)
    if st.button("返回测验列表"):
        st.query_params.clear()
        st.rerun()


def practice_page() -> None:
    """错题练习: today's review of my mistakes (due cards first, then the rest), or
    (?chunk=ID) a passage's questions.

    Answers are checked on the spot. An answer to a question with a review card, or a
    wrong one, is recorded on the card (:mod:`quizzes.review`); it is never an attempt.
    """
    person = require()
    st.title("错题练习")
    db = get_db()
    bank = get_bank()
    chunk_id = _int_param("chunk")
    if chunk_id is not None:
        cited, held = practisable(
            db, person.employee_no, get_questions_by_passage().get(chunk_id, [])
        )
        st.caption("就检索到的这段原文出题练习（练习不计入测验成绩）。")
        cards = cards_by_question(db, person.employee_no)
        items = [
            _PracticeItem(
                c.quiz_id, c.quiz_title, c.question, None, cards.get((c.quiz_id, c.question.id))
            )
            for c in cited
        ]
        if held:
            titles = "、".join(dict.fromkeys(f"“{c.quiz_title}”" for c in held))
            st.info(
                md_text(
                    f"这段原文另有 {len(held)} 道题属于你还没有提交过的测验{titles}；"
                    "提交一次该测验后，可在这里练习并查看答案。"
                )
            )
        elif not items:
            st.info("这段原文还没有对应的题目。")
    else:
        _review_view(db, person.employee_no, bank)
        return
    status = get_model_status(wait=False)
    for number, item in enumerate(items, start=1):
        _practice_item(db, person.employee_no, f"practice-{chunk_id}", number, item, status)


@dataclass(frozen=True)
class _PracticeItem:
    quiz_id: str
    quiz_title: str
    question: Question
    mistake: WrongQuestion | None  # the graded attempt it was last got wrong in
    card: ReviewCard | None


def _review_view(db: Database, employee_no: str, bank: Bank) -> None:
    """今日复习: the cards due today, then the other mistakes, to practise early."""
    queue = review_queue(db, employee_no, bank, _now())
    status = get_model_status(wait=False)
    wrong = {(m.quiz_id, m.question.id): m for m in wrong_questions(db, employee_no, bank)}

    def items(found: tuple[ReviewItem, ...]) -> list[_PracticeItem]:
        return [
            _PracticeItem(
                i.card.quiz_id,
                i.quiz_title,
                i.question,
                wrong.get((i.card.quiz_id, i.question.id)),
                i.card,
            )
            for i in found
        ]

    due, later = items(queue.due), items(queue.later)
    if not (due or later or queue.mastered):
        st.info("还没有错题。参加测验或练习时答错的题会出现在这里。")
        return
    st.caption(
        "测验和练习中答错的题按记忆规律安排复习：到期的先复习，答对后隔几天再复习，"
        f"到期时连续答对 {RETIRE_AFTER} 次即为已掌握。复习不计入测验成绩。"
    )
    st.subheader(f"今日复习 {len(due)} 题", anchor=False)
    if not due:
        upcoming = (
            "" if queue.next_due is None else f"下次复习在 {local_date_text(queue.next_due)}。"
        )
        st.info(f"今天没有到期的错题。{upcoming}")
    for number, item in enumerate(due, start=1):
        _practice_item(db, employee_no, "practice-None", number, item, status)
    if later:
        st.subheader(f"其他错题 {len(later)} 题（未到期，可提前练习）", anchor=False)
    for number, item in enumerate(later, start=len(due) + 1):
        _practice_item(db, employee_no, "practice-None", number, item, status)
    if queue.mastered:
        st.caption(f"已掌握 {queue.mastered} 题，不再安排复习。")


def _practice_item(
    db: Database,
    employee_no: str,
    prefix: str,
    number: int,
    item: _PracticeItem,
    status: ModelStatus,
) -> None:
    question, mistake, card = item.question, item.mistake, item.card
    with st.container(border=True):
        st.caption(md_text(item.quiz_title))
        show_question_stem(number, question)
        # Options in the order of the attempt answered wrong: its letters are the
        # letters of the answer quoted here.
        options = question.options if mistake is None else mistake.displayed_options()
        if mistake is not None:
            later = "，之后已答对" if mistake.answered_right_later else ""
            st.caption(
                f"答错 {mistake.times_wrong} 次{later}；上次（测验第 "
                f"{mistake.last_wrong_number} 题）的答案："
                + md_answer(question, mistake.last_wrong_answer, options)
            )
        if card is not None and card.retired_at is None:
            st.caption(_card_text(card))
        key = f"{prefix}-{item.quiz_title}-{question.id}"
        answer = answer_input(question, options, key, None)
        if st.button("检查答案", key=f"check-{key}"):
            feedback, card = answer_question(
                db,
                employee_no,
                item.quiz_id,
                question,
                answer,
                _now(),
                0 if card is None else card.reviews,
            )
            if feedback.correct:
                st.success("回答正确！")
            elif feedback.partial:
                st.warning("部分正确（少选）。")
            else:
                st.error("回答错误。")
            if card is not None:
                st.caption(
                    "已掌握，不再安排复习。"
                    if card.retired_at is not None
                    else f"下次复习：{local_date_text(card.due)}（北京时间）"
                )
            st.markdown(f"正确答案：{md_answer(question, feedback.correct_answer, options)}")
            if feedback.explanation:
                st.markdown(md_text(f"解析：{feedback.explanation}"))
            show_source(source_passage(db, question), question)
            related = related_passages(db, question, status.embedder, get_vector_index())
            if related:
                st.caption("检索到的同一要点的其他段落：")
                for hit in related:
                    where = " › ".join(p for p in (hit.doc_title, hit.heading_path) if p)
                    st.markdown(md_text(f"· {where}：{without_stray_mark(hit.text)}"))


def _card_text(card: ReviewCard) -> str:
    now = _now()
    when = "今天到期" if card.is_due(now) else f"{local_date_text(card.due)} 到期"
    return f"复习：{when}；到期时已连续答对 {card.streak}/{RETIRE_AFTER} 次"
