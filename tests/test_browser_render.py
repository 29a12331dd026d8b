"""In the browser, a document's web and mail addresses are text, not links, and a
right-to-left override cannot turn ``txt`` into ``exe`` (ui/render.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from base.store import open_db
from kb.ingest import sync_corpus
from tests.browser_support import (
    CHROMIUM,
    AppServer,
    browser_tab,
    log_in,
    prepare_data,
    start_app,
    wait_for_app_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

ADDRESSES = (
    "举报请访问 https://evil.example/x 或 www.evil.example，"
    "也可发邮件至 report@evil.example。附件 invoice\u202etxt.exe 请勿打开。"
)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    """The app over the shipped corpus plus one notice full of addresses."""
    folder = tmp_path_factory.mktemp("browser-render")
    settings = prepare_data(folder / "data")
    extra = folder / "extra"
    extra.mkdir()
    (extra / "通知.md").write_text(f"# 通知\n\n{ADDRESSES}\n", encoding="utf-8")
    db = open_db(settings.db_path)
    try:
        report = sync_corpus(db, extra, None, [extra / "通知.md"])
        assert not report.errors, report.errors
    finally:
        db.close()
    server = start_app(folder / "data", folder / "streamlit.log")
    yield server
    server.stop()


def test_addresses_in_a_document_are_not_links_and_bidi_is_neutral(browser, app_server, tmp_path):
    with browser_tab(browser, app_server, tmp_path) as page:
        page.goto(f"{app_server.url}/reader?doc=通知.md")
        wait_for_app_idle(page)
        log_in(page)
        wait_for_app_idle(page)
        body = page.get_by_test_id("stMain")
        expect(body).to_contain_text("evil.example/x")
        links = [
            a.get_attribute("href")
            for a in page.locator("[data-testid='stMarkdownContainer'] a").all()
        ]
        shown = body.inner_text()
    assert [href for href in links if "evil" in (href or "")] == []
    assert "\u202e" not in shown and "invoicetxt.exe" in shown
