"""Notices (通报): the overdue list of a phase frozen at a moment after its deadline.

A notice is stored as rows (its departments' figures, the people overdue and what each
was missing) and never changes when later attempts, readings, exemptions or plan edits
arrive; :func:`notice_changes` says who was added and who dropped off since the previous
one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from base.clock import LOCAL_TZ, to_stamp
from base.sql import rows
from base.store import write
from office.progress import RequirementKind, compute_progress, department_counts
from quizzes.bank import Bank
from quizzes.demo import DEMO_PREFIX
from quizzes.plan import StudyPlan, StudyPlanError

MAX_TITLE = 100


class NoticeError(StudyPlanError):
    """A notice cannot be frozen (deadline not passed, moment in the future, no title)."""


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
    found = rows(db, "SELECT * FROM notices WHERE id = ?", [notice_id])
    if not found:
        return None
    head = found[0]
    missing: dict[str, list[MissingItem]] = {}
    for r in rows(
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
        for r in rows(
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
        for r in rows(
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
        phase_start=datetime.fromisoformat(head["phase_start"]),
        deadline=datetime.fromisoformat(head["deadline"]),
        as_of=datetime.fromisoformat(head["as_of"]),
        created_at=datetime.fromisoformat(head["created_at"]),
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
            as_of=datetime.fromisoformat(r["as_of"]),
            created_at=datetime.fromisoformat(r["created_at"]),
            created_by=r["created_by"],
            people=r["people"],
            named_departments=r["named"],
        )
        for r in rows(
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
