"""The server-side login session store (quizzes/sessions.py) and the two routes that hand
the browser its cookie and take it away (ui/login_cookie.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.requests import Request

from base.clock import to_stamp
from base.settings import Settings
from base.store import open_db
from quizzes.accounts import (
    create_account,
    deactivate_account,
    ensure_schema,
    reset_password,
    update_person,
)
from quizzes.login import change_password
from quizzes.people import Person, Role
from quizzes.sessions import (
    SessionCheck,
    SessionEnd,
    check_session,
    claim_session,
    end_session,
    keep_session,
    start_session,
)
from ui.login_cookie import COOKIE, PIXEL, clear_login_cookie, set_login_cookie

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
IDLE = 30
PASSWORD = "Wenming2025"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@pytest.fixture
def zhang(accounts_db) -> Person:
    """张伟 of 办公室, past his first login."""
    create_account(
        accounts_db, "1001", "张伟", "办公室", "职工", NOW, initial_password="Chushi2025"
    )
    return change_password(accounts_db, "1001", "Chushi2025", PASSWORD, NOW)


def logged_in(accounts_db, person: Person, at: datetime = NOW) -> tuple[int, str]:
    """A login whose browser has claimed its cookie: (session id, token)."""
    new = start_session(accounts_db, person, at, IDLE)
    token = claim_session(accounts_db, new.code, at)
    assert token is not None
    return new.id, token


def live(person: Person, session_id: int, token: str) -> SessionCheck:
    return SessionCheck(
        person=person, session_id=session_id, token_hash=hashlib.sha256(token.encode()).hexdigest()
    )


def test_a_login_is_found_by_its_page_session_and_by_its_cookie(accounts_db, zhang):
    new = start_session(accounts_db, zhang, NOW, IDLE)
    # Before the browser claims its cookie, only the page session that logged in has it.
    assert check_session(accounts_db, NOW, IDLE, session_id=new.id) == SessionCheck(
        person=zhang, session_id=new.id
    )
    token = claim_session(accounts_db, new.code, NOW + timedelta(seconds=5))
    assert token is not None and len(token) == 43
    expected = live(zhang, new.id, token)
    assert check_session(accounts_db, NOW, IDLE, session_id=new.id) == expected
    assert check_session(accounts_db, NOW, IDLE, token=token) == expected


def test_only_hashes_of_the_token_and_the_code_are_stored(accounts_db, zhang):
    new = start_session(accounts_db, zhang, NOW, IDLE)
    (row,) = accounts_db.execute("SELECT token_hash, code_hash FROM login_sessions").fetchall()
    assert row == (None, hashlib.sha256(new.code.encode()).hexdigest())
    token = claim_session(accounts_db, new.code, NOW)
    assert token is not None
    (row,) = accounts_db.execute("SELECT * FROM login_sessions").fetchall()
    assert row == (
        new.id,
        "1001",
        zhang.session_version,
        hashlib.sha256(token.encode()).hexdigest(),
        None,
        None,
        to_stamp(NOW),
        to_stamp(NOW),
    )
    # Neither secret is anywhere in the database file.
    accounts_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = Path(accounts_db.conn.execute("PRAGMA database_list").fetchone()[2]).read_bytes()
    assert token.encode() not in data and new.code.encode() not in data


def test_the_one_time_code_works_once_and_only_for_a_minute(accounts_db, zhang):
    first = start_session(accounts_db, zhang, NOW, IDLE)
    assert claim_session(accounts_db, first.code, NOW + timedelta(seconds=59)) is not None
    assert claim_session(accounts_db, first.code, NOW + timedelta(seconds=60)) is None  # used
    late = start_session(accounts_db, zhang, NOW, IDLE)
    assert claim_session(accounts_db, late.code, NOW + timedelta(seconds=60)) is None  # expired
    assert claim_session(accounts_db, "", NOW) is None
    assert claim_session(accounts_db, late.code + "x", NOW) is None
    # The late session is still the login of its own page session.
    assert check_session(accounts_db, NOW + minutes(1), IDLE, session_id=late.id).person == zhang


def test_a_tampered_unknown_or_overlong_token_finds_nothing(accounts_db, zhang):
    _, token = logged_in(accounts_db, zhang)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    gone = SessionCheck(ended=SessionEnd.GONE)
    for other in (tampered, token.upper(), "x" * 43, "x" * 10_000, ""):
        assert check_session(accounts_db, NOW, IDLE, token=other) == gone
    assert check_session(accounts_db, NOW, IDLE) == gone
    assert check_session(accounts_db, NOW, IDLE, session_id=999) == gone
    assert check_session(accounts_db, NOW, IDLE, token=token).person == zhang


def test_an_idle_session_ends_and_activity_keeps_it(accounts_db, zhang):
    session_id, token = logged_in(accounts_db, zhang)
    # Activity is written at most once a minute: a check 30 s in writes nothing.
    check_session(accounts_db, NOW + timedelta(seconds=30), IDLE, token=token)
    assert accounts_db.execute("SELECT last_seen_at FROM login_sessions").fetchone()[0] == to_stamp(
        NOW
    )
    assert check_session(accounts_db, NOW + minutes(20), IDLE, token=token) == live(
        zhang, session_id, token
    )
    assert accounts_db.execute("SELECT last_seen_at FROM login_sessions").fetchone()[0] == to_stamp(
        NOW + minutes(20)
    )
    # The touch is committed without an fsync; the connection is back at FULL after it.
    assert accounts_db.execute("PRAGMA synchronous").fetchone()[0] == 2
    # 29 minutes after the last activity it is live; 30 after it, over and deleted.
    assert (
        check_session(accounts_db, NOW + minutes(49), IDLE, session_id=session_id).person == zhang
    )
    ended = check_session(accounts_db, NOW + minutes(79), IDLE, token=token)
    assert ended == SessionCheck(
        ended=SessionEnd.IDLE, token_hash=hashlib.sha256(token.encode()).hexdigest()
    )
    assert accounts_db.execute("SELECT count(*) FROM login_sessions").fetchone()[0] == 0
    assert check_session(accounts_db, NOW + minutes(79), IDLE, token=token).ended is SessionEnd.GONE


def test_logout_ends_the_session_for_every_tab(accounts_db, zhang):
    session_id, token = logged_in(accounts_db, zhang)
    assert end_session(accounts_db, session_id) == hashlib.sha256(token.encode()).hexdigest()
    gone = SessionCheck(ended=SessionEnd.GONE)
    assert check_session(accounts_db, NOW, IDLE, session_id=session_id) == gone
    assert check_session(accounts_db, NOW, IDLE, token=token) == gone
    assert end_session(accounts_db, session_id) is None


def test_a_password_change_ends_the_other_sessions_and_keeps_its_own(accounts_db, zhang):
    mine, my_token = logged_in(accounts_db, zhang)
    other, other_token = logged_in(accounts_db, zhang)
    changed = change_password(accounts_db, "1001", PASSWORD, "Xinmima2026q", NOW + minutes(1))
    keep_session(accounts_db, mine, changed)
    assert check_session(accounts_db, NOW + minutes(2), IDLE, token=my_token) == live(
        changed, mine, my_token
    )
    assert check_session(accounts_db, NOW + minutes(2), IDLE, token=other_token).ended is (
        SessionEnd.CHANGED
    )
    assert (
        check_session(accounts_db, NOW + minutes(2), IDLE, session_id=other).ended
        is SessionEnd.GONE
    )


@pytest.mark.parametrize(
    ("change", "ended"),
    [
        (lambda accounts_db: reset_password(accounts_db, "1001", NOW), SessionEnd.CHANGED),
        (lambda accounts_db: deactivate_account(accounts_db, "1001", NOW), SessionEnd.INACTIVE),
        (
            lambda accounts_db: update_person(
                accounts_db, "1001", "张伟", "办公室", Role.HEAD, NOW
            ),
            SessionEnd.CHANGED,
        ),
    ],
    ids=["reset", "deactivation", "role change"],
)
def test_a_reset_a_deactivation_or_a_role_change_ends_every_session(
    accounts_db, zhang, change, ended
):
    first, token = logged_in(accounts_db, zhang)
    second = start_session(accounts_db, zhang, NOW, IDLE).id
    change(accounts_db)
    assert check_session(accounts_db, NOW, IDLE, token=token).ended is ended
    assert check_session(accounts_db, NOW, IDLE, session_id=second).ended is ended
    assert check_session(accounts_db, NOW, IDLE, session_id=first).ended is SessionEnd.GONE


def test_a_deleted_sessions_id_is_never_given_again(accounts_db, zhang):
    create_account(
        accounts_db, "1002", "李强", "监测站", "职工", NOW, initial_password="Chushi2025"
    )
    li = change_password(accounts_db, "1002", "Chushi2025", PASSWORD, NOW)
    old, _ = logged_in(accounts_db, zhang)
    end_session(accounts_db, old)
    new, _ = logged_in(accounts_db, li)
    assert new != old
    assert check_session(accounts_db, NOW, IDLE, session_id=old).person is None


def test_a_new_login_clears_away_idle_sessions(accounts_db, zhang):
    stale, _ = logged_in(accounts_db, zhang)
    kept, _ = logged_in(accounts_db, zhang, NOW + minutes(10))
    start_session(accounts_db, zhang, NOW + minutes(30), IDLE)
    ids = [row[0] for row in accounts_db.execute("SELECT id FROM login_sessions ORDER BY id")]
    assert stale not in ids and kept in ids and len(ids) == 2


# -- the routes ----------------------------------------------------------------------------


def request(path: str, query: str = "", cookie: str | None = None, **headers: str) -> Request:
    raw = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "query_string": query.encode(),
            "headers": raw,
            "server": ("127.0.0.1", 8501),
        }
    )


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    database = open_db(Settings.from_env().db_path)
    ensure_schema(database)
    yield database
    database.close()


def test_the_session_route_sets_an_httponly_strict_cookie_once(app_db):
    create_account(app_db, "1001", "张伟", "办公室", "职工", NOW, initial_password="Chushi2025")
    zhang = change_password(app_db, "1001", "Chushi2025", PASSWORD, NOW)
    new = start_session(app_db, zhang, datetime.now(UTC), IDLE)
    response = set_login_cookie(request("/_auth/session", f"code={new.code}"))
    (cookie,) = response.headers.getlist("set-cookie")
    name_value, *attributes = cookie.split("; ")
    token = name_value.removeprefix(f"{COOKIE}=")
    assert sorted(attributes) == ["HttpOnly", "Path=/", "SameSite=strict"]
    assert (response.body, response.headers["cache-control"]) == (PIXEL, "no-store")
    assert check_session(app_db, datetime.now(UTC), IDLE, token=token).session_id == new.id
    # The code is spent; behind an HTTPS terminator a new login's cookie is Secure.
    again = set_login_cookie(request("/_auth/session", f"code={new.code}"))
    assert again.headers.getlist("set-cookie") == [] and again.body == PIXEL
    other = start_session(app_db, zhang, datetime.now(UTC), IDLE)
    secure = set_login_cookie(
        request("/_auth/session", f"code={other.code}", x_forwarded_proto="https")
    )
    assert "; Secure" in secure.headers["set-cookie"]
    # A link or an image on another site cannot plant a login (its code stays unused).
    planted = start_session(app_db, zhang, datetime.now(UTC), IDLE)
    for site in ("cross-site", "same-site", "none"):
        refused = set_login_cookie(
            request("/_auth/session", f"code={planted.code}", sec_fetch_site=site)
        )
        assert refused.headers.getlist("set-cookie") == []
    mine = set_login_cookie(
        request("/_auth/session", f"code={planted.code}", sec_fetch_site="same-origin")
    )
    assert mine.headers["set-cookie"].startswith(f"{COOKIE}=")


def test_the_clear_route_takes_away_only_the_cookie_it_names():
    token = "t" * 43
    named = hashlib.sha256(token.encode()).hexdigest()
    cleared = clear_login_cookie(request("/_auth/clear", f"s={named}", cookie=token))
    (cookie,) = cleared.headers.getlist("set-cookie")
    assert cookie.startswith(f'{COOKIE}=""; ') and "Max-Age=0" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    # A newer login's cookie stays, whatever an old page asks.
    newer = clear_login_cookie(request("/_auth/clear", f"s={named}", cookie="n" * 43))
    assert newer.headers.getlist("set-cookie") == []
    assert (
        clear_login_cookie(request("/_auth/clear", "", cookie=token)).headers.getlist("set-cookie")
        == []
    )
