"""Browser test of ui/chrome.py over the English that Streamlit 1.67 draws itself and
offers no setting for: an empty date input's "yyyy / mm / dd", and nothing English while a
page runs for seconds (with the production config, Streamlit shows no "Running..." or
"Stop" there). A page of those widgets alone (tests/data/chrome_page.py) is served by
``streamlit run`` and looked at in Debian's Chromium, with the style sheet and, as the
control, without it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from bench.app_server import AppServer
from bench.app_server import start_app as bench_start_app
from tests.browser_support import (
    CHROMIUM,
    browser_tab,
    click_when_idle,
    latin_words,
    wait_for_app_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def chrome_server(tmp_path_factory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("browser-chrome")
    server = bench_start_app(
        folder / "data", folder / "streamlit.log", script="tests/data/chrome_page.py"
    )
    yield server
    server.stop()


@pytest.fixture
def page(browser, chrome_server, tmp_path) -> Iterator[Page]:
    with browser_tab(browser, chrome_server, tmp_path) as tab:
        yield tab


def words_while_running(page: Page) -> tuple[set[str], set[str], list[str]]:
    """The Latin words seen when idle and during a 3-second run, and what the style sheet
    draws over the empty date's three parts."""
    parts = page.get_by_test_id("stDateInput").get_by_role("spinbutton")
    expect(parts).to_have_count(3)
    wait_for_app_idle(page)
    idle = latin_words(page)
    drawn = parts.evaluate_all(
        "parts => parts.map(part => getComputedStyle(part, '::after').content)"
    )
    click_when_idle(page, page.get_by_role("button", name="慢慢做"))
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "running")
    page.wait_for_timeout(1_000)  # past the half second after which a run shows its state
    running = latin_words(page)
    expect(page.get_by_text("做完了")).to_be_visible()
    return idle, running, drawn


def test_streamlit_draws_english_where_the_style_sheet_is_left_out(page, chrome_server):
    page.goto(f"{chrome_server.url}/?plain")
    empty_date = {"yyyy", "mm", "dd"}
    assert words_while_running(page) == (empty_date, empty_date, ["none", "none", "none"])


def test_the_style_sheet_leaves_no_english_and_draws_the_empty_date_in_chinese(page, chrome_server):
    page.goto(chrome_server.url)
    assert words_while_running(page) == (set(), set(), ['"年"', '"月"', '"日"'])
