"""Browser test of 就此段练一练: practise a passage from a search hit in Debian's Chromium,
against the real app served on 127.0.0.1 (shipped corpus, lexical-only).

Run only these with ``pytest -m browser``; they skip where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
import sqlite_utils
from playwright.sync_api import Page, expect

from quizzes.passage_items import practice_for_passages
from tests.browser_support import (
    CHROMIUM,
    AppServer,
    bordered,
    browser_tab,
    click_when_idle,
    log_in,
    prepare_data,
    start_app,
    wait_for_app_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("browser-practice")
    prepare_data(folder / "data")
    server = start_app(folder / "data", folder / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser, app_server, tmp_path) -> Iterator[Page]:
    with browser_tab(browser, app_server, tmp_path) as tab:
        yield tab


def _expected_items(app_server: AppServer, like: str):
    # Read-only, beside the running server: what the generator makes of the passage.
    connection = sqlite3.connect(f"file:{app_server.db_path}?mode=ro", uri=True, timeout=5)
    try:
        db = sqlite_utils.Database(connection)
        (chunk_id,) = db.execute("SELECT id FROM chunks WHERE text LIKE ?", [like]).fetchone()
        (practice,) = practice_for_passages(db, [chunk_id])
    finally:
        connection.close()
    return practice


def test_practise_a_passage_from_a_search_hit(page, app_server):
    practice = _expected_items(app_server, "依据“效能、简便”的原则%")
    kinds = [item.kind for item in practice.items]
    assert kinds[0] == "填空" and "单选" in kinds
    blank = practice.items[0]
    choice = next(item for item in practice.items if item.kind == "单选")

    page.goto(app_server.url)
    log_in(page)
    box = page.get_by_label(re.compile(r"^用自己的话提问"))
    wait_for_app_idle(page)
    box.fill("一次性告知 一站式服务")
    box.press("Enter")
    hit = bordered(page, has_text="依据“效能、简便”的原则").first
    expect(hit).to_contain_text("创建全国文明单位实施方案")
    click_when_idle(page, hit.get_by_role("button", name="就此段练一练"))
    wait_for_app_idle(page)
    expect(hit.get_by_text("自动生成，仅供自测", exact=False)).to_be_visible()
    forms = hit.get_by_test_id("stForm")
    expect(forms).to_have_count(len(practice.items))

    # The blank, typed with quotes and a full stop, is right.
    form = forms.nth(0)
    expect(form).to_contain_text(f"1. （填空 · 自动生成） {blank.stem}")
    form.get_by_label("填写答案").fill(f"“{blank.answer}”。")
    wait_for_app_idle(page)
    click_when_idle(page, form.get_by_role("button", name="检查答案"))
    wait_for_app_idle(page)
    expect(hit.get_by_text("回答正确！")).to_have_count(1)
    expect(hit.get_by_text(f"本段原文：{practice.passage.text}")).to_be_visible()

    # A wrong option of the choice is marked wrong, with the right one.
    number = practice.items.index(choice)
    form = forms.nth(number)
    wrong = next(o for o in choice.options if o != choice.answer)
    letter = "ABCD"[choice.options.index(wrong)]
    option = form.get_by_test_id("stRadioOption").filter(
        has=page.get_by_role("radio", name=f"{letter}. {wrong}", exact=True)
    )
    click_when_idle(page, option)
    click_when_idle(page, form.get_by_role("button", name="检查答案"))
    wait_for_app_idle(page)
    expect(hit.get_by_text(f"回答错误。正确答案：{choice.answer}")).to_be_visible()
    # The first answer's feedback stays: checks are kept for the session's page.
    expect(hit.get_by_text("回答正确！")).to_have_count(1)


def test_practise_a_paragraph_from_the_reader(page, app_server):
    connection = sqlite3.connect(f"file:{app_server.db_path}?mode=ro", uri=True, timeout=5)
    try:
        db = sqlite_utils.Database(connection)
        # The paragraph that holds the plan's 一次性告知: its first passage names its link.
        ids = [
            row[0]
            for row in db.execute(
                "SELECT c.id FROM chunks c JOIN chunks t ON t.doc_id = c.doc_id"
                " AND t.block_seq = c.block_seq WHERE t.text LIKE '依据“效能、简便”的原则%'"
                " ORDER BY c.seq"
            )
        ]
        items = [item for p in practice_for_passages(db, ids) for item in p.items]
    finally:
        connection.close()

    page.goto(app_server.url)
    log_in(page)
    nav = page.get_by_test_id("stSidebarNav")
    click_when_idle(page, nav.get_by_role("link", name="文件阅读", exact=True))
    expect(page.get_by_role("heading", name="创建全国文明单位实施方案")).to_be_visible()
    wait_for_app_idle(page)
    # The button under the paragraph, found by its key (practise-para-<first passage>).
    button = page.locator(f".st-key-practise-para-{ids[0]} button")
    expect(button).to_have_accessible_name(re.compile("就此段练一练"))
    click_when_idle(page, button)
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stForm")).to_have_count(len(items))
    expect(button).to_have_accessible_name(re.compile("收起练习"))
    # Still the same session and page: the reader, logged in.
    expect(page.get_by_role("heading", name="文件阅读", exact=True)).to_be_visible()
    click_when_idle(page, button)
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stForm")).to_have_count(0)
