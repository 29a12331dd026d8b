"""The study plan, reading confirmations, exemptions, progress, and frozen notices (通报).

The office (创建办) keeps a study plan: per campaign phase, the quizzes to pass and the
documents to read, with a start and a deadline. Everything else here is derived from
records (attempts, readings, exemptions, department history), never stored as a count or
a state, so the figures as of a past moment can be computed again and come out the same.

The rules, in one place (the dashboard, exports and notices all follow them):

* **Who is counted.** Active accounts with the role 职工 (staff) or 负责人 (head) that
  existed at the as-of moment. 创建办 (admin) accounts run the campaign and are not in the
  headcount; deactivated accounts are left out (deactivation is not historised, so a
  person deactivated later is also left out of earlier as-of figures).
* **Department.** A person counts for the department they belonged to at the as-of moment
  (``department_history``, as :func:`quizzes.accounts.department_at`). Someone who moved
  from 法规科 to 监测站 last week counts, with all their study, for 监测站 today and for
  法规科 as of two weeks ago.
* **Requirements are those of the plan now.** A quiz added to a phase later is required
  of everyone, also when figures are computed as of an earlier moment; a pass of that
  quiz before it was added still counts. The plan's versions are kept (``save_plan``
  appends one), and a frozen notice keeps what each person was missing when it was made.
* **What counts as done.** A quiz is done at the first submitted attempt that passed
  (``submitted_at``); a pass before the phase started counts too. A document is done
  when the person confirmed reading it (我已学习本文件). Only attempts submitted and
  readings confirmed at or before the as-of moment count.
* **States**, per person and phase, as of a moment:
  ``completed`` every requirement done, the last one by the deadline (inclusive);
  ``completed_late`` every requirement done, the last one after the deadline: they count
  as completed, but NOT in the completion rate against the deadline, and their department
  did not finish on time;
  ``overdue`` the deadline has passed and something is still missing;
  ``in_progress`` before the deadline, with some activity (an attempt started at a
  required quiz, or a required document confirmed) -- failing an attempt with attempts
  left is in progress, never overdue before the deadline;
  ``not_started`` before the deadline, no activity.
  ``blocked`` is flagged apart: a required quiz not passed with no attempts left, which
  only the office can resolve.
* **Exemptions** (请假, 外派, ...) run from when they are recorded until ``until`` (if
  given) or their removal. A person exempt at the as-of moment is shown apart and left
  out of every count and rate.

Times are timezone-aware datetimes passed in by the caller; they are stored as UTC text
in the fixed format the accounts and attempts tables use, so SQL compares them as strings.
Calendar days (defaults, per-day charts, file names) are Beijing time (UTC+8, no DST).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlite_utils

from kb.documents import DocumentInfo, list_documents
from kb.store import migrate, write
from kb.timestamps import from_stamp as _unstamp
from kb.timestamps import to_stamp
from quizzes.accounts import UnknownAccount, get_person
from quizzes.bank import Bank

COMPONENT = "studyplan"

LOCAL_TZ = timezone(timedelta(hours=8), "北京时间")
"""The bureau's calendar: China Standard Time; China keeps no daylight saving time."""

DEFAULT_PHASE_NAME = "启动阶段·全面学习"
DEFAULT_STUDY_DAYS = 30
CAMPAIGN_PLAN_DOCUMENT = "chuangjian_wenming_danwei_shishi_fangan.txt"
COUNTED_ROLES: tuple[str, ...] = ("staff", "head")
MAX_PHASE_NAME = 50
MAX_REASON = 100
MAX_TITLE = 100
DEMO_PREFIX = "DEMO-"
"""Employee numbers of generated demo people start with this (see :mod:`quizzes.demo`)."""

ProgressState = Literal["not_started", "in_progress", "completed", "completed_late", "overdue"]
RequirementKind = Literal["quiz", "document"]

STATE_LABELS: dict[str, str] = {
    "not_started": "未开始",
    "in_progress": "学习中",
    "completed": "按期完成",
    "completed_late": "逾期完成",
    "overdue": "逾期未完成",
}
EXEMPT_LABEL = "免学"
KIND_LABELS: dict[str, str] = {"quiz": "测验", "document": "文件"}


# -- errors ---------------------------------------------------------------------------------


class StudyPlanError(ValueError):
    """A study-plan operation was refused; ``str(error)`` is the Chinese message to show."""


class PlanInvalid(StudyPlanError):
    """A plan cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("学习计划有误：" + "；".join(problems))
        self.problems = tuple(problems)


class NoticeError(StudyPlanError):
    """A notice cannot be frozen (deadline not passed, moment in the future, no title)."""


# -- types that cross the boundary ----------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One phase of the campaign with what must be studied in it.

    Attributes:
        name: e.g. 启动阶段·全面学习.
        start: when study for this phase begins (aware).
        deadline: the last moment that counts as on time (aware, inclusive).
        quiz_ids: quizzes that must be passed.
        documents: corpus paths of the documents that must be read.
    """

    name: str
    start: datetime
    deadline: datetime
    quiz_ids: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    def elapsed_share(self, as_of: datetime) -> float:
        """How much of the study period has passed at ``as_of``, from 0.0 to 1.0."""
        total = (self.deadline - self.start).total_seconds()
        if total <= 0:
            return 1.0
        return min(1.0, max(0.0, (as_of - self.start).total_seconds() / total))

    def days_to_deadline(self, as_of: datetime) -> int:
        """Calendar days (Beijing time) from ``as_of`` to the deadline; negative once past."""
        return (self.deadline.astimezone(LOCAL_TZ).date() - as_of.astimezone(LOCAL_TZ).date()).days


@dataclass(frozen=True)
class StudyPlan:
    """The study plan: its phases, and which stored version it is.

    Attributes:
        phases: in the order the office lists them.
        version: the stored version's id; None for a plan not saved yet.
        saved_at, saved_by: when and by whom that version was saved.
    """

    phases: tuple[Phase, ...]
    version: int | None = None
    saved_at: datetime | None = None
    saved_by: str | None = None

    def current_phase(self, as_of: datetime) -> Phase:
        """The phase the figures are about at ``as_of`` by default.

        The phase that started last by ``as_of`` (so, after its deadline, still the last
        phase begun), or the earliest phase when none has started yet.

        Raises:
            StudyPlanError: the plan has no phase.
        """
        if not self.phases:
            raise StudyPlanError("学习计划中没有任何阶段")
        started = [p for p in self.phases if p.start <= as_of]
        if started:
            return max(started, key=lambda p: p.start)
        return min(self.phases, key=lambda p: p.start)

    def phase(self, name: str | None, as_of: datetime) -> Phase:
        """The phase named ``name``, or :meth:`current_phase` when ``name`` is None.

        Raises:
            StudyPlanError: no phase of that name.
        """
        if name is None:
            return self.current_phase(as_of)
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise StudyPlanError(f"学习计划中没有阶段“{name}”")


@dataclass(frozen=True)
class Reading:
    """A person confirmed having studied a document."""

    doc_path: str
    confirmed_at: datetime


@dataclass(frozen=True)
class Exemption:
    """A person excused from study (请假, 外派, ...) from ``since`` until ``until``/removal."""

    id: int
    employee_no: str
    reason: str
    since: datetime
    until: datetime | None
    created_by: str
    removed_at: datetime | None = None
    removed_by: str | None = None

    def active_at(self, moment: datetime) -> bool:
        """Whether the exemption applies at ``moment``."""
        return (
            self.since <= moment
            and (self.until is None or moment < self.until)
            and (self.removed_at is None or moment < self.removed_at)
        )


@dataclass(frozen=True)
class RequirementProgress:
    """One requirement of a phase, for one person, as of a moment.

    Attributes:
        kind: ``quiz`` (must be passed) or ``document`` (must be read).
        target: the quiz id or the document's corpus path.
        title: the quiz's or document's title (the id/path if it is gone).
        done_at: when it was passed / confirmed; None if not (yet) as of the moment.
        on_time: done by the phase's deadline.
        best_percent: quizzes: the best graded score as a percentage, or None.
        attempts_used: quizzes: attempts started by the moment.
        attempts_left: quizzes: attempts still allowed; None if the quiz is not in the bank.
    """

    kind: RequirementKind
    target: str
    title: str
    done_at: datetime | None
    on_time: bool
    best_percent: float | None = None
    attempts_used: int = 0
    attempts_left: int | None = None

    @property
    def done(self) -> bool:
        """Whether the requirement was met by the moment."""
        return self.done_at is not None


@dataclass(frozen=True)
class PersonProgress:
    """Where one person stands with one phase, as of a moment (see the module rules).

    Attributes:
        department: the department at ``as_of``; None if the account did not exist yet.
        counted: whether the person is in the headcount (staff/head, active, existing).
        state: see the module docstring; computed also for people not counted.
        completed_at: when the last requirement was met, if all were.
        exemption: the exemption in force at ``as_of``, if any.
        blocked: a required quiz is not passed and has no attempts left.
    """

    employee_no: str
    name: str
    department: str | None
    role: str
    active: bool
    counted: bool
    phase: str
    deadline: datetime
    as_of: datetime
    state: ProgressState
    completed_at: datetime | None
    requirements: tuple[RequirementProgress, ...]
    exemption: Exemption | None
    blocked: bool

    @property
    def missing(self) -> tuple[RequirementProgress, ...]:
        """The requirements not met as of the moment."""
        return tuple(r for r in self.requirements if not r.done)

    @property
    def exempt(self) -> bool:
        """Whether an exemption applies at the moment."""
        return self.exemption is not None

    @property
    def state_label(self) -> str:
        """The state as the office reads it (免学 for an exempt person)."""
        return EXEMPT_LABEL if self.exempt else STATE_LABELS[self.state]


@dataclass(frozen=True)
class MissingItem:
    """A requirement a person had not met when a notice was frozen."""

    kind: RequirementKind
    target: str
    title: str


@dataclass(frozen=True)
class NoticePerson:
    """A person named in a notice: overdue at its moment, with what they were missing."""

    employee_no: str
    name: str
    department: str
    missing: tuple[MissingItem, ...]


@dataclass(frozen=True)
class NoticeDepartment:
    """A department's figures at a notice's moment (exempt people not in the headcount)."""

    department: str
    headcount: int
    completed_on_time: int
    completed_late: int
    overdue: int
    exempt: int

    @property
    def on_time_rate(self) -> float | None:
        """Share of the headcount that completed by the deadline; None for no headcount."""
        return self.completed_on_time / self.headcount if self.headcount else None

    @property
    def finished_on_time(self) -> bool:
        """Whether everyone counted completed by the deadline."""
        return self.completed_late == 0 and self.overdue == 0


@dataclass(frozen=True)
class Notice:
    """A notice (通报) frozen at ``as_of``: it never changes once stored.

    Attributes:
        departments: every department with people counted, worst on-time rate first.
        people: the overdue people, by department then 工号.
    """

    id: int
    title: str
    phase: str
    phase_start: datetime
    deadline: datetime
    as_of: datetime
    created_at: datetime
    created_by: str
    departments: tuple[NoticeDepartment, ...]
    people: tuple[NoticePerson, ...]

    @property
    def named_departments(self) -> tuple[NoticeDepartment, ...]:
        """The units that did not finish on time (通报批评): someone overdue or late."""
        return tuple(d for d in self.departments if not d.finished_on_time)


@dataclass(frozen=True)
class NoticeInfo:
    """A stored notice as listed (without its rows)."""

    id: int
    title: str
    phase: str
    as_of: datetime
    created_at: datetime
    created_by: str
    people: int
    named_departments: int


@dataclass(frozen=True)
class NoticeChanges:
    """Who is new on a notice, who dropped off, and who is still on it."""

    added: tuple[NoticePerson, ...]
    resolved: tuple[NoticePerson, ...]
    remaining: tuple[NoticePerson, ...]


# -- schema ---------------------------------------------------------------------------------


def _create_v1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Append-only: each save is a new version, so a past plan can be looked up.
        CREATE TABLE study_plan_versions (
            id INTEGER PRIMARY KEY,
            saved_at TEXT NOT NULL,
            saved_by TEXT NOT NULL,
            body TEXT NOT NULL                  -- JSON: {"phases": [...]}
        );
        -- One row per person and document: a second click changes nothing.
        CREATE TABLE readings (
            employee_no TEXT NOT NULL COLLATE NOCASE,
            doc_path TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            PRIMARY KEY (employee_no, doc_path)
        );
        CREATE INDEX readings_by_doc ON readings (doc_path, confirmed_at);
        -- Ended by setting removed_at, never deleted: figures as of the past stay exact.
        CREATE TABLE exemptions (
            id INTEGER PRIMARY KEY,
            employee_no TEXT NOT NULL COLLATE NOCASE,
            reason TEXT NOT NULL CHECK (reason <> ''),
            since TEXT NOT NULL,
            until TEXT,
            created_by TEXT NOT NULL,
            removed_at TEXT,
            removed_by TEXT
        );
        CREATE INDEX exemptions_by_person ON exemptions (employee_no, since);
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL CHECK (title <> ''),
            phase TEXT NOT NULL,
            phase_start TEXT NOT NULL,
            deadline TEXT NOT NULL,
            as_of TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            plan_version INTEGER,
            includes_demo INTEGER NOT NULL DEFAULT 0 CHECK (includes_demo IN (0, 1))
        );
        CREATE TABLE notice_departments (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            department TEXT NOT NULL,
            headcount INTEGER NOT NULL,
            completed_on_time INTEGER NOT NULL,
            completed_late INTEGER NOT NULL,
            overdue INTEGER NOT NULL,
            exempt INTEGER NOT NULL,
            PRIMARY KEY (notice_id, department)
        );
        CREATE TABLE notice_people (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            employee_no TEXT NOT NULL,
            name TEXT NOT NULL,
            department TEXT NOT NULL,
            PRIMARY KEY (notice_id, employee_no)
        );
        CREATE TABLE notice_missing (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            employee_no TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('quiz', 'document')),
            target TEXT NOT NULL,
            title TEXT NOT NULL,
            PRIMARY KEY (notice_id, employee_no, position)
        );
        """
    )


STEPS = [_create_v1]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the study-plan tables (component ``studyplan``); returns the version."""
    return migrate(db, COMPONENT, STEPS)


# -- small helpers --------------------------------------------------------------------------


def _required(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict]:
    cursor = db.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def query_frame(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> pd.DataFrame:
    """A query's result as a DataFrame with the query's column names (also when empty)."""
    cursor = db.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=names)


def _document_paths(documents: Iterable[DocumentInfo | str]) -> list[str]:
    return [d.path if isinstance(d, DocumentInfo) else str(d) for d in documents]


def _document_titles(db: sqlite_utils.Database) -> dict[str, str]:
    return {row[0]: row[1] for row in db.execute("SELECT path, title FROM documents")}


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Beijing time (23:59:59.999999), as an aware datetime."""
    return datetime.combine(day, time.max, tzinfo=LOCAL_TZ)


def start_of_day(day: date) -> datetime:
    """The first moment of ``day`` in Beijing time, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


# -- the plan -------------------------------------------------------------------------------


def default_plan(bank: Bank, documents: Iterable[DocumentInfo | str], today: date) -> StudyPlan:
    """The plan shipped with the platform, matching the campaign plan's first step.

    One phase, 启动阶段·全面学习 (实施方案 四、(一)1): from the start of ``today`` until
    the end of the day :data:`DEFAULT_STUDY_DAYS` days later (Beijing time), pass every
    quiz of the bank and read the campaign plan and the study material: the campaign
    plan first, then every indexed document that a question of the bank cites.

    Args:
        bank: the quiz bank.
        documents: the indexed documents (``kb.documents.list_documents``) or their paths.
        today: the install day.

    Returns:
        The plan (not stored: see :func:`ensure_default_plan`).
    """
    indexed = set(_document_paths(documents))
    cited = {
        question.source.document
        for quiz in bank.quizzes.values()
        for question in quiz.questions
        if question.source.document in indexed
    }
    required = [CAMPAIGN_PLAN_DOCUMENT] if CAMPAIGN_PLAN_DOCUMENT in indexed else []
    required += sorted(cited - {CAMPAIGN_PLAN_DOCUMENT})
    phase = Phase(
        name=DEFAULT_PHASE_NAME,
        start=start_of_day(today),
        deadline=end_of_day(today + timedelta(days=DEFAULT_STUDY_DAYS)),
        quiz_ids=tuple(bank.quizzes),
        documents=tuple(required),
    )
    return StudyPlan(phases=(phase,))


def plan_problems(
    plan: StudyPlan, bank: Bank, documents: Iterable[DocumentInfo | str]
) -> list[str]:
    """Say what is wrong with a plan before it is saved.

    Args:
        plan: the plan to check.
        bank: the quiz bank now; every quiz id must be in it.
        documents: the indexed documents (or paths); every document must be among them.

    Returns:
        One Chinese message per problem, naming the phase; empty when the plan is usable.
    """
    indexed = set(_document_paths(documents))
    problems: list[str] = []
    if not plan.phases:
        return ["至少要有一个学习阶段"]
    seen: set[str] = set()
    for number, phase in enumerate(plan.phases, start=1):
        name = phase.name.strip()
        where = f"第{number}阶段“{name}”" if name else f"第{number}阶段"
        if not name:
            problems.append(f"{where}：阶段名称为空")
        elif len(name) > MAX_PHASE_NAME:
            problems.append(f"{where}：阶段名称过长（最多 {MAX_PHASE_NAME} 个字符）")
        elif name in seen:
            problems.append(f"{where}：阶段名称重复")
        seen.add(name)
        for label, moment in (("开始时间", phase.start), ("截止时间", phase.deadline)):
            if moment.tzinfo is None or moment.utcoffset() is None:
                problems.append(f"{where}：{label}缺少时区")
        aware = all(m.tzinfo is not None for m in (phase.start, phase.deadline))
        if aware and phase.deadline <= phase.start:
            problems.append(f"{where}：截止时间应晚于开始时间")
        if not phase.quiz_ids and not phase.documents:
            problems.append(f"{where}：至少要指定一个测验或一份文件")
        for quiz_id in phase.quiz_ids:
            if quiz_id not in bank.quizzes:
                problems.append(f"{where}：题库中没有测验“{quiz_id}”")
        for duplicate in sorted({q for q in phase.quiz_ids if phase.quiz_ids.count(q) > 1}):
            problems.append(f"{where}：测验“{duplicate}”重复")
        for path in phase.documents:
            if path not in indexed:
                problems.append(f"{where}：文件“{path}”不在文件库中")
        for duplicate in sorted({d for d in phase.documents if phase.documents.count(d) > 1}):
            problems.append(f"{where}：文件“{duplicate}”重复")
    return problems


def _plan_body(plan: StudyPlan) -> str:
    return json.dumps(
        {
            "phases": [
                {
                    "name": p.name.strip(),
                    "start": to_stamp(p.start),
                    "deadline": to_stamp(p.deadline),
                    "quizzes": list(p.quiz_ids),
                    "documents": list(p.documents),
                }
                for p in plan.phases
            ]
        },
        ensure_ascii=False,
    )


def _plan_from_row(row: dict) -> StudyPlan:
    body = json.loads(row["body"])
    phases = tuple(
        Phase(
            name=p["name"],
            start=_required(p["start"]),
            deadline=_required(p["deadline"]),
            quiz_ids=tuple(p["quizzes"]),
            documents=tuple(p["documents"]),
        )
        for p in body["phases"]
    )
    return StudyPlan(
        phases=phases,
        version=row["id"],
        saved_at=_required(row["saved_at"]),
        saved_by=row["saved_by"],
    )


def get_plan(db: sqlite_utils.Database) -> StudyPlan | None:
    """The plan in force (the latest saved version), or None if none was ever saved."""
    rows = _rows(db, "SELECT * FROM study_plan_versions ORDER BY id DESC LIMIT 1")
    return _plan_from_row(rows[0]) if rows else None


def plan_versions(db: sqlite_utils.Database) -> list[StudyPlan]:
    """Every saved version of the plan, newest first (the office's edit history)."""
    return [
        _plan_from_row(r) for r in _rows(db, "SELECT * FROM study_plan_versions ORDER BY id DESC")
    ]


def save_plan(
    db: sqlite_utils.Database, plan: StudyPlan, bank: Bank, now: datetime, by: str = ""
) -> StudyPlan:
    """Check a plan and store it as the new version in force.

    Args:
        db: the app database.
        plan: the phases to store (its ``version`` fields are ignored).
        bank: the quiz bank now, to check the quiz ids against.
        now: the current time, aware.
        by: who saved it (工号).

    Returns:
        The stored plan, with its version, time and author.

    Raises:
        PlanInvalid: listing every problem (see :func:`plan_problems`).
    """
    problems = plan_problems(plan, bank, list_documents(db))
    if problems:
        raise PlanInvalid(problems)
    with write(db):
        return _insert_plan(db, plan, now, by)


def _insert_plan(db: sqlite_utils.Database, plan: StudyPlan, now: datetime, by: str) -> StudyPlan:
    cursor = db.execute(
        "INSERT INTO study_plan_versions (saved_at, saved_by, body) VALUES (?, ?, ?) RETURNING id",
        [to_stamp(now), by, _plan_body(plan)],
    )
    version = int(cursor.fetchone()[0])
    cursor.close()
    rows = _rows(db, "SELECT * FROM study_plan_versions WHERE id = ?", [version])
    return _plan_from_row(rows[0])


def ensure_default_plan(
    db: sqlite_utils.Database,
    bank: Bank,
    documents: Iterable[DocumentInfo | str],
    now: datetime,
) -> StudyPlan | None:
    """Store :func:`default_plan` if no plan was ever saved; safe to call at every start.

    The default requires the indexed documents, so nothing is written until the bank
    has a quiz and the corpus has been indexed: called before the first ingest (``make
    run`` runs ``quizzes init`` first), it waits for a later call instead of storing a
    plan without documents.

    Args:
        db: the app database.
        bank: the quiz bank.
        documents: the indexed documents (or paths).
        now: the current time, aware; its Beijing date is the install day.

    Returns:
        The plan in force; None when there is none yet (no quiz, or nothing indexed).
    """
    existing = get_plan(db)
    if existing is not None:
        return existing
    documents = list(documents)
    if not bank.quizzes or not documents:
        return None
    plan = default_plan(bank, documents, now.astimezone(LOCAL_TZ).date())
    if plan_problems(plan, bank, documents):
        return None
    with write(db):
        # Checked again under the writer lock: two app processes may start at once.
        existing = get_plan(db)
        if existing is not None:
            return existing
        return _insert_plan(db, plan, now, "系统默认")


# -- readings -------------------------------------------------------------------------------


def confirm_reading(
    db: sqlite_utils.Database, employee_no: str, doc_path: str, now: datetime
) -> Reading:
    """Record that a person has studied a document (the reader's 我已学习本文件 button).

    Idempotent: a second confirmation changes nothing and returns the first.

    Args:
        db: the app database.
        employee_no: who (any letter case; stored as the account's 工号).
        doc_path: the document's corpus path.
        now: the current time, aware.

    Returns:
        The stored confirmation.

    Raises:
        UnknownAccount: no such 工号.
        StudyPlanError: the document is not in the index.
    """
    person = get_person(db, employee_no)
    if person is None:
        raise UnknownAccount(employee_no.strip())
    with write(db):
        known = db.execute("SELECT 1 FROM documents WHERE path = ?", [doc_path]).fetchone()
        if known is None:
            raise StudyPlanError(f"文件“{doc_path}”不在文件库中")
        db.execute(
            "INSERT INTO readings (employee_no, doc_path, confirmed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (employee_no, doc_path) DO NOTHING",
            [person.employee_no, doc_path, to_stamp(now)],
        )
    row = db.execute(
        "SELECT doc_path, confirmed_at FROM readings WHERE employee_no = ? AND doc_path = ?",
        [person.employee_no, doc_path],
    ).fetchone()
    return Reading(row[0], _required(row[1]))


def readings_of(
    db: sqlite_utils.Database, employee_no: str, as_of: datetime | None = None
) -> list[Reading]:
    """The documents a person confirmed having studied (by ``as_of`` if given), oldest first."""
    sql = "SELECT doc_path, confirmed_at FROM readings WHERE employee_no = ?"
    params: list[Any] = [employee_no.strip()]
    if as_of is not None:
        sql += " AND confirmed_at <= ?"
        params.append(to_stamp(as_of))
    return [
        Reading(path, _required(at))
        for path, at in db.execute(sql + " ORDER BY confirmed_at, doc_path", params)
    ]


# -- exemptions -----------------------------------------------------------------------------


def _exemption(row: dict) -> Exemption:
    return Exemption(
        id=row["id"],
        employee_no=row["employee_no"],
        reason=row["reason"],
        since=_required(row["since"]),
        until=_unstamp(row["until"]),
        created_by=row["created_by"],
        removed_at=_unstamp(row["removed_at"]),
        removed_by=row["removed_by"],
    )


def _active_exemption_sql(alias: str = "e") -> str:
    return (
        f"{alias}.since <= :as_of AND ({alias}.until IS NULL OR {alias}.until > :as_of) "
        f"AND ({alias}.removed_at IS NULL OR {alias}.removed_at > :as_of)"
    )


def add_exemption(
    db: sqlite_utils.Database,
    employee_no: str,
    reason: str,
    now: datetime,
    by: str,
    *,
    until: datetime | None = None,
) -> Exemption:
    """Excuse a person from study from ``now`` (e.g. 请假, 外派).

    Args:
        db: the app database.
        employee_no: who (any letter case).
        reason: why, e.g. 请假 or 外派 (at most 100 characters).
        now: the current time, aware: the exemption starts here.
        by: who recorded it (工号).
        until: when it ends (exclusive), if known; afterwards the person counts again
            under the normal rules.

    Returns:
        The stored exemption.

    Raises:
        UnknownAccount: no such 工号.
        StudyPlanError: no reason, ``until`` not after ``now``, or already exempt.
    """
    reason = reason.strip()
    if not reason:
        raise StudyPlanError("请填写免学原因（如 请假、外派）")
    if len(reason) > MAX_REASON:
        raise StudyPlanError(f"免学原因过长（最多 {MAX_REASON} 个字符）")
    if until is not None and until <= now:
        raise StudyPlanError("免学截止时间应晚于现在")
    person = get_person(db, employee_no)
    if person is None:
        raise UnknownAccount(employee_no.strip())
    stamp = to_stamp(now)
    with write(db):
        # Checked under the writer lock: two admins must not both add one.
        current = db.execute(
            f"SELECT 1 FROM exemptions e WHERE e.employee_no = :who AND {_active_exemption_sql()}",
            {"who": person.employee_no, "as_of": stamp},
        ).fetchone()
        if current is not None:
            raise StudyPlanError(f"{person.name}（{person.employee_no}）已在免学名单中")
        cursor = db.execute(
            "INSERT INTO exemptions (employee_no, reason, since, until, created_by) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            [person.employee_no, reason, stamp, None if until is None else to_stamp(until), by],
        )
        exemption_id = int(cursor.fetchone()[0])
        cursor.close()
    return _exemption(_rows(db, "SELECT * FROM exemptions WHERE id = ?", [exemption_id])[0])


def remove_exemption(
    db: sqlite_utils.Database, employee_no: str, now: datetime, by: str
) -> Exemption:
    """End a person's exemption at ``now``; the record stays, for figures of the past.

    Returns:
        The exemption as ended.

    Raises:
        StudyPlanError: the person has no exemption in force.
    """
    stamp = to_stamp(now)
    with write(db):
        row = db.execute(
            f"UPDATE exemptions AS e SET removed_at = :as_of, removed_by = :by "
            f"WHERE e.employee_no = :who AND {_active_exemption_sql()} RETURNING id",
            {"who": employee_no.strip(), "as_of": stamp, "by": by},
        ).fetchall()
    if not row:
        raise StudyPlanError(f"{employee_no.strip()} 目前不在免学名单中")
    return _exemption(_rows(db, "SELECT * FROM exemptions WHERE id = ?", [row[0][0]])[0])


def list_exemptions(db: sqlite_utils.Database, as_of: datetime | None = None) -> list[Exemption]:
    """Exemptions in force at ``as_of``, or every exemption ever recorded when None.

    Ordered by 工号, then start.
    """
    if as_of is None:
        rows = _rows(db, "SELECT * FROM exemptions ORDER BY employee_no, since, id")
    else:
        rows = _rows(
            db,
            f"SELECT * FROM exemptions e WHERE {_active_exemption_sql()} "
            "ORDER BY e.employee_no, e.since, e.id",
            {"as_of": to_stamp(as_of)},
        )
    return [_exemption(r) for r in rows]


# -- progress -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementKey:
    """A requirement of a phase: which quiz or document, and its title now."""

    kind: RequirementKind
    target: str
    title: str

    @property
    def column(self) -> str:
        """The requirement's column in :attr:`Progress.done_at`."""
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True)
class Progress:
    """Everyone's progress with one phase as of a moment: the one computation behind the
    dashboard, the exports, the notices and :func:`person_progress`.

    Attributes:
        phase: the phase.
        as_of: the moment.
        requirements: the phase's requirements, quizzes first, in plan order.
        people: one row per person, indexed by ``employee_no``, columns ``name``, ``role``,
            ``active``, ``department``, ``counted``, ``exempt``, ``exemption_id``,
            ``exemption_reason``, ``exemption_since``, ``exemption_until``,
            ``quizzes_passed``, ``documents_read``, ``passed_all_quizzes``, ``started``,
            ``completed_at``, ``state``, ``blocked``, ``last_activity_at`` (the last
            attempt started or document confirmed). Times are UTC: pandas timestamps,
            except the exemption's, which are stored text.
        done_at: the same index, one column per requirement (:attr:`RequirementKey.column`):
            when it was met, NaT if not.
        quizzes: long form, one row per person and required quiz with attempts:
            ``employee_no``, ``quiz_id``, ``attempts_used``, ``best_percent``.
    """

    phase: Phase
    as_of: datetime
    requirements: tuple[RequirementKey, ...]
    people: pd.DataFrame
    done_at: pd.DataFrame
    quizzes: pd.DataFrame

    @property
    def counted(self) -> pd.DataFrame:
        """The people in the headcount: counted and not exempt."""
        people = self.people
        return people[people["counted"] & ~people["exempt"]]

    def missing(self, employee_no: str) -> tuple[RequirementKey, ...]:
        """The requirements a person had not met as of the moment."""
        return self.missing_of([employee_no])[0]

    def missing_of(self, employee_nos: Sequence[str]) -> list[tuple[RequirementKey, ...]]:
        """The requirements each of these people had not met, in one pass."""
        if not self.requirements:
            return [() for _ in employee_nos]
        unmet = self.done_at.loc[list(employee_nos)].isna().to_numpy()
        return [tuple(r for r, m in zip(self.requirements, row, strict=True) if m) for row in unmet]


def scope_cte(
    as_of: str,
    departments: Sequence[str] | None = None,
    employee_nos: Sequence[str] | None = None,
    counted_only: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The SQL ``who`` CTE: the people in scope with their department at ``as_of``.

    Shared by every aggregate so the scope rules (who is counted, department at the
    moment) are written once. The CTE's columns: ``employee_no``, ``name``, ``role``,
    ``active``, ``department``.

    Args:
        as_of: the moment, as stored text (UTC).
        departments: only these departments (at ``as_of``); None for all.
        employee_nos: only these people; None for all.
        counted_only: only people counted in the headcount (staff/head, active).

    Returns:
        ``("who AS (...)", params)`` with named parameters prefixed ``scope_``.
    """
    params: dict[str, Any] = {"scope_as_of": as_of}
    where = ["department IS NOT NULL"]
    inner_where = []
    if counted_only:
        inner_where.append("p.active = 1 AND p.role IN ('staff', 'head')")
    if employee_nos is not None:
        people = in_list_sql("scope_p", [e.strip() for e in employee_nos], params)
        inner_where.append(f"p.employee_no IN ({people})")
    if departments is not None:
        where.append(f"department IN ({in_list_sql('scope_d', list(departments), params)})")
    # MATERIALIZED: computed once per query, not once per attempt row that joins it.
    sql = f"""who AS MATERIALIZED (
        SELECT * FROM (
            SELECT p.employee_no, p.name, p.role, p.active,
                (SELECT h.department FROM department_history h
                 WHERE h.employee_no = p.employee_no AND h.since <= :scope_as_of
                 ORDER BY h.since DESC LIMIT 1) AS department
            FROM people p {"WHERE " + " AND ".join(inner_where) if inner_where else ""}
        ) WHERE {" AND ".join(where)}
    )"""
    return sql, params


def in_list_sql(prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """Named placeholders for an ``IN (...)`` list, added to ``params``; ``NULL`` when empty.

    Args:
        prefix: a name prefix unique within the query (parameters are ``prefix0``, ...).
        values: the values.
        params: the query's named parameters, extended in place.
    """
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f":{prefix}{i}")
    return ", ".join(names) or "NULL"


def _utc_series(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601", utc=True)


def compute_progress(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    *,
    phase: str | None = None,
    departments: Sequence[str] | None = None,
    employee_nos: Sequence[str] | None = None,
    counted_only: bool = True,
) -> Progress:
    """Everyone's progress with a phase as of a moment, in three SQL queries and one pandas pass.

    Args:
        db: the app database (schemas of kb, accounts, attempts and studyplan).
        plan: the plan; its requirements now apply (see the module rules).
        bank: the quiz bank, for titles and attempt limits.
        as_of: the moment, aware.
        phase: the phase's name; None for :meth:`StudyPlan.current_phase`.
        departments: only people in these departments at ``as_of``; None for all.
        employee_nos: only these people; None for all.
        counted_only: only people counted in the headcount (see the module rules).

    Returns:
        The :class:`Progress`.
    """
    the_phase = plan.phase(phase, as_of)
    stamp = to_stamp(as_of)
    who, params = scope_cte(stamp, departments, employee_nos, counted_only)
    params["as_of"] = stamp

    scoped = departments is not None or employee_nos is not None
    people = query_frame(
        db,
        f"""WITH {who}
        SELECT w.employee_no, w.name, w.role, w.active, w.department,
            x.id AS exemption_id, x.reason AS exemption_reason,
            x.since AS exemption_since, x.until AS exemption_until
        FROM who w
        LEFT JOIN exemptions x ON x.id = (
            SELECT e.id FROM exemptions e
            WHERE e.employee_no = w.employee_no AND {_active_exemption_sql()}
            ORDER BY e.since DESC LIMIT 1)
        ORDER BY w.department, w.employee_no""",
        params,
    ).set_index("employee_no")

    quiz_params = dict(params)
    quiz_list = in_list_sql("q", the_phase.quiz_ids, quiz_params)
    # One pass over the attempts: the first passing submission, the best graded score and
    # the attempts used, per person and required quiz. Unscoped, the semi-join on the
    # people costs more than it saves: the merge below drops whoever is out of scope.
    in_scope = "a.employee_no IN (SELECT employee_no FROM who) AND" if scoped else ""
    quizzes = query_frame(
        db,
        f"""WITH {who}
        SELECT a.employee_no, a.quiz_id,
            COUNT(*) AS attempts_used,
            MIN(CASE WHEN a.passed = 1 AND a.status != 'in_progress'
                     AND a.submitted_at <= :as_of THEN a.submitted_at END) AS first_pass_at,
            MAX(CASE WHEN a.status != 'in_progress' AND a.submitted_at <= :as_of
                     AND a.max_score > 0 THEN a.score * 100.0 / a.max_score END) AS best_percent,
            MAX(a.started_at) AS last_at
        FROM attempts a
        WHERE {in_scope} a.quiz_id IN ({quiz_list}) AND a.started_at <= :as_of
        GROUP BY a.employee_no, a.quiz_id""",
        quiz_params,
    )
    quizzes = quizzes[quizzes["employee_no"].isin(people.index)]

    doc_params = dict(params)
    doc_list = in_list_sql("d", the_phase.documents, doc_params)
    readings = query_frame(
        db,
        f"""WITH {who}
        SELECT w.employee_no, r.doc_path, r.confirmed_at
        FROM who w JOIN readings r ON r.employee_no = w.employee_no
        WHERE r.doc_path IN ({doc_list}) AND r.confirmed_at <= :as_of""",
        doc_params,
    )
    return _evaluate(db, the_phase, bank, as_of, people, quizzes, readings)


def _evaluate(
    db: sqlite_utils.Database,
    phase: Phase,
    bank: Bank,
    as_of: datetime,
    people: pd.DataFrame,
    quizzes: pd.DataFrame,
    readings: pd.DataFrame,
) -> Progress:
    titles = _document_titles(db) if phase.documents else {}
    requirements = tuple(
        RequirementKey("quiz", q, bank.quizzes[q].title if q in bank.quizzes else q)
        for q in phase.quiz_ids
    ) + tuple(RequirementKey("document", d, titles.get(d, d)) for d in phase.documents)
    index = people.index

    quizzes = quizzes.assign(
        first_pass_at=_utc_series(quizzes["first_pass_at"]), last_at=_utc_series(quizzes["last_at"])
    )
    readings = readings.assign(confirmed_at=_utc_series(readings["confirmed_at"]))

    nat = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    done_columns: dict[str, pd.Series] = {}
    passes = quizzes.pivot(index="employee_no", columns="quiz_id", values="first_pass_at")
    reads = readings.pivot(index="employee_no", columns="doc_path", values="confirmed_at")
    for requirement in requirements:
        source = passes if requirement.kind == "quiz" else reads
        if requirement.target in source.columns:
            series = source[requirement.target].reindex(index).astype("datetime64[ns, UTC]")
        else:
            series = nat
        done_columns[requirement.column] = series
    done_at = pd.DataFrame(done_columns, index=index)
    if not requirements:
        done_at = pd.DataFrame(index=index)

    met = done_at.notna()
    quiz_columns = [r.column for r in requirements if r.kind == "quiz"]
    doc_columns = [r.column for r in requirements if r.kind == "document"]
    all_met = met.all(axis=1)
    completed_at = done_at.max(axis=1) if requirements else nat.fillna(pd.Timestamp(phase.start))
    completed_at = completed_at.where(all_met).astype("datetime64[ns, UTC]")

    used = quizzes.pivot(index="employee_no", columns="quiz_id", values="attempts_used")
    blocked = pd.Series(False, index=index)
    for quiz_id in phase.quiz_ids:
        quiz = bank.quizzes.get(quiz_id)
        if quiz is None or quiz_id not in used.columns:
            continue
        no_left = used[quiz_id].reindex(index).fillna(0) >= quiz.attempts_allowed
        blocked |= no_left & ~met[f"quiz:{quiz_id}"]

    quiz_activity = quizzes.groupby("employee_no")["last_at"].max() if len(quizzes) else None
    read_activity = readings.groupby("employee_no")["confirmed_at"].max() if len(readings) else None
    last_activity = pd.concat(
        [
            (quiz_activity if quiz_activity is not None else nat.iloc[:0]).reindex(index),
            (read_activity if read_activity is not None else nat.iloc[:0]).reindex(index),
        ],
        axis=1,
    ).max(axis=1)
    last_activity = last_activity.astype("datetime64[ns, UTC]")
    started = last_activity.notna()

    deadline = pd.Timestamp(phase.deadline).tz_convert("UTC")
    past_deadline = as_of > phase.deadline
    on_time = all_met & (completed_at <= deadline)
    state = np.select(
        [on_time, all_met, np.full(len(index), past_deadline), started.to_numpy()],
        ["completed", "completed_late", "overdue", "in_progress"],
        default="not_started",
    )
    frame = people.assign(
        active=people["active"].astype(bool),
        counted=(people["active"].astype(bool) & people["role"].isin(COUNTED_ROLES)),
        exempt=people["exemption_id"].notna(),
        quizzes_passed=met[quiz_columns].sum(axis=1).astype(int) if quiz_columns else 0,
        documents_read=met[doc_columns].sum(axis=1).astype(int) if doc_columns else 0,
        passed_all_quizzes=met[quiz_columns].all(axis=1) if quiz_columns else True,
        started=started,
        completed_at=completed_at,
        state=pd.Series(state, index=index, dtype=object),
        blocked=blocked.astype(bool),
        last_activity_at=last_activity,
    )
    return Progress(
        phase=phase,
        as_of=as_of,
        requirements=requirements,
        people=frame,
        done_at=done_at,
        quizzes=quizzes[["employee_no", "quiz_id", "attempts_used", "best_percent"]],
    )


def _py_time(value: Any) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def person_progress(
    db: sqlite_utils.Database,
    employee_no: str,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    *,
    phase: str | None = None,
) -> PersonProgress:
    """Where one person stands with a phase as of a moment, requirement by requirement.

    Computed by the same code as the dashboard's figures; works for anyone with an
    account (an admin or a deactivated person too, with ``counted`` False).

    Raises:
        UnknownAccount: no such 工号.
        StudyPlanError: no such phase.
    """
    person = get_person(db, employee_no)
    if person is None:
        raise UnknownAccount(employee_no.strip())
    the_phase = plan.phase(phase, as_of)
    progress = compute_progress(
        db,
        plan,
        bank,
        as_of,
        phase=the_phase.name,
        employee_nos=[person.employee_no],
        counted_only=False,
    )
    if person.employee_no not in progress.people.index:
        # The account did not exist yet at as_of: nothing of theirs counts.
        return PersonProgress(
            employee_no=person.employee_no,
            name=person.name,
            department=None,
            role=person.role.value,
            active=person.active,
            counted=False,
            phase=the_phase.name,
            deadline=the_phase.deadline,
            as_of=as_of,
            state="overdue" if as_of > the_phase.deadline else "not_started",
            completed_at=None,
            requirements=tuple(
                RequirementProgress(r.kind, r.target, r.title, None, False)
                for r in progress.requirements
            ),
            exemption=None,
            blocked=False,
        )
    row = progress.people.loc[person.employee_no]
    done = progress.done_at.loc[person.employee_no]
    detail = {
        r["quiz_id"]: r
        for r in progress.quizzes[progress.quizzes["employee_no"] == person.employee_no].to_dict(
            "records"
        )
    }
    requirements = []
    for key in progress.requirements:
        done_at = _py_time(done[key.column])
        on_time = done_at is not None and done_at <= the_phase.deadline
        if key.kind == "quiz":
            d = detail.get(key.target, {})
            used = int(d.get("attempts_used", 0) or 0)
            best = d.get("best_percent")
            quiz = bank.quizzes.get(key.target)
            requirements.append(
                RequirementProgress(
                    kind="quiz",
                    target=key.target,
                    title=key.title,
                    done_at=done_at,
                    on_time=on_time,
                    best_percent=None if best is None or pd.isna(best) else float(best),
                    attempts_used=used,
                    attempts_left=None if quiz is None else max(0, quiz.attempts_allowed - used),
                )
            )
        else:
            requirements.append(
                RequirementProgress("document", key.target, key.title, done_at, on_time)
            )
    exemption = None
    if not pd.isna(row["exemption_id"]):
        rows = _rows(db, "SELECT * FROM exemptions WHERE id = ?", [int(row["exemption_id"])])
        exemption = _exemption(rows[0])
    return PersonProgress(
        employee_no=person.employee_no,
        name=row["name"],
        department=row["department"],
        role=row["role"],
        active=bool(row["active"]),
        counted=bool(row["counted"]),
        phase=the_phase.name,
        deadline=the_phase.deadline,
        as_of=as_of,
        state=row["state"],
        completed_at=_py_time(row["completed_at"]),
        requirements=tuple(requirements),
        exemption=exemption,
        blocked=bool(row["blocked"]),
    )


# -- notices --------------------------------------------------------------------------------


def department_counts(progress: Progress) -> pd.DataFrame:
    """Per department: headcount, started, completed on time / late, overdue, not started,
    exempt and blocked, as integers (exempt people only in ``exempt``).

    Indexed by department, in name order; the one aggregation behind the dashboard's
    department table and the notices.
    """
    people = progress.people[progress.people["counted"]]
    counted = ~people["exempt"]
    state = people["state"]
    parts = pd.DataFrame(
        {
            "department": people["department"],
            "headcount": counted,
            "started": counted & people["started"],
            "completed": counted & state.isin(["completed", "completed_late"]),
            "completed_on_time": counted & (state == "completed"),
            "completed_late": counted & (state == "completed_late"),
            "overdue": counted & (state == "overdue"),
            "in_progress": counted & (state == "in_progress"),
            "not_started": counted & (state == "not_started"),
            "passed_all_quizzes": counted & people["passed_all_quizzes"],
            "blocked": counted & people["blocked"] & ~state.isin(["completed", "completed_late"]),
            "exempt": people["exempt"],
        }
    )
    columns = [c for c in parts.columns if c != "department"]
    if parts.empty:
        return pd.DataFrame(columns=columns, dtype=int).rename_axis("department")
    return parts.groupby("department")[columns].sum().astype(int).sort_index()


def freeze_notice(
    db: sqlite_utils.Database,
    title: str,
    as_of: datetime,
    plan: StudyPlan,
    bank: Bank,
    now: datetime,
    by: str,
    *,
    phase: str | None = None,
) -> Notice:
    """Freeze the overdue list of a phase at ``as_of`` as a notice (通报), bureau-wide.

    The people overdue at ``as_of``, what each was missing, and every department's
    figures are stored as rows: later attempts, readings, exemptions or plan edits never
    change a stored notice.

    Args:
        db: the app database.
        title: e.g. 关于启动阶段全面学习未按期完成情况的通报.
        as_of: the moment the notice is about: after the phase's deadline, not after ``now``.
        plan: the plan in force.
        bank: the quiz bank (for titles).
        now: the current time, aware.
        by: who froze it (工号).
        phase: the phase's name; None for the current phase at ``as_of``.

    Returns:
        The stored notice.

    Raises:
        NoticeError: no title, ``as_of`` in the future, or not after the deadline.
    """
    title = title.strip()
    if not title:
        raise NoticeError("请填写通报标题")
    if len(title) > MAX_TITLE:
        raise NoticeError(f"通报标题过长（最多 {MAX_TITLE} 个字符）")
    if as_of > now:
        raise NoticeError("统计时点不能晚于现在：之后的记录还未发生")
    the_phase = plan.phase(phase, as_of)
    if as_of <= the_phase.deadline:
        deadline = the_phase.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        raise NoticeError(f"“{the_phase.name}”的截止时间（{deadline}）尚未过，暂不能通报")
    progress = compute_progress(db, plan, bank, as_of, phase=the_phase.name)
    counts = department_counts(progress)
    overdue = progress.counted[progress.counted["state"] == "overdue"]
    includes_demo = bool(progress.people.index.str.upper().str.startswith(DEMO_PREFIX).any())
    with write(db):
        cursor = db.execute(
            "INSERT INTO notices (title, phase, phase_start, deadline, as_of, created_at, "
            "created_by, plan_version, includes_demo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            [
                title,
                the_phase.name,
                to_stamp(the_phase.start),
                to_stamp(the_phase.deadline),
                to_stamp(as_of),
                to_stamp(now),
                by,
                plan.version,
                int(includes_demo),
            ],
        )
        notice_id = int(cursor.fetchone()[0])
        cursor.close()
        db.conn.executemany(
            "INSERT INTO notice_departments (notice_id, department, headcount, "
            "completed_on_time, completed_late, overdue, exempt) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    notice_id,
                    department,
                    int(r.headcount),
                    int(r.completed_on_time),
                    int(r.completed_late),
                    int(r.overdue),
                    int(r.exempt),
                )
                for department, r in counts.iterrows()
            ],
        )
        db.conn.executemany(
            "INSERT INTO notice_people (notice_id, employee_no, name, department) "
            "VALUES (?, ?, ?, ?)",
            [(notice_id, e, r["name"], r["department"]) for e, r in overdue.iterrows()],
        )
        db.conn.executemany(
            "INSERT INTO notice_missing (notice_id, employee_no, position, kind, target, title) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (notice_id, employee_no, position, item.kind, item.target, item.title)
                for employee_no, missing in zip(
                    overdue.index, progress.missing_of(list(overdue.index)), strict=True
                )
                for position, item in enumerate(missing)
            ],
        )
    notice = get_notice(db, notice_id)
    assert notice is not None
    return notice


def get_notice(db: sqlite_utils.Database, notice_id: int) -> Notice | None:
    """A stored notice with its rows, or None."""
    rows = _rows(db, "SELECT * FROM notices WHERE id = ?", [notice_id])
    if not rows:
        return None
    head = rows[0]
    missing: dict[str, list[MissingItem]] = {}
    for r in _rows(
        db,
        "SELECT employee_no, kind, target, title FROM notice_missing WHERE notice_id = ? "
        "ORDER BY employee_no, position",
        [notice_id],
    ):
        missing.setdefault(r["employee_no"], []).append(
            MissingItem(r["kind"], r["target"], r["title"])
        )
    people = tuple(
        NoticePerson(
            r["employee_no"], r["name"], r["department"], tuple(missing.get(r["employee_no"], ()))
        )
        for r in _rows(
            db,
            "SELECT employee_no, name, department FROM notice_people WHERE notice_id = ? "
            "ORDER BY department, employee_no",
            [notice_id],
        )
    )
    departments = [
        NoticeDepartment(
            r["department"],
            r["headcount"],
            r["completed_on_time"],
            r["completed_late"],
            r["overdue"],
            r["exempt"],
        )
        for r in _rows(
            db,
            "SELECT * FROM notice_departments WHERE notice_id = ? ORDER BY department",
            [notice_id],
        )
    ]
    departments.sort(key=lambda d: 1.0 if d.on_time_rate is None else d.on_time_rate)
    return Notice(
        id=head["id"],
        title=head["title"],
        phase=head["phase"],
        phase_start=_required(head["phase_start"]),
        deadline=_required(head["deadline"]),
        as_of=_required(head["as_of"]),
        created_at=_required(head["created_at"]),
        created_by=head["created_by"],
        departments=tuple(departments),
        people=people,
    )


def list_notices(db: sqlite_utils.Database) -> list[NoticeInfo]:
    """Every stored notice, newest first, with how many people and units it names."""
    return [
        NoticeInfo(
            id=r["id"],
            title=r["title"],
            phase=r["phase"],
            as_of=_required(r["as_of"]),
            created_at=_required(r["created_at"]),
            created_by=r["created_by"],
            people=r["people"],
            named_departments=r["named"],
        )
        for r in _rows(
            db,
            """SELECT n.*,
                (SELECT COUNT(*) FROM notice_people p WHERE p.notice_id = n.id) AS people,
                (SELECT COUNT(*) FROM notice_departments d WHERE d.notice_id = n.id
                 AND (d.completed_late > 0 OR d.overdue > 0)) AS named
            FROM notices n ORDER BY n.as_of DESC, n.id DESC""",
        )
    ]


def notice_changes(previous: Notice | None, current: Notice) -> NoticeChanges:
    """Who was added to and who dropped off the overdue list since the previous notice.

    Args:
        previous: the earlier notice; None treats everyone on ``current`` as added.
        current: the later notice.

    Returns:
        ``added``: on ``current`` only; ``resolved``: on ``previous`` only (as they were
        there: they completed, were exempted, left, or are no longer required);
        ``remaining``: on both (as on ``current``). Each in department, 工号 order.
    """
    before = {p.employee_no.lower(): p for p in (previous.people if previous else ())}
    after = {p.employee_no.lower(): p for p in current.people}

    def ordered(people: Iterable[NoticePerson]) -> tuple[NoticePerson, ...]:
        return tuple(sorted(people, key=lambda p: (p.department, p.employee_no)))

    return NoticeChanges(
        added=ordered(p for k, p in after.items() if k not in before),
        resolved=ordered(p for k, p in before.items() if k not in after),
        remaining=ordered(p for k, p in after.items() if k in before),
    )
