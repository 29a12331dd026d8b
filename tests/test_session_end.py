"""Widget callbacks run before the page's own login check: an idle-expired session's
callbacks save nothing and submit nothing (deactivation: tests/test_security_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from base.clock import to_stamp
from base.store import open_db
from tests.apptest_support import logged_in, open_page


def test_an_idle_expired_session_neither_saves_nor_submits(app_settings):
    at = logged_in()
    open_page(at, "quizzes")
    at.button(key="start-plan-basics").click().run()
    attempt_id = at.query_params["attempt"]
    # 31 minutes without a click (KB_SESSION_IDLE_MINUTES is 30), as the server saw it.
    db = open_db(app_settings.db_path)
    try:
        db.execute(
            "UPDATE login_sessions SET last_seen_at = ? WHERE id = ?",
            [to_stamp(datetime.now(UTC) - timedelta(minutes=31)), at.session_state["auth_session"]],
        )
    finally:
        db.close()
    radio = at.radio[0]
    radio.set_value("正确" if radio.options == ["正确", "错误"] else 0).run()
    assert [i.value for i in at.info] == ["长时间未操作，已自动退出，请重新登录。"]
    assert [t.label for t in at.text_input][:2] == ["工号", "密码"]

    db = open_db(app_settings.db_path)
    try:
        saved = db.execute(
            "SELECT count(*) FROM answers WHERE attempt_id = ?", [attempt_id]
        ).fetchone()
        status = db.execute("SELECT status FROM attempts WHERE id = ?", [attempt_id]).fetchone()
        sessions = db.execute("SELECT count(*) FROM login_sessions").fetchone()
    finally:
        db.close()
    assert (saved[0], status[0], sessions[0]) == (0, "in_progress", 0)
