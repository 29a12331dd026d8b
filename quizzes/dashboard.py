"""The office's dashboard (参与情况): pure queries over the database, tables ready to show.

Every function reads; none writes. Each is a few SQL queries and one pandas pass, never a
query per person. Every function takes ``departments`` (None for the whole bureau): role
scoping is the caller's job -- a head passes their own department -- and it is always the
same filter: the department a person belongs to at ``as_of``.

Who is counted, which department a person counts for, what done, late and overdue mean:
see :mod:`quizzes.studyplan` (the figures here are computed by
:func:`quizzes.studyplan.compute_progress`). Figures of the plan's progress take an
optional ``progress`` from :func:`compute_progress`, so a page (or an export) that shows
several views computes the progress once; it must have been computed with the same
arguments.

Rules decided here:

* **Behind schedule** (进度落后): a department whose on-time completion rate is below the
  share of the study period that has elapsed at ``as_of`` (linear: a third of the way
  through, a third should have completed). Before the start nobody is behind; after the
  deadline every department short of 100 % is.
* **Quiz and question statistics** count graded attempts (submitted or expired) submitted
  within the date range and by ``as_of``, of the people counted, whatever the plan. A
  question's share correct counts every stored answer row (a blank is wrong; a partly
  right multiple choice is not correct); void rows (question removed from the bank at
  grading) are left out.
* **Integrity flags**, for the office to look at, never a penalty:
  *too fast*: a submitted attempt whose time from start to submission is under
  ``min_seconds_per_question`` (3 s) per drawn question;
  *identical sheets*: attempts at the same quiz by different people with the same drawn
  questions and the same answer to every one, at least ``min_questions`` (10) questions
  with at least ``min_shared_wrong`` (4) of them wrong -- identical perfect sheets are
  expected, identical mistakes are the tell. Four, not three: at 5,000 people with three
  attempts at each of ten quizzes, three shared mistakes matched some 340 pairs by
  coincidence (mostly across departments); four left 35, most within one department.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlite_utils

from kb.documents import find_quote
from quizzes.accounts import Role
from quizzes.bank import Bank
from quizzes.studyplan import (
    EXEMPT_LABEL,
    KIND_LABELS,
    LOCAL_TZ,
    STATE_LABELS,
    Progress,
    StudyPlan,
    compute_progress,
    department_counts,
    in_list_sql,
    query_frame,
    scope_cte,
    to_stamp,
)

MIN_SECONDS_PER_QUESTION = 3.0
MIN_IDENTICAL_QUESTIONS = 10
MIN_SHARED_WRONG = 4
SCORE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("不足60分", 0.0, 60.0),
    ("60–69分", 60.0, 70.0),
    ("70–79分", 70.0, 80.0),
    ("80–89分", 80.0, 90.0),
    ("90–100分", 90.0, 101.0),
)
"""Score bands of :func:`quiz_stats`, on the percentage of the maximum score."""

PERCENT_COLUMNS = frozenset(
    {
        "参与率",
        "按期完成率",
        "预期进度",
        "累计完成率",
        "通过率",
        "平均得分率",
        "得分率",
        "答对率",
        "覆盖率",
        "最高得分率",
    }
)
"""Columns holding shares from 0 to 1: shown and exported as percentages."""

FRONT_SECTION = "（标题与前言）"
"""How the passages before a document's first heading are named as a section."""

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


@dataclass(frozen=True)
class Coverage:
    """How well the quiz bank covers the documents, and how each department does there.

    Attributes:
        documents: per document: 文件, 标题, 小节数, 有题小节数, 覆盖率, 题目数.
        sections: per section (heading path holding passages): 文件, 标题, 小节, 段落数,
            题目数, 作答次数, 答对次数, 答对率.
        by_department: per section with answers and department: 文件, 小节, 部门, 作答次数,
            答对次数, 答对率.
    """

    documents: pd.DataFrame
    sections: pd.DataFrame
    by_department: pd.DataFrame


# -- helpers --------------------------------------------------------------------------------


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _local(series: pd.Series) -> pd.Series:
    # Excel has no time zones: tables carry naive Beijing times (stated on the 汇总 sheet),
    # to the second, which a workbook stores exactly.
    values = pd.to_datetime(series, utc=True)
    return values.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.floor("s")


def _progress(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None,
    phase: str | None,
    progress: Progress | None,
) -> Progress:
    if progress is not None:
        return progress
    return compute_progress(db, plan, bank, as_of, phase=phase, departments=departments)


def _role_label(role: str) -> str:
    try:
        return Role(role).label
    except ValueError:
        return role


def _missing_text(progress: Progress, employee_nos: Sequence[str]) -> list[str]:
    return [
        "、".join(f"{KIND_LABELS[r.kind]}《{r.title}》" for r in missing)
        for missing in progress.missing_of(employee_nos)
    ]


def _fraction(done: pd.Series, total: int) -> pd.Series:
    return done.astype(int).astype(str) + f"/{total}"


def _attempt_filters(
    as_of: datetime,
    quiz_ids: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    params: dict[str, Any],
    alias: str = "a",
) -> str:
    end = as_of if until is None else min(until, as_of)
    params["until"] = to_stamp(end)
    where = [
        f"{alias}.status != 'in_progress'",
        f"{alias}.submitted_at <= :until",
    ]
    if since is not None:
        params["since"] = to_stamp(since)
        where.append(f"{alias}.submitted_at >= :since")
    if quiz_ids is not None:
        where.append(f"{alias}.quiz_id IN ({in_list_sql('quiz', quiz_ids, params)})")
    return " AND ".join(where)


# -- the plan's progress --------------------------------------------------------------------


def headline(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> Headline:
    """The headline figures of a phase as of a moment.

    Args:
        db: the app database.
        plan: the study plan.
        bank: the quiz bank.
        as_of: the moment, aware.
        departments: the scope; None for the whole bureau.
        phase: the phase's name; None for the current phase at ``as_of``.
        progress: the same computation, if already made (see the module docstring).
    """
    progress = _progress(db, plan, bank, as_of, departments, phase, progress)
    totals = department_counts(progress).sum()
    get = {k: int(totals.get(k, 0)) for k in totals.index} if len(totals) else {}
    headcount = get.get("headcount", 0)
    the_phase = progress.phase
    return Headline(
        phase=the_phase.name,
        start=the_phase.start,
        deadline=the_phase.deadline,
        as_of=as_of,
        departments=None if departments is None else tuple(departments),
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
    """The headline as a two-column table (指标, 数值), as the 汇总 sheet shows it."""

    def when(moment: datetime) -> str:
        return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    scope = "全局" if summary.departments is None else "、".join(summary.departments) or "（无）"
    rows: list[tuple[str, Any]] = [
        ("学习阶段", summary.phase),
        ("统计范围", scope),
        ("开始时间", when(summary.start)),
        ("截止时间", when(summary.deadline)),
        ("统计时点", when(summary.as_of)),
        ("距截止天数", summary.days_to_deadline),
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


def by_department(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Per department: headcount, participation, completion against the deadline, flags.

    Columns: 部门, 应学人数, 已参与, 参与率, 已完成, 按期完成, 逾期完成, 按期完成率, 预期进度,
    进度落后, 学习中, 未开始, 逾期未完成, 测验全部通过, 受阻, 免学. Sorted by 按期完成率
    (lowest first; departments with nobody counted last), then 部门. 进度落后 follows the
    behind-schedule rule of the module docstring.
    """
    progress = _progress(db, plan, bank, as_of, departments, phase, progress)
    counts = department_counts(progress)
    expected = progress.phase.elapsed_share(as_of)
    headcount = counts["headcount"]
    participation = (counts["started"] / headcount).where(headcount > 0)
    completion = (counts["completed_on_time"] / headcount).where(headcount > 0)
    # A float tolerance: at the deadline, 100 % done must not read as behind 100 %.
    behind = (completion < expected - 1e-9) & (headcount > 0)
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


def department_people(
    db: sqlite_utils.Database,
    department: str,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The people counted in one department, for the click-through from the table.

    Columns: 工号, 姓名, 角色, 状态 (免学 for the exempt), 已通过测验, 已学文件, 完成时间,
    最后活动, 受阻, 未完成事项, 免学原因. Ordered for chasing: 逾期未完成, 未开始, 学习中,
    逾期完成, 按期完成, then 免学; within each by 工号.
    """
    progress = _progress(db, plan, bank, as_of, [department], phase, progress)
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
            "角色": [_role_label(r) for r in people["role"]],
            "状态": state.to_numpy(dtype=object),
            "已通过测验": _fraction(people["quizzes_passed"], quizzes).to_numpy(dtype=object),
            "已学文件": _fraction(people["documents_read"], documents).to_numpy(dtype=object),
            "完成时间": _local(people["completed_at"]).to_numpy(),
            "最后活动": _local(people["last_activity_at"]).to_numpy(),
            "受阻": np.where(people["blocked"].to_numpy(), "是", ""),
            "未完成事项": _missing_text(progress, list(people.index)),
            "免学原因": people["exemption_reason"].fillna("").to_numpy(dtype=object),
        }
    )
    return table.reset_index(drop=True)


def person_attempts(
    db: sqlite_utils.Database,
    employee_no: str,
    bank: Bank | None = None,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Every attempt of one person (started by ``as_of`` if given), oldest first.

    Columns: 作答ID, 测验编号, 测验, 第几次, 状态, 开始时间, 提交时间, 用时（分钟）, 得分,
    满分, 得分率, 是否通过.
    """
    params: dict[str, Any] = {"who": employee_no.strip()}
    where = "employee_no = :who"
    if as_of is not None:
        params["as_of"] = to_stamp(as_of)
        where += " AND started_at <= :as_of"
    rows = query_frame(
        db,
        "SELECT id, quiz_id, attempt_no, status, started_at, submitted_at, score, max_score, "
        f"passed FROM attempts WHERE {where} ORDER BY started_at, id",
        params,
    )
    titles = {} if bank is None else {q.id: q.title for q in bank.quizzes.values()}
    status_labels = {"in_progress": "作答中", "submitted": "已提交", "expired": "超时交卷"}
    if as_of is not None:
        # Submitted after the moment: as of then it was still open.
        later = rows["submitted_at"].notna() & (rows["submitted_at"] > params["as_of"])
        rows.loc[later, ["status", "submitted_at", "score", "max_score", "passed"]] = [
            "in_progress",
            None,
            None,
            None,
            None,
        ]
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
            "开始时间": _local(started).to_numpy(),
            "提交时间": _local(submitted).to_numpy(),
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


def overdue_list(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The people overdue as of a moment (exempt people are apart: :func:`exempt_list`).

    Columns: 部门, 工号, 姓名, 角色, 已通过测验, 已学文件, 受阻, 最后活动, 未完成事项.
    Ordered by 部门 then 工号. Empty before the deadline.
    """
    progress = _progress(db, plan, bank, as_of, departments, phase, progress)
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
            "角色": [_role_label(r) for r in people["role"]],
            "已通过测验": _fraction(people["quizzes_passed"], quizzes).to_numpy(dtype=object),
            "已学文件": _fraction(people["documents_read"], documents).to_numpy(dtype=object),
            "受阻": np.where(people["blocked"].to_numpy(), "是", ""),
            "最后活动": _local(people["last_activity_at"]).to_numpy(),
            "未完成事项": _missing_text(progress, list(people.index)),
        }
    )


def exempt_list(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The people exempt at the moment, shown apart from every count.

    Columns: 部门, 工号, 姓名, 免学原因, 免学开始, 免学截止, 状态 (their study state all
    the same). Ordered by 部门 then 工号.
    """
    progress = _progress(db, plan, bank, as_of, departments, phase, progress)
    people = progress.people
    people = people[people["counted"] & people["exempt"]]
    people = people.assign(_no=people.index).sort_values(["department", "_no"], kind="stable")
    return pd.DataFrame(
        {
            "部门": people["department"].to_numpy(dtype=object),
            "工号": people.index.astype(object),
            "姓名": people["name"].to_numpy(dtype=object),
            "免学原因": people["exemption_reason"].to_numpy(dtype=object),
            "免学开始": _local(people["exemption_since"]).to_numpy(),
            "免学截止": _local(people["exemption_until"]).to_numpy(),
            "状态": people["state"].map(STATE_LABELS).to_numpy(dtype=object),
        }
    )


def completions_per_day(
    db: sqlite_utils.Database,
    plan: StudyPlan,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    phase: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """On-time completions per calendar day (Beijing time), from the start to the deadline.

    Days run from the phase's start to its deadline, or to ``as_of`` if earlier.
    Completions before the start (requirements met earlier) count on the first day; late
    completions are not in this series.

    Columns: 日期 (a date), 当日完成, 累计完成, 累计完成率 (of the headcount), 预期进度
    (the elapsed share of the period at the end of that day).
    """
    progress = _progress(db, plan, bank, as_of, departments, phase, progress)
    the_phase = progress.phase
    people = progress.counted
    headcount = len(people)
    first = the_phase.start.astimezone(LOCAL_TZ).date()
    last = min(the_phase.deadline, as_of).astimezone(LOCAL_TZ).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    done = people.loc[people["state"] == "completed", "completed_at"]
    local_days = _local(done).dt.date
    counts = local_days.map(lambda d: max(d, first)).value_counts()
    per_day = [int(counts.get(day, 0)) for day in days]
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


# -- quizzes and questions ------------------------------------------------------------------


def quiz_stats(
    db: sqlite_utils.Database,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Per quiz: graded attempts, people, pass rates, mean score and the score distribution.

    Args:
        db: the app database.
        bank: the quiz bank (its quizzes are listed, in order, also without attempts).
        as_of: the moment, aware; attempts submitted later are left out.
        departments: the scope; None for the whole bureau.
        quiz_ids: only these quizzes; None for every quiz of the bank.
        since, until: only attempts submitted in this range (inclusive).

    Returns:
        Columns: 测验编号, 测验, 作答人次, 作答人数, 通过人次, 通过人数, 通过率 (of the
        people who tried, the share who passed), 平均得分率, then one column per score band
        (:data:`SCORE_BANDS`) counting attempts.
    """
    who, params = scope_cte(to_stamp(as_of), departments)
    where = _attempt_filters(as_of, quiz_ids, since, until, params)
    bands = ", ".join(
        f"SUM(CASE WHEN pct >= {low} AND pct < {high} THEN 1 ELSE 0 END) AS band{i}"
        for i, (_, low, high) in enumerate(SCORE_BANDS)
    )
    rows = query_frame(
        db,
        f"""WITH {who}, graded AS (
            SELECT a.quiz_id, a.employee_no, a.passed,
                CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score ELSE 0 END AS pct
            FROM attempts a
            WHERE a.employee_no IN (SELECT employee_no FROM who) AND {where})
        SELECT quiz_id, COUNT(*) AS attempts, COUNT(DISTINCT employee_no) AS people,
            SUM(passed) AS passed_attempts,
            COUNT(DISTINCT CASE WHEN passed = 1 THEN employee_no END) AS people_passed,
            AVG(pct) / 100.0 AS mean, {bands}
        FROM graded GROUP BY quiz_id""",
        params,
    ).set_index("quiz_id")
    ids = list(bank.quizzes) if quiz_ids is None else [q for q in quiz_ids if q in bank.quizzes]
    rows = rows.reindex(ids)
    count_columns = ["attempts", "people", "passed_attempts", "people_passed"] + [
        f"band{i}" for i in range(len(SCORE_BANDS))
    ]
    rows[count_columns] = rows[count_columns].fillna(0).astype(int)
    table = pd.DataFrame(
        {
            "测验编号": pd.Series(ids, dtype=object),
            "测验": pd.Series([bank.quizzes[q].title for q in ids], dtype=object),
            "作答人次": rows["attempts"].to_numpy(),
            "作答人数": rows["people"].to_numpy(),
            "通过人次": rows["passed_attempts"].to_numpy(),
            "通过人数": rows["people_passed"].to_numpy(),
            "通过率": (rows["people_passed"] / rows["people"].where(rows["people"] > 0)).to_numpy(
                dtype=float
            ),
            "平均得分率": pd.to_numeric(rows["mean"]).to_numpy(dtype=float),
        }
    )
    for i, (label, _, _) in enumerate(SCORE_BANDS):
        table[label] = rows[f"band{i}"].to_numpy()
    return table


def _answer_tallies(
    db: sqlite_utils.Database,
    as_of: datetime,
    departments: Sequence[str] | None,
    quiz_ids: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    by_department: bool,
) -> pd.DataFrame:
    # One grouped query per quiz: SQLite groups by sorting, and many small sorts cost
    # less than one over every answer row (measured: 2.4 s against 3.4 s at 5,000 people).
    who, params = scope_cte(to_stamp(as_of), departments)
    where = _attempt_filters(as_of, None, since, until, params)
    department = ", w.department" if by_department else ""
    join = "JOIN who w ON w.employee_no = a.employee_no" if by_department else ""
    scope = "" if by_department else "AND a.employee_no IN (SELECT employee_no FROM who)"
    frames = []
    for quiz_id in quiz_ids:
        params["the_quiz"] = quiz_id
        frame = query_frame(
            db,
            f"""WITH {who}
            SELECT a.quiz_id, s.question_id{department},
                COUNT(*) AS answered, SUM(s.correct) AS correct
            FROM attempts a JOIN answers s ON s.attempt_id = a.id {join}
            WHERE a.quiz_id = :the_quiz AND {where} {scope} AND s.correct IS NOT NULL
            GROUP BY s.question_id{department}""",
            params,
        )
        frames.append(frame)
    columns = ["quiz_id", "question_id"] + (["department"] if by_department else [])
    columns += ["answered", "correct"]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def question_stats(
    db: sqlite_utils.Database,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Per question, the share answered correctly: most missed first.

    Only questions of the bank with at least one graded answer are listed.

    Returns:
        Columns: 测验编号, 测验, 题号, 题型, 题干, 作答次数, 答对次数, 答对率, 出处文件,
        出处引文 (the UI finds the passage with ``kb.documents.find_quote``). Sorted by
        答对率, then bank order.
    """
    ids = list(bank.quizzes) if quiz_ids is None else [q for q in quiz_ids if q in bank.quizzes]
    tallies = _answer_tallies(db, as_of, departments, ids, since, until, by_department=False)
    type_labels = {"single": "单选", "multiple": "多选", "true_false": "判断", "fill": "填空"}
    rows = []
    counts = {
        (r.quiz_id, r.question_id): (int(r.answered), int(r.correct or 0))
        for r in tallies.itertuples()
    }
    for quiz_index, quiz_id in enumerate(ids):
        quiz = bank.quizzes[quiz_id]
        for position, question in enumerate(quiz.questions):
            answered, correct = counts.get((quiz_id, question.id), (0, 0))
            if not answered:
                continue
            rows.append(
                (
                    quiz_index,
                    position,
                    quiz_id,
                    quiz.title,
                    question.id,
                    type_labels.get(question.type, question.type),
                    question.stem,
                    answered,
                    correct,
                    correct / answered,
                    question.source.document,
                    question.source.quote,
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "_quiz",
            "_position",
            "测验编号",
            "测验",
            "题号",
            "题型",
            "题干",
            "作答次数",
            "答对次数",
            "答对率",
            "出处文件",
            "出处引文",
        ],
    )
    table = table.sort_values(["答对率", "_quiz", "_position"], kind="stable")
    return table.drop(columns=["_quiz", "_position"]).reset_index(drop=True)


def coverage(
    db: sqlite_utils.Database,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Coverage:
    """Which sections of each document the bank tests, and each department's share correct.

    A section is a distinct heading path that holds passages (the ``chunks`` table); a
    question tests the section its source quote stands in (``kb.documents.find_quote``).
    Questions whose quote is no longer found test nothing. Answers count as in
    :func:`question_stats`.
    """
    sections = query_frame(
        db,
        "SELECT d.path, d.title, c.heading_path, COUNT(*) AS passages, MIN(c.seq) AS first "
        "FROM chunks c JOIN documents d ON d.id = c.doc_id "
        "GROUP BY d.path, c.heading_path ORDER BY d.path, first",
    )
    tested: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for quiz in bank.quizzes.values():
        for question in quiz.questions:
            passage = find_quote(db, question.source.document, question.source.quote)
            if passage is not None:
                key = (passage.doc_path, passage.heading_path)
                tested.setdefault(key, []).append((quiz.id, question.id))
    tallies = _answer_tallies(
        db, as_of, departments, list(bank.quizzes), since, until, by_department=True
    )
    section_of = {q: key for key, questions in tested.items() for q in questions}
    tallies["section"] = [section_of.get((r.quiz_id, r.question_id)) for r in tallies.itertuples()]
    tallies = tallies[tallies["section"].notna()]
    tallies = tallies.assign(
        path=[s[0] for s in tallies["section"]],
        heading=[s[1] for s in tallies["section"]],
        correct=pd.to_numeric(tallies["correct"]).fillna(0).astype(int),
        answered=pd.to_numeric(tallies["answered"]).astype(int),
    )
    per_section = tallies.groupby(["path", "heading"])[["answered", "correct"]].sum()
    per_department = tallies.groupby(["path", "heading", "department"])[
        ["answered", "correct"]
    ].sum()

    def label(heading: str) -> str:
        return heading or FRONT_SECTION

    section_rows = []
    for r in sections.itertuples():
        key = (r.path, r.heading_path)
        answered = int(per_section["answered"].get(key, 0))
        correct = int(per_section["correct"].get(key, 0))
        section_rows.append(
            (
                r.path,
                r.title,
                label(r.heading_path),
                int(r.passages),
                len(tested.get(key, [])),
                answered,
                correct,
                correct / answered if answered else np.nan,
            )
        )
    section_table = pd.DataFrame(
        section_rows,
        columns=["文件", "标题", "小节", "段落数", "题目数", "作答次数", "答对次数", "答对率"],
    )
    documents = (
        section_table.assign(_tested=section_table["题目数"] > 0)
        .groupby(["文件", "标题"], sort=False)
        .agg(小节数=("小节", "size"), 有题小节数=("_tested", "sum"), 题目数=("题目数", "sum"))
        .reset_index()
    )
    documents["有题小节数"] = documents["有题小节数"].astype(int)
    documents.insert(4, "覆盖率", documents["有题小节数"] / documents["小节数"])
    department_rows = [
        (
            path,
            label(heading),
            department,
            int(r.answered),
            int(r.correct),
            r.correct / r.answered if r.answered else np.nan,
        )
        for (path, heading, department), r in per_department.iterrows()
    ]
    by_department_table = pd.DataFrame(
        department_rows, columns=["文件", "小节", "部门", "作答次数", "答对次数", "答对率"]
    )
    return Coverage(documents, section_table, by_department_table)


# -- integrity ------------------------------------------------------------------------------


def integrity_flags(
    db: sqlite_utils.Database,
    bank: Bank,
    as_of: datetime,
    departments: Sequence[str] | None = None,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_seconds_per_question: float = MIN_SECONDS_PER_QUESTION,
    min_questions: int = MIN_IDENTICAL_QUESTIONS,
    min_shared_wrong: int = MIN_SHARED_WRONG,
) -> pd.DataFrame:
    """Attempts for the office to look at: too fast, or identical to a colleague's sheet.

    Never a penalty; see the module docstring for the rules.

    Returns:
        Columns: 类型 (作答过快 / 答卷雷同), 雷同组 (a number shared by the attempts of one
        identical group; empty for 作答过快), 测验编号, 测验, 部门, 工号, 姓名, 作答ID,
        提交时间, 说明. Too-fast attempts first, then identical groups, each by 提交时间.
    """
    titles = {q.id: q.title for q in bank.quizzes.values()}
    who, params = scope_cte(to_stamp(as_of), departments)
    where = _attempt_filters(as_of, quiz_ids, since, until, params)
    params["min_seconds"] = float(min_seconds_per_question)
    fast = query_frame(
        db,
        f"""WITH {who}
        SELECT a.id, a.quiz_id, a.employee_no, w.name, w.department, a.submitted_at,
            json_array_length(a.question_ids) AS questions,
            round((julianday(a.submitted_at) - julianday(a.started_at)) * 86400.0, 3) AS seconds
        FROM attempts a JOIN who w ON w.employee_no = a.employee_no
        WHERE {where} AND a.status = 'submitted'
          -- Rounded to the millisecond the times are kept to: 12 s must not read 11.999.
          AND round((julianday(a.submitted_at) - julianday(a.started_at)) * 86400.0, 3)
              < :min_seconds * json_array_length(a.question_ids)
        ORDER BY a.submitted_at, a.id""",
        params,
    )
    rows: list[tuple] = [
        (
            "作答过快",
            None,
            r.quiz_id,
            titles.get(r.quiz_id, r.quiz_id),
            r.department,
            r.employee_no,
            r.name,
            int(r.id),
            r.submitted_at,
            f"用时 {r.seconds:.0f} 秒答 {r.questions} 题，平均每题 {r.seconds / r.questions:.1f} 秒"
            if r.questions
            else f"用时 {r.seconds:.0f} 秒",
        )
        for r in fast.itertuples()
    ]

    # Identical sheets. First a cheap key per attempt from its wrong answers, computed in
    # one sequential scan with order-independent aggregates (the order rows come in is not
    # defined): identical sheets always share it, different sheets rarely do. Then the
    # full sheets of the attempts sharing a key are compared exactly.
    params["min_wrong"] = int(min_shared_wrong)
    keyed = query_frame(
        db,
        f"""WITH {who}
        SELECT s.attempt_id, a.quiz_id, a.employee_no, a.submitted_at, COUNT(*) AS wrong,
            MIN(s.question_id || '=' || s.answer) AS first_wrong,
            MAX(s.question_id || '=' || s.answer) AS last_wrong,
            SUM(length(s.answer) * 1000003 + unicode(substr(s.question_id, -1)) * 10007
                + unicode(substr(s.question_id, -2, 1)) * 101
                + unicode(substr(s.answer, 2, 1)) * 7 + unicode(substr(s.answer, -2, 1)))
                AS checksum
        FROM answers s NOT INDEXED JOIN attempts a ON a.id = s.attempt_id
        WHERE s.correct = 0 AND {where} AND a.employee_no IN (SELECT employee_no FROM who)
        GROUP BY s.attempt_id HAVING COUNT(*) >= :min_wrong""",
        params,
    )
    group_number = 0
    if not keyed.empty:
        key = ["quiz_id", "wrong", "first_wrong", "last_wrong", "checksum"]
        keyed["checksum"] = keyed["checksum"].fillna(0)
        people_per_key = keyed.groupby(key)["employee_no"].transform("nunique")
        candidates = keyed[people_per_key >= 2]
        sheets = _sheets(db, [int(i) for i in candidates["attempt_id"]])
        names = _names(db, as_of, list(candidates["employee_no"].unique()))
        groups = []
        for _, group in candidates.groupby(key, sort=False):
            by_sheet: dict[str, list[dict]] = {}
            for detail in group.to_dict("records"):
                sheet = sheets[int(detail["attempt_id"])]
                if len(json.loads(sheet)) >= min_questions:
                    by_sheet.setdefault(sheet, []).append(detail)
            for sheet, details in by_sheet.items():
                if len({d["employee_no"] for d in details}) >= 2:
                    for d in details:
                        d["name"], d["department"] = names.get(d["employee_no"], ("", ""))
                    details.sort(key=lambda d: (d["submitted_at"], d["attempt_id"]))
                    groups.append((len(json.loads(sheet)), details))
        groups.sort(key=lambda g: (g[1][0]["submitted_at"], g[1][0]["attempt_id"]))
        for questions, details in groups:
            group_number += 1
            everyone = sorted({d["employee_no"] for d in details})
            for d in details:
                mates = "、".join(e for e in everyone if e != d["employee_no"])
                rows.append(
                    (
                        "答卷雷同",
                        group_number,
                        d["quiz_id"],
                        titles.get(d["quiz_id"], d["quiz_id"]),
                        d["department"],
                        d["employee_no"],
                        d["name"],
                        int(d["attempt_id"]),
                        d["submitted_at"],
                        f"与 {mates} 的答卷完全相同（{questions} 题，其中 {d['wrong']} 题答错）",
                    )
                )
    table = pd.DataFrame(
        rows,
        columns=[
            "类型",
            "雷同组",
            "测验编号",
            "测验",
            "部门",
            "工号",
            "姓名",
            "作答ID",
            "提交时间",
            "说明",
        ],
    )
    table["雷同组"] = table["雷同组"].astype("Int64")
    table["提交时间"] = _local(pd.to_datetime(table["提交时间"], format="ISO8601", utc=True))
    return table


def _names(
    db: sqlite_utils.Database, as_of: datetime, employee_nos: list[str]
) -> dict[str, tuple[str, str]]:
    """Name and department at ``as_of`` of a few people."""
    who, params = scope_cte(to_stamp(as_of), employee_nos=employee_nos, counted_only=False)
    return {
        e: (n, d)
        for e, n, d in db.execute(
            f"WITH {who} SELECT employee_no, name, department FROM who", params
        )
    }


def _sheets(db: sqlite_utils.Database, attempt_ids: list[int]) -> dict[int, str]:
    """Each attempt's full sheet (drawn questions in id order, with the stored answers)."""
    if not attempt_ids:
        return {}
    params: dict[str, Any] = {}
    ids = in_list_sql("a", attempt_ids, params)
    answers: dict[int, dict[str, str]] = {}
    for attempt_id, question_id, answer in db.execute(
        f"SELECT attempt_id, question_id, answer FROM answers WHERE attempt_id IN ({ids})", params
    ):
        answers.setdefault(attempt_id, {})[question_id] = answer
    sheets = {}
    for attempt_id, question_ids in db.execute(
        f"SELECT id, question_ids FROM attempts WHERE id IN ({ids})", params
    ):
        mine = answers.get(attempt_id, {})
        drawn = sorted(json.loads(question_ids))
        sheets[attempt_id] = json.dumps([[q, mine.get(q)] for q in drawn], ensure_ascii=False)
    return sheets
