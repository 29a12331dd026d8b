"""The office's dashboard (参与情况): the plan's progress as tables ready to show.

Every function reads; none writes. Each takes the page's :class:`office.scope.Scope`, whose
progress (:func:`office.progress.compute_progress`) is computed once and shared, so the
views of one page, and the export built from them, come from one computation. Role
scoping is the caller's job -- a head's scope holds their own department -- and it is
always the same filter: the department a person belongs to at ``as_of``.

Who is counted, which department a person counts for, what done, late and overdue mean:
see :mod:`office.progress`.

Rules decided here:

* **Behind schedule** (进度落后): :func:`office.schedule.behind_schedule`, after a grace
  of a few days, fewer on-time completions than the elapsed share of the study period
  asks of the headcount, in whole people; after the deadline, short of 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from base.clock import LOCAL_TZ
from office.progress import EXEMPT_LABEL, KIND_LABELS, STATE_LABELS, Progress
from office.schedule import behind_schedule, deadline_text
from office.scope import Scope, local_naive
from quizzes.attempt_stats import attempts_of
from quizzes.people import Role

_STATE_ORDER = {
    "overdue": 0,
    "not_started": 1,
    "in_progress": 2,
    "completed_late": 3,
    "completed": 4,
}


# -- types that cross the boundary ----------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The dashboard's headline figures for one phase, as of a moment.

    Counts leave exempt people out (they are in ``exempt`` only).

    Attributes:
        departments: the scope; None for the whole bureau.
        headcount: people counted (staff and heads, active, not exempt).
        started: of them, with any activity on the phase's requirements.
        completed: every requirement met, on time or late.
        completed_on_time, completed_late: ``completed`` split at the deadline.
        passed_all_quizzes: passed every required quiz (reading may be missing).
        overdue: deadline passed, something missing.
        blocked: not completed and a required quiz has no attempts left.
        participation_rate: ``started / headcount``; None for no headcount.
        completion_rate: ``completed_on_time / headcount``: against the deadline.
        expected_rate: the share of the study period elapsed (see behind schedule).
        days_to_deadline: calendar days (Beijing time) left; negative once past.
    """

    phase: str
    start: datetime
    deadline: datetime
    as_of: datetime
    departments: tuple[str, ...] | None
    headcount: int
    started: int
    not_started: int
    in_progress: int
    completed: int
    completed_on_time: int
    completed_late: int
    passed_all_quizzes: int
    overdue: int
    blocked: int
    exempt: int
    participation_rate: float | None
    completion_rate: float | None
    expected_rate: float
    days_to_deadline: int


# -- helpers --------------------------------------------------------------------------------


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _role_labels(roles: pd.Series) -> np.ndarray:
    labels = {r.value: r.label for r in Role}
    return np.array([labels.get(r, r) for r in roles.to_numpy(dtype=object)], dtype=object)


def _missing_text(progress: Progress, people: pd.DataFrame) -> list[str]:
    # missing_in returns one tuple per combination of requirements, shared by everyone
    # with it: each is written out once (keyed by identity, not by hashing its items).
    missing = progress.missing_in(people)
    texts = {
        id(m): "、".join(f"{KIND_LABELS[r.kind]}《{r.title}》" for r in m)
        for m in {id(m): m for m in missing}.values()
    }
    return [texts[id(m)] for m in missing]


def _fraction(done: pd.Series, total: int) -> pd.Series:
    return done.astype(int).astype(str) + f"/{total}"


# -- the plan's progress --------------------------------------------------------------------


def headline(scope: Scope) -> Headline:
    """The headline figures of the scope's phase as of its moment."""
    progress = scope.progress
    as_of = scope.as_of
    totals = scope.department_counts.sum()
    get = {k: int(totals.get(k, 0)) for k in totals.index} if len(totals) else {}
    headcount = get.get("headcount", 0)
    the_phase = progress.phase
    return Headline(
        phase=the_phase.name,
        start=the_phase.start,
        deadline=the_phase.deadline,
        as_of=as_of,
        departments=scope.departments,
        headcount=headcount,
        started=get.get("started", 0),
        not_started=get.get("not_started", 0),
        in_progress=get.get("in_progress", 0),
        completed=get.get("completed", 0),
        completed_on_time=get.get("completed_on_time", 0),
        completed_late=get.get("completed_late", 0),
        passed_all_quizzes=get.get("passed_all_quizzes", 0),
        overdue=get.get("overdue", 0),
        blocked=get.get("blocked", 0),
        exempt=get.get("exempt", 0),
        participation_rate=_rate(get.get("started", 0), headcount),
        completion_rate=_rate(get.get("completed_on_time", 0), headcount),
        expected_rate=the_phase.elapsed_share(as_of),
        days_to_deadline=the_phase.days_to_deadline(as_of),
    )


def headline_table(summary: Headline) -> pd.DataFrame:
    """The headline as a two-column table (指标, 数值), as the 汇总 sheet shows it.

    The rates (参与率, 按期完成率, 预期进度: names of :data:`office.scope.PERCENT_COLUMNS`)
    are numbers from 0 to 1, "—" when there is nobody to count; the exports format them
    as percentages (:func:`office.reports.shown_cells`).
    """

    def when(moment: datetime) -> str:
        return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")

    def percent(value: float | None) -> float | str:
        # A number: the workbook formats it as a percentage, the CSV writes "83.3%".
        return "—" if value is None else value

    scope = "全局" if summary.departments is None else "、".join(summary.departments) or "（无）"
    rows: list[tuple[str, Any]] = [
        ("学习阶段", summary.phase),
        ("统计范围", scope),
        ("开始时间", when(summary.start)),
        ("截止时间", when(summary.deadline)),
        ("统计时点", when(summary.as_of)),
        ("截止", deadline_text(summary.days_to_deadline, summary.as_of > summary.deadline)),
        ("应学人数", summary.headcount),
        ("已参与", summary.started),
        ("参与率", percent(summary.participation_rate)),
        ("已完成", summary.completed),
        ("按期完成", summary.completed_on_time),
        ("逾期完成", summary.completed_late),
        ("按期完成率", percent(summary.completion_rate)),
        ("预期进度", percent(summary.expected_rate)),
        ("测验全部通过", summary.passed_all_quizzes),
        ("学习中", summary.in_progress),
        ("未开始", summary.not_started),
        ("逾期未完成", summary.overdue),
        ("作答次数用完仍未通过", summary.blocked),
        ("免学（不计入）", summary.exempt),
        ("说明", "时间均为北京时间；免学人员不计入人数与比率；按期完成率以截止时间为准。"),
    ]
    return pd.DataFrame(rows, columns=["指标", "数值"])


def by_department(scope: Scope) -> pd.DataFrame:
    """Per department: headcount, participation, completion against the deadline, flags.

    Columns: 部门, 应学人数, 已参与, 参与率, 已完成, 按期完成, 逾期完成, 按期完成率, 预期进度,
    进度落后, 学习中, 未开始, 逾期未完成, 测验全部通过, 受阻, 免学. Sorted by 按期完成率
    (lowest first; departments with nobody counted last), then 部门. 进度落后 follows the
    behind-schedule rule of the module docstring.
    """
    progress = scope.progress
    as_of = scope.as_of
    counts = scope.department_counts
    expected = progress.phase.elapsed_share(as_of)
    headcount = counts["headcount"]
    participation = (counts["started"] / headcount).where(headcount > 0)
    completion = (counts["completed_on_time"] / headcount).where(headcount > 0)
    behind = behind_schedule(progress.phase, as_of, counts["completed_on_time"], headcount)
    table = pd.DataFrame(
        {
            "部门": counts.index.astype(object),
            "应学人数": headcount.to_numpy(),
            "已参与": counts["started"].to_numpy(),
            "参与率": participation.to_numpy(dtype=float),
            "已完成": counts["completed"].to_numpy(),
            "按期完成": counts["completed_on_time"].to_numpy(),
            "逾期完成": counts["completed_late"].to_numpy(),
            "按期完成率": completion.to_numpy(dtype=float),
            "预期进度": np.full(len(counts), expected),
            "进度落后": np.where(behind.to_numpy(), "是", ""),
            "学习中": counts["in_progress"].to_numpy(),
            "未开始": counts["not_started"].to_numpy(),
            "逾期未完成": counts["overdue"].to_numpy(),
            "测验全部通过": counts["passed_all_quizzes"].to_numpy(),
            "受阻": counts["blocked"].to_numpy(),
            "免学": counts["exempt"].to_numpy(),
        }
    )
    order = table.assign(_nobody=table["应学人数"] == 0).sort_values(
        ["_nobody", "按期完成率", "部门"], na_position="last", kind="stable"
    )
    return order.drop(columns="_nobody").reset_index(drop=True)


def department_people(scope: Scope, department: str) -> pd.DataFrame:
    """The people counted in one department, for the click-through from the table.

    Columns: 工号, 姓名, 角色, 状态 (免学 for the exempt), 已通过测验, 已学文件, 完成时间,
    最后活动, 受阻, 未完成事项, 免学原因. Ordered for chasing: 逾期未完成, 未开始, 学习中,
    逾期完成, 按期完成, then 免学; within each by 工号.
    """
    progress = scope.within([department]).progress
    people = progress.people
    people = people[people["counted"] & (people["department"] == department)]
    quizzes = sum(1 for r in progress.requirements if r.kind == "quiz")
    documents = len(progress.requirements) - quizzes
    rank = people["state"].map(_STATE_ORDER).where(~people["exempt"], len(_STATE_ORDER))
    people = people.assign(_rank=rank).sort_values(["_rank", "employee_no"], kind="stable")
    state = people["state"].map(STATE_LABELS).where(~people["exempt"], EXEMPT_LABEL)
    table = pd.DataFrame(
        {
            "工号": people.index.astype(object),
            "姓名": people["name"].to_numpy(dtype=object),
            "角色": _role_labels(people["role"]),
            "状态": state.to_numpy(dtype=object),
            "已通过测验": _fraction(people["quizzes_passed"], quizzes).to_numpy(dtype=object),
            "已学文件": _fraction(people["documents_read"], documents).to_numpy(dtype=object),
            "完成时间": local_naive(people["completed_at"]).to_numpy(),
            "最后活动": local_naive(people["last_activity_at"]).to_numpy(),
            "受阻": np.where(people["blocked"].to_numpy(), "是", ""),
            "未完成事项": _missing_text(progress, people),
            "免学原因": people["exemption_reason"].fillna("").to_numpy(dtype=object),
        }
    )
    return table.reset_index(drop=True)


def person_attempts(scope: Scope, employee_no: str) -> pd.DataFrame:
    """Every attempt of one person started by the scope's moment, oldest first, as they
    stood then.

    Columns: 作答ID, 测验编号, 测验, 第几次, 状态, 开始时间, 提交时间, 用时（分钟）, 得分,
    满分, 得分率, 是否通过.
    """
    rows = attempts_of(scope.db, employee_no, scope.as_of)
    bank = scope.bank
    titles = {q.id: q.title for q in bank.quizzes.values()}
    status_labels = {"in_progress": "作答中", "submitted": "已提交", "expired": "超时交卷"}
    started = pd.to_datetime(rows["started_at"], format="ISO8601", utc=True)
    submitted = pd.to_datetime(rows["submitted_at"], format="ISO8601", utc=True)
    graded = rows["status"] != "in_progress"
    score = pd.to_numeric(rows["score"]).where(graded)
    max_score = pd.to_numeric(rows["max_score"]).where(graded)
    table = pd.DataFrame(
        {
            "作答ID": rows["id"].astype(int).to_numpy(),
            "测验编号": rows["quiz_id"].to_numpy(dtype=object),
            "测验": [titles.get(q, q) for q in rows["quiz_id"]],
            "第几次": rows["attempt_no"].astype(int).to_numpy(),
            "状态": rows["status"].map(status_labels).to_numpy(dtype=object),
            "开始时间": local_naive(started).to_numpy(),
            "提交时间": local_naive(submitted).to_numpy(),
            "用时（分钟）": ((submitted - started).dt.total_seconds() / 60).round(1).to_numpy(),
            "得分": score.to_numpy(dtype=float),
            "满分": max_score.to_numpy(dtype=float),
            "得分率": (score / max_score.where(max_score > 0)).to_numpy(dtype=float),
            "是否通过": np.where(
                graded.to_numpy(),
                np.where(rows["passed"].fillna(0).astype(int).to_numpy() == 1, "通过", "未通过"),
                "",
            ),
        }
    )
    return table


def overdue_list(scope: Scope) -> pd.DataFrame:
    """The people overdue as of a moment (exempt people are apart: :func:`exempt_list`).

    Columns: 部门, 工号, 姓名, 角色, 已通过测验, 已学文件, 受阻, 最后活动, 未完成事项.
    Ordered by 部门 then 工号. Empty before the deadline.
    """
    progress = scope.progress
    people = progress.counted
    people = people[people["state"] == "overdue"]
    people = people.assign(_no=people.index).sort_values(["department", "_no"], kind="stable")
    quizzes = sum(1 for r in progress.requirements if r.kind == "quiz")
    documents = len(progress.requirements) - quizzes
    return pd.DataFrame(
        {
            "部门": people["department"].to_numpy(dtype=object),
            "工号": people.index.astype(object),
            "姓名": people["name"].to_numpy(dtype=object),
            "角色": _role_labels(people["role"]),
            "已通过测验": _fraction(people["quizzes_passed"], quizzes).to_numpy(dtype=object),
            "已学文件": _fraction(people["documents_read"], documents).to_numpy(dtype=object),
            "受阻": np.where(people["blocked"].to_numpy(), "是", ""),
            "最后活动": local_naive(people["last_activity_at"]).to_numpy(),
            "未完成事项": _missing_text(progress, people),
        }
    )


def exempt_list(scope: Scope) -> pd.DataFrame:
    """The people exempt at the moment, shown apart from every count.

    Columns: 部门, 工号, 姓名, 免学原因, 免学开始, 免学截止, 状态 (their study state all
    the same). Ordered by 部门 then 工号.
    """
    progress = scope.progress
    people = progress.people
    people = people[people["counted"] & people["exempt"]]
    people = people.assign(_no=people.index).sort_values(["department", "_no"], kind="stable")
    return pd.DataFrame(
        {
            "部门": people["department"].to_numpy(dtype=object),
            "工号": people.index.astype(object),
            "姓名": people["name"].to_numpy(dtype=object),
            "免学原因": people["exemption_reason"].to_numpy(dtype=object),
            "免学开始": local_naive(people["exemption_since"]).to_numpy(),
            "免学截止": local_naive(people["exemption_until"]).to_numpy(),
            "状态": people["state"].map(STATE_LABELS).to_numpy(dtype=object),
        }
    )


def completions_per_day(scope: Scope) -> pd.DataFrame:
    """On-time completions per calendar day (Beijing time), from the start to the deadline.

    Days run from the phase's start to its deadline, or to ``as_of`` if earlier.
    Completions before the start (requirements met earlier) count on the first day; late
    completions are not in this series.

    Columns: 日期 (a date), 当日完成, 累计完成, 累计完成率 (of the headcount), 预期进度
    (the elapsed share of the period at the end of that day).
    """
    progress = scope.progress
    as_of = scope.as_of
    the_phase = progress.phase
    people = progress.counted
    headcount = len(people)
    first = the_phase.start.astimezone(LOCAL_TZ).date()
    last = min(the_phase.deadline, as_of).astimezone(LOCAL_TZ).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    done = people.loc[people["state"] == "completed", "completed_at"]
    local_days = local_naive(done).dt.normalize().clip(lower=pd.Timestamp(first))
    counts = local_days.value_counts()
    per_day = [int(counts.get(pd.Timestamp(day), 0)) for day in days]
    cumulative = np.cumsum(per_day) if per_day else np.array([], dtype=int)

    def expected(day: date) -> float:
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
        return the_phase.elapsed_share(end)

    return pd.DataFrame(
        {
            "日期": pd.Series(days, dtype=object),
            "当日完成": pd.Series(per_day, dtype=int),
            "累计完成": pd.Series(cumulative, dtype=int),
            "累计完成率": pd.Series(
                [c / headcount if headcount else np.nan for c in cumulative], dtype=float
            ),
            "预期进度": pd.Series([expected(d) for d in days], dtype=float),
        }
    )
