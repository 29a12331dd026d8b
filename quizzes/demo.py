"""Demo data: a plausible bureau studying for the campaign, and its clean removal.

Everything generated is marked: every 工号 starts with ``DEMO-<run>-``, every generated
person is listed in ``demo_people`` under a ``demo_runs`` row, and :func:`remove_demo`
deletes exactly those people and what hangs off them (department history, attempts and
their answers, readings, exemptions, login throttling), the notices frozen over demo data,
and the markers. Nothing else is touched.

Speed: the password is hashed once for every demo account (argon2 costs 24 ms a hash),
and all rows are written with ``executemany`` in one write transaction; the answer rows
(about 27 per attempt) dominate, so each question's possible answers are prepared and
graded once (:func:`quizzes.grading.grade_question`, so stored points always agree with
grading) and an attempt only picks among them.

The simulation, in short: departments differ in how diligent they are; a person either
does not start, does part of the plan, or does all of it, spread between the phase's
start and a week after its deadline (the plan's dates, never ``now``'s), front-loaded,
with only what falls before ``now`` kept (so the demo shows people behind and people
late). A default plan stored in the last week has hardly any days behind it to fill:
:func:`plan_for_demo` then stores a demo version of it that started
:data:`DEMO_ELAPSED_DAYS` days ago, removed with the rest of the demo. Ability differs by person and
question difficulty by question; a retry is a little better than the try before. A few
attempts are implausibly fast and a few copy a colleague's answer sheet, so the integrity
view has something to show.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from base.clock import LOCAL_TZ, end_of_day, start_of_day, to_stamp
from base.store import migrate, write
from kb.documents import DocumentInfo
from quizzes.attempts import delete_attempts_of, insert_graded_attempts, next_attempt_id
from quizzes.bank import CHOICE_TYPES, Bank, Question, Quiz
from quizzes.exemptions import delete_exemptions_of, insert_exemptions
from quizzes.grading import grade_question
from quizzes.passwords import generate_password, hash_password
from quizzes.people import delete_people, insert_people
from quizzes.plan import (
    DEFAULT_PLAN_AUTHOR,
    DEFAULT_STUDY_DAYS,
    Phase,
    StudyPlan,
    default_plan,
    delete_plans_saved_by,
    get_plan,
    save_plan,
)
from quizzes.readings import delete_readings_of, insert_readings
from quizzes.review import delete_cards_of
from quizzes.studyplan import delete_demo_notices

COMPONENT = "demo"

DEMO_PREFIX = "DEMO-"
"""Employee numbers of generated demo people start with this."""

DEMO_DEPARTMENTS: tuple[str, ...] = (
    "办公室",
    "人事科",
    "财务科",
    "法规科",
    "环评科",
    "污防科",
    "宣教科",
    "监测站",
    "监察支队",
    "信息中心",
)
"""The plan's 科(室)、站、队, as a bureau of this kind names them."""

EXEMPTION_REASONS = ("请假", "外派", "病假", "产假")

DEMO_PLAN_AUTHOR = "演示数据"
"""Recorded as who saved the demo's version of the default plan; removal deletes it."""

DEMO_ELAPSED_DAYS = 20
"""How many days of the default period the demo's version of the plan has behind it."""

_MIN_DAYS_TO_SHOW = 7

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力成峰国志海晨宇浩然欣怡雪梅林波斌鑫琳凯俊佳颖婷慧鹏飞亮宁晶晓燕春兰凤云"
_FILL_WRONG = "不清楚"
_FLUSH_ROWS = 200_000


@dataclass(frozen=True)
class DemoReport:
    """What :func:`generate_demo` wrote.

    Attributes:
        run_id: the ``demo_runs`` row; 工号 are ``DEMO-<run_id>-00001`` and on.
        phase: the phase simulated (its start and deadline date every record).
        password: the one initial password of every demo account (must be changed at
            first login); random per run, so a demo left on a server is no open door.
        period_start, period_end: the span the simulated study was spread over (only
            what falls before the generation's ``now`` was kept).
    """

    run_id: int
    people: int
    departments: tuple[str, ...]
    heads: int
    moves: int
    exemptions: int
    attempts: int
    answers: int
    readings: int
    password: str
    phase: Phase
    period_start: datetime
    period_end: datetime
    seconds: float


@dataclass(frozen=True)
class DemoRemoval:
    """How many rows :func:`remove_demo` deleted, table by table."""

    runs: int
    plans: int
    people: int
    department_history: int
    attempts: int
    answers: int
    readings: int
    exemptions: int
    notices: int
    login_failures: int
    login_sessions: int
    review_cards: int


# -- schema ---------------------------------------------------------------------------------


def _create_v1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE demo_runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            people INTEGER NOT NULL,
            departments TEXT NOT NULL,          -- JSON list
            attempts INTEGER NOT NULL,
            answers INTEGER NOT NULL
        );
        -- Exactly the people a run generated: removal deletes these, never by name alone.
        CREATE TABLE demo_people (
            employee_no TEXT PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES demo_runs (id)
        );
        """
    )


STEPS = [_create_v1]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the demo marker tables (component ``demo``)."""
    return migrate(db, COMPONENT, STEPS)


# -- preparation ----------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class _Variant:
    answer: str  # the stored JSON
    points: float
    correct: int


@dataclass(frozen=True)
class _PreparedQuestion:
    id: str
    quoted_id: str
    max_points: float
    difficulty: float
    right: _Variant
    wrong: tuple[_Variant, ...]
    orders: tuple[str, ...]  # JSON fragments '"q01":["B","A"]'; empty for non-choice


@dataclass(frozen=True)
class _PreparedQuiz:
    quiz: Quiz
    questions: tuple[_PreparedQuestion, ...]
    draw: int
    max_points: dict[str, float]


def _variant(question: Question, answer: Any) -> _Variant:
    points, correct = grade_question(question, answer)
    return _Variant(_dumps(answer), points, int(correct))


def _wrong_answers(question: Question) -> list[Any]:
    keys = list(question.option_keys)
    if question.type == "single":
        return [k for k in keys if k != question.answer]
    if question.type == "multiple":
        right = list(question.answer) if isinstance(question.answer, tuple) else []
        wrong_keys = [k for k in keys if k not in right]
        answers: list[Any] = []
        if len(right) > 1:
            answers.append(sorted(right[:-1]))  # a partial answer: half points, not correct
        if wrong_keys:
            answers.append(sorted([*right, wrong_keys[0]]))
            answers.append([wrong_keys[-1]])
        return answers or [[keys[0]]]
    if question.type == "true_false":
        return [not question.answer]
    return [_FILL_WRONG]


def _right_answer(question: Question) -> Any:
    if question.type == "multiple":
        return sorted(question.answer) if isinstance(question.answer, tuple) else []
    if question.type == "fill":
        assert isinstance(question.answer, tuple)
        return question.answer[0]
    return question.answer


def _prepare(quiz: Quiz, rng: random.Random) -> _PreparedQuiz:
    prepared = []
    for question in quiz.active_questions:
        wrong = [_variant(question, a) for a in _wrong_answers(question)]
        wrong = [w for w in wrong if not w.correct]
        # A blank answer is stored as 'null' and graded wrong, like an unanswered question.
        wrong.append(_Variant("null", 0.0, 0))
        orders: list[str] = []
        if question.type in CHOICE_TYPES:
            keys = list(question.option_keys)
            for _ in range(6 if quiz.shuffle_options else 1):
                order = keys[:]
                if quiz.shuffle_options:
                    rng.shuffle(order)
                orders.append(f"{_dumps(question.id)}:{_dumps(order)}")
        prepared.append(
            _PreparedQuestion(
                id=question.id,
                quoted_id=_dumps(question.id),
                max_points=question.points,
                difficulty=rng.gauss(0.0, 0.08),
                right=_variant(question, _right_answer(question)),
                wrong=tuple(wrong),
                orders=tuple(orders),
            )
        )
    return _PreparedQuiz(
        quiz, tuple(prepared), quiz.draw_count, {q.id: q.max_points for q in prepared}
    )


def _name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(_SURNAMES) + given


# -- generation -----------------------------------------------------------------------------


class _Sink:
    """Rows waiting to be written; flushed in large executemany batches."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.attempts: list[tuple] = []
        self.answers: list[tuple] = []
        self.attempt_count = 0
        self.answer_count = 0

    def flush(self) -> None:
        insert_graded_attempts(self.db, self.attempts, self.answers)
        self.attempt_count += len(self.attempts)
        self.answer_count += len(self.answers)
        self.attempts.clear()
        self.answers.clear()


def generate_demo(
    db: sqlite_utils.Database,
    bank: Bank,
    documents: Iterable[DocumentInfo | str],
    rng: random.Random,
    now: datetime,
    people: int = 300,
    departments: Sequence[str] | None = None,
    attempts_per_quiz: tuple[int, int] = (0, 3),
    *,
    plan: StudyPlan | None = None,
) -> DemoReport:
    """Generate a demo bureau: people, department moves, attempts, answers, readings.

    Args:
        db: the app database (schemas of accounts, attempts, studyplan and demo).
        bank: the quiz bank the attempts are made (and graded) against.
        documents: the indexed documents (or paths), for a default plan when none is
            stored or given.
        rng: the source of every random choice (the same seed gives the same demo,
            except the password).
        now: the current time, aware; nothing is dated after it.
        people: how many people to generate.
        departments: their departments; None for :data:`DEMO_DEPARTMENTS`.
        attempts_per_quiz: ``(low, high)`` attempts per person and quiz. A person who
            takes up a quiz makes between ``max(1, low)`` and ``high`` attempts, stopping
            at the first pass unless ``low`` asks for more; with ``low`` 0, some people
            never take up some quizzes. ``(3, 3)`` makes exactly three each. Never more
            than the quiz allows.
        plan: the plan whose current phase is simulated; None for the stored plan, else
            the default plan.

    Returns:
        What was written.

    Raises:
        ValueError: no people, no departments, or a bad ``attempts_per_quiz``.
    """
    started_clock = time.perf_counter()
    low, high = attempts_per_quiz
    if people < 1:
        raise ValueError("people must be at least 1")
    if not 0 <= low <= high or high < 1:
        raise ValueError(
            f"attempts_per_quiz {attempts_per_quiz!r}: need 0 <= low <= high, high >= 1"
        )
    names = tuple(departments) if departments is not None else DEMO_DEPARTMENTS
    if not names:
        raise ValueError("at least one department is needed")
    documents = list(documents)
    if plan is None:
        plan = get_plan(db) or default_plan(bank, documents, now.astimezone(LOCAL_TZ).date())
    phase = plan.current_phase(now)
    quizzes = [_prepare(bank.quizzes[q], rng) for q in phase.quiz_ids if q in bank.quizzes]
    quizzes = [q for q in quizzes if q.questions]

    # Dated by the plan: from its start to a week after its deadline (what falls after now
    # is dropped below).
    period_start = phase.start
    period_end = max(phase.deadline, period_start + timedelta(days=1)) + timedelta(days=7)
    span = (period_end - period_start).total_seconds()
    deadline_share = (max(phase.deadline, period_start) - period_start).total_seconds() / span
    created = period_start - timedelta(days=30)

    password = generate_password()
    password_hash = hash_password(password)  # once: argon2 costs 24 ms per hash

    # Department sizes and diligence differ, so the dashboard has leaders and laggards.
    weights = [rng.uniform(0.5, 2.0) for _ in names]
    diligence = {d: rng.uniform(0.55, 1.0) for d in names}
    assigned = rng.choices(names, weights=weights, k=people)
    # Every department gets someone, and its first person is its head.
    for i, department in enumerate(names[: min(len(names), people)]):
        assigned[i] = department

    with write(db):
        run_id = int(
            db.execute(
                "INSERT INTO demo_runs (created_at, people, departments, attempts, answers) "
                "VALUES (?, ?, ?, 0, 0) RETURNING id",
                [to_stamp(now), people, _dumps(list(names))],
            ).fetchone()[0]
        )
        # Ids are taken under the writer lock (BEGIN IMMEDIATE), so no one else can be
        # inserting attempts between this read and the inserts below.
        next_attempt = next_attempt_id(db)
        sink = _Sink(db)
        person_rows: list[tuple] = []
        history_rows: list[tuple] = []
        marker_rows: list[tuple] = []
        reading_rows: list[tuple] = []
        exemption_rows: list[tuple] = []
        heads_seen: set[str] = set()
        moves = 0
        last_sheet: dict[tuple[str, str], tuple[str, str, list[tuple[str, _Variant]]]] = {}
        random_ = rng.random
        created_stamp = to_stamp(created)

        for i in range(people):
            employee_no = f"{DEMO_PREFIX}{run_id}-{i + 1:05d}"
            department = assigned[i]
            role = "staff"
            if department not in heads_seen:
                heads_seen.add(department)
                role = "head"
            person_rows.append(
                (employee_no, _name(rng), department, role, password_hash, created_stamp)
            )
            marker_rows.append((employee_no, run_id))
            if role == "staff" and len(names) > 1 and random_() < 0.02:
                # Moved during the study period: history shows both departments.
                before = rng.choice([d for d in names if d != department])
                moved_at = period_start + timedelta(seconds=random_() * span * 0.5)
                moved_at = min(moved_at, now)
                history_rows.append((employee_no, before, created_stamp))
                history_rows.append((employee_no, department, to_stamp(moved_at)))
                moves += 1
            else:
                history_rows.append((employee_no, department, created_stamp))
            if random_() < 0.01:
                since = min(now, period_start + timedelta(seconds=random_() * span * 0.3))
                exemption_rows.append(
                    (employee_no, rng.choice(EXEMPTION_REASONS), to_stamp(since), "DEMO")
                )

            # What this person does: nothing, part, or all of the plan.
            lag = 1.0 - diligence[department]
            roll = random_()
            items: list[tuple[str, Any]] = [("document", d) for d in phase.documents]
            order = list(quizzes)
            rng.shuffle(order)
            items += [("quiz", q) for q in order]
            if low >= 1:
                quiz_items = [it for it in items if it[0] == "quiz"]
                doc_items = [it for it in items if it[0] == "document"]
                if roll < 0.04 + 0.25 * lag:
                    doc_items = []
                elif roll < 0.14 + 0.6 * lag and doc_items:
                    doc_items = doc_items[: rng.randint(0, len(doc_items) - 1)]
                items = doc_items + quiz_items
            elif roll < 0.04 + 0.25 * lag:
                items = []
            elif roll < 0.14 + 0.6 * lag and len(items) > 1:
                items = items[: rng.randint(1, len(items) - 1)]
            if not items:
                continue

            # When: finish around a front-loaded moment; some after the deadline.
            finish_share = min(1.0, rng.betavariate(2.0, 3.0) * deadline_share * 1.15)
            begin_share = finish_share * random_() * 0.5
            ability = min(0.97, max(0.45, rng.gauss(0.82 - 0.1 * lag, 0.08)))
            step = (finish_share - begin_share) / len(items)
            for k, (kind, item) in enumerate(items):
                at = period_start + timedelta(seconds=(begin_share + step * (k + random_())) * span)
                if at > now:
                    break
                if kind == "document":
                    reading_rows.append((employee_no, item, to_stamp(at)))
                    continue
                next_attempt = _attempts(
                    sink,
                    item,
                    employee_no,
                    department,
                    at,
                    now,
                    ability,
                    low,
                    high,
                    rng,
                    next_attempt,
                    last_sheet,
                )
            if len(sink.answers) >= _FLUSH_ROWS:
                # The people first: their graded attempts are tallied by department.
                insert_people(db, person_rows, history_rows)
                person_rows.clear()
                history_rows.clear()
                sink.flush()

        insert_people(db, person_rows, history_rows)
        db.conn.executemany(
            "INSERT INTO demo_people (employee_no, run_id) VALUES (?, ?)", marker_rows
        )
        sink.flush()
        insert_readings(db, reading_rows)
        insert_exemptions(db, exemption_rows)
        db.execute(
            "UPDATE demo_runs SET attempts = ?, answers = ? WHERE id = ?",
            [sink.attempt_count, sink.answer_count, run_id],
        )
    return DemoReport(
        run_id=run_id,
        people=people,
        departments=names,
        heads=len(heads_seen),
        moves=moves,
        exemptions=len(exemption_rows),
        attempts=sink.attempt_count,
        answers=sink.answer_count,
        readings=len(reading_rows),
        password=password,
        phase=phase,
        period_start=period_start,
        period_end=period_end,
        seconds=time.perf_counter() - started_clock,
    )


def plan_for_demo(
    db: sqlite_utils.Database, plan: StudyPlan, bank: Bank, now: datetime
) -> StudyPlan:
    """The plan to date the demo by: ``plan``, unless it is the untouched default plan
    whose period began less than a week before ``now`` (nothing to show day by day yet).

    Then a copy of it that started :data:`DEMO_ELAPSED_DAYS` days ago (Beijing days, the
    default length kept) is stored as the plan in force, saved by :data:`DEMO_PLAN_AUTHOR`;
    :func:`remove_demo` deletes it, and the default is in force again. A plan the office
    saved is never changed.
    """
    if plan.saved_by != DEFAULT_PLAN_AUTHOR or len(plan.phases) != 1:
        return plan
    (phase,) = plan.phases
    if now - phase.start >= timedelta(days=_MIN_DAYS_TO_SHOW):
        return plan
    first_day = now.astimezone(LOCAL_TZ).date() - timedelta(days=DEMO_ELAPSED_DAYS)
    start = start_of_day(first_day)
    redated = Phase(
        phase.name,
        start,
        end_of_day(first_day + timedelta(days=DEFAULT_STUDY_DAYS)),
        phase.quiz_ids,
        phase.documents,
    )
    return save_plan(db, StudyPlan((redated,)), bank, now, DEMO_PLAN_AUTHOR)


def _attempts(
    sink: _Sink,
    prepared: _PreparedQuiz,
    employee_no: str,
    department: str,
    at: datetime,
    now: datetime,
    ability: float,
    low: int,
    high: int,
    rng: random.Random,
    next_id: int,
    last_sheet: dict[tuple[str, str], tuple[str, str, list[tuple[str, _Variant]]]],
) -> int:
    """Write one person's attempts at one quiz from ``at``; returns the next free id."""
    quiz = prepared.quiz
    random_ = rng.random
    planned = min(rng.randint(max(1, low), high), quiz.attempts_allowed)
    minimum = min(low, quiz.attempts_allowed)
    limit = quiz.time_limit_minutes
    questions = prepared.questions
    start = at
    for number in range(1, planned + 1):
        fast = random_() < 0.003
        per_question = rng.uniform(1.0, 2.5) if fast else rng.uniform(8.0, 40.0)
        duration = timedelta(seconds=per_question * prepared.draw)
        if limit is not None:
            duration = min(duration, timedelta(minutes=limit) - timedelta(seconds=5))
        submitted = start + duration
        if submitted > now:
            break
        key = (department, quiz.id)
        copied = last_sheet.get(key) if number == 1 and random_() < 0.002 else None
        if copied is not None:
            question_ids, option_orders, sheet = copied
        else:
            drawn = (
                list(questions)
                if prepared.draw == len(questions)
                else rng.sample(questions, prepared.draw)
            )
            if quiz.shuffle_questions:
                rng.shuffle(drawn)
            question_ids = "[" + ",".join(q.quoted_id for q in drawn) + "]"
            option_orders = (
                "{"
                + ",".join(q.orders[int(random_() * len(q.orders))] for q in drawn if q.orders)
                + "}"
            )
            skill = ability + 0.06 * (number - 1)
            sheet = []
            for q in drawn:
                if random_() < skill + q.difficulty:
                    sheet.append((q.id, q.right))
                else:
                    sheet.append((q.id, q.wrong[int(random_() * len(q.wrong))]))
        score = 0.0
        max_score = 0.0
        saved = to_stamp(submitted)
        attempt_id = next_id
        next_id += 1
        max_points = prepared.max_points
        for question_id, variant in sheet:
            score += variant.points
            points = max_points[question_id]
            max_score += points
            sink.answers.append(
                (
                    attempt_id,
                    question_id,
                    variant.answer,
                    None if variant.answer == "null" else saved,
                    variant.points,
                    points,
                    variant.correct,
                )
            )
        passed = max_score > 0 and score * 100 >= quiz.pass_mark * max_score
        expires = None if limit is None else to_stamp(start + timedelta(minutes=limit))
        sink.attempts.append(
            (
                attempt_id,
                quiz.id,
                employee_no,
                number,
                to_stamp(start),
                expires,
                saved,
                score,
                max_score,
                int(passed),
                question_ids,
                option_orders,
                f"{rng.getrandbits(128):032x}",
            )
        )
        last_sheet[key] = (question_ids, option_orders, sheet)
        if passed and number >= minimum:
            break
        start = submitted + timedelta(seconds=rng.uniform(600, 2 * 86400))
    return next_id


# -- removal --------------------------------------------------------------------------------


def remove_demo(db: sqlite_utils.Database) -> DemoRemoval:
    """Delete every demo run and exactly the rows it made, in one write transaction.

    Returns:
        How many rows went, table by table.
    """
    people = "SELECT employee_no FROM demo_people"
    with write(db):
        answers, attempts = delete_attempts_of(db, people)
        counts = {
            "answers": answers,
            "attempts": attempts,
            "readings": delete_readings_of(db, people, ()),
            "exemptions": delete_exemptions_of(db, people, ()),
            "review_cards": delete_cards_of(db, people),
            # A notice frozen over demo people is about demo data: it goes too.
            "notices": delete_demo_notices(db),
            "plans": delete_plans_saved_by(db, DEMO_PLAN_AUTHOR),
            **delete_people(db, people),
        }
        db.execute("DELETE FROM demo_people")
        counts["runs"] = db.execute("DELETE FROM demo_runs").rowcount
    return DemoRemoval(**counts)


def demo_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The demo runs present (id, created_at, people, departments, attempts, answers)."""
    cursor = db.execute("SELECT * FROM demo_runs ORDER BY id")
    names = [d[0] for d in cursor.description]
    rows = []
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        record["departments"] = json.loads(record["departments"])
        rows.append(record)
    return rows
