"""Login, first-login password change, idle timeout, logout, and the role check that
every page makes on the server at the top of every run.

A login is a row of ``login_sessions`` (``quizzes.sessions``). The page session that logged
in keeps the row's id; the browser gets the row's token in an HttpOnly cookie
(``ui.login_cookie``), with which a reload or another tab finds the same login. Either way
the row is checked on the server at every page run and in every widget callback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import streamlit as st

from base.store import open_db
from quizzes.login import (
    MAX_LOGIN_EMPLOYEE_NO_LENGTH,
    MAX_LOGIN_PASSWORD_LENGTH,
    authenticate,
    change_password,
)
from quizzes.people import AccountError, Person, Role
from quizzes.sessions import (
    CODE_LIFETIME,
    SessionEnd,
    check_session,
    end_session,
    hash_secret,
    keep_session,
    start_session,
)
from ui.login_cookie import CLEAR_PATH, COOKIE, SET_PATH
from ui.render import md_text
from ui.serve import PROXY_TOKEN_ENV
from ui.serve import client_address as _client_address
from ui.services import get_db, get_settings

_SESSION = "auth_session"
"""The ``login_sessions`` row this page session is logged in with."""
_COOKIE_CODE = "auth_cookie_code"
"""(one-time code, valid until): the cookie this browser has yet to fetch."""
_DEAD_COOKIE = "auth_dead_cookie"
"""The hash of a cookie token whose session has ended: the browser is told to drop it."""
_NOTICE = "auth_notice"

_ENDED = {
    SessionEnd.IDLE: "长时间未操作，已自动退出，请重新登录。",
    SessionEnd.INACTIVE: "账号不可用，请联系创建办。",
    SessionEnd.CHANGED: "登录已失效（密码或账号已变更），请重新登录。",
    SessionEnd.GONE: "已退出登录，请重新登录。",
}


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


def _cookie_token() -> str | None:
    cookies = st.context.cookies
    # AppTest has no connection, so no cookies.
    token = cookies.get(COOKIE) if isinstance(cookies, Mapping) else None
    return token if isinstance(token, str) and token else None


def current_user() -> Person | None:
    """The logged-in person, re-read from the database on every run, or None.

    The page session's own login, else the one the browser's cookie names. A login ends
    at its next check when it was logged out (in any tab of the browser), after
    KB_SESSION_IDLE_MINUTES idle, and when the person's session version is no longer the
    one it logged in at (a reset, a password change in another browser, a deactivation,
    a role change: ``quizzes.login.end_sessions``).
    """
    session_id = st.session_state.get(_SESSION)
    token = None if session_id is not None else _cookie_token()
    if session_id is None and token is None:
        return None
    check = check_session(
        get_db(),
        _now(),
        get_settings().session_idle_minutes,
        session_id=session_id,
        token=token,
    )
    if check.person is None:
        st.session_state.pop(_SESSION, None)
        st.session_state.pop(_COOKIE_CODE, None)
        if token is not None:
            st.session_state[_DEAD_COOKIE] = hash_secret(token)
        elif check.token_hash is not None:
            st.session_state[_DEAD_COOKIE] = check.token_hash
        # A stale cookie of a session logged out earlier needs no word; anything else does.
        if check.ended is not None and (
            session_id is not None or check.ended is not SessionEnd.GONE
        ):
            st.session_state[_NOTICE] = _ENDED[check.ended]
        return None
    st.session_state[_SESSION] = check.session_id
    if check.token_hash is not None:
        st.session_state.pop(_COOKIE_CODE, None)
    return check.person


def login_cookie_image() -> str:
    """Markdown of the (invisible) image that gives this browser its login cookie, or
    that takes away a cookie whose session has ended (``ui.login_cookie``); "" for none.

    The first from the login until the browser has fetched it (a page or two), at most
    for the one-time code's lifetime; the second while the login page shows.
    """
    pending = st.session_state.get(_COOKIE_CODE)
    if pending is not None:
        code, until = pending
        if _now() < until:
            return f"![]({SET_PATH}?code={code})"
        st.session_state.pop(_COOKIE_CODE, None)
        return ""
    dead = st.session_state.get(_DEAD_COOKIE)
    if dead is not None and st.session_state.get(_SESSION) is None:
        return f"![]({CLEAR_PATH}?s={dead})"
    return ""


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
    this session's login is live, still ``person``'s and (if given) one of ``roles``.
    What it makes is a media file only from the click until Streamlit's next sweeps.
    """
    settings = get_settings()
    session_id = st.session_state.get(_SESSION)

    def generate() -> bytes:
        db = open_db(settings.db_path)
        try:
            check = check_session(db, _now(), settings.session_idle_minutes, session_id=session_id)
        finally:
            db.close()
        now = check.person
        if (
            session_id is None
            or now is None
            or now.employee_no != person.employee_no
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
    """End this login (every tab of the browser that shares it), and keep a message for
    the login page, which also takes the browser's cookie away."""
    session_id = st.session_state.pop(_SESSION, None)
    st.session_state.pop(_COOKIE_CODE, None)
    if session_id is not None:
        dead = end_session(get_db(), session_id)
        if dead is not None:
            st.session_state[_DEAD_COOKIE] = dead
    if message:
        st.session_state[_NOTICE] = message


def login_page(person: Person | None = None) -> None:
    """The login form; for ``person`` (logged in with an initial or reset password), the
    password change that must come first."""
    st.title("创建文明单位学习平台")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    if person is not None and person.must_change_password:
        _change_password_form(person, first_login=True)
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
    now = _now()
    new = start_session(get_db(), result.person, now, get_settings().session_idle_minutes)
    st.session_state[_SESSION] = new.id
    st.session_state[_COOKIE_CODE] = (new.code, now + CODE_LIFETIME)
    st.session_state.pop(_DEAD_COOKIE, None)
    st.rerun()


def _change_password_form(person: Person, first_login: bool) -> None:
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
        changed = change_password(get_db(), person.employee_no, old, new, _now(), client_address())
    except AccountError as exc:
        st.error(md_text(str(exc)))
        return
    # Every other login of this person is over; this one (all tabs of this browser) carries on.
    session_id = st.session_state.get(_SESSION)
    if session_id is not None:
        keep_session(get_db(), session_id, changed)
    st.session_state[_NOTICE] = "密码已修改。"
    st.rerun()


def account_page() -> None:
    """我的账号: who I am, change my password, log out."""
    person = require()
    st.title("我的账号")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.success(notice)
    st.markdown(
        md_text(
            f"工号：{person.employee_no}　姓名：{person.name}　"
            f"部门：{person.department}　角色：{person.role.label}"
        )
    )
    st.subheader("修改密码")
    _change_password_form(person, first_login=False)
    if st.button("退出登录"):
        logout(message="已退出登录。")
        st.rerun()
