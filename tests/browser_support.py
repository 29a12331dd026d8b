"""Helpers for the browser tests: a data folder holding the shipped corpus and one staff
account, the real app served by ``streamlit run`` on a free local port, and small page
actions that know how Streamlit 1.67 renders its widgets in Debian's Chromium."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Browser, Locator, Page, expect

from base.settings import SHIPPED_BANK, Settings
from bench.app_server import AppServer
from bench.app_server import app_environment as bench_app_environment
from bench.app_server import start_app as bench_start_app
from kb.ingest import sync_corpus
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.login import change_password
from quizzes.people import Role

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download does not work here; these flags keep Debian's
# Chromium from reaching out to the network or showing first-run UI (DESIGN.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Every wait in the browser tests is bounded by this (milliseconds).
WAIT_MS = 30_000

EMPLOYEE_NO = "1001"
PASSWORD = "study2026ok"
PLAN_QUIZ_FILE = SHIPPED_BANK / "plan-basics.yaml"


# The text a person sees: text nodes that are rendered, on the page (not a skip link
# parked off-screen) and not transparent, without Material icon ligatures ("search" drawn
# as a magnifier), plus the placeholders of empty inputs.
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script,style,noscript')) continue;
    const style = getComputedStyle(el);
    if (style.fontFamily.includes('Material Symbols') || style.color === 'rgba(0, 0, 0, 0)') continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || box.right < 0 || box.bottom < 0) continue;
    out.push(node.textContent);
  }
  for (const input of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (!input.value && input.checkVisibility()) out.push(input.placeholder);
  }
  return out.join('\\n');
}"""
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def latin_words(page: Page) -> set[str]:
    """The Latin words (two letters or more) in the text a person sees on ``page`` now."""
    return set(LATIN_WORD.findall(page.evaluate(VISIBLE_TEXT_JS)))


# -- the app's data and server --------------------------------------------------------------


def app_environment(data_dir: Path) -> dict[str, str]:
    """The variables that point the app at ``data_dir``, the shipped corpus, lexical-only."""
    return bench_app_environment(data_dir, "none")


def start_app(data_dir: Path, log_path: Path, workers: int = 1) -> AppServer:
    """Serve the real app.py (lexical-only) on a free local port, healthy when returned.

    The server is the benchmarks' (bench/app_server.py): cwd is the project, so the
    production .streamlit/config.toml applies and the browser sees what staff will see.
    ``workers`` > 1 serves through ui/serve.py's proxy, as ``make run`` does.
    """
    return bench_start_app(data_dir, log_path, "none", workers=workers)


def prepare_data(data_dir: Path) -> Settings:
    """Index the shipped corpus and create the schemas and one staff account.

    The password is changed once, as tests/test_pages.py does, so logging in goes
    straight to the app without the first-login password form.
    """
    settings = Settings.from_env(app_environment(data_dir))
    now = datetime.now(UTC)
    db = open_kb(settings)
    try:
        ensure_accounts_schema(db)
        ensure_attempts_schema(db)
        report = sync_corpus(db, settings.corpus_dir, None)
        assert not report.errors, report.errors
        initial = create_account(db, EMPLOYEE_NO, "张敏", "监测站", Role.STAFF, now)
        change_password(db, EMPLOYEE_NO, initial, PASSWORD, now)
    finally:
        db.close()
    return settings


LAPTOP = {"width": 1280, "height": 900}
# A phone as Streamlit tells one (by user agent), with a phone's screen: browser_tab(**PHONE).
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "user_agent": IPHONE_UA,
    "is_mobile": True,
    "has_touch": True,
}


@contextmanager
def browser_tab(
    browser: Browser, server: AppServer, tmp_path: Path, **options: Any
) -> Iterator[Page]:
    """A tab in a fresh browser context (no cookies, no session), in Chinese, with the
    suite's bounded waits; ``options`` go to the context (``viewport``: a laptop's unless
    given).

    Afterwards the last view is kept as ``last-view.png`` and the server's output is
    printed, so a failure shows what the browser and the server saw.
    """
    options.setdefault("viewport", LAPTOP)
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        try:
            tab.screenshot(path=tmp_path / "last-view.png")
        finally:
            context.close()
            print(f"--- server output ---\n{server.output()}")


def wait_until(condition: Callable[[], Any], what: str, seconds: float = WAIT_MS / 1000) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.1)


def saved_answers(db_path: Path, attempt_id: int) -> dict[str, Any]:
    """The answers the app stored for an attempt, read the way another process would."""
    # Read-only and short-lived: the server is the writer, the test only looks.
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT question_id, answer FROM answers WHERE attempt_id = ?", [attempt_id]
        ).fetchall()
    finally:
        connection.close()
    return {question_id: json.loads(answer) for question_id, answer in rows}


# -- driving Streamlit in the browser -------------------------------------------------------


def wait_for_app_idle(page: Page) -> None:
    """Wait until the script run triggered by the last action has finished.

    Streamlit marks its root element with the connection and script state. A widget
    change reaches the server a moment later (some widgets debounce), hence the short
    pause first, as Streamlit's own browser tests do.
    """
    page.wait_for_timeout(250)
    page.locator(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
        "[data-test-script-state='notRunning']"
    ).wait_for(state="attached", timeout=WAIT_MS)


def click_when_idle(page: Page, target: Locator) -> None:
    """Click ``target`` once the app is idle: a click that lands while a script run is
    redrawing the page can be lost (a flaky test acted before the app was ready)."""
    wait_for_app_idle(page)
    target.click()


def log_in(page: Page, employee_no: str = EMPLOYEE_NO, password: str = PASSWORD) -> None:
    """Fill the login form (found by its labels) once the app is idle, and wait until the
    form has gone."""
    expect(page.get_by_label("工号", exact=True)).to_be_visible()
    wait_for_app_idle(page)
    page.get_by_label("工号", exact=True).fill(employee_no)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_hidden()
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()


def open_in_sidebar(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation once the app is idle, and wait for its
    title."""
    nav = page.get_by_test_id("stSidebarNav")
    click_when_idle(page, nav.get_by_role("link", name=title, exact=True))
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def open_tab(page: Page, name: str) -> None:
    """Select the tab ``name`` once the app is idle, again if a late rerun undid the click.

    A click that lands while a script run is redrawing the tabs (after a download, say) can
    be lost; the tab is only taken as open when it says it is selected.
    """
    tab = page.get_by_role("tab", name=name, exact=True)
    for _ in range(3):
        wait_for_app_idle(page)
        tab.click()
        try:
            expect(tab).to_have_attribute("aria-selected", "true", timeout=5_000)
            break
        except AssertionError:
            continue
    expect(tab).to_have_attribute("aria-selected", "true")
    wait_for_app_idle(page)


def bordered(page: Page | Locator, has: Locator | None = None, has_text: Any = None) -> Locator:
    """The st.container(border=True) boxes (a search hit, a quiz card, a question)."""
    return page.get_by_test_id("stLayoutWrapper").filter(has=has, has_text=has_text)


def marked_spans(scope: Page | Locator) -> Locator:
    """Text rendered from ``:orange-background[...]`` (a highlight or the marked passage).

    Streamlit gives these spans no test id; the class name is its own and stable in 1.67.
    """
    return scope.locator("span.stMarkdownColoredBackground")


def highlighted_words(scope: Page | Locator) -> Locator:
    """Text rendered from ``:red[**...**]`` (the query's words marked in a search hit;
    the hit's place is coloured text too, but not bold)."""
    return scope.locator("span.stMarkdownColoredText > strong")


# -- the quiz --------------------------------------------------------------------------------


def plan_quiz_questions() -> dict[str, dict[str, Any]]:
    """The questions of quizzes/data/bank/plan-basics.yaml by id, to know the right answers."""
    data = yaml.safe_load(PLAN_QUIZ_FILE.read_text(encoding="utf-8"))
    return {question["id"]: question for question in data["questions"]}


def question_ids_shown(page: Page, attempt_id: int) -> list[str]:
    """The ids of the questions on the attempt page, in the (shuffled) order shown.

    Each answer widget is keyed ``ans-<attempt>-<question>`` and Streamlit puts that key
    in a ``st-key-...`` class on the widget's container.
    """
    prefix = f"st-key-ans-{attempt_id}-"
    classes = page.locator(f"[class*='{prefix}']").evaluate_all(
        "(elements, prefix) => elements.map("
        "  e => [...e.classList].find(c => c.startsWith(prefix)))",
        prefix,
    )
    return [name.removeprefix(prefix) for name in classes]


def answer_widget(page: Page, attempt_id: int, question_id: str) -> Locator:
    """The container of one question's answer widget on the attempt page."""
    return page.locator(f".st-key-ans-{attempt_id}-{question_id}")


def _option_label(text: str) -> re.Pattern[str]:
    # Options are lettered by their shuffled position ("B. 70%"): match the text only.
    return re.compile(rf"^[A-Z]\. {re.escape(text)}$")


@dataclass(frozen=True)
class GivenAnswer:
    """An answer entered in the browser: what the app must store, and what it shows."""

    question_id: str
    stored: Any  # the value in the answers table (original option keys)
    shown: list[str]  # option texts that must be selected, or the text typed


def choose_answer(question: dict[str, Any], right: bool) -> GivenAnswer:
    """A right or a deliberately wrong answer to a question of plan-basics.yaml."""
    kind, answer = question["type"], question["answer"]
    options = {str(k): str(v) for k, v in (question.get("options") or {}).items()}
    if kind == "single":
        key = answer if right else next(k for k in options if k != answer)
        return GivenAnswer(question["id"], key, [options[key]])
    if kind == "multiple":
        keys = sorted(answer) if right else [next(k for k in options if k not in answer)]
        return GivenAnswer(question["id"], keys, [options[k] for k in keys])
    if kind == "true_false":
        value = bool(answer) if right else not answer
        return GivenAnswer(question["id"], value, ["正确" if value else "错误"])
    text = str(answer[0]) if right else "不记得了"
    return GivenAnswer(question["id"], text, [text])


def give_answer(page: Page, widget: Locator, kind: str, given: GivenAnswer) -> None:
    """Enter ``given`` in a question's widget, once the app is idle, so that Streamlit
    sends the change."""
    wait_for_app_idle(page)
    if kind in ("single", "true_false"):
        (text,) = given.shown
        name = _option_label(text) if kind == "single" else text
        widget.get_by_test_id("stRadioOption").filter(
            has=page.get_by_role("radio", name=name, exact=kind != "single")
        ).click()
    elif kind == "multiple":
        for text in given.shown:
            _tick_checkbox(page, widget, text)
    else:
        box = widget.get_by_role("textbox")
        box.fill(given.shown[0])
        # A text input sends its value on Enter or blur, not on each key.
        box.press("Enter")
    wait_for_app_idle(page)


def _tick_checkbox(page: Page, widget: Locator, text: str) -> None:
    # Multiple choice is one checkbox an option, lettered by its shuffled position.
    box = _checkbox(widget, text)
    wait_for_app_idle(page)
    box.locator("label").click()
    expect(box.locator("input")).to_be_checked()


def _checkbox(widget: Locator, text: str) -> Locator:
    # The checkbox's input has no accessible name in 1.67: found by the text it shows.
    return widget.get_by_test_id("stCheckbox").filter(has_text=_option_label(text))


def expect_answer_shown(page: Page, widget: Locator, kind: str, given: GivenAnswer) -> None:
    """The widget shows ``given`` as its current value (after a reload, for instance)."""
    if kind in ("single", "true_false"):
        (text,) = given.shown
        name = _option_label(text) if kind == "single" else text
        expect(widget.get_by_role("radio", name=name, exact=kind != "single")).to_be_checked()
        expect(widget.locator("input[type=radio]:checked")).to_have_count(1)
    elif kind == "multiple":
        expect(widget.locator("input[type=checkbox]:checked")).to_have_count(len(given.shown))
        for text in given.shown:
            expect(_checkbox(widget, text).locator("input")).to_be_checked()
    else:
        expect(widget.get_by_role("textbox")).to_have_value(given.shown[0])


# -- reading what a dashboard shows ----------------------------------------------------------


def dataframe_rows(frame: Locator) -> list[dict[str, str]]:
    """The rows an ``st.dataframe`` shows, as {column header: cell text}, waited for.

    The grid is drawn on a canvas; Streamlit 1.67's grid also keeps an accessible table
    (role grid) in the DOM, which holds the rendered cells only: every row of a short
    table, but only the columns scrolled into view of a wide one.
    """
    # The table is the canvas's fallback content: out of the accessibility tree, so it is
    # found by CSS rather than by role.
    grid = frame.locator("table[role='grid']")
    expect(grid.locator("th").first).to_be_attached()
    return grid.evaluate(
        "grid => {"
        "  const column = cell => cell.getAttribute('aria-colindex');"
        "  const headers = Object.fromEntries([...grid.querySelectorAll('th')].map("
        "    th => [column(th), th.textContent]));"
        "  return [...grid.querySelectorAll('tbody tr')].map(tr => Object.fromEntries("
        "    [...tr.querySelectorAll('td')].map(td => [headers[column(td)], td.textContent])));"
        "}"
    )


def chart_bars(chart: Locator) -> dict[str, str | None]:
    """The bars of a Vega-Lite bar chart (rendered as SVG): aria label -> fill colour.

    Vega labels each bar with its fields ("部门: 监测站; 进度落后: 是; ..."); a bar with no
    fill is drawn invisibly.
    """
    bars = chart.locator("path[aria-roledescription='bar']")
    expect(bars.first).to_be_attached()
    return dict(
        bars.evaluate_all(
            "bars => bars.map(b => [b.getAttribute('aria-label'), b.getAttribute('fill')])"
        )
    )
