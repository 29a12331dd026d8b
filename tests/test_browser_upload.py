"""Browser tests of the 管理 page's uploads in Debian's Chromium: several documents
chosen at once, one report on the page naming each file with what happened to it; and
the 职工名册 tab: the template download, a title-row roster with 科室 and 职务, its
preview, 确认导入, and the initial-password sheet used to log in.

Skips where /usr/bin/chromium is absent; run only browser tests with ``pytest -m browser``.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from base.store import open_db
from bench.app_server import start_app
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.login import LoginStatus, authenticate, change_password
from quizzes.people import Role, list_people
from quizzes.roster import RosterRow, read_roster_file
from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    AppServer,
    browser_tab,
    click_when_idle,
    dataframe_rows,
    log_in,
    open_in_sidebar,
    open_tab,
    prepare_data,
    wait_for_app_idle,
)
from tests.test_ingest_report import LAW_LINES, law_docx

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

ADMIN_NO = "9001"


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("browser-upload")
    settings = prepare_data(folder / "data")
    # Uploads are written into the corpus folder: a copy, never the project's corpus/.
    corpus = folder / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    db = open_kb(settings)
    try:
        now = datetime.now(UTC)
        initial = create_account(db, ADMIN_NO, "王主任", "创建办", Role.ADMIN, now)
        change_password(db, ADMIN_NO, initial, PASSWORD, now)
    finally:
        db.close()
    server = start_app(
        folder / "data", folder / "streamlit.log", extra_env={"KB_CORPUS_DIR": str(corpus)}
    )
    yield server
    server.stop()


@pytest.fixture
def page(browser, admin_server, tmp_path) -> Iterator[Page]:
    with browser_tab(
        browser, admin_server, tmp_path, viewport={"width": 1600, "height": 1200}
    ) as tab:
        yield tab


def test_many_files_in_one_upload_give_one_report(page, admin_server):
    page.goto(admin_server.url)
    log_in(page, ADMIN_NO)
    open_in_sidebar(page, "管理")
    wait_for_app_idle(page)
    page.get_by_label("上传文件（可一次选多个；同名文件会被替换）").get_by_test_id(
        "stFileUploaderDropzoneInput"
    ).set_input_files(
        [
            {"name": "办法.docx", "mimeType": "application/octet-stream", "buffer": law_docx()},
            {
                "name": "办法.txt",
                "mimeType": "text/plain",
                "buffer": ("\n".join(LAW_LINES) + "\n").encode(),
            },
            {"name": "~$办法.docx", "mimeType": "application/octet-stream", "buffer": b"\x04x"},
            {"name": "名单.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04"},
        ]
    )
    click_when_idle(page, page.get_by_role("button", name="检查并入库", exact=True))
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="新增 1")).to_contain_text(
        "新增 1，更新 0，未变 0，移除 0，失败 1；重复 1，跳过 1；"
    )
    report = page.get_by_test_id("stDataFrame").filter(has=page.locator("th", has_text="识别页数"))
    rows = dataframe_rows(report)
    assert [(r["文件"], r["结果"], r["段落"], r["说明"]) for r in rows] == [
        ("办法.docx", "新增", "4", "第三条 未找到"),
        ("办法.txt", "重复", "", "与 “办法.docx” 内容相同，只索引一次"),
        ("~$办法.docx", "跳过", "", "Word/WPS 打开文件时留下的临时锁文件，按规则跳过"),
        (
            "名单.xlsx",
            "失败（不支持的类型）",
            "",
            "不支持的文件类型 “.xlsx”（支持 .txt .md .docx .doc .wps .rtf .odt .pdf .png .jpg .jpeg .tif .tiff）",
        ),
    ]


def title_row_roster() -> bytes:
    """The office's own sheet: a title, a line of notes, the header in row 3 with 科室
    and 职务, 张敏 (1001, already known, in 监测站) moving to 办公室."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    for row in (
        ["XX市生态环境局职工花名册"],
        ["填报日期：2026年11月30日"],
        ["序号", "科室", "姓名", "工号", "职务"],
        [1, "办公室", "张敏", "1001", "科员"],
        [2, "办公室", "周强", "3001", "副科长"],
        [3, "监测站", "吴敏", "3002", None],
    ):
        sheet.append(row)
    sheet.merge_cells("A1:E1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_title_row_roster_is_previewed_then_imported_on_confirmation(
    page, admin_server, tmp_path
):
    page.goto(admin_server.url)
    log_in(page, ADMIN_NO)
    open_in_sidebar(page, "管理")
    open_tab(page, "职工名册")

    with page.expect_download() as download_info:
        click_when_idle(page, page.get_by_role("button", name="下载名册模板（.xlsx）", exact=True))
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    assert read_roster_file(template).rows == [
        RosterRow(3, "0101", "张三", "办公室", Role.STAFF, None, "科员")
    ]
    wait_for_app_idle(page)

    page.get_by_label("上传名册（.csv 或 .xlsx）").get_by_test_id(
        "stFileUploaderDropzoneInput"
    ).set_input_files(
        {
            "name": "花名册.xlsx",
            "mimeType": "application/octet-stream",
            "buffer": title_row_roster(),
        }
    )
    click_when_idle(page, page.get_by_role("button", name="检查名册", exact=True))
    wait_for_app_idle(page)

    expect(page.get_by_text("读取工作表“花名册”，表头在第 3 行")).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="尚未导入")).to_contain_text(
        "新增 2 人，变更 1 人，未变 0 人，系统中有但名册中没有 1 人"
    )
    preview = page.get_by_test_id("stDataFrame").filter(
        has=page.locator("th", has_text="变化与处理")
    )
    assert dataframe_rows(preview) == [
        {
            "类别": "新增",
            "工号": "3001",
            "姓名": "周强",
            "部门": "办公室",
            "职务": "副科长",
            "角色": "职工",
            "变化与处理": "新建账号，发初始密码（首次登录须修改）",
        },
        {
            "类别": "新增",
            "工号": "3002",
            "姓名": "吴敏",
            "部门": "监测站",
            "职务": "",
            "角色": "职工",
            "变化与处理": "新建账号，发初始密码（首次登录须修改）",
        },
        {
            "类别": "变更",
            "工号": "1001",
            "姓名": "张敏",
            "部门": "办公室",
            "职务": "科员",
            "角色": "职工",
            "变化与处理": "部门：监测站 → 办公室；职务：（空） → 科员",
        },
        {
            "类别": "名册中没有",
            "工号": ADMIN_NO,
            "姓名": "王主任",
            "部门": "创建办",
            "职务": "",
            "角色": "创建办",
            "变化与处理": "不做改动（创建办账号不随名册停用）",
        },
    ]
    db = open_db(admin_server.db_path)
    try:
        # Nothing is written before the confirmation.
        assert [p.employee_no for p in list_people(db)] == [ADMIN_NO, "1001"]
    finally:
        db.close()

    click_when_idle(page, page.get_by_role("button", name="确认导入", exact=True))
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="已导入")).to_contain_text(
        "已导入：新增 2 人，更新 1 人，未变 0 人，不在本名册中 1 人。"
    )
    # The preview has made way for what was done.
    expect(preview).to_have_count(0)
    with page.expect_download() as download_info:
        click_when_idle(page, page.get_by_role("button", name="下载初始密码表（CSV）", exact=True))
    sheet = list(csv.reader(io.StringIO(download_info.value.path().read_text("utf-8-sig"))))
    assert [row[:5] for row in sheet] == [
        ["工号", "姓名", "部门", "职务", "角色"],
        ["3001", "周强", "办公室", "副科长", "职工"],
        ["3002", "吴敏", "监测站", "", "职工"],
    ]
    db = open_db(admin_server.db_path)
    try:
        people = {p.employee_no: (p.name, p.department, p.title, p.role) for p in list_people(db)}
        assert people == {
            ADMIN_NO: ("王主任", "创建办", "", Role.ADMIN),
            "1001": ("张敏", "办公室", "科员", Role.STAFF),
            "3001": ("周强", "办公室", "副科长", Role.STAFF),
            "3002": ("吴敏", "监测站", "", Role.STAFF),
        }
        assert authenticate(db, "3001", sheet[1][5], datetime.now(UTC)).status is (
            LoginStatus.MUST_CHANGE_PASSWORD
        )
    finally:
        db.close()
