"""Browser tests of what staff and the office meet on the screen: a timed quiz counting
down, the review lettered as the attempt was, no English in any page's visible text (as
admin, 负责人 and staff), and the phone width. The real app served by ``streamlit run``,
driven in Debian's Chromium, over the bureau of tests/test_browser_office.py.

Run only browser tests with ``pytest -m browser``; these skip where /usr/bin/chromium is
absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import Page, expect

from base.settings import SHIPPED_BANK
from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    PHONE,
    AppServer,
    answer_widget,
    bordered,
    browser_tab,
    choose_answer,
    click_when_idle,
    give_answer,
    latin_words,
    log_in,
    open_in_sidebar,
    open_tab,
    prepare_data,
    question_ids_shown,
    start_app,
    wait_for_app_idle,
)
from tests.test_browser_office import ADMIN_NO, build_bureau

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

HEAD_NO, STAFF_NO, FRESH_NO = "3001", "1001", "1002"
TIMED_QUIZ_FILE = SHIPPED_BANK / "ethics-values.yaml"
PAGES = ["政策检索", "文件阅读", "学习测验", "错题练习", "我的进度", "参与情况", "管理", "我的账号"]


# Latin words that must stay: file formats and the program that converts them, units.
ALLOWED = {"CSV", "csv", "XLSX", "xlsx", "Excel", "LibreOffice", "MB"}
ALLOWED |= {
    "txt",
    "md",
    "doc",
    "docx",
    "pdf",
    "odt",
    "rtf",
    "wps",
    "png",
    "jpg",
    "jpeg",
    "tif",
    "tiff",
}
# The test server runs lexical-only: the search page says so, naming the setting.
TEST_SETUP = {"KB", "EMBED", "MODEL", "none"}


def english_words(page: Page) -> set[str]:
    """The Latin words in the page's visible text, less what is allowed to stay."""
    wait_for_app_idle(page)
    return latin_words(page) - ALLOWED - TEST_SETUP


@pytest.fixture(scope="module")
def bureau_server(tmp_path_factory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("browser-experience")
    build_bureau(prepare_data(folder / "data"))
    server = start_app(folder / "data", folder / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser, bureau_server, tmp_path) -> Iterator[Page]:
    with browser_tab(browser, bureau_server, tmp_path) as tab:
        yield tab


def _start_quiz(page: Page, title: str) -> int:
    open_in_sidebar(page, "学习测验")
    card = bordered(page, has=page.get_by_role("heading", name=title, exact=True))
    click_when_idle(page, card.get_by_role("button", name=re.compile("开始测验|继续作答|再测一次")))
    expect(page).to_have_url(re.compile(r"/quizzes\?attempt=\d+$"))
    expect(page.get_by_role("button", name="提交试卷", exact=True)).to_be_visible()
    wait_for_app_idle(page)
    return int(re.search(r"attempt=(\d+)", page.url).group(1))


def test_no_english_in_the_visible_text_of_any_page(page, bureau_server):
    found: dict[str, set[str]] = {}
    for employee_no in (ADMIN_NO, HEAD_NO, STAFF_NO):
        page.goto(bureau_server.url)
        log_in(page, employee_no, PASSWORD)
        nav = page.get_by_test_id("stSidebarNav")
        for title in PAGES:
            if not nav.get_by_role("link", name=title, exact=True).count():
                continue
            open_in_sidebar(page, title)
            found[f"{employee_no} {title}"] = english_words(page)
            for tab in page.get_by_role("tab").all_inner_texts():
                open_tab(page, tab)
                found[f"{employee_no} {title} › {tab}"] = english_words(page)
        # the ⋮ menu (Print, Record screen, Settings) is not offered at all
        expect(page.get_by_test_id("stMainMenu")).to_have_count(0)
        page.context.clear_cookies()
    # The staff's quiz: an attempt, the confirmation and the result with its review.
    page.goto(bureau_server.url)
    log_in(page, FRESH_NO, PASSWORD)
    attempt_id = _start_quiz(page, "创建文明单位实施方案学习测验")
    found["attempt"] = english_words(page)
    click_when_idle(page, page.get_by_role("button", name="提交试卷", exact=True))
    click_when_idle(page, page.get_by_role("button", name="确认提交", exact=True))
    expect(page).to_have_url(re.compile(rf"/quizzes\?result={attempt_id}$"))
    click_when_idle(page, page.get_by_text("查看答错或未答的", exact=False))
    found["result"] = english_words(page)
    open_in_sidebar(page, "错题练习")  # now with the questions just missed
    found["practice with mistakes"] = english_words(page)
    # A text input being typed in, not yet applied (Streamlit's "Press Enter to apply").
    open_in_sidebar(page, "政策检索")
    page.get_by_role("textbox").first.fill("垃圾分类")
    found["search being typed"] = english_words(page)
    assert {where: words for where, words in found.items() if words} == {}
    assert len(found) >= 20, sorted(found)  # every page and tab was looked at


def test_a_timed_quiz_counts_down_and_the_review_uses_the_letters_shown(
    page, bureau_server, tmp_path
):
    questions = {
        q["id"]: q for q in yaml.safe_load(TIMED_QUIZ_FILE.read_text("utf-8"))["questions"]
    }
    page.goto(bureau_server.url)
    log_in(page, FRESH_NO, PASSWORD)
    attempt_id = _start_quiz(page, "核心价值观与职业道德学习测验")
    clock = page.get_by_text(re.compile(r"剩余约 \d+ 分 \d\d 秒"))

    def seconds_left() -> int:
        minutes, seconds = re.search(r"剩余约 (\d+) 分 (\d\d) 秒", clock.inner_text()).groups()
        return int(minutes) * 60 + int(seconds)

    first = seconds_left()
    assert 19 * 60 <= first <= 20 * 60 and first % 10 == 0
    # It moves by itself, in the browser: redrawn every 10 s, to the nearest 10 s.
    page.wait_for_timeout(12_000)
    assert first - 20 <= seconds_left() < first

    # One single-choice and one multiple-choice question answered wrongly, by what they show.
    shown = question_ids_shown(page, attempt_id)
    picked = {}
    for kind in ("single", "multiple"):
        question_id = next(q for q in shown if questions[q]["type"] == kind)
        given = choose_answer(questions[question_id], right=False)
        widget = answer_widget(page, attempt_id, question_id)
        give_answer(page, widget, kind, given)
        label = widget.get_by_text(re.compile(rf"^[A-Z]\. {re.escape(given.shown[0])}$"))
        picked[question_id] = (shown.index(question_id) + 1, label.inner_text())
    page.screenshot(path=tmp_path / "attempt.png", full_page=True)
    click_when_idle(page, page.get_by_role("button", name="提交试卷", exact=True))
    blank = [str(n) for n in range(1, len(shown) + 1) if n not in {v[0] for v in picked.values()}]
    expect(
        page.get_by_text(f"还有 {len(blank)} 题未作答（第 {'、'.join(blank)} 题）")
    ).to_be_visible()
    click_when_idle(page, page.get_by_role("button", name="确认提交", exact=True))
    expect(page).to_have_url(re.compile(rf"/quizzes\?result={attempt_id}$"))
    click_when_idle(page, page.get_by_text("查看答错或未答的", exact=False))
    for question_id, (number, label) in picked.items():
        stem = re.escape(questions[question_id]["stem"][:8])
        box = bordered(page, has=page.get_by_text(re.compile(rf"^{number}\. （.*{stem}")))
        expect(box).to_have_count(1)
        # the answer reads with the letter it had on the screen while answering
        expect(box.get_by_text(re.compile(rf"^你的答案：{re.escape(label)}（得"))).to_be_visible()
    wait_for_app_idle(page)
    page.screenshot(path=tmp_path / "review.png")


def test_at_phone_width_the_sidebar_closes_after_choosing_a_page(browser, bureau_server, tmp_path):
    with browser_tab(browser, bureau_server, tmp_path, **PHONE) as page:
        page.goto(bureau_server.url)
        expect(page.get_by_label("工号", exact=True)).to_be_visible()
        wait_for_app_idle(page)
        page.get_by_label("工号", exact=True).fill(STAFF_NO)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="政策检索", exact=True)).to_be_visible()
        wait_for_app_idle(page)
        sidebar = page.get_by_test_id("stSidebar")
        if sidebar.get_attribute("data-collapsed") != "false":
            click_when_idle(page, page.get_by_test_id("stExpandSidebarButton"))
        expect(sidebar).to_have_attribute("data-collapsed", "false")
        nav_link = page.get_by_test_id("stSidebarNav").get_by_role("link", name="学习测验")
        expect(nav_link).to_be_in_viewport()
        page.screenshot(path=tmp_path / "phone-sidebar.png")
        open_in_sidebar(page, "学习测验")
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        # the quiz cards are compact: the first card's button shows on the first screen
        first_button = page.get_by_role("button", name="开始测验").first
        expect(first_button).to_be_in_viewport()
        wait_for_app_idle(page)
        page.screenshot(path=tmp_path / "phone-quizzes.png")
