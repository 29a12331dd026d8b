"""A login survives a reload and reaches a new tab, through ``make run``'s setup (two
workers behind ``ui/serve.py``'s proxy), in Debian's Chromium; after logging out, a reload
shows the login form. The cookie: HttpOnly, SameSite=Strict, only its token's hash stored.

Run only browser tests with ``pytest -m browser``; these skip where /usr/bin/chromium is
absent.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    AppServer,
    answer_widget,
    bordered,
    browser_tab,
    choose_answer,
    click_when_idle,
    expect_answer_shown,
    give_answer,
    log_in,
    open_in_sidebar,
    plan_quiz_questions,
    prepare_data,
    question_ids_shown,
    saved_answers,
    start_app,
    wait_for_app_idle,
    wait_until,
)
from ui.login_cookie import COOKIE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory) -> Iterator[AppServer]:
    """The real app as ``make run`` serves it: two Streamlit workers behind the proxy."""
    folder = tmp_path_factory.mktemp("browser-login")
    prepare_data(folder / "data")
    server = start_app(folder / "data", folder / "streamlit.log", workers=2)
    yield server
    server.stop()


@pytest.fixture
def page(browser, proxied_server, tmp_path) -> Iterator[Page]:
    with browser_tab(browser, proxied_server, tmp_path) as tab:
        yield tab


def _sessions(db_path) -> list[tuple]:
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(
            "SELECT employee_no, token_hash, code_hash FROM login_sessions"
        ).fetchall()
    finally:
        connection.close()


def _login_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE), None)


def _expect_logged_in(page: Page) -> None:
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    expect(page.get_by_role("button", name="登录", exact=True)).to_have_count(0)


def _expect_login_form(page: Page) -> None:
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


def test_a_login_survives_a_reload_mid_quiz_reaches_a_new_tab_and_ends_at_logout(
    page, proxied_server
):
    questions = plan_quiz_questions()
    page.goto(proxied_server.url)
    log_in(page)
    # The browser fetched its cookie: HttpOnly, SameSite=Strict, the whole site, plain
    # HTTP here so not Secure, gone when the browser closes (no expiry).
    cookie = wait_until(lambda: _login_cookie(page), "the login cookie")
    assert {k: cookie[k] for k in ("httpOnly", "sameSite", "path", "secure", "expires")} == {
        "httpOnly": True,
        "sameSite": "Strict",
        "path": "/",
        "secure": False,
        "expires": -1,
    }
    # The server keeps only the token's hash, and the one-time code is spent.
    token_hash = hashlib.sha256(cookie["value"].encode()).hexdigest()
    assert _sessions(proxied_server.db_path) == [("1001", token_hash, None)]

    open_in_sidebar(page, "学习测验")
    card = bordered(
        page, has=page.get_by_role("heading", name="创建文明单位实施方案学习测验", exact=True)
    )
    click_when_idle(page, card.get_by_role("button", name="开始测验", exact=True))
    expect(page).to_have_url(re.compile(r"/quizzes\?attempt=\d+$"))
    attempt_id = int(re.search(r"attempt=(\d+)", page.url).group(1))
    expect(page.get_by_role("button", name="提交试卷", exact=True)).to_be_visible()
    wait_for_app_idle(page)
    shown = question_ids_shown(page, attempt_id)
    first, second = (questions[q] for q in shown[:2])
    given = [choose_answer(first, right=True), choose_answer(second, right=False)]
    for question, answer in zip((first, second), given, strict=True):
        give_answer(page, answer_widget(page, attempt_id, question["id"]), question["type"], answer)
    expected = {answer.question_id: answer.stored for answer in given}
    wait_until(
        lambda: saved_answers(proxied_server.db_path, attempt_id) == expected,
        f"answers {expected} saved for attempt {attempt_id}",
    )

    # F5: a new Streamlit session, still logged in, in the attempt, the answers there.
    page.reload()
    _expect_logged_in(page)
    expect(page).to_have_url(re.compile(rf"/quizzes\?attempt={attempt_id}$"))
    expect(page.get_by_role("button", name="提交试卷", exact=True)).to_be_visible()
    for question, answer in zip((first, second), given, strict=True):
        expect_answer_shown(
            page, answer_widget(page, attempt_id, question["id"]), question["type"], answer
        )

    # A new tab of the same browser, by a typed address: logged in too, the same login.
    other = page.context.new_page()
    other.goto(f"{proxied_server.url}/progress")
    _expect_logged_in(other)
    expect(other.get_by_role("heading", name="我的进度", exact=True)).to_be_visible()
    assert _sessions(proxied_server.db_path) == [("1001", token_hash, None)]

    # Logging out ends the login on the server and takes the cookie away.
    open_in_sidebar(other, "我的账号")
    click_when_idle(other, other.get_by_role("button", name="退出登录", exact=True))
    _expect_login_form(other)
    expect(other.get_by_text("已退出登录。")).to_be_visible()
    assert _sessions(proxied_server.db_path) == []
    wait_until(lambda: _login_cookie(other) is None, "the login cookie taken away")
    other.reload()
    _expect_login_form(other)
    # The first tab's next click finds the login over, and says so.
    click_when_idle(
        page, page.get_by_test_id("stSidebarNav").get_by_role("link", name="我的进度", exact=True)
    )
    _expect_login_form(page)
    expect(page.get_by_text("已退出登录，请重新登录。")).to_be_visible()
    page.reload()
    _expect_login_form(page)


def test_at_phone_width_with_the_sidebar_closed_the_login_survives_a_reload(
    browser, proxied_server, tmp_path
):
    # The cookie's image sits in the sidebar, which a phone shows closed.
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    with browser_tab(browser, proxied_server, tmp_path, **phone) as page:
        page.goto(proxied_server.url)
        expect(page.get_by_label("工号", exact=True)).to_be_visible()
        wait_for_app_idle(page)
        page.get_by_label("工号", exact=True).fill("1001")
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="政策检索", exact=True)).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        wait_until(lambda: _login_cookie(page), "the login cookie")
        page.reload()
        wait_for_app_idle(page)
        expect(page.get_by_role("heading", name="政策检索", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="登录", exact=True)).to_have_count(0)
