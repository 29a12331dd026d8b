"""Browser test of the 管理 page's document upload: several files chosen at once in
Debian's Chromium, one report on the page naming each file with what happened to it.

Skips where /usr/bin/chromium is absent; run only browser tests with ``pytest -m browser``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from bench.app_server import start_app
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.login import change_password
from quizzes.people import Role
from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    WAIT_MS,
    AppServer,
    dataframe_rows,
    log_in,
    open_in_sidebar,
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
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    tab = context.new_page()
    yield tab
    try:
        tab.screenshot(path=tmp_path / "last-view.png")
    finally:
        context.close()
        print(f"--- streamlit output ---\n{admin_server.output()}")


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
    wait_for_app_idle(page)
    page.get_by_role("button", name="检查并入库", exact=True).click()
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
