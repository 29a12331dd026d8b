"""What the countdown of a timed quiz costs the server: CPU per redraw and per open tab.

The countdown is an ``st.fragment(run_every=COUNTDOWN_SECONDS)`` (10 s; each second in
the last minute): every tab on a timed attempt asks the server to rerun that fragment. This opens ``--tabs`` Chromium tabs,
each logged in as its own person, and measures the server's CPU over ``--seconds``:

* rival: every tab on the quiz list (no fragment), the idle floor;
* countdown: every tab on a timed attempt (ethics-values, 20 minutes).

It prints CPU milliseconds per fragment run and the share of one core that 200 people
taking a timed quiz at once use, redrawn every COUNTDOWN_SECONDS and (the rival
design) every second.

    python -m bench.countdown_cost --tabs 6 --seconds 60
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.login import change_password
from quizzes.people import Role
from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    log_in,
    open_in_sidebar,
    prepare_data,
    start_app,
    wait_for_app_idle,
)
from ui.quiz_pages import COUNTDOWN_SECONDS

TIMED_QUIZ = "核心价值观与职业道德学习测验"


def _people(settings, count: int) -> list[str]:
    db = open_kb(settings)
    now = datetime.now(UTC)
    numbers = [f"50{n:02d}" for n in range(count)]
    try:
        for number in numbers:
            initial = create_account(db, number, f"测{number}", "监测站", Role.STAFF, now)
            change_password(db, number, initial, PASSWORD, now)
    finally:
        db.close()
    return numbers


def _cpu_over(server, seconds: float) -> float:
    before = server.cpu_seconds()
    time.sleep(seconds)
    return server.cpu_seconds() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="countdown-"))
    settings = prepare_data(folder / "data")
    numbers = _people(settings, args.tabs)
    server = start_app(folder / "data", folder / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            pages: list[Page] = []
            for number in numbers:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(server.url)
                log_in(page, number)
                open_in_sidebar(page, "学习测验")
                wait_for_app_idle(page)
                pages.append(page)
            server.wait_idle()
            idle = _cpu_over(server, args.seconds)
            for page in pages:
                page.get_by_role("button", name="开始测验").first.click()
                page.get_by_text(re.compile(r"剩余约 \d+ 分")).wait_for()
            server.wait_idle(busy_share=0.9)
            ticking = _cpu_over(server, args.seconds)
            browser.close()
    finally:
        server.stop()
    runs = args.tabs * args.seconds / COUNTDOWN_SECONDS
    per_run_ms = 1000 * (ticking - idle) / runs
    print(f"tabs {args.tabs}, {args.seconds:g} s each phase")
    print(f"server CPU, tabs on the quiz list (rival, no countdown): {idle:.3f} s")
    print(f"server CPU, tabs on a timed attempt (countdown): {ticking:.3f} s")
    print(f"per fragment run: {per_run_ms:.2f} ms CPU")
    for every in (COUNTDOWN_SECONDS, 1):
        share = 200 * per_run_ms / 1000 / every
        print(f"200 people on a timed quiz, redrawn every {every} s: {share:.0%} of one core")


if __name__ == "__main__":
    main()
