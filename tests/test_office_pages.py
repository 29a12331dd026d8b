"""AppTest of the office's pages: the dashboard (admins all, heads their own department),
the export equal to the screen, 我的进度 and confirming a reading."""

from __future__ import annotations

import dataclasses
import io
import random
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from base.clock import LOCAL_TZ, end_of_day
from base.store import write
from kb.documents import document_texts
from kb.service import open_kb
from office.cli import cli as office_cli
from office.notices import get_notice, list_notices
from office.reports import SHEETS
from office.scope import Scope
from quizzes.accounts import create_account
from quizzes.attempts import get_attempt, save_answer, start_attempt, submit_attempt
from quizzes.bank import load_bank
from quizzes.exemptions import add_exemption
from quizzes.login import change_password
from quizzes.people import Role
from quizzes.plan import Phase, StudyPlan, get_plan, save_plan
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema
from tests.apptest_support import (
    PASSWORD,
    logged_in,
    open_page,
    run_page_function,
    texts,
)
from ui.office_pages import csv_export, daily_chart, department_chart
from ui.render import md_text

NOW = datetime.now(UTC)


@pytest.fixture
def bureau(app_settings):
    """Two departments: 监测站 (1001 passed plan-basics, 1002 did nothing) and 办公室
    (2001 passed); a head of 监测站; an admin; a plan whose deadline has passed."""
    db = open_kb(app_settings)
    ensure_studyplan_schema(db)
    from kb.documents import document_texts

    bank = load_bank(app_settings.quiz_dir, document_texts(db))
    for employee_no, name, department, role in (
        ("2001", "赵雷", "办公室", Role.STAFF),
        ("3001", "钱站长", "监测站", Role.HEAD),
        ("9001", "王主任", "创建办", Role.ADMIN),
    ):
        initial = create_account(db, employee_no, name, department, role, NOW - timedelta(days=20))
        change_password(db, employee_no, initial, PASSWORD, NOW)
    quiz = bank.quiz("plan-basics")
    for employee_no in ("1001", "2001"):
        attempt = start_attempt(db, quiz, employee_no, NOW - timedelta(days=5), random.Random(1))
        for question_id in attempt.question_ids:
            save_answer(
                db,
                attempt.id,
                employee_no,
                question_id,
                quiz.question(question_id).answer
                if quiz.question(question_id).type != "fill"
                else quiz.question(question_id).answer[0],
                NOW - timedelta(days=5),
            )
        assert submit_attempt(db, attempt.id, employee_no, NOW - timedelta(days=5), bank).passed
    # everyone has been on the roster since before the phase began
    with write(db):
        long_ago = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        db.execute("UPDATE people SET created_at = ?", [long_ago])
        db.execute("UPDATE department_history SET since = ?", [long_ago])
    deadline = end_of_day((NOW - timedelta(days=2)).date())
    save_plan(
        db,
        StudyPlan(
            (Phase("启动阶段·全面学习", NOW - timedelta(days=10), deadline, ("plan-basics",)),)
        ),
        bank,
        NOW,
        "9001",
    )
    db.close()
    return deadline


def by_department(at) -> list[tuple]:
    [table] = [
        d.value
        for d in at.dataframe
        if "部门" in d.value.columns and "按期完成率" in d.value.columns
    ]
    return [
        tuple(row)
        for row in table[["部门", "应学人数", "按期完成", "逾期未完成"]].itertuples(index=False)
    ]


def open_tab(at, label: str):
    """Open one of the dashboard's tabs, as a click on it does (only the open tab runs)."""
    at.session_state["dashboard_tab"] = label
    return at.run()


def test_the_admin_sees_every_department_and_the_one_behind(bureau):
    at = logged_in("9001")
    open_page(at, "dashboard")
    assert at.title[0].value == "参与情况"
    assert by_department(at) == [("监测站", 3, 1, 2), ("办公室", 1, 1, 0)]
    open_tab(at, "逾期名单与通报")
    [overdue] = [
        d.value for d in at.dataframe if list(d.value.columns[:3]) == ["部门", "工号", "姓名"]
    ][:1]
    assert list(overdue["工号"]) == ["1002", "3001"]


def test_the_export_equals_the_screen(bureau, tmp_path):
    at = logged_in("9001")
    at.query_params.clear()
    open_page(at, "dashboard")
    at.toggle[0].set_value(True).run()  # as of the deadline, as a 通报 is
    # 按部门, shown as two tables (progress, participation) that fit the screen's width
    progress, participation = (d.value for d in at.dataframe[:2])
    screen = progress.merge(participation, on="部门")
    workbook = tmp_path / "report.xlsx"
    as_of = (bureau + timedelta(seconds=1)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    result = CliRunner().invoke(office_cli, ["report", "--xlsx", str(workbook), "--as-of", as_of])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(workbook)["按部门"]
    rows = list(sheet.iter_rows(values_only=True))
    assert sorted(rows[0]) == sorted(screen.columns)
    exported = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    for shown, saved in zip(screen.to_dict("records"), exported, strict=True):
        for column in rows[0]:
            if isinstance(saved[column], float):
                assert shown[column] == pytest.approx(saved[column]), column
            else:
                assert shown[column] == ("" if saved[column] is None else saved[column]), column


def test_a_head_sees_only_their_department(bureau):
    at = logged_in("3001")
    open_page(at, "dashboard")
    assert texts(at.caption)[0] == "统计范围：监测站"
    assert by_department(at) == [("监测站", 3, 1, 2)]
    open_tab(at, "测验与题目")
    assert [m.label for m in at.multiselect] == ["测验（不选则为全部）"]  # no department choice


def test_staff_are_refused_the_dashboard_on_the_server(bureau):
    at = run_page_function("dashboard_page", "1001")
    assert texts(at.error) == ["无权访问此页面。"]
    assert not at.dataframe


def test_my_progress_and_confirming_a_reading(bureau):
    at = logged_in("1002")
    open_page(at, "progress")
    assert at.title[0].value == "我的进度"
    assert "状态：逾期未完成" in at.markdown[0].value
    reader = logged_in("1002")
    reader.query_params["doc"] = "chuangjian_wenming_danwei_shishi_fangan.txt"
    open_page(reader, "reader")
    [confirm] = [b for b in reader.button if b.label == "我已学习本文件"]
    confirm.click().run()
    assert any(s.startswith("已确认学习本文件") for s in texts(reader.success))
    # Done and not done read as words (no emoji that a machine without the font draws
    # as the same box).
    passed = logged_in("1001")
    open_page(passed, "progress")
    for session, mark in (
        (at, ":orange-badge[:material/pending: 未完成]"),
        (passed, ":green-badge[:material/check_circle: 已完成]"),
    ):
        lines = [m.value for m in session.markdown]
        assert [line.split("] ")[0] + "]" for line in lines if "badge[" in line] == [mark]
        assert not any(c in line for line in lines for c in "✅⬜")


def test_the_admin_freezes_a_notice_at_the_deadline(bureau):
    at = logged_in("9001")
    open_page(at, "dashboard")
    open_tab(at, "逾期名单与通报")
    [freeze] = [b for b in at.button if b.label == "按截止时间固定逾期名单（生成通报）"]
    freeze.click().run()
    assert "已生成通报。" in texts(at.success), texts(at.error) + [str(e) for e in at.exception]
    [notice] = [
        d.value
        for d in at.dataframe
        if list(d.value.columns) == ["部门", "工号", "姓名", "未完成事项"]
    ]
    assert list(notice["工号"]) == ["1002", "3001"]


def test_the_admin_edits_the_study_plan_with_checks(bureau):
    at = logged_in("9001")
    open_page(at, "admin")
    start, deadline = (d for d in at.date_input if d.label.startswith(("开始日期", "截止日期")))
    deadline.set_value(start.value - timedelta(days=1))
    [save] = [b for b in at.button if b.label == "保存学习计划"]
    save.click().run()
    assert texts(at.error) == ["学习计划有误，未保存："]
    assert any("截止" in c.value for c in at.code)
    start, deadline = (d for d in at.date_input if d.label.startswith(("开始日期", "截止日期")))
    deadline.set_value(start.value + timedelta(days=20))
    [save] = [b for b in at.button if b.label == "保存学习计划"]
    save.click().run()
    assert "学习计划已保存。" in texts(at.success)


def test_each_tab_computes_only_what_it_shows(bureau):
    at = logged_in("9001")
    open_page(at, "dashboard")
    # 按部门: the department tables, the per-day table and the summary; nothing else
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [
        ["部门", "进度落后"],
        ["部门", "已参与"],
        ["日期", "当日完成"],
        ["指标", "数值"],
    ]
    open_tab(at, "学习覆盖")
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [
        ["文件", "标题"],
        ["文件", "小节"],
    ]
    [documents] = [d.value for d in at.dataframe if "覆盖率" in d.value.columns]
    plan_row = documents[documents["文件"] == "chuangjian_wenming_danwei_shishi_fangan.txt"]
    assert 0 < plan_row["覆盖率"].iloc[0] <= 1
    open_tab(at, "诚信提示")
    assert [list(d.value.columns)[:2] for d in at.dataframe] == [["类型", "雷同组"]]


def test_quiz_statistics_filter_by_quiz(bureau):
    at = logged_in("9001")
    open_page(at, "dashboard")
    open_tab(at, "测验与题目")
    at.multiselect(key="quiz_filter").set_value(["ethics-values"]).run()
    [quizzes] = [
        d.value for d in at.dataframe if "通过率" in d.value.columns and "测验" in d.value.columns
    ]
    assert list(quizzes["测验编号"]) in ([], ["ethics-values"])
    at.multiselect(key="quiz_filter").set_value(["plan-basics"]).run()
    [quizzes] = [
        d.value for d in at.dataframe if "通过率" in d.value.columns and "测验" in d.value.columns
    ]
    assert list(quizzes["测验编号"]) == ["plan-basics"]
    assert list(quizzes["通过人数"]) == [2]


def test_a_head_reviews_one_persons_attempt_as_the_person_saw_it(bureau, app_settings):
    db = open_kb(app_settings)
    try:
        (attempt_id,) = [
            r[0] for r in db.execute("SELECT id FROM attempts WHERE employee_no = '1001'")
        ]
        attempt = get_attempt(db, attempt_id, "1001")
        quiz = load_bank(app_settings.quiz_dir, document_texts(db)).quiz("plan-basics")
    finally:
        db.close()
    at = logged_in("3001")
    open_page(at, "dashboard")
    open_tab(at, "人员")
    at.selectbox(key="people_department").set_value("监测站").run()
    # a time not there is a blank cell (the grid wrote "None"), one there reads in full
    [people] = [d.value for d in at.dataframe if "完成时间" in d.value.columns]
    done = dict(zip(people["工号"], people["完成时间"], strict=True))
    assert done["1002"] == "" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", done["1001"])
    at.selectbox(key="people_person").set_value("1001").run()
    at.selectbox(key="people_attempt").set_value(attempt_id).run()
    stems = [m.value for m in at.markdown if re.match(r"^\*\*\d+\\\.\*\*", m.value)]
    assert len(stems) == len(attempt.question_ids)
    lines = [m.value for m in at.markdown]
    for number, question_id in enumerate(attempt.question_ids, start=1):
        question = quiz.question(question_id)
        assert md_text(question.stem) in stems[number - 1]
        if question.type == "single":
            # 1001 answered rightly: the letter given is the one the attempt showed
            letters = "ABCDEFG"
            position = [k for k, _ in attempt.displayed_options(question)].index(question.answer)
            text = dict(question.options)[question.answer]
            start = lines.index(stems[number - 1])
            assert lines[start + 1 + len(question.options)] == (
                f"你的答案：{letters[position]}. {md_text(text)}（得 {question.points:g} 分）"
            )


def test_the_dashboard_grades_expired_attempts_before_it_counts(bureau, app_settings):
    # 1002 opened the timed ethics quiz two days ago and never submitted: the page grades
    # it as expired (as `python -m office report` does) before it reports.
    db = open_kb(app_settings)
    try:
        bank = load_bank(app_settings.quiz_dir, document_texts(db))
        quiz = bank.quiz("ethics-values")
        assert quiz.time_limit_minutes
        attempt = start_attempt(db, quiz, "1002", NOW - timedelta(days=2), random.Random(2))
    finally:
        db.close()
    at = logged_in("9001")
    open_page(at, "dashboard")
    assert not at.exception
    db = open_kb(app_settings)
    try:
        status = db.execute("SELECT status FROM attempts WHERE id = ?", [attempt.id]).fetchone()
    finally:
        db.close()
    assert status == ("expired",)


def test_a_notice_is_frozen_for_the_phase_selected(bureau, app_settings):
    # Two phases, both past their deadline: choosing the second freezes the second.
    db = open_kb(app_settings)
    try:
        bank = load_bank(app_settings.quiz_dir, document_texts(db))
        first = Phase("启动阶段·全面学习", NOW - timedelta(days=20), NOW - timedelta(days=12))
        second = Phase("巩固阶段·专题学习", NOW - timedelta(days=10), bureau)
        phases = tuple(dataclasses.replace(p, quiz_ids=("plan-basics",)) for p in (first, second))
        save_plan(db, StudyPlan(phases), bank, NOW, "9001")
    finally:
        db.close()
    at = logged_in("9001")
    open_page(at, "dashboard")
    at.selectbox(key="dashboard_phase").set_value("巩固阶段·专题学习").run()
    open_tab(at, "逾期名单与通报")
    [freeze] = [b for b in at.button if b.label == "按截止时间固定逾期名单（生成通报）"]
    freeze.click().run()
    assert "已生成通报。" in texts(at.success), texts(at.error)
    db = open_kb(app_settings)
    try:
        [notice] = list_notices(db)
        frozen = get_notice(db, notice.id)
    finally:
        db.close()
    assert (frozen.phase, frozen.deadline, frozen.as_of) == (
        "巩固阶段·专题学习",
        bureau,
        bureau + timedelta(seconds=1),
    )
    # The notice shown, and the downloads offered for it, are the stored one.
    assert [b.label for b in at.get("download_button")][-2:] == [
        "导出通报（Excel）",
        "导出通报（可打印网页）",
    ]


def test_the_pages_csv_files_are_the_command_lines(bureau, app_settings, tmp_path):
    # The same moment on both sides: the first second after the deadline.
    as_of = bureau + timedelta(seconds=1)
    out = tmp_path / "csv"
    moment = as_of.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    result = CliRunner().invoke(office_cli, ["report", "--csv", str(out), "--as-of", moment])
    assert result.exit_code == 0, result.output
    db = open_kb(app_settings)
    try:
        bank = load_bank(app_settings.quiz_dir, document_texts(db))
        scope = Scope(db, get_plan(db), bank, as_of, None, "启动阶段·全面学习")
        archive = zipfile.ZipFile(io.BytesIO(csv_export(scope)()))
    finally:
        db.close()
    page = {name: archive.read(name) for name in archive.namelist()}
    cli = {path.name: path.read_bytes() for path in out.iterdir()}
    assert page == cli
    day = as_of.astimezone(LOCAL_TZ).date().isoformat()
    assert sorted(page) == sorted(f"{name}_{day}.csv" for name in SHEETS)
    summary = page[f"汇总_{day}.csv"].decode("utf-8-sig")
    # 2 of 4 people took part and completed on time: formatted, not raw fractions
    assert ("参与率,50.0%" in summary, "按期完成率,50.0%" in summary) == (True, True)


def test_chart_tooltips_give_percentages_and_chinese_dates():
    by_department = pd.DataFrame(
        {
            "部门": ["监测站", "办公室"],
            "应学人数": [4, 2],
            "按期完成": [1, 2],
            "按期完成率": [0.25, 1.0],
            "预期进度": [0.00463862755713, 0.00463862755713],
            "进度落后": ["是", ""],
        }
    )
    spec = department_chart(by_department).to_dict()
    assert [(t["field"], t.get("format")) for t in spec["encoding"]["tooltip"]] == [
        ("部门", None),
        ("应学人数", None),
        ("按期完成", None),
        ("按期完成率", ".1%"),
        ("预期进度", ".1%"),
        ("落后", None),
    ]
    daily = pd.DataFrame(
        {
            "日期": [date(2026, 11, 10), date(2026, 11, 11)],
            "当日完成": [1, 0],
            "累计完成": [1, 1],
            "累计完成率": [0.5, 0.5],
            "预期进度": [0.03, 0.06],
        }
    )
    spec = daily_chart(daily).to_dict()
    assert [(t["field"], t.get("format")) for t in spec["encoding"]["tooltip"]] == [
        ("日期", "%Y年%-m月%-d日"),
        ("曲线", None),
        ("比例", ".1%"),
    ]
    assert spec["encoding"]["x"]["axis"]["format"] == "%-m月%-d日"


def test_the_exemption_list_reads_in_chinese_with_or_without_rows(bureau, app_settings):
    at = logged_in("9001")
    open_page(at, "admin")
    assert "（暂无免学登记）" in texts(at.caption)  # not an empty grid saying "empty"
    db = open_kb(app_settings)
    try:
        add_exemption(db, "1002", "外派", NOW - timedelta(days=3), "9001")
    finally:
        db.close()
    at.run()
    [table] = [d.value for d in at.dataframe if "登记人" in d.value.columns]
    since = (NOW - timedelta(days=3)).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    assert table.to_dict("records") == [
        {"工号": "1002", "原因": "外派", "开始": since, "截止": "—", "登记人": "9001"}
    ]
