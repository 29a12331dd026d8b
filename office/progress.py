"""Everyone's progress with the study plan, derived from records as of a moment.

The office (创建办) keeps a study plan: per campaign phase, the quizzes to pass and the
documents to read, with a start and a deadline. Everything else here is derived from
records (attempts, readings, exemptions, department history), so the figures as of a past
moment can be computed again and come out the same. For the plan in force the per person
status is also kept (:mod:`quizzes.plan_status`), in the write transaction of every record
it summarises and rebuildable from them: it is read instead of the records, and gives the
same figures as of any moment (``tests/test_plan_status.py``).

The rules, in one place (the dashboard, exports and notices all follow them):

* **Who is counted.** Active accounts with the role 职工 (staff) or 负责人 (head) that
  existed at the as-of moment. 创建办 (admin) accounts run the campaign and are not in the
  headcount; deactivated accounts are left out (deactivation is not historised, so a
  person deactivated later is also left out of earlier as-of figures).
* **Department.** A person counts for the department they belonged to at the as-of moment
  (``department_history``, as :func:`quizzes.people.department_at`). Someone who moved
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlite_utils

from base.clock import to_stamp
from kb.documents import list_documents
from quizzes.attempts import quiz_progress, quiz_progress_by_person
from quizzes.bank import Bank
from quizzes.exemptions import Exemption, exemptions_in_force, get_exemption
from quizzes.people import UnknownAccount, get_person, people_at, people_cte
from quizzes.plan import Phase, StudyPlan
from quizzes.plan_status import kept_phase, people_status, status_as_of
from quizzes.readings import confirmed_readings, readings_by_person

COUNTED_ROLES: tuple[str, ...] = ("staff", "head")

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

    Per person it holds what every count needs; which requirement each person met, and
    when, is read on demand for the people a view lists (:meth:`done_at_of`), so a page
    of 50,000 people does not hold 50,000 rows of requirements to show forty.

    Attributes:
        phase: the phase.
        as_of: the moment.
        requirements: the phase's requirements, quizzes first, in plan order.
        people: one row per person, indexed by ``employee_no``, columns ``name``, ``role``,
            ``active``, ``department``, ``counted``, ``exempt``, ``exemption_id``,
            ``exemption_reason``, ``exemption_since``, ``exemption_until``,
            ``quizzes_passed``, ``documents_read``, ``passed_all_quizzes``,
            ``passed_mask``, ``read_mask`` (bit ``i``: the ``i``-th required quiz or
            document met), ``started``, ``completed_at``, ``state``, ``blocked``,
            ``last_activity_at`` (the last attempt started or document confirmed). Times
            are stored text (UTC) or None: a view parses those it shows.
        details: reads, for some people, their quizzes (``employee_no``, ``quiz_id``,
            ``attempts_used``, ``first_pass_at``, ``best_percent``, ``last_at``) and
            their readings (``employee_no``, ``doc_path``, ``confirmed_at``) as of the
            moment.
    """

    phase: Phase
    as_of: datetime
    requirements: tuple[RequirementKey, ...]
    people: pd.DataFrame
    details: Callable[[Sequence[str]], tuple[pd.DataFrame, pd.DataFrame]] = field(
        repr=False, compare=False
    )

    @property
    def counted(self) -> pd.DataFrame:
        """The people in the headcount: counted and not exempt."""
        people = self.people
        return people[people["counted"] & ~people["exempt"]]

    def done_at_of(self, employee_nos: Sequence[str]) -> pd.DataFrame:
        """When each of these people met each requirement: indexed by ``employee_no`` in
        the order given, one column per requirement (:attr:`RequirementKey.column`), NaT
        where not met by the moment."""
        index = pd.Index(list(employee_nos), name="employee_no")
        if not len(index) or not self.requirements:
            return pd.DataFrame(index=index, columns=[r.column for r in self.requirements])
        quizzes, readings = self.details(list(index))
        passes = quizzes.pivot(index="employee_no", columns="quiz_id", values="first_pass_at")
        reads = readings.pivot(index="employee_no", columns="doc_path", values="confirmed_at")
        columns = {}
        for requirement in self.requirements:
            source = passes if requirement.kind == "quiz" else reads
            if requirement.target in source.columns:
                values = source[requirement.target].reindex(index)
            else:
                values = pd.Series(None, index=index, dtype=object)
            columns[requirement.column] = _utc_series(values)
        return pd.DataFrame(columns, index=index)

    def missing(self, employee_no: str) -> tuple[RequirementKey, ...]:
        """The requirements a person had not met as of the moment."""
        return self.missing_of([employee_no])[0]

    def missing_of(self, employee_nos: Sequence[str]) -> list[tuple[RequirementKey, ...]]:
        """The requirements each of these people had not met, in one pass."""
        return self.missing_in(self.people.loc[list(employee_nos)])

    def missing_in(self, people: pd.DataFrame) -> list[tuple[RequirementKey, ...]]:
        """:meth:`missing_of` the rows of :attr:`people` given (a selection of them), in
        their order; everyone with the same combination shares one tuple."""
        if not self.requirements:
            return [() for _ in range(len(people))]
        pairs = people[["passed_mask", "read_mask"]].to_numpy(dtype=np.int64)
        if not len(pairs):
            return []
        # Thousands of people share a handful of combinations: each is decoded once.
        combinations, which = np.unique(pairs, axis=0, return_inverse=True)
        quizzes = [r for r in self.requirements if r.kind == "quiz"]
        documents = [r for r in self.requirements if r.kind == "document"]
        decoded = [
            tuple(r for i, r in enumerate(quizzes) if not passed >> i & 1)
            + tuple(r for i, r in enumerate(documents) if not read >> i & 1)
            for passed, read in combinations.tolist()
        ]
        return [decoded[i] for i in which.reshape(-1).tolist()]


def _utc_series(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601", utc=True).astype("datetime64[ns, UTC]")


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
    """Everyone's progress with a phase as of a moment.

    For a phase of the plan in force, one row per person from the kept status
    (:mod:`quizzes.plan_status`), the rows that changed after the moment computed from
    the times kept with them; for any other phase (a plan not saved, or changed since),
    a pass over the quiz summaries and the readings. The people, their department and
    exemptions are read at the moment either way.

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
    who = people_cte(as_of, departments, employee_nos, counted_only)
    # Unscoped, narrowing the reads to the people costs more than it saves: the join in
    # _evaluate drops whoever is out of scope.
    scoped = who if departments is not None or employee_nos is not None else None
    limits = {
        q: bank.quizzes[q].attempts_allowed if q in bank.quizzes else None
        for q in the_phase.quiz_ids
    }
    if kept_phase(db, the_phase.name, the_phase.quiz_ids, the_phase.documents):
        people, status = _kept_status(db, the_phase, limits, as_of, who)
    else:
        people = people_at(db, who)
        status = _status_from_records(db, the_phase, limits, as_of, scoped)
    people = people.join(exemptions_in_force(db, as_of), how="left")

    def details(nos: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        theirs = people_cte(as_of, employee_nos=nos, counted_only=False)
        return (
            quiz_progress(db, the_phase.quiz_ids, as_of, theirs),
            confirmed_readings(db, the_phase.documents, as_of, theirs),
        )

    return _evaluate(db, the_phase, bank, as_of, people, status, details)


def _status_from_records(
    db: sqlite_utils.Database,
    phase: Phase,
    limits: dict[str, int | None],
    as_of: datetime,
    who: tuple[str, dict] | None,
) -> pd.DataFrame:
    """Per person with a record by ``as_of``: ``quizzes_passed``, ``passed_mask``,
    ``documents_read``, ``read_mask``, ``completed_at`` (set only when every requirement
    was met), ``last_activity_at`` and ``blocked``, from the quiz summaries and the
    readings."""
    quizzes = quiz_progress_by_person(db, limits, as_of, who)
    readings = readings_by_person(db, phase.documents, as_of, who)
    frame = quizzes.join(readings, how="outer")
    passed = frame["quizzes_passed"].fillna(0).astype(np.int64)
    read = frame["documents_read"].fillna(0).astype(np.int64)
    all_met = (passed == len(phase.quiz_ids)) & (read == len(phase.documents))
    last_pass, last_read = _text(frame["last_pass_at"]), _text(frame["last_read_at"])
    return pd.DataFrame(
        {
            "quizzes_passed": passed,
            "passed_mask": frame["passed_mask"].fillna(0).astype(np.int64),
            "documents_read": read,
            "read_mask": frame["read_mask"].fillna(0).astype(np.int64),
            "completed_at": np.where(all_met, _later(last_pass, last_read), ""),
            "last_activity_at": _later(_text(frame["last_at"]), last_read),
            "blocked": frame["blocked_quizzes"].fillna(0).to_numpy() > 0,
        },
        index=frame.index,
    )


def _kept_status(
    db: sqlite_utils.Database,
    phase: Phase,
    limits: dict[str, int | None],
    as_of: datetime,
    who: tuple[str, dict],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The people of ``who`` and :func:`_status_from_records` from the kept status, in
    one read: its rows that did not change after ``as_of`` as they are, the others from
    the times kept with them."""
    kept = people_status(db, phase.name, limits, as_of, who)
    people = kept[["name", "role", "active", "department"]]
    current = kept["current"].astype(bool).to_numpy()
    kept = kept[current]
    status = pd.DataFrame(
        {
            "quizzes_passed": kept["quizzes_passed"].fillna(0).to_numpy(dtype=np.int64),
            "passed_mask": kept["passed_mask"].fillna(0).to_numpy(dtype=np.int64),
            "documents_read": kept["documents_read"].fillna(0).to_numpy(dtype=np.int64),
            "read_mask": kept["read_mask"].fillna(0).to_numpy(dtype=np.int64),
            "completed_at": _text(kept["completed_at"]),
            "last_activity_at": _text(kept["last_activity_at"]),
            "blocked": kept["blocked"].fillna(0).to_numpy() > 0,
        },
        index=kept.index,
    )
    changed = people.index[~current]
    if len(changed):
        status = pd.concat([status, status_as_of(db, phase.name, limits, as_of, list(changed))])
    return people, status


def _text(values: pd.Series) -> np.ndarray:
    # Times stay stored text (fixed-width UTC, so text order is time order) until a view
    # shows them: parsing 50,000 of each costs more than the rest of this pass.
    return values.fillna("").to_numpy(dtype=str)


def _later(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a > b, a, b)


def _evaluate(
    db: sqlite_utils.Database,
    phase: Phase,
    bank: Bank,
    as_of: datetime,
    people: pd.DataFrame,
    status: pd.DataFrame,
    details: Callable[[Sequence[str]], tuple[pd.DataFrame, pd.DataFrame]],
) -> Progress:
    titles = {d.path: d.title for d in list_documents(db)} if phase.documents else {}
    requirements = tuple(
        RequirementKey("quiz", q, bank.quizzes[q].title if q in bank.quizzes else q)
        for q in phase.quiz_ids
    ) + tuple(RequirementKey("document", d, titles.get(d, d)) for d in phase.documents)
    index = people.index
    status = status.reindex(index)
    passed = status["quizzes_passed"].fillna(0).astype(np.int64)
    read = status["documents_read"].fillna(0).astype(np.int64)
    all_met = ((passed == len(phase.quiz_ids)) & (read == len(phase.documents))).to_numpy()
    if requirements:
        completed_at = _text(status["completed_at"])
    else:
        completed_at = np.full(len(index), to_stamp(phase.start))
    completed_at = np.where(all_met, completed_at, "")
    last_activity = _text(status["last_activity_at"])
    started = last_activity != ""

    past_deadline = as_of > phase.deadline
    on_time = all_met & (completed_at <= to_stamp(phase.deadline))
    state = np.select(
        [on_time, all_met, np.full(len(index), past_deadline), started],
        ["completed", "completed_late", "overdue", "in_progress"],
        default="not_started",
    )

    def stamps(values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=index, dtype=object).replace("", None)

    frame = people.assign(
        active=people["active"].astype(bool),
        counted=(people["active"].astype(bool) & people["role"].isin(COUNTED_ROLES)),
        exempt=people["exemption_id"].notna(),
        quizzes_passed=passed,
        documents_read=read,
        passed_all_quizzes=passed == len(phase.quiz_ids),
        passed_mask=status["passed_mask"].fillna(0).astype(np.int64),
        read_mask=status["read_mask"].fillna(0).astype(np.int64),
        started=started,
        completed_at=stamps(completed_at),
        state=pd.Series(state, index=index, dtype=object),
        blocked=status["blocked"].fillna(False).astype(bool),
        last_activity_at=stamps(last_activity),
    )
    return Progress(
        phase=phase, as_of=as_of, requirements=requirements, people=frame, details=details
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
    done = progress.done_at_of([person.employee_no]).iloc[0]
    quizzes, _ = progress.details([person.employee_no])
    detail = {r["quiz_id"]: r for r in quizzes.to_dict("records")}
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
        exemption = get_exemption(db, int(row["exemption_id"]))
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
