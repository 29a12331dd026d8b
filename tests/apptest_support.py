"""Helpers for AppTest page tests: the app's environment, a logged-in session, pages."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from base.settings import PROJECT_ROOT, Settings
from base.store import open_db
from kb.ingest import sync_corpus
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.login import change_password
from quizzes.people import Role, get_person
from quizzes.sessions import start_session

APP = str(PROJECT_ROOT / "app.py")
NOW = datetime.now(UTC)
PASSWORD = "study2026ok"


def make_app_settings(tmp_path, monkeypatch) -> Settings:
    """The app's environment: a fresh data folder, the shipped corpus indexed, two people."""
    env = {
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_CORPUS_DIR": str(PROJECT_ROOT / "corpus"),
        "KB_EMBED_MODEL": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(env)
    db = open_kb(settings)
    ensure_accounts_schema(db)
    ensure_attempts_schema(db)
    sync_corpus(db, settings.corpus_dir, None)
    for employee_no, name, role in (("1001", "张敏", Role.STAFF), ("1002", "李强", Role.STAFF)):
        initial = create_account(db, employee_no, name, "监测站", role, NOW)
        change_password(db, employee_no, initial, PASSWORD, NOW)
    db.close()
    return settings


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Select a page registered by st.navigation (AppTest.switch_page takes files only).

    Relies on AppTest's page registry, a private detail of the pinned Streamlit.
    """
    for page_hash, info in at._registered_pages.items():
        if info.get("url_pathname") == url_path:
            at._page_hash = page_hash
            return at.run()
    raise AssertionError(f"no page {url_path!r} in {at._registered_pages}")


def log_in(at: AppTest, employee_no: str) -> AppTest:
    """Log ``at``'s session in as ``employee_no``: a login session on the server, as the
    login form makes, kept by the page session (AppTest has no cookies)."""
    settings = Settings.from_env()
    db = open_db(settings.db_path)
    try:
        person = get_person(db, employee_no)
        assert person is not None, employee_no
        session = start_session(db, person, datetime.now(UTC), settings.session_idle_minutes)
    finally:
        db.close()
    at.session_state["auth_session"] = session.id
    return at


def logged_in(employee_no: str = "1001") -> AppTest:
    return log_in(AppTest.from_file(APP, default_timeout=60), employee_no).run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def run_page_function(function_name: str, employee_no: str) -> AppTest:
    """Run one page function directly, as a session of ``employee_no`` would."""

    def script(name: str) -> None:
        import ui.admin_pages
        import ui.office_pages
        import ui.quiz_pages

        for module in (ui.admin_pages, ui.office_pages, ui.quiz_pages):
            if hasattr(module, name):
                getattr(module, name)()

    at = AppTest.from_function(script, args=(function_name,), default_timeout=60)
    return log_in(at, employee_no).run()
