"""Browser test of the office's dashboard (参与情况): the real app served by ``streamlit run``
on 127.0.0.1 and driven in Debian's Chromium, over hand-made records like the ``bureau``
fixture of tests/test_office_pages.py: two departments, a plan whose deadline has passed,
one department behind with two people overdue.

Run only browser tests with ``pytest -m browser``; this skips where /usr/bin/chromium is
absent.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from base.clock import LOCAL_TZ, end_of_day
from base.settings import Settings
from base.store import write
from kb.documents import document_texts
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.attempts import save_answer, start_attempt, submit_attempt
from quizzes.bank import load_bank
from quizzes.login import change_password
from quizzes.people import Role
from quizzes.plan import Phase, StudyPlan, save_plan
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema
from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    PHONE,
    AppServer,
    browser_tab,
    chart_bars,
    click_when_idle,
    dataframe_rows,
    log_in,
    open_in_sidebar,
    open_tab,
    prepare_data,
    start_app,
    wait_for_app_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

NOW = datetime.now(UTC)
ADMIN_NO = "9001"
BEHIND_DEPARTMENT = "监测站"
ON_TIME_DEPARTMENT = "办公室"
OVERDUE = ["1002", "3001"]  # 监测站: a staff member who did nothing, and the head
DASHBOARD_SCREENSHOT_COPY = "/tmp/browser-dashboard.png"


def build_bureau(settings: Settings) -> datetime:
    """Add to prepare_data's 1001 (监测站) the people of the ``bureau`` fixture, two passed
    attempts and a plan whose deadline passed two days ago; return that deadline.

    监测站: 1001 passed plan-basics, 1002 and the head 3001 did nothing (overdue);
    办公室: 2001 passed; 创建办: the admin 9001, who is not counted.
    """
    db = open_kb(settings)
    try:
        ensure_studyplan_schema(db)
        bank = load_bank(settings.quiz_dir, document_texts(db))
        for employee_no, name, department, role in (
            ("1002", "李强", BEHIND_DEPARTMENT, Role.STAFF),
            ("2001", "赵雷", ON_TIME_DEPARTMENT, Role.STAFF),
            ("3001", "钱站长", BEHIND_DEPARTMENT, Role.HEAD),
            (ADMIN_NO, "王主任", "创建办", Role.ADMIN),
        ):
            initial = create_account(
                db, employee_no, name, department, role, NOW - timedelta(days=20)
            )
            change_password(db, employee_no, initial, PASSWORD, NOW)
        quiz = bank.quiz("plan-basics")
        answered_at = NOW - timedelta(days=5)
        for employee_no in ("1001", "2001"):
            attempt = start_attempt(db, quiz, employee_no, answered_at, random.Random(1))
            for question_id in attempt.question_ids:
                question = quiz.question(question_id)
                right = question.answer if question.type != "fill" else question.answer[0]
                save_answer(db, attempt.id, employee_no, question_id, right, answered_at)
            assert submit_attempt(db, attempt.id, employee_no, answered_at, bank).passed
        # everyone has been on the roster, in their department, since before the phase began
        with write(db):
            long_ago = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            db.execute("UPDATE people SET created_at = ?", [long_ago])
            db.execute("UPDATE department_history SET since = ?", [long_ago])
        deadline = end_of_day((NOW - timedelta(days=2)).date())
        phase = Phase("启动阶段·全面学习", NOW - timedelta(days=10), deadline, ("plan-basics",))
        save_plan(db, StudyPlan((phase,)), bank, NOW, ADMIN_NO)
    finally:
        db.close()
    return deadline


@pytest.fixture(scope="module")
def bureau_server(tmp_path_factory) -> Iterator[tuple[AppServer, datetime]]:
    """The real app over the bureau's records, and the plan's deadline; stopped afterwards."""
    folder = tmp_path_factory.mktemp("browser-office")
    deadline = build_bureau(prepare_data(folder / "data"))
    server = start_app(folder / "data", folder / "streamlit.log")
    yield server, deadline
    server.stop()


@pytest.fixture
def page(browser, bureau_server, tmp_path) -> Iterator[Page]:
    """A fresh context, tall enough to show the dashboard's chart and first table at once;
    the last view is kept as a screenshot and the server's output printed afterwards."""
    server, _ = bureau_server
    with browser_tab(
        browser, server, tmp_path, viewport={"width": 1280, "height": 1400}, accept_downloads=True
    ) as tab:
        yield tab


def open_dashboard(page: Page, server: AppServer) -> None:
    page.goto(server.url)
    log_in(page, ADMIN_NO)
    open_in_sidebar(page, "参与情况")
    wait_for_app_idle(page)


def test_the_admin_sees_the_department_behind_and_exports_the_overdue_list(
    page, bureau_server, tmp_path
):
    server, deadline = bureau_server
    open_dashboard(page, server)
    # Past the deadline the figures are as of its end, as a 通报's are: the first moment
    # after it, so the date is the day after the deadline's (Beijing time).
    expect(page.get_by_role("switch", name="统计到截止时间（用于通报）")).to_be_checked()
    as_of_date = (deadline + timedelta(seconds=1)).astimezone(LOCAL_TZ).date().isoformat()
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="统计时点")).to_contain_text(
        f"统计时点 {as_of_date} 00:00（北京时间）"
    )
    overdue_metric = page.get_by_test_id("stMetric").filter(has_text="逾期未完成")
    expect(overdue_metric.get_by_test_id("stMetricValue")).to_have_text(str(len(OVERDUE)))

    # 按部门: the department with people overdue is marked behind, the other is not.
    frames = page.get_by_test_id("stDataFrame")
    departments = dataframe_rows(frames.filter(has=page.locator("th", has_text="进度落后")))
    shown = {row["部门"]: (row["进度落后"], row["逾期未完成"]) for row in departments}
    assert shown == {BEHIND_DEPARTMENT: ("是", "2"), ON_TIME_DEPARTMENT: ("", "0")}, departments
    assert departments[0]["部门"] == BEHIND_DEPARTMENT  # lowest on-time rate first
    chart = page.get_by_test_id("stVegaLiteChart").first
    expect(chart.locator(f"path[aria-label*='部门: {BEHIND_DEPARTMENT}']")).to_be_attached()
    wait_for_app_idle(page)
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=shot)
    shutil.copyfile(shot, DASHBOARD_SCREENSHOT_COPY)

    with page.expect_download() as download_info:
        click_when_idle(page, page.get_by_role("button", name="导出 Excel（全部表格）", exact=True))
    download = download_info.value
    assert download.failure() is None
    assert re.fullmatch(r"参与情况_\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    assert download.suggested_filename == f"参与情况_{as_of_date}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    workbook = load_workbook(saved, read_only=True)
    header, *rows = workbook["逾期名单"].iter_rows(values_only=True)
    overdue = [dict(zip(header, row, strict=True)) for row in rows]
    assert [row["工号"] for row in overdue] == OVERDUE
    assert {row["部门"] for row in overdue} == {BEHIND_DEPARTMENT}
    header, *rows = workbook["按部门"].iter_rows(values_only=True)
    behind = {row[header.index("部门")]: row[header.index("进度落后")] for row in rows}
    assert behind == {BEHIND_DEPARTMENT: "是", ON_TIME_DEPARTMENT: None}  # "" reads as empty
    workbook.close()

    # The list in the file is the list on the screen.
    open_tab(page, "逾期名单与通报")
    expect(page.get_by_text("逾期名单（截止时间已过仍未完成，免学人员另列）")).to_be_visible()
    # only the open tab's panel is visible, so it is the one found by role
    on_screen = dataframe_rows(page.get_by_role("tabpanel").get_by_test_id("stDataFrame").first)
    assert [row["工号"] for row in on_screen] == OVERDUE


def test_the_chart_shows_the_department_behind_in_red(page, bureau_server):
    server, _ = bureau_server
    open_dashboard(page, server)
    bars = chart_bars(page.get_by_test_id("stVegaLiteChart").first)
    fills = {
        department: fill
        for label, fill in bars.items()
        for department in (BEHIND_DEPARTMENT, ON_TIME_DEPARTMENT)
        if f"部门: {department};" in label
    }
    assert fills == {BEHIND_DEPARTMENT: "#d62728", ON_TIME_DEPARTMENT: "#2ca02c"}, bars


PROGRESS_HEADERS = [
    "部门",
    "进度落后",
    "按期完成率",
    "预期进度",
    "应学人数",
    "按期完成",
    "逾期完成",
    "逾期未完成",
]
PARTICIPATION_HEADERS = [
    "部门",
    "已参与",
    "参与率",
    "已完成",
    "学习中",
    "未开始",
    "测验全部通过",
    "受阻",
    "免学",
]


def _headers_drawn(frame) -> list[str]:
    # The grid keeps in the DOM only the columns drawn in its width (browser_support).
    return frame.locator("table[role='grid'] th").all_inner_texts()


def test_the_department_tables_fit_a_laptop_and_scroll_on_a_phone(browser, bureau_server, tmp_path):
    server, _ = bureau_server
    for name, options in (
        ("laptop", {"viewport": {"width": 1366, "height": 768}}),
        ("phone", PHONE),
    ):
        with browser_tab(browser, server, tmp_path, **options) as page:
            page.goto(f"{server.url}/dashboard")
            log_in_here = page.get_by_label("工号", exact=True)
            expect(log_in_here).to_be_visible()
            wait_for_app_idle(page)
            log_in_here.fill(ADMIN_NO)
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            click_when_idle(page, page.get_by_role("button", name="登录", exact=True))
            expect(page.get_by_role("heading", name="参与情况", exact=True)).to_be_visible()
            wait_for_app_idle(page)
            frames = page.get_by_test_id("stDataFrame")
            progress = frames.filter(has=page.locator("th", has_text="进度落后"))
            participation = frames.filter(has=page.locator("th", has_text="测验全部通过"))
            expect(progress.locator("th").first).to_be_attached()
            progress.scroll_into_view_if_needed()
            wait_for_app_idle(page)
            page.screenshot(path=tmp_path / f"{name}-departments.png")
            shutil.copyfile(
                tmp_path / f"{name}-departments.png", f"/tmp/browser-departments-{name}.png"
            )
            width = page.viewport_size["width"]
            for frame in (progress, participation):
                box = frame.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
            if name == "laptop":
                # Every column is drawn: nothing is cut off at the right.
                assert _headers_drawn(progress) == PROGRESS_HEADERS
                assert _headers_drawn(participation) == PARTICIPATION_HEADERS
            else:
                # The table scrolls sideways inside the screen; what says whether a
                # department is behind is in its first columns, in view.
                assert _headers_drawn(progress)[:3] == PROGRESS_HEADERS[:3]


def test_a_frozen_notice_downloads_as_it_was_frozen(page, bureau_server, tmp_path):
    server, _ = bureau_server
    open_dashboard(page, server)
    open_tab(page, "逾期名单与通报")
    freeze = page.get_by_role("button", name="按截止时间固定逾期名单（生成通报）", exact=True)
    click_when_idle(page, freeze)
    expect(page.get_by_text("已生成通报。")).to_be_visible()
    wait_for_app_idle(page)
    files = {}
    for label in ("导出通报（Excel）", "导出通报（可打印网页）"):
        with page.expect_download() as download_info:
            click_when_idle(page, page.get_by_role("button", name=label, exact=True))
        download = download_info.value
        assert download.failure() is None
        files[label] = tmp_path / download.suggested_filename
        download.save_as(files[label])
    assert re.fullmatch(r"通报_\d+_\d{4}-\d{2}-\d{2}\.xlsx", files["导出通报（Excel）"].name)
    workbook = load_workbook(files["导出通报（Excel）"], read_only=True)
    header, *rows = workbook["逾期名单"].iter_rows(values_only=True)
    assert header == ("部门", "工号", "姓名", "未完成事项")
    assert [row[1] for row in rows] == OVERDUE
    workbook.close()
    # The printable page, opened in the browser, shows the same people.
    printable = page.context.new_page()
    printable.goto(files["导出通报（可打印网页）"].as_uri())
    cells = printable.locator("table").last.locator("tbody tr td:nth-child(2)")
    expect(cells).to_have_text(OVERDUE)
    printable.screenshot(path=tmp_path / "notice.png", full_page=True)
    shutil.copyfile(tmp_path / "notice.png", "/tmp/browser-notice.png")
    printable.close()
