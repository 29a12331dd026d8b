"""The navigation: which pages each role sees. Registers every page function by route."""

from __future__ import annotations

import streamlit as st

from quizzes.people import Role
from ui.admin_pages import admin_page
from ui.auth import account_page
from ui.office_pages import dashboard_page, progress_page
from ui.quiz_pages import practice_page, quizzes_page
from ui.reader_page import reader_page
from ui.routes import ROUTES, page, register
from ui.search_page import search_page

register(
    {
        "search": search_page,
        "reader": reader_page,
        "quizzes": quizzes_page,
        "practice": practice_page,
        "progress": progress_page,
        "dashboard": dashboard_page,
        "account": account_page,
        "admin": admin_page,
    }
)


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
    return [page(name) for name in ROUTES]
