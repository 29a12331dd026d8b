"""The study plan: per campaign phase, the quizzes to pass and the documents to read.

The office (创建办) keeps the plan; each save appends a version, so a past plan can be
looked up. What people did against it (readings, attempts) and the figures derived from
that live elsewhere: :mod:`quizzes.readings`, :mod:`quizzes.exemptions`,
:mod:`office.progress`.

Times are timezone-aware datetimes passed in by the caller, stored as UTC text
(:mod:`base.clock`). Calendar days (defaults, per-day charts, file names) are Beijing
time (UTC+8, no DST).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlite_utils

from base.clock import LOCAL_TZ, end_of_day, start_of_day, to_stamp
from base.sql import rows
from base.store import write
from kb.documents import DocumentInfo, list_documents
from quizzes.bank import Bank
from quizzes.plan_status import keep_phases

DEFAULT_PHASE_NAME = "启动阶段·全面学习"
DEFAULT_STUDY_DAYS = 30
DEFAULT_PLAN_AUTHOR = "系统默认"
"""Recorded as who saved the default plan (:func:`ensure_default_plan`)."""
CAMPAIGN_PLAN_DOCUMENT = "chuangjian_wenming_danwei_shishi_fangan.txt"
MAX_PHASE_NAME = 50


# -- errors ---------------------------------------------------------------------------------


class StudyPlanError(ValueError):
    """A study-plan operation was refused; ``str(error)`` is the Chinese message to show."""


class PlanInvalid(StudyPlanError):
    """A plan cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("学习计划有误：" + "；".join(problems))
        self.problems = tuple(problems)


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


# -- small helpers --------------------------------------------------------------------------


def _document_paths(documents: Iterable[DocumentInfo | str]) -> list[str]:
    return [d.path if isinstance(d, DocumentInfo) else str(d) for d in documents]


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
            start=datetime.fromisoformat(p["start"]),
            deadline=datetime.fromisoformat(p["deadline"]),
            quiz_ids=tuple(p["quizzes"]),
            documents=tuple(p["documents"]),
        )
        for p in body["phases"]
    )
    return StudyPlan(
        phases=phases,
        version=row["id"],
        saved_at=datetime.fromisoformat(row["saved_at"]),
        saved_by=row["saved_by"],
    )


def get_plan(db: sqlite_utils.Database) -> StudyPlan | None:
    """The plan in force (the latest saved version), or None if none was ever saved."""
    found = rows(db, "SELECT * FROM study_plan_versions ORDER BY id DESC LIMIT 1")
    return _plan_from_row(found[0]) if found else None


def plan_versions(db: sqlite_utils.Database) -> list[StudyPlan]:
    """Every saved version of the plan, newest first (the office's edit history)."""
    return [
        _plan_from_row(r) for r in rows(db, "SELECT * FROM study_plan_versions ORDER BY id DESC")
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
    found = rows(db, "SELECT * FROM study_plan_versions WHERE id = ?", [version])
    stored = _plan_from_row(found[0])
    _keep_status(db, stored)
    return stored


def _keep_status(db: sqlite_utils.Database, plan: StudyPlan | None) -> None:
    # The kept per person status follows the plan in force (quizzes.plan_status).
    phases = () if plan is None else plan.phases
    keep_phases(db, [(p.name, p.quiz_ids, p.documents) for p in phases])


def delete_plans_saved_by(db: sqlite_utils.Database, author: str) -> int:
    """Delete the plan versions saved by ``author`` (the demo's), inside the caller's write
    transaction; the latest version left is in force again. Returns how many went."""
    deleted = db.execute("DELETE FROM study_plan_versions WHERE saved_by = ?", [author]).rowcount
    if deleted:
        _keep_status(db, get_plan(db))
    return deleted


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
        return _insert_plan(db, plan, now, DEFAULT_PLAN_AUTHOR)
