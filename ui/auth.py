"""Login, first-login password change, idle timeout, logout, and the role check that
every page makes on the server at the top of every run."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import streamlit as st

from base.store import open_db
from quizzes.login import (
    MAX_LOGIN_EMPLOYEE_NO_LENGTH,
    MAX_LOGIN_PASSWORD_LENGTH,
    LoginStatus,
    authenticate,
    change_password,
    session_expired,
)
from quizzes.people import AccountError, Person, Role, get_person
from ui.render import md_text
from ui.serve import PROXY_TOKEN_ENV
from ui.serve import client_address as _client_address
from ui.services import get_db, get_settings

_USER = "auth_employee_no"
_SEEN = "auth_last_seen"
_MUST_CHANGE = "auth_must_change"
_VERSION = "auth_session_version"


def _now() -> datetime:
    return datetime.now(UTC)


def client_address() -> str:
    """This session's client address: forwarded by ``ui/serve.py``'s proxy, or the peer's."""
    headers, peer = st.context.headers, st.context.ip_address
    # AppTest has no connection: neither is what a server session gives.
    return _client_address(
        headers if isinstance(headers, Mapping) else {},
        peer if isinstance(peer, str) else None,
        os.environ.get(PROXY_TOKEN_ENV),
    )


def current_user() -> Person | None:
    """The logged-in person, re-read from the database on every run, or None.

    A session ends at its next click when the person's session version is no longer the
    one it logged in at (a reset, a password change in another session, a deactivation,
    a role change: ``quizzes.login.end_sessions``), and after
    KB_SESSION_IDLE_MINUTES idle.
    """
    employee_no = st.session_state.get(_USER)
    if not employee_no:
        return None
    now = _now()
    last_seen = st.session_state.get(_SEEN, now)
    if session_expired(last_seen, now, get_settings().session_idle_minutes):
        logout(message="长时间未操作，已自动退出，请重新登录。")
        return None
    person = get_person(get_db(), employee_no)
    if person is None or not person.active:
        logout(message="账号不可用，请联系创建办。")
        return None
    if person.session_version != st.session_state.get(_VERSION):
        logout(message="登录已失效（密码或账号已变更），请重新登录。")
        return None
    st.session_state[_SEEN] = now
    return person


def signed_in(employee_no: str) -> bool:
    """Whether this session is still logged in as ``employee_no``, past any password change.

    For widget callbacks: they run before the page, and so before its :func:`require`.
    A session that has ended is logged out here, and the page run that follows shows
    the login form.
    """
    person = current_user()
    return (
        person is not None
        and not person.must_change_password
        and person.employee_no.lower() == employee_no.lower()
    )


def on_demand(person: Person, make: Callable[[], bytes], *roles: Role) -> Callable[[], bytes]:
    """A download button's ``data``: ``make`` runs when the button is clicked, not before.

    Streamlit runs it on another thread, outside any page run, so it checks again that
    ``person`` is active, still at this session's version and (if given) one of ``roles``.
    What it makes is a media file only from the click until Streamlit's next sweeps.
    """
    db_path = get_settings().db_path
    version = st.session_state.get(_VERSION)

    def generate() -> bytes:
        db = open_db(db_path)
        try:
            now = get_person(db, person.employee_no)
        finally:
            db.close()
        if (
            now is None
            or not now.active
            or now.session_version != version
            or (roles and now.role not in roles)
        ):
            raise PermissionError("the session that showed this download has ended")
        return make()

    return generate


def require(*roles: Role) -> Person:
    """Stop the page unless a logged-in person with one of ``roles`` (any, if none) runs it."""
    person = current_user()
    if person is None or person.must_change_password:
        st.error("请先登录。")
        st.stop()
    if roles and person.role not in roles:
        st.error("无权访问此页面。")
        st.stop()
    return person


def logout(message: str | None = None) -> None:
    """End the session's login (and keep a message for the login page)."""
    for key in (_USER, _SEEN, _MUST_CHANGE, _VERSION):
        st.session_state.pop(key, None)
    if message:
        st.session_state["auth_notice"] = message


def login_page() -> None:
    """The login form, then the first-login password change when required."""
    st.title("创建文明单位学习平台")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    if st.session_state.get(_MUST_CHANGE):
        _change_password_form(first_login=True)
        return
    with st.form("login"):
        employee_no = st.text_input(
            "工号", key="login_employee_no", max_chars=MAX_LOGIN_EMPLOYEE_NO_LENGTH
        )
        password = st.text_input(
            "密码", type="password", key="login_password", max_chars=MAX_LOGIN_PASSWORD_LENGTH
        )
        submitted = st.form_submit_button("登录", type="primary")
    if not submitted:
        return
    # A widget's max_chars binds the browser only: the core checks the lengths again.
    result = authenticate(get_db(), employee_no.strip(), password, _now(), client_address())
    if not result.authenticated or result.person is None:
        st.error(md_text(result.message))
        return
    st.session_state[_USER] = result.person.employee_no
    st.session_state[_VERSION] = result.person.session_version
    st.session_state[_SEEN] = _now()
    if result.status == LoginStatus.MUST_CHANGE_PASSWORD:
        st.session_state[_MUST_CHANGE] = True
    st.rerun()


def _change_password_form(first_login: bool) -> None:
    employee_no = st.session_state.get(_USER)
    if not employee_no:
        return
    if first_login:
        st.warning(
            "这是初始密码，请先设置新密码（至少 8 位，须含字母和数字，且不能是常见或容易猜到的密码）。"
        )
    with st.form("change_password", clear_on_submit=True):
        limit = MAX_LOGIN_PASSWORD_LENGTH
        old = st.text_input("当前密码", type="password", max_chars=limit)
        new = st.text_input("新密码", type="password", max_chars=limit)
        again = st.text_input("再次输入新密码", type="password", max_chars=limit)
        submitted = st.form_submit_button("修改密码", type="primary")
    if not submitted:
        return
    if new != again:
        st.error("两次输入的新密码不一致。")
        return
    try:
        person = change_password(get_db(), employee_no, old, new, _now(), client_address())
    except AccountError as exc:
        st.error(md_text(str(exc)))
        return
    # Every other session of this person is over; this one carries on.
    st.session_state[_VERSION] = person.session_version
    st.session_state.pop(_MUST_CHANGE, None)
    st.session_state["auth_notice"] = "密码已修改。"
    st.rerun()


def account_page() -> None:
    """我的账号: who I am, change my password, log out."""
    person = require()
    st.title("我的账号")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.success(notice)
    st.markdown(
        md_text(
            f"工号：{person.employee_no}　姓名：{person.name}　"
            f"部门：{person.department}　角色：{person.role.label}"
        )
    )
    st.subheader("修改密码")
    _change_password_form(first_login=False)
    if st.button("退出登录"):
        logout(message="已退出登录。")
        st.rerun()
