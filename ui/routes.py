"""The app's pages by name: titles, addresses and icons, and the registered st.Page objects.

Pages link to each other through :func:`page` and import only this module to do so; the
page functions are registered by :mod:`ui.nav`, which imports every page module. So no
page imports another page, and nothing here imports a page: the import graph has no circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Route:
    """A page's title (shown in the navigation), address (``/url_path``) and icon."""

    title: str
    url_path: str
    icon: str


ROUTES: dict[str, Route] = {
    "search": Route("政策检索", "search", ":material/search:"),
    "reader": Route("文件阅读", "reader", ":material/menu_book:"),
    "quizzes": Route("学习测验", "quizzes", ":material/quiz:"),
    "practice": Route("错题练习", "practice", ":material/replay:"),
    "progress": Route("我的进度", "progress", ":material/checklist:"),
    "dashboard": Route("参与情况", "dashboard", ":material/monitoring:"),
    "account": Route("我的账号", "account", ":material/person:"),
    "admin": Route("管理", "admin", ":material/settings:"),
}
DEFAULT_PAGE = "search"

_functions: dict[str, Callable[[], None]] = {}


def register(functions: dict[str, Callable[[], None]]) -> None:
    """Register the page functions by route name (:mod:`ui.nav` does, once per process)."""
    unknown = set(functions) - set(ROUTES)
    if unknown:
        raise KeyError(f"no route for {sorted(unknown)}")
    _functions.update(functions)


def _not_registered() -> None:
    # Only reachable when a page runs on its own (a test of one page function): a link
    # built with this stand-in still leads to the page of the same address, because
    # Streamlit identifies a page by its url_path.
    st.error("页面未注册。")


def page(name: str) -> st.Page:
    """The st.Page called ``name`` (for st.navigation, st.page_link and st.switch_page)."""
    route = ROUTES[name]
    return st.Page(
        _functions.get(name, _not_registered),
        title=route.title,
        url_path=route.url_path,
        icon=route.icon,
        default=name == DEFAULT_PAGE,
    )
