"""Browser tests: the real app served by ``streamlit run`` on 127.0.0.1, driven in Debian's
Chromium through Playwright, on a temporary database holding the shipped corpus
(lexical-only) and the shipped quiz bank.

Run only these with ``pytest -m browser``; they skip where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser_support import (
    CHROMIUM,
    AppServer,
    answer_widget,
    bordered,
    browser_tab,
    choose_answer,
    click_when_idle,
    expect_answer_shown,
    give_answer,
    highlighted_words,
    log_in,
    marked_spans,
    open_in_sidebar,
    plan_quiz_questions,
    prepare_data,
    question_ids_shown,
    saved_answers,
    start_app,
    wait_for_app_idle,
    wait_until,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

READER_SCREENSHOT_COPY = "/tmp/browser-reader.png"
SEARCH_SCREENSHOT_COPY = "/tmp/browser-search.png"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    """The real app on a free local port, over a fresh data folder; stopped afterwards."""
    folder = tmp_path_factory.mktemp("browser-app")
    prepare_data(folder / "data")
    server = start_app(folder / "data", folder / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser, app_server, tmp_path) -> Iterator[Page]:
    with browser_tab(browser, app_server, tmp_path) as tab:
        yield tab


def test_search_finds_the_passage_and_the_reader_opens_at_it_marked(page, app_server, tmp_path):
    page.goto(app_server.url)
    log_in(page)
    expect(page.get_by_role("heading", name="政策检索", exact=True)).to_be_visible()

    box = page.get_by_label(re.compile(r"^用自己的话提问"))
    wait_for_app_idle(page)
    box.fill("没按时完成任务的单位会怎样")
    box.press("Enter")
    hit = bordered(page, has_text="通报批评").first
    expect(hit).to_be_visible()
    # The hit says where it stands, and the query's words are highlighted in it.
    expect(hit).to_contain_text("创建全国文明单位实施方案 › 五、工作措施 › (三)责任考核")
    expect(highlighted_words(hit).first).to_be_visible()
    # Whole words are marked, and only the question's content words.
    assert highlighted_words(hit).all_inner_texts() == ["文明单位", "完成任务", "单位"]
    shown = hit.get_by_test_id("stMarkdownContainer").filter(has_text="通报批评").inner_text()
    # The place on the first line, the passage after it.
    place, passage = shown.strip().split("\n", 1)
    assert place == "1. 创建全国文明单位实施方案 › 五、工作措施 › (三)责任考核"
    assert "对没有按期完成任务的责任单位要通报批评" in passage
    page.screenshot(path=tmp_path / "search.png")
    shutil.copyfile(tmp_path / "search.png", SEARCH_SCREENSHOT_COPY)

    click_when_idle(page, hit.get_by_role("link", name=re.compile("打开原文，定位到此段")))
    expect(page.get_by_role("heading", name="文件阅读", exact=True)).to_be_visible()
    expect(page).to_have_url(
        re.compile(r"/reader\?doc=chuangjian_wenming_danwei_shishi_fangan\.txt&chunk=\d+$")
    )
    expect(page.get_by_text("已定位到：五、工作措施 › (三)责任考核")).to_be_visible()
    expect(page.get_by_role("heading", name="▶ 检索定位的段落")).to_be_visible()
    # Exactly one span is marked, and it is the passage the search showed.
    marked = marked_spans(page)
    expect(marked).to_have_count(1)
    expect(marked).to_have_text(passage)

    # The reader opens at the top of the document; its link brings the passage into view.
    click_when_idle(page, page.get_by_role("link", name="跳到标出的段落"))
    expect(marked).to_be_in_viewport()
    wait_for_app_idle(page)
    shot = tmp_path / "reader.png"
    page.screenshot(path=shot)
    shutil.copyfile(shot, READER_SCREENSHOT_COPY)


def test_quiz_answers_survive_a_reload_and_the_result_cites_the_source(page, app_server, tmp_path):
    questions = plan_quiz_questions()
    page.goto(app_server.url)
    log_in(page)
    open_in_sidebar(page, "学习测验")
    card = bordered(
        page, has=page.get_by_role("heading", name="创建文明单位实施方案学习测验", exact=True)
    )
    click_when_idle(page, card.get_by_role("button", name="开始测验", exact=True))
    expect(page).to_have_url(re.compile(r"/quizzes\?attempt=\d+$"))
    attempt_id = int(re.search(r"attempt=(\d+)", page.url).group(1))
    submit = page.get_by_role("button", name="提交试卷", exact=True)
    expect(submit).to_be_visible()
    shown = question_ids_shown(page, attempt_id)
    assert len(shown) >= 2 and set(shown) <= set(questions), shown

    # The first question answered wrongly on purpose, the second rightly.
    first, second = (questions[q] for q in shown[:2])
    given = [choose_answer(first, right=False), choose_answer(second, right=True)]
    print(f"attempt {attempt_id}: answering {given}")  # the draw is random: say which
    for question, answer in zip((first, second), given, strict=True):
        widget = answer_widget(page, attempt_id, question["id"])
        give_answer(page, widget, question["type"], answer)
    expected = {answer.question_id: answer.stored for answer in given}
    wait_until(
        lambda: saved_answers(app_server.db_path, attempt_id) == expected,
        f"answers {expected} saved for attempt {attempt_id}",
    )
    expect(page.get_by_text(f"已答 2/{len(shown)} 题")).to_be_visible()

    # A reload ends Streamlit's session; the login lives on in its cookie (served here by
    # Streamlit alone, without the proxy) and the attempt in the database.
    page.reload()
    wait_for_app_idle(page)
    expect(page.get_by_role("button", name="登录", exact=True)).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/quizzes\?attempt={attempt_id}$"))
    expect(submit).to_be_visible()
    for question, answer in zip((first, second), given, strict=True):
        widget = answer_widget(page, attempt_id, question["id"])
        expect_answer_shown(page, widget, question["type"], answer)

    click_when_idle(page, submit)
    # Nothing is graded before the person confirms, with what is still blank listed.
    blank = "、".join(str(n) for n in range(3, len(shown) + 1))
    expect(page.get_by_text(f"还有 {len(shown) - 2} 题未作答（第 {blank} 题）")).to_be_visible()
    click_when_idle(page, page.get_by_role("button", name="确认提交", exact=True))
    expect(page).to_have_url(re.compile(rf"/quizzes\?result={attempt_id}$"))
    points = {q: float(questions[q].get("points", 1)) for q in shown}
    score = f"得分 {points[second['id']]:g} / {sum(points.values()):g}"
    expect(page.get_by_text(score)).to_be_visible()
    # Only the second question was answered right: every other one is listed as wrong,
    # once the review is asked for (the passages never show before submitting).
    expect(page.get_by_text(re.compile(r"^出处："))).to_have_count(0)
    review = page.get_by_text(f"查看答错或未答的 {len(shown) - 1} 题", exact=False)
    click_when_idle(page, review)
    expect(page.get_by_text(second["stem"], exact=False)).to_have_count(0)
    wrong = bordered(page, has_text=first["stem"])
    expect(wrong).to_have_count(1)
    expect(wrong.get_by_text(re.compile(r"^出处："))).to_be_visible()
    expect(wrong).to_contain_text("你的答案：")
    source_link = wrong.get_by_role("link", name=re.compile("在原文中查看"))
    expect(source_link).to_be_visible()
    wait_for_app_idle(page)
    # The page scrolls inside Streamlit's main block, not the document: show its top.
    page.get_by_role("heading", name="学习测验", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "result.png")

    # The source link opens the reader at the passage that answers the question.
    click_when_idle(page, source_link)
    expect(page.get_by_role("heading", name="文件阅读", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="▶ 检索定位的段落")).to_be_visible()
    expect(marked_spans(page)).to_have_count(1)


def test_an_off_topic_question_says_there_is_no_reliable_answer(page, app_server):
    page.goto(app_server.url)
    log_in(page)
    box = page.get_by_label(re.compile(r"^用自己的话提问"))
    wait_for_app_idle(page)
    box.fill("如何预订去上海的高铁票")
    box.press("Enter")
    notice = page.get_by_text(re.compile("^没有找到可靠的答案"))
    expect(notice).to_be_visible()
    # The nearest passages are still shown below it, each marked as a weak match.
    hits = bordered(page, has=page.get_by_role("link", name=re.compile("打开原文")))
    expect(hits.first).to_contain_text("弱匹配")

    # A question the documents answer gets no such notice.
    wait_for_app_idle(page)
    box.fill("没按时完成任务的单位会怎样")
    box.press("Enter")
    expect(bordered(page, has_text="通报批评").first).to_be_visible()
    wait_for_app_idle(page)
    expect(notice).to_have_count(0)
    expect(page.get_by_text("弱匹配", exact=False)).to_have_count(0)
