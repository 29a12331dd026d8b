"""Dashboard queries on hand-built records: exact figures, scoping, statistics, flags.

The bureau is :func:`tests.data.office.office_records.build_bureau`; its docstring lists
who did what, and every expected figure below follows from it by the rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import office.scope
from office.coverage import coverage
from office.dashboard import (
    Headline,
    by_department,
    completions_per_day,
    department_people,
    exempt_list,
    headline,
    headline_table,
    overdue_list,
    person_attempts,
)
from office.integrity import integrity_flags
from office.reports import report_tables
from office.scope import Scope
from office.statistics import question_stats, quiz_stats
from tests.data.office.office_records import (
    DEADLINE,
    LAW,
    OFFICE_DEPT,
    PHASE,
    RIGHT,
    START,
    STATION,
    at,
    office_plan,
    person,
    take,
)

MID = at(15)  # before the deadline
AFTER = at(22)  # after it
EVERYTHING = "测验《实施方案测验》、测验《道德规范测验》、文件《创建市级文明单位实施方案》、文件《公民基本道德规范》"
QUIZZES_ONLY = "测验《实施方案测验》、测验《道德规范测验》"


def local(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A naive Beijing time of November 2026, as the tables carry them."""
    return datetime(2026, 11, day, hour, minute)


def elapsed(moment: datetime) -> float:
    return (moment - START).total_seconds() / (DEADLINE - START).total_seconds()


def plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as plain rows: NaN/NaT as None, numpy and pandas scalars as Python ones."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


# -- the plan's progress --------------------------------------------------------------------


def test_headline_before_the_deadline(bureau, bank):
    assert headline(Scope(bureau, office_plan(), bank, MID)) == Headline(
        phase=PHASE,
        start=START,
        deadline=DEADLINE,
        as_of=MID,
        departments=None,
        headcount=9,  # O1-O3, O5, M1-M3, F1, F2: not O4 (exempt), M4 (deactivated), A1
        started=6,
        not_started=3,
        in_progress=2,
        completed=4,
        completed_on_time=4,
        completed_late=0,
        passed_all_quizzes=4,
        overdue=0,
        blocked=1,
        exempt=1,
        participation_rate=6 / 9,
        completion_rate=4 / 9,
        expected_rate=elapsed(MID),
        days_to_deadline=5,
    )


def test_headline_after_the_deadline_counts_late_completion_apart(bureau, bank):
    summary = headline(Scope(bureau, office_plan(), bank, AFTER))
    assert (
        summary.headcount,
        summary.completed,
        summary.completed_on_time,
        summary.completed_late,
        summary.overdue,
        summary.completion_rate,
        summary.expected_rate,
        summary.days_to_deadline,
    ) == (9, 5, 4, 1, 4, 4 / 9, 1.0, -2)


def test_exempt_people_are_out_of_every_count_and_rate(bureau, bank):
    plan = office_plan()
    with_leave = headline(Scope(bureau, plan, bank, at(22, 23)))
    # O4's leave ends on Nov 23: from then on O4 is in the headcount, and overdue.
    without = headline(Scope(bureau, plan, bank, at(23, 10)))
    assert (with_leave.headcount, with_leave.overdue, with_leave.exempt) == (9, 4, 1)
    assert (without.headcount, without.overdue, without.exempt) == (10, 5, 0)
    assert without.completion_rate == 4 / 10
    assert records(exempt_list(Scope(bureau, plan, bank, MID))) == [
        {
            "部门": OFFICE_DEPT,
            "工号": "O4",
            "姓名": "刘洋",
            "免学原因": "请假",
            "免学开始": local(3),
            "免学截止": local(23),
            "状态": "未开始",
        }
    ]
    assert records(exempt_list(Scope(bureau, plan, bank, at(23, 10)))) == []


def test_by_department_sorted_by_completion_with_the_behind_schedule_flag(bureau, bank):
    expected = elapsed(MID)
    assert records(by_department(Scope(bureau, office_plan(), bank, MID))) == [
        {
            "部门": LAW,
            "应学人数": 1,
            "已参与": 0,
            "参与率": 0.0,
            "已完成": 0,
            "按期完成": 0,
            "逾期完成": 0,
            "按期完成率": 0.0,
            "预期进度": expected,
            "进度落后": "是",
            "学习中": 0,
            "未开始": 1,
            "逾期未完成": 0,
            "测验全部通过": 0,
            "受阻": 0,
            "免学": 0,
        },
        {
            "部门": OFFICE_DEPT,
            "应学人数": 4,
            "已参与": 2,
            "参与率": 0.5,
            "已完成": 2,
            "按期完成": 2,
            "逾期完成": 0,
            "按期完成率": 0.5,
            "预期进度": expected,
            "进度落后": "是",
            "学习中": 0,
            "未开始": 2,
            "逾期未完成": 0,
            "测验全部通过": 2,
            "受阻": 0,
            "免学": 1,
        },
        {
            "部门": STATION,
            "应学人数": 4,
            "已参与": 4,
            "参与率": 1.0,
            "已完成": 2,
            "按期完成": 2,
            "逾期完成": 0,
            "按期完成率": 0.5,
            "预期进度": expected,
            "进度落后": "是",
            "学习中": 2,
            "未开始": 0,
            "逾期未完成": 0,
            "测验全部通过": 2,
            "受阻": 1,
            "免学": 0,
        },
    ]


def test_behind_schedule_is_a_whole_person_short_of_the_elapsed_share(bureau, bank):
    # On Nov 11 at 09:30, 49.5 % of the period has passed: of 4 people, round(1.98) = 2
    # must be done (监测站 has 2: not behind, 办公室 1: behind); of 1 person, round(0.49)
    # = 0 (法规科 is not behind yet).
    moment = at(11, 9, 30)
    table = by_department(Scope(bureau, office_plan(), bank, moment))
    flags = dict(zip(table["部门"], table["进度落后"], strict=True))
    rates = dict(zip(table["部门"], table["按期完成率"], strict=True))
    assert rates == {LAW: 0.0, OFFICE_DEPT: 0.25, STATION: 0.5}
    assert elapsed(moment) == pytest.approx(0.4945, abs=0.0001)
    assert flags == {LAW: "", OFFICE_DEPT: "是", STATION: ""}
    # Half a day later the 1-person department is expected to be done.
    later = by_department(Scope(bureau, office_plan(), bank, at(11, 21)))
    assert dict(zip(later["部门"], later["进度落后"], strict=True))[LAW] == "是"
    # Before the start, and within the grace days after it, nobody is behind.
    for moment in (at(1), at(2, 12), at(3, 23)):
        quiet = by_department(Scope(bureau, office_plan(), bank, moment))
        assert set(quiet["进度落后"]) == {""}, moment


def test_overdue_list_after_the_deadline(bureau, bank):
    plan = office_plan()
    assert records(overdue_list(Scope(bureau, plan, bank, MID))) == []
    assert records(overdue_list(Scope(bureau, plan, bank, AFTER))) == [
        {
            "部门": OFFICE_DEPT,
            "工号": "O3",
            "姓名": "张伟",
            "角色": "职工",
            "已通过测验": "0/2",
            "已学文件": "0/2",
            "受阻": "",
            "最后活动": None,
            "未完成事项": EVERYTHING,
        },
        {
            "部门": LAW,
            "工号": "F2",
            "姓名": "徐涛",
            "角色": "负责人",
            "已通过测验": "0/2",
            "已学文件": "0/2",
            "受阻": "",
            "最后活动": None,
            "未完成事项": EVERYTHING,
        },
        {
            "部门": STATION,
            "工号": "M1",
            "姓名": "杨磊",
            "角色": "职工",
            "已通过测验": "0/2",
            "已学文件": "2/2",
            "受阻": "",
            "最后活动": local(13),
            "未完成事项": QUIZZES_ONLY,
        },
        {
            "部门": STATION,
            "工号": "M2",
            "姓名": "赵敏",
            "角色": "职工",
            "已通过测验": "0/2",
            "已学文件": "0/2",
            "受阻": "是",
            "最后活动": local(8),
            "未完成事项": EVERYTHING,
        },
    ]


def test_department_people_ordered_for_chasing(bureau, bank):
    assert records(department_people(Scope(bureau, office_plan(), bank, MID), STATION)) == [
        {
            "工号": "M1",
            "姓名": "杨磊",
            "角色": "职工",
            "状态": "学习中",
            "已通过测验": "0/2",
            "已学文件": "2/2",
            "完成时间": None,
            "最后活动": local(13),
            "受阻": "",
            "未完成事项": QUIZZES_ONLY,
            "免学原因": "",
        },
        {
            "工号": "M2",
            "姓名": "赵敏",
            "角色": "职工",
            "状态": "学习中",
            "已通过测验": "0/2",
            "已学文件": "0/2",
            "完成时间": None,
            "最后活动": local(8),
            "受阻": "是",
            "未完成事项": EVERYTHING,
            "免学原因": "",
        },
        {
            "工号": "F1",
            "姓名": "吴娟",
            "角色": "职工",
            "状态": "按期完成",
            "已通过测验": "2/2",
            "已学文件": "2/2",
            "完成时间": local(11),
            "最后活动": local(11, 8, 55),
            "受阻": "",
            "未完成事项": "",
            "免学原因": "",
        },
        {
            "工号": "M3",
            "姓名": "黄勇",
            "角色": "负责人",
            "状态": "按期完成",
            "已通过测验": "2/2",
            "已学文件": "2/2",
            "完成时间": local(9),
            "最后活动": local(9, 8, 55),
            "受阻": "",
            "未完成事项": "",
            "免学原因": "",
        },
    ]
    office = department_people(Scope(bureau, office_plan(), bank, MID), OFFICE_DEPT)
    assert list(zip(office["工号"], office["状态"], office["免学原因"], strict=True)) == [
        ("O3", "未开始", ""),
        ("O5", "未开始", ""),
        ("O1", "按期完成", ""),
        ("O2", "按期完成", ""),
        ("O4", "免学", "请假"),
    ]


def test_person_attempts(bureau, bank):
    assert records(person_attempts(Scope(bureau, office_plan(), bank, AFTER), "M2")) == [
        {
            "作答ID": 8,
            "测验编号": "alpha",
            "测验": "实施方案测验",
            "第几次": number,
            "状态": "已提交",
            "开始时间": local(day),
            "提交时间": local(day, 9, 5),
            "用时（分钟）": 5.0,
            "得分": 0.0,
            "满分": 5.0,
            "得分率": 0.0,
            "是否通过": "未通过",
        }
        | {"作答ID": 7 + number}
        for number, day in ((1, 7), (2, 8))
    ]
    # As of a moment inside an attempt, it is still open.
    take(bureau, bank, "beta", "M2", at(16), RIGHT["beta"], minutes=8)
    (open_attempt,) = records(
        person_attempts(Scope(bureau, office_plan(), bank, at(16, 9, 4)), "M2")
    )[2:]
    assert (open_attempt["状态"], open_attempt["得分"], open_attempt["是否通过"]) == (
        "作答中",
        None,
        "",
    )


def test_completions_per_day_up_to_the_moment(bureau, bank):
    table = completions_per_day(Scope(bureau, office_plan(), bank, MID))
    done = {5: 1, 9: 1, 11: 1, 12: 1}  # O1, M3, F1, O2; O5's late completion never shows
    cumulative = 0
    expected = []
    for day in range(2, 16):
        cumulative += done.get(day, 0)
        expected.append(
            {
                "日期": datetime(2026, 11, day).date(),
                "当日完成": done.get(day, 0),
                "累计完成": cumulative,
                "累计完成率": cumulative / 9,
                "预期进度": elapsed(at(day + 1, 0) if day < 30 else DEADLINE),
            }
        )
    assert records(table) == expected
    after = completions_per_day(Scope(bureau, office_plan(), bank, AFTER))
    assert (len(after), after["累计完成"].iloc[-1], after["预期进度"].iloc[-1]) == (19, 4, 1.0)


def test_the_headline_table_shows_the_same_figures(bureau, bank):
    table = headline_table(headline(Scope(bureau, office_plan(), bank, MID)))
    shown = dict(zip(table["指标"], table["数值"], strict=True))
    assert {k: shown[k] for k in ("应学人数", "已参与", "参与率", "按期完成率", "截止")} == {
        "应学人数": 9,
        "已参与": 6,
        "参与率": 6 / 9,  # a number: the exports format it
        "按期完成率": 4 / 9,
        "截止": "还剩 5 天",
    }
    assert shown["统计时点"] == "2026-11-15 09:00"


# -- scoping --------------------------------------------------------------------------------


def test_every_view_scopes_to_the_departments_given(bureau, bank):
    plan = office_plan()
    station = headline(Scope(bureau, plan, bank, MID, [STATION]))
    assert (station.departments, station.headcount, station.completed, station.blocked) == (
        (STATION,),
        4,
        2,
        1,
    )
    assert list(by_department(Scope(bureau, plan, bank, MID, [STATION, LAW]))["部门"]) == [
        LAW,
        STATION,
    ]
    assert list(overdue_list(Scope(bureau, plan, bank, AFTER, [LAW]))["工号"]) == ["F2"]
    assert headline(Scope(bureau, plan, bank, MID, [])).headcount == 0
    office_stats = quiz_stats(Scope(bureau, office_plan(), bank, MID, [OFFICE_DEPT]))
    assert list(office_stats["作答人次"]) == [2, 2]
    office_questions = question_stats(Scope(bureau, office_plan(), bank, MID, [OFFICE_DEPT]))
    assert list(office_questions["答对率"]) == [1.0] * 6
    assert list(office_questions["题号"]) == ["a1", "a2", "a3", "a4", "b1", "b2"]


def test_a_moved_person_counts_where_they_were_at_the_moment(bureau, bank):
    plan = office_plan()
    # F1 moved from 法规科 to 监测站 on Nov 10.
    assert headline(Scope(bureau, plan, bank, at(9, 12), [LAW])).headcount == 2
    assert headline(Scope(bureau, plan, bank, at(10, 12), [LAW])).headcount == 1
    assert headline(Scope(bureau, plan, bank, at(10, 12), [STATION])).headcount == 4
    assert list(quiz_stats(Scope(bureau, office_plan(), bank, MID, [LAW]))["作答人次"]) == [0, 0]


def test_a_scope_computes_the_progress_once_for_every_view_and_the_export(
    bureau, bank, monkeypatch
):
    calls = []
    real = office.scope.compute_progress

    def counted(*args, **kwargs):
        calls.append((args[3], kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(office.scope, "compute_progress", counted)
    scope = Scope(bureau, office_plan(), bank, MID)
    shown = {
        "headline": headline(scope),
        "by_department": by_department(scope),
        "overdue": overdue_list(scope),
        "exempt": exempt_list(scope),
        "per_day": completions_per_day(scope),
        "people": department_people(scope, STATION),
    }
    tables = report_tables(scope)
    assert calls == [(MID, {"phase": None, "departments": None})]
    # ... and each is what a scope of its own computes.
    fresh = Scope(bureau, office_plan(), bank, MID)
    assert shown["headline"] == headline(fresh)
    pd.testing.assert_frame_equal(shown["by_department"], by_department(fresh))
    pd.testing.assert_frame_equal(tables["按部门"], shown["by_department"])
    pd.testing.assert_frame_equal(tables["逾期名单"], shown["overdue"])
    pd.testing.assert_frame_equal(
        shown["people"], department_people(Scope(bureau, office_plan(), bank, MID), STATION)
    )


def test_statistics_alone_never_compute_the_progress(bureau, bank, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("progress computed by a view that does not show it")

    monkeypatch.setattr(office.scope, "compute_progress", refuse)
    scope = Scope(bureau, office_plan(), bank, MID)
    quiz_stats(scope)
    question_stats(scope)
    coverage(scope)
    integrity_flags(scope)
    person_attempts(scope, "M2")


def test_a_narrowed_scope_shares_the_computed_progress(bureau, bank, monkeypatch):
    scope = Scope(bureau, office_plan(), bank, MID)
    everyone = scope.progress
    calls = []
    monkeypatch.setattr(office.scope, "compute_progress", lambda *a, **k: calls.append(a))
    station = scope.within([STATION, "没有这个部门"])
    assert station.departments == (STATION, "没有这个部门")
    assert list(station.progress.people.index) == list(
        everyone.people.index[everyone.people["department"] == STATION]
    )
    assert calls == []
    # A scope narrowed before its progress was computed computes only its own.
    fresh = Scope(bureau, office_plan(), bank, MID, [STATION, LAW]).within([STATION])
    monkeypatch.undo()
    assert headline(fresh) == headline(Scope(bureau, office_plan(), bank, MID, [STATION]))


# -- quizzes and questions ------------------------------------------------------------------


def test_quiz_stats(bureau, bank):
    bands = ["不足60分", "60–69分", "70–79分", "80–89分", "90–100分"]
    assert records(quiz_stats(Scope(bureau, office_plan(), bank, MID))) == [
        {
            "测验编号": "alpha",
            "测验": "实施方案测验",
            "作答人次": 7,  # O1, O2, M1, M2 twice, M3, F1: not A1 (admin) or M4 (deactivated)
            "作答人数": 6,
            "通过人次": 4,
            "通过人数": 4,
            "通过率": 4 / 6,
            "平均得分率": (100 + 100 + 60 + 0 + 0 + 100 + 100) / 7 / 100,
        }
        | dict(zip(bands, [2, 1, 0, 0, 4], strict=True)),
        {
            "测验编号": "beta",
            "测验": "道德规范测验",
            "作答人次": 4,
            "作答人数": 4,
            "通过人次": 4,
            "通过人数": 4,
            "通过率": 1.0,
            "平均得分率": 1.0,
        }
        | dict(zip(bands, [0, 0, 0, 0, 4], strict=True)),
    ]


def test_quiz_stats_within_a_date_range(bureau, bank):
    table = quiz_stats(
        Scope(bureau, office_plan(), bank, MID),
        since=at(8, 12),
        until=at(11, 12),
        quiz_ids=["alpha"],
    )
    assert records(table)[0] | {"平均得分率": None} == {
        "测验编号": "alpha",
        "测验": "实施方案测验",
        "作答人次": 2,  # M3 on Nov 9, F1 on Nov 11
        "作答人数": 2,
        "通过人次": 2,
        "通过人数": 2,
        "通过率": 1.0,
        "平均得分率": None,
        "不足60分": 0,
        "60–69分": 0,
        "70–79分": 0,
        "80–89分": 0,
        "90–100分": 2,
    }
    assert len(table) == 1


def test_question_stats_most_missed_first_with_their_source(bureau, bank):
    def row(quiz, title, qid, kind, stem, answered, correct, document, quote):
        return {
            "测验编号": quiz,
            "测验": title,
            "题号": qid,
            "题型": kind,
            "题干": stem,
            "作答次数": answered,
            "答对次数": correct,
            "答对率": correct / answered,
            "出处文件": document,
            "出处引文": quote,
        }

    alpha, beta = "实施方案测验", "道德规范测验"
    # a2: M1's half answer is not correct; M2's blank (second attempt) counts as wrong.
    assert records(question_stats(Scope(bureau, office_plan(), bank, MID))) == [
        row("alpha", alpha, "a2", "多选", "启动阶段包括哪些工作？", 7, 4, "plan.txt", "进一步领会国家相关文件和规定"),
        row("alpha", alpha, "a3", "判断", "对没有按期完成任务的责任单位要通报批评。", 7, 4, "plan.txt", "对没有按期完成任务的责任单位要通报批评"),
        row("alpha", alpha, "a1", "单选", "公众对城市环保的满意率目标是多少？", 7, 5, "plan.txt", "公众对城市环保的满意率70%"),
        row("alpha", alpha, "a4", "填空", "以“改善环境质量，保障群众____”为根本出发点。", 7, 5, "plan.txt", "保障群众身体健康"),
        row("beta", beta, "b1", "单选", "与“明礼诚信”并列的是？", 4, 4, "ethics.md", "爱国守法、明礼诚信、团结友善"),
        row("beta", beta, "b2", "判断", "四德建设包括家庭美德。", 4, 4, "ethics.md", "家庭美德"),
    ]  # fmt: skip


def test_coverage_of_sections_and_each_departments_share_correct(bureau, bank):
    result = coverage(Scope(bureau, office_plan(), bank, MID))
    assert records(result.documents) == [
        {"文件": "ethics.md", "标题": "公民基本道德规范", "小节数": 2, "有题小节数": 2, "覆盖率": 1.0, "题目数": 2},
        {"文件": "plan.txt", "标题": "创建市级文明单位实施方案", "小节数": 7, "有题小节数": 4, "覆盖率": 4 / 7, "题目数": 4},
    ]  # fmt: skip

    def section(path, title, name, passages, questions, answered, correct):
        return {
            "文件": path,
            "标题": title,
            "小节": name,
            "段落数": passages,
            "题目数": questions,
            "作答次数": answered,
            "答对次数": correct,
            "答对率": correct / answered if answered else None,
        }

    ethics, plan = "公民基本道德规范", "创建市级文明单位实施方案"
    start_up = "三、实施步骤 › (一)启动阶段"
    assert records(result.sections) == [
        section("ethics.md", ethics, "基本内容", 1, 1, 4, 4),
        section("ethics.md", ethics, "四德建设", 1, 1, 4, 4),
        section("plan.txt", plan, "（标题与前言）", 1, 0, 0, 0),
        section("plan.txt", plan, "一、指导思想", 1, 1, 7, 5),
        section("plan.txt", plan, "二、主要目标", 2, 1, 7, 5),
        section("plan.txt", plan, f"{start_up} › 1、全面学习", 1, 1, 7, 4),
        section("plan.txt", plan, f"{start_up} › 2、健全机构", 1, 0, 0, 0),
        section("plan.txt", plan, "三、实施步骤 › (二)组织实施阶段", 1, 0, 0, 0),
        section("plan.txt", plan, "四、工作措施", 1, 1, 7, 4),
    ]

    def share(path, name, department, answered, correct):
        return {
            "文件": path,
            "小节": name,
            "部门": department,
            "作答次数": answered,
            "答对次数": correct,
            "答对率": correct / answered,
        }

    assert records(result.by_department) == [
        share("ethics.md", "四德建设", OFFICE_DEPT, 2, 2),
        share("ethics.md", "四德建设", STATION, 2, 2),
        share("ethics.md", "基本内容", OFFICE_DEPT, 2, 2),
        share("ethics.md", "基本内容", STATION, 2, 2),
        share("plan.txt", "一、指导思想", OFFICE_DEPT, 2, 2),
        share("plan.txt", "一、指导思想", STATION, 5, 3),
        share("plan.txt", f"{start_up} › 1、全面学习", OFFICE_DEPT, 2, 2),
        share("plan.txt", f"{start_up} › 1、全面学习", STATION, 5, 2),
        share("plan.txt", "二、主要目标", OFFICE_DEPT, 2, 2),
        share("plan.txt", "二、主要目标", STATION, 5, 3),
        share("plan.txt", "四、工作措施", OFFICE_DEPT, 2, 2),
        share("plan.txt", "四、工作措施", STATION, 5, 2),
    ]


# -- integrity ------------------------------------------------------------------------------

COPIED = {"a1": "A", "a2": ["A", "B"], "a3": False, "a4": "身体健康"}  # a1 and a3 wrong


def test_integrity_flags_fast_attempts_and_identical_mistakes(office_db, bank):
    for employee_no, department in [
        ("P1", OFFICE_DEPT),
        ("P2", STATION),
        ("P3", OFFICE_DEPT),
        ("P4", STATION),
        ("P5", STATION),
        ("P6", OFFICE_DEPT),
        ("P7", OFFICE_DEPT),
        ("P8", LAW),
    ]:
        person(office_db, employee_no, f"同事{employee_no}", department)
    p1 = take(office_db, bank, "alpha", "P1", at(5), COPIED)
    p2 = take(office_db, bank, "alpha", "P2", at(6), COPIED)
    take(office_db, bank, "alpha", "P3", at(5), RIGHT["alpha"])  # identical perfect sheets:
    take(office_db, bank, "alpha", "P4", at(6), RIGHT["alpha"])  # expected, never flagged
    # The same mistakes, but a4 typed differently (still right): not the same sheet.
    take(office_db, bank, "alpha", "P5", at(7), COPIED | {"a4": "身体 健康"})
    p6 = take(
        office_db, bank, "alpha", "P6", at(8), RIGHT["alpha"], minutes=10 / 60
    )  # 2.5 s a question
    take(office_db, bank, "alpha", "P7", at(8), RIGHT["alpha"], minutes=12 / 60)  # 3 s: not under
    # One person's two identical sheets are not two people's.
    take(office_db, bank, "alpha", "P8", at(9), COPIED | {"a1": "C"})
    take(office_db, bank, "alpha", "P8", at(10), COPIED | {"a1": "C"})

    flags = integrity_flags(
        Scope(office_db, office_plan(), bank, MID), min_questions=4, min_shared_wrong=2
    )
    assert records(flags) == [
        {
            "类型": "作答过快",
            "雷同组": None,
            "测验编号": "alpha",
            "测验": "实施方案测验",
            "部门": OFFICE_DEPT,
            "工号": "P6",
            "姓名": "同事P6",
            "作答ID": p6,
            "提交时间": local(8, 9, 0) + timedelta(seconds=10),
            "说明": "用时 10 秒答 4 题，平均每题 2.5 秒",
        },
        {
            "类型": "答卷雷同",
            "雷同组": 1,
            "测验编号": "alpha",
            "测验": "实施方案测验",
            "部门": OFFICE_DEPT,
            "工号": "P1",
            "姓名": "同事P1",
            "作答ID": p1,
            "提交时间": local(5, 9, 5),
            "说明": "与 P2 的答卷完全相同（4 题，其中 2 题答错）",
        },
        {
            "类型": "答卷雷同",
            "雷同组": 1,
            "测验编号": "alpha",
            "测验": "实施方案测验",
            "部门": STATION,
            "工号": "P2",
            "姓名": "同事P2",
            "作答ID": p2,
            "提交时间": local(6, 9, 5),
            "说明": "与 P1 的答卷完全相同（4 题，其中 2 题答错）",
        },
    ]
    # By default a sheet needs 10 questions and 4 shared mistakes: these are too short.
    defaults = integrity_flags(Scope(office_db, office_plan(), bank, MID))
    assert list(defaults["类型"]) == ["作答过快"]
    assert list(integrity_flags(Scope(office_db, office_plan(), bank, MID, [LAW]))["工号"]) == []
