"""The pages of the app, by name, and which roles see which."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from quizzes.accounts import Role


def _page_specs() -> dict[str, tuple[Callable[[], None], str, str, str]]:
    # Imported here so that page modules can link to each other through page().
    from ui.admin_pages import admin_page
    from ui.auth import account_page
    from ui.office_pages import dashboard_page, progress_page
    from ui.quiz_pages import practice_page, quizzes_page
    from ui.reader_page import reader_page
    from ui.search_page import search_page

    return {
        "search": (search_page, "政策检索", "search", ":material/search:"),
        "reader": (reader_page, "文件阅读", "reader", ":material/menu_book:"),
        "quizzes": (quizzes_page, "学习测验", "quizzes", ":material/quiz:"),
        "practice": (practice_page, "错题练习", "practice", ":material/replay:"),
        "progress": (progress_page, "我的进度", "progress", ":material/checklist:"),
        "dashboard": (dashboard_page, "参与情况", "dashboard", ":material/monitoring:"),
        "account": (account_page, "我的账号", "account", ":material/person:"),
        "admin": (admin_page, "管理", "admin", ":material/settings:"),
    }


def page(name: str) -> st.Page:
    """The st.Page called ``name`` (for st.navigation, st.page_link and st.switch_page)."""
    function, title, url_path, icon = _page_specs()[name]
    return st.Page(function, title=title, url_path=url_path, icon=icon, default=name == "search")


def pages_for(role: Role) -> dict[str, list[st.Page]]:
    """The navigation a person of ``role`` gets. Each page still checks the role itself."""
    sections: dict[str, list[st.Page]] = {
        "学习": [
            page("search"),
            page("reader"),
            page("quizzes"),
            page("practice"),
            page("progress"),
        ],
        "账号": [page("account")],
    }
    if role == Role.HEAD:
        sections["创建办"] = [page("dashboard")]
    if role == Role.ADMIN:
        sections["创建办"] = [page("dashboard"), page("admin")]
    return sections


def all_pages() -> list[st.Page]:
    """Every page, for the logged-out navigation that only keeps the URL."""
    return [page(name) for name in _page_specs()]
