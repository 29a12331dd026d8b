"""The login pages with Streamlit's AppTest over the real app.py: the first login's
password change keeps its login session, a password change ends the person's other
logins, and logging out ends the session on the server (the cookie: test_sessions.py and
test_browser_login.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from base.store import open_db
from quizzes.accounts import create_account
from quizzes.people import Role, get_person
from quizzes.sessions import check_session, start_session
from tests.apptest_support import APP, PASSWORD, logged_in, open_page, texts


def _sessions(settings) -> list[tuple]:
    db = open_db(settings.db_path)
    try:
        return db.execute("SELECT id, employee_no, session_version FROM login_sessions").fetchall()
    finally:
        db.close()


def _log_in_with_the_form(employee_no: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="login_employee_no").input(employee_no)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def test_the_first_login_sets_a_password_and_keeps_its_login(app_settings):
    db = open_db(app_settings.db_path)
    try:
        initial = create_account(db, "1003", "王芳", "办公室", Role.STAFF, datetime.now(UTC))
    finally:
        db.close()
    at = _log_in_with_the_form("1003", initial)
    # The login exists on the server already; nothing but the password form shows.
    (row,) = _sessions(app_settings)
    assert row[:2] == (at.session_state["auth_session"], "1003")
    assert [t.label for t in at.text_input] == ["当前密码", "新密码", "再次输入新密码"]
    for box, value in zip(at.text_input, (initial, "Xinmima2026q", "Xinmima2026q"), strict=True):
        box.input(value)
    at.button[0].click().run()
    assert at.title[0].value == "政策检索"
    db = open_db(app_settings.db_path)
    try:
        person = get_person(db, "1003")
    finally:
        db.close()
    # The change moved the session version on, and this login moved with it.
    assert _sessions(app_settings) == [(row[0], "1003", person.session_version)]
    assert person.session_version == row[2] + 1


def test_a_password_change_keeps_this_login_and_ends_the_others(app_settings):
    at = logged_in("1001")
    db = open_db(app_settings.db_path)
    try:
        other = start_session(db, get_person(db, "1001"), datetime.now(UTC), 30)
    finally:
        db.close()
    open_page(at, "account")
    for box, value in zip(at.text_input, (PASSWORD, "Xinmima2026q", "Xinmima2026q"), strict=True):
        box.input(value)
    next(b for b in at.button if b.label == "修改密码").click().run()
    assert texts(at.success) == ["密码已修改。"]
    db = open_db(app_settings.db_path)
    try:
        now = datetime.now(UTC)
        mine = check_session(db, now, 30, session_id=at.session_state["auth_session"])
        theirs = check_session(db, now, 30, session_id=other.id)
    finally:
        db.close()
    assert (mine.person.employee_no, theirs.person) == ("1001", None)


def test_logging_out_ends_the_login_on_the_server(app_settings):
    at = logged_in("1001")
    assert len(_sessions(app_settings)) == 1
    open_page(at, "account")
    next(b for b in at.button if b.label == "退出登录").click().run()
    assert texts(at.info) == ["已退出登录。"]
    assert [t.label for t in at.text_input][:2] == ["工号", "密码"]
    assert _sessions(app_settings) == []
