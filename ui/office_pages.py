"""我的进度 (each person's own requirements) and 参与情况 (the office's dashboard).

Office admins see every department; a department head sees only their own, and the
scope is fixed on the server from the person's record, never taken from a widget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from base.clock import LOCAL_TZ, local_date_text
from base.store import open_db
from kb.documents import find_quote
from office.coverage import coverage
from office.dashboard import by_department as by_department_table
from office.dashboard import (
    completions_per_day,
    department_people,
    exempt_list,
    headline,
    headline_table,
    overdue_list,
    person_attempts,
)
from office.integrity import integrity_flags
from office.notice_export import notice_filename, notice_html, notice_tables, notice_workbook
from office.notices import (
    Notice,
    NoticeError,
    freeze_notice,
    get_notice,
    list_notices,
    notice_changes,
)
from office.progress import person_progress
from office.reports import (
    REPORT_KIND,
    csv_archive,
    report_filename,
    report_tables,
    shown_cells,
    workbook_bytes,
)
from office.review_stats import review_by_department
from office.schedule import BEHIND_RULE, deadline_text
from office.scope import PERCENT_COLUMNS, Scope
from office.statistics import question_stats, quiz_stats
from quizzes.attempts import expire_overdue_attempts, get_result
from quizzes.people import Person, Role, staff_departments
from quizzes.review import review_queue
from ui.auth import on_demand, require
from ui.quiz_widgets import show_review, show_source
from ui.render import md_text
from ui.routes import page
from ui.services import get_bank, get_db, get_settings, get_study_plan


def _now() -> datetime:
    return datetime.now(UTC)


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def progress_page() -> None:
    """我的进度: what the plan requires of me, what is done, what is due."""
    person = require()
    st.title("我的进度")
    _review_due(person.employee_no)
    plan = get_study_plan()
    if plan is None:
        st.info("创建办尚未制定学习计划。")
        return
    mine = person_progress(get_db(), person.employee_no, plan, get_bank(), _now())
    st.markdown(
        md_text(
            f"学习阶段：{mine.phase}　截止时间：{_when(mine.deadline)}（北京时间）　状态：{mine.state_label}"
        )
    )
    if mine.exempt and mine.exemption is not None:
        st.info(md_text(f"已登记免学：{mine.exemption.reason}"))
    for requirement in mine.requirements:
        with st.container(border=True):
            kind = "测验（须通过）" if requirement.kind == "quiz" else "文件（须学习并确认）"
            if requirement.done:
                late = "" if requirement.on_time else "（逾期完成）"
                # A word and a Material icon, not an emoji: without an emoji font ✅ and
                # ⬜ drew as the same empty box.
                st.markdown(
                    ":green-badge[:material/check_circle: 已完成] "
                    + md_text(
                        f"{kind}：{requirement.title} — 于 {_when(requirement.done_at)} 完成{late}"
                    )
                )
            else:
                st.markdown(
                    ":orange-badge[:material/pending: 未完成] "
                    + md_text(f"{kind}：{requirement.title}")
                )
                if requirement.kind == "quiz":
                    best = (
                        ""
                        if requirement.best_percent is None
                        else f"最好成绩 {requirement.best_percent:.0f}%，"
                    )
                    left = (
                        ""
                        if requirement.attempts_left is None
                        else f"剩余 {requirement.attempts_left} 次"
                    )
                    st.caption(md_text(f"{best}{left}"))
                    st.page_link(page("quizzes"), label="去参加测验", icon=":material/quiz:")
                else:
                    st.page_link(
                        page("reader"),
                        label="去学习这份文件",
                        icon=":material/menu_book:",
                        query_params={"doc": requirement.target},
                    )


def _review_due(employee_no: str) -> None:
    """What of my mistakes is due for review today, and when the next one is."""
    queue = review_queue(get_db(), employee_no, get_bank(), _now())
    if not (queue.due or queue.later or queue.mastered):
        return
    parts = [f"今日待复习 {len(queue.due)} 题"]
    if queue.next_due is not None:
        parts.append(f"下次到期 {local_date_text(queue.next_due)}（北京时间）")
    if queue.mastered:
        parts.append(f"已掌握 {queue.mastered} 题")
    with st.container(border=True):
        st.caption("错题复习")
        st.info("；".join(parts), icon=":material/event_repeat:")
        if queue.due:
            st.page_link(page("practice"), label="去复习错题", icon=":material/replay:")


def _scope(person: Person, chosen: list[str]) -> list[str] | None:
    """The departments this person may see: a head's own, whatever the widgets say."""
    if person.role == Role.HEAD:
        return [person.department]
    return chosen or None


def closing_moment(deadline: datetime) -> datetime:
    """The first moment after a deadline: the as-of of a 通报 (the deadline is inclusive)."""
    return deadline + timedelta(seconds=1)


def _as_of_input(plan_deadline: datetime) -> datetime:
    left, right = st.columns(2)
    now_local = _now().astimezone(LOCAL_TZ)
    deadline_local = plan_deadline.astimezone(LOCAL_TZ)
    use_deadline = left.toggle("统计到截止时间（用于通报）", value=now_local > deadline_local)
    if use_deadline:
        return min(closing_moment(plan_deadline), _now())
    day = right.date_input("统计日期", value=now_local.date(), format="YYYY-MM-DD")
    if day == now_local.date():
        return _now()
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ).astimezone(UTC)


def dashboard_page() -> None:
    """参与情况: headline, departments, people, overdue list, quizzes, coverage, flags."""
    person = require(Role.ADMIN, Role.HEAD)
    st.title("参与情况")
    db = get_db()
    bank = get_bank()
    plan = get_study_plan()
    if plan is None or not plan.phases:
        st.info("尚未制定学习计划：请在“管理 › 学习计划”中设置。")
        return
    # Timed attempts left open past their limit are graded first, as `python -m office
    # report` does: the page and the export count the same attempts.
    expire_overdue_attempts(db, _now(), bank)
    phase = plan.phases[0] if len(plan.phases) == 1 else None
    if len(plan.phases) > 1:
        names = [p.name for p in plan.phases]
        chosen_phase = st.selectbox("学习阶段", names, key="dashboard_phase")
        phase = plan.phases[names.index(chosen_phase)]
    assert phase is not None
    as_of = _as_of_input(phase.deadline)
    if person.role == Role.ADMIN:
        all_departments = staff_departments(db)
        chosen = st.multiselect("部门（不选则为全局）", all_departments, placeholder="选择部门")
    else:
        chosen = []
        st.caption(md_text(f"统计范围：{person.department}"))
    scope = Scope(db, plan, bank, as_of, _scope(person, chosen), phase.name)
    summary = headline(scope)

    cols = st.columns(6)
    cols[0].metric("应学人数", summary.headcount)
    cols[1].metric("已参与", summary.started, help="参与率 " + _pct(summary.participation_rate))
    cols[2].metric(
        "按期完成", summary.completed_on_time, help="按期完成率 " + _pct(summary.completion_rate)
    )
    cols[3].metric("逾期未完成", summary.overdue)
    cols[4].metric("免学", summary.exempt)
    cols[5].metric(
        "截止时间",
        deadline_text(summary.days_to_deadline, as_of > summary.deadline),
        help=f"截止于 {_when(summary.deadline)}（北京时间）",
    )
    st.caption(
        f"按期完成率 {_pct(summary.completion_rate)}，预期进度 {_pct(summary.expected_rate)}；"
        f"统计时点 {_when(as_of)}（北京时间）"
    )
    left, right = st.columns(2)
    # Made at the click (not at every run of the page), for a session still allowed then.
    left.download_button(
        "导出 Excel（全部表格）",
        on_demand(person, _export(scope, workbook_bytes), Role.ADMIN, Role.HEAD),
        file_name=report_filename(REPORT_KIND, as_of),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="export_xlsx",
        on_click="ignore",
    )
    right.download_button(
        "导出 CSV（压缩包）",
        on_demand(person, csv_export(scope), Role.ADMIN, Role.HEAD),
        file_name=report_filename(REPORT_KIND, as_of, "zip"),
        mime="application/zip",
        key="export_csv",
        on_click="ignore",
    )

    # Only the open tab runs (on_change="rerun"): a tab computes its tables when opened.
    overview, people, overdue, quizzes, cover, flags = st.tabs(
        ["按部门", "人员", "逾期名单与通报", "测验与题目", "学习覆盖", "诚信提示"],
        key="dashboard_tab",
        on_change="rerun",
    )
    with overview:
        if overview.open:
            _overview_tab(scope)
    with people:
        if people.open:
            _people_tab(scope)
    with overdue:
        if overdue.open:
            _overdue_tab(scope, person)
    with quizzes:
        if quizzes.open:
            _quiz_tab(scope)
            _review_table(scope)
    with cover:
        if cover.open:
            result = coverage(scope)
            st.markdown("**各文件被题目覆盖的小节比例**")
            _table(result.documents)
            st.markdown("**各小节、各部门的答对率（找出学习薄弱处）**")
            _table(result.by_department)
    with flags:
        if flags.open:
            st.caption(
                "仅供创建办核查，不自动处理：作答过快（平均每题不足 3 秒）、不同人员答卷完全雷同。"
            )
            _table(integrity_flags(scope))


def _export(scope: Scope, build: Callable[[dict[str, pd.DataFrame]], bytes]) -> Callable[[], bytes]:
    """What an export button makes when clicked: the scope's tables, read on a connection of
    the callable's own (Streamlit runs it on another thread), in a file."""
    db_path = get_settings().db_path

    def make() -> bytes:
        db = open_db(db_path)
        try:
            return build(report_tables(dataclasses.replace(scope, db=db)))
        finally:
            db.close()

    return make


def csv_export(scope: Scope) -> Callable[[], bytes]:
    """What the CSV button makes: the files of `python -m office report --csv`, zipped."""
    return _export(scope, lambda tables: csv_archive(tables, scope.as_of))


def _table(frame: pd.DataFrame, **kwargs: object) -> None:
    """A table with shares shown as percentages, as the export formats them.

    Times are shown as text: the grid writes "None" for a missing time, here a blank cell.
    A table without rows is a caption: the grid would write "empty" in English.
    """
    if frame.empty:
        st.caption("（暂无记录）")
        return
    config: dict[str, object] = {
        column: st.column_config.NumberColumn(format="percent")
        for column in frame.columns
        if column in PERCENT_COLUMNS
    }
    if "进度落后" in frame.columns:
        config["进度落后"] = st.column_config.TextColumn(help=BEHIND_RULE)
    if "部门" in frame.columns:
        # Stays in view while a narrow screen scrolls the figures sideways.
        config["部门"] = st.column_config.TextColumn(pinned=True)
    times = frame.select_dtypes(include=["datetime", "datetimetz"]).columns
    if len(times):
        frame = frame.copy()
        for column in times:
            frame[column] = frame[column].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config, **kwargs)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


# Vega names days and months in English by default: dates are written as numbers.
_CHART_DAY = "%-m月%-d日"
_TOOLTIP_DAY = "%Y年%-m月%-d日"
_TOOLTIP_PERCENT = ".1%"


def department_chart(by_department: pd.DataFrame) -> alt.Chart:
    """The 按部门 bar chart: on-time completion by department, red where behind schedule;
    its tooltips give the shares as percentages."""
    return (
        alt.Chart(by_department)
        # the column holds 是 or "" (as exported), not booleans
        .transform_calculate(落后="datum['进度落后'] === '是' ? '是' : '否'")
        .mark_bar()
        .encode(
            x=alt.X("按期完成率:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("部门:N", sort=None),
            color=alt.Color(
                "落后:N",
                scale=alt.Scale(domain=["是", "否"], range=["#d62728", "#2ca02c"]),
                legend=alt.Legend(title="进度落后"),
            ),
            tooltip=[
                alt.Tooltip("部门:N"),
                alt.Tooltip("应学人数:Q"),
                alt.Tooltip("按期完成:Q"),
                alt.Tooltip("按期完成率:Q", format=_TOOLTIP_PERCENT),
                alt.Tooltip("预期进度:Q", format=_TOOLTIP_PERCENT),
                alt.Tooltip("落后:N", title="进度落后"),
            ],
        )
    )


def daily_chart(daily: pd.DataFrame) -> alt.Chart:
    """The 每日完成 line chart: the cumulative completion rate against the expectation, day
    by day; axis and tooltips give dates in Chinese and shares as percentages."""
    long = daily.melt(
        id_vars=["日期"], value_vars=["累计完成率", "预期进度"], var_name="曲线", value_name="比例"
    )
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("日期:T", axis=alt.Axis(format=_CHART_DAY, title="日期")),
            y=alt.Y("比例:Q", axis=alt.Axis(format="%")),
            color=alt.Color("曲线:N", legend=alt.Legend(title="曲线")),
            tooltip=[
                alt.Tooltip("日期:T", format=_TOOLTIP_DAY),
                alt.Tooltip("曲线:N"),
                alt.Tooltip("比例:Q", format=_TOOLTIP_PERCENT),
            ],
        )
    )


_PROGRESS_COLUMNS = (
    "部门",
    "进度落后",
    "按期完成率",
    "预期进度",
    "应学人数",
    "按期完成",
    "逾期完成",
    "逾期未完成",
)
_PARTICIPATION_COLUMNS = (
    "部门",
    "已参与",
    "参与率",
    "已完成",
    "学习中",
    "未开始",
    "测验全部通过",
    "受阻",
    "免学",
)
"""The 按部门 table's columns on screen, in two tables; the export keeps them in one."""


def _overview_tab(scope: Scope) -> None:
    by_department = by_department_table(scope)
    st.markdown("**各部门按期完成率**（红色为进度落后）")
    st.caption(BEHIND_RULE)
    if not by_department.empty:
        st.altair_chart(department_chart(by_department), width="stretch")
    # Two tables, so that each fits a laptop's width (the 16 columns in one were cut off
    # at the right); on a phone the first columns say whether a department is behind.
    _table(by_department[list(_PROGRESS_COLUMNS)], key="table_by_department")
    st.markdown("**各部门参与情况**（人数）")
    _table(by_department[list(_PARTICIPATION_COLUMNS)], key="table_participation")
    daily = completions_per_day(scope)
    if not daily.empty:
        st.markdown("**每日完成进度**（累计完成率与预期进度）")
        st.altair_chart(daily_chart(daily), width="stretch")
        _table(daily)
    # One column mixes numbers and text: shown as the CSV writes it (83.3%), as text.
    _table(shown_cells(headline_table(headline(scope))).astype(str))


def _people_tab(scope: Scope) -> None:
    departments = list(by_department_table(scope)["部门"])
    if not departments:
        st.info("没有统计到人员。")
        return
    department = st.selectbox("部门", departments, key="people_department")
    people = department_people(scope, department)
    _table(people)
    names = {
        row["工号"]: f"{row['工号']} {row['姓名']}（{row['状态']}）" for _, row in people.iterrows()
    }
    chosen = st.selectbox(
        "查看个人作答记录",
        list(names),
        format_func=names.get,
        index=None,
        key="people_person",
        placeholder="请选择人员",
    )
    if chosen:
        attempts = person_attempts(scope, chosen)
        _table(attempts)
        graded = attempts[attempts["状态"] != "作答中"]
        labels = {
            int(row["作答ID"]): f"{row['测验']} 第 {row['第几次']} 次（{row['得分']:g} 分）"
            for _, row in graded.iterrows()
        }
        attempt_id = st.selectbox(
            "查看某次作答的答题情况",
            list(labels),
            format_func=labels.get,
            index=None,
            key="people_attempt",
            placeholder="选择一次已交卷的作答",
        )
        if attempt_id is not None:
            _attempt_review(scope, chosen, attempt_id)


def _attempt_review(scope: Scope, employee_no: str, attempt_id: int) -> None:
    """Every question of one graded attempt, numbered and lettered as the person saw it."""
    # The person was chosen from the scope's own list, and the attempt is looked up as
    # theirs: an id from another person or department shows nothing.
    result = get_result(scope.db, attempt_id, employee_no)
    quiz = scope.bank.quizzes.get(result.quiz_id) if result else None
    if result is None or quiz is None:
        st.info("这次作答无法显示（未交卷，或测验已不在题库中）。")
        return
    for number, item in enumerate(result.questions, start=1):
        question = next((q for q in quiz.questions if q.id == item.question_id), None)
        if question is None:
            st.caption(f"第 {number} 题已从题库删除，不计分。")
            continue
        verdict = {True: "答对", False: "答错或未答", None: "不计分"}[item.correct]
        st.caption(f"第 {number} 题：{verdict}")
        show_review(scope.db, number, question, result, item)


def _review_table(scope: Scope) -> None:
    """Does study stick: per department, mistakes reviewed and the share right then."""
    st.markdown("**错题复习**（答错的题在到期复习时是否答对）")
    st.caption(
        "已复习错题：答错后到了复习日又作答的题次；复习答对率：其中复习时答对的比例。"
        "复习不计入测验成绩。"
    )
    _table(review_by_department(scope), key="table_review")


def _overdue_tab(scope: Scope, person: Person) -> None:
    db, plan, bank = scope.db, scope.plan, scope.bank
    st.markdown("**逾期名单**（截止时间已过仍未完成，免学人员另列）")
    _table(overdue_list(scope))
    st.markdown("**免学名单**（不计入人数与比率）")
    _table(exempt_list(scope))
    notices = list_notices(db)
    if person.role == Role.ADMIN:
        with st.form("freeze_notice"):
            title = st.text_input("通报标题", value="关于全面学习阶段未按期完成情况的通报")
            if st.form_submit_button("按截止时间固定逾期名单（生成通报）"):
                # The phase chosen at the top of the page, not always the first.
                phase = plan.phase(scope.phase, scope.as_of)
                try:
                    freeze_notice(
                        db,
                        title,
                        min(closing_moment(phase.deadline), _now()),
                        plan,
                        bank,
                        _now(),
                        person.employee_no,
                        phase=phase.name,
                    )
                except NoticeError as exc:
                    st.error(md_text(str(exc)))
                else:
                    st.success("已生成通报。")
                    notices = list_notices(db)
    if not notices:
        return
    labels = {n.id: f"{n.title}（截至 {_when(n.as_of)}，{n.people} 人）" for n in notices}
    chosen = st.selectbox("已生成的通报", list(labels), format_func=labels.get, key="notice_pick")
    notice = get_notice(db, chosen)
    if notice is None:
        return
    # A head sees and exports their own department's part of the notice.
    department = None if person.role == Role.ADMIN else person.department
    st.caption(md_text(f"{notice.phase}；统计至 {_when(notice.as_of)}（北京时间）"))
    _table(notice_tables(notice, department)["逾期名单"])
    _notice_downloads(person, notice, department)
    older = [n for n in notices if n.id < chosen]
    if older:
        previous = get_notice(db, max(n.id for n in older))
        changes = notice_changes(previous, notice)
        st.caption(
            md_text(
                f"与上一次通报相比：新增 {len(changes.added)} 人，已完成移出 {len(changes.resolved)} 人，"
                f"仍在名单 {len(changes.remaining)} 人。"
            )
        )


def _notice_downloads(person: Person, notice: Notice, department: str | None) -> None:
    """The stored notice as a workbook and as a printable page, exactly as frozen."""
    left, right = st.columns(2)
    left.download_button(
        "导出通报（Excel）",
        on_demand(person, lambda: notice_workbook(notice, department), Role.ADMIN, Role.HEAD),
        file_name=notice_filename(notice, "xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"notice_xlsx_{notice.id}",
        on_click="ignore",
    )
    right.download_button(
        "导出通报（可打印网页）",
        on_demand(
            person,
            lambda: notice_html(notice, department).encode("utf-8"),
            Role.ADMIN,
            Role.HEAD,
        ),
        file_name=notice_filename(notice, "html"),
        mime="text/html",
        key=f"notice_html_{notice.id}",
        on_click="ignore",
        help="用浏览器打开后打印（Ctrl+P）",
    )


def _quiz_tab(scope: Scope) -> None:
    db, bank, as_of = scope.db, scope.bank, scope.as_of
    left, right = st.columns(2)
    quiz_ids = left.multiselect(
        "测验（不选则为全部）",
        list(bank.quizzes),
        format_func=lambda q: bank.quizzes[q].title,
        placeholder="选择测验",
        key="quiz_filter",
    )
    period = right.date_input(
        "提交日期范围（可不选）", value=(), format="YYYY-MM-DD", key="quiz_dates"
    )
    since = until = None
    if len(period) == 2:
        since = datetime.combine(period[0], time.min, tzinfo=LOCAL_TZ)
        until = min(datetime.combine(period[1], time.max, tzinfo=LOCAL_TZ), as_of)
    window = {"quiz_ids": quiz_ids or None, "since": since, "until": until}
    quizzes = quiz_stats(scope, **window)
    questions = question_stats(scope, **window)
    st.markdown("**各测验作答与通过情况**")
    _table(quizzes)
    st.markdown("**各题答对率**（最易错的在前）")
    _table(questions)
    if questions.empty:
        return
    st.markdown("**最易错的题目及其原文出处**")
    for _, row in questions.head(5).iterrows():
        with st.container(border=True):
            st.markdown(
                md_text(
                    f"{row['测验']} · {row['题号']}：{row['题干']}（答对率 {row['答对率']:.0%}）"
                )
            )
            question = bank.quiz(row["测验编号"]).question(row["题号"])
            show_source(find_quote(db, question.source.document, question.source.quote), question)
