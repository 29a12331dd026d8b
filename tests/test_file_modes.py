"""The data folder, the database with its -wal and -shm, and backups are private (0700 and
0600) whatever the umask: they hold password hashes and the roster."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from base.settings import PROJECT_ROOT, Settings
from kb.service import backup_database, open_kb
from quizzes.accounts import create_account
from quizzes.accounts import ensure_schema as ensure_accounts_schema


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_new_install_is_private_under_umask_022(tmp_path, umask_022):
    settings = Settings.from_env({"KB_DATA_DIR": str(tmp_path / "data")})
    db = open_kb(settings)
    ensure_accounts_schema(db)
    create_account(db, "1001", "张伟", "办公室", "职工", datetime.now(UTC))
    backup = backup_database(db, tmp_path / "backups" / "app-backup.sqlite3")
    db_path = settings.db_path
    modes = {
        "data": mode(settings.data_dir),
        "db": mode(db_path),
        "wal": mode(db_path.with_name("app.sqlite3-wal")),
        "shm": mode(db_path.with_name("app.sqlite3-shm")),
        "backup": mode(backup),
    }
    db.close()
    assert modes == {
        "data": "0o700",
        "db": "0o600",
        "wal": "0o600",
        "shm": "0o600",
        "backup": "0o600",
    }
    # A file made under the same umask by anything else would be world-readable.
    (tmp_path / "other").write_text("x")
    assert mode(tmp_path / "other") == "0o644"


def test_an_existing_install_is_made_private_when_opened(tmp_path, umask_022):
    settings = Settings.from_env({"KB_DATA_DIR": str(tmp_path / "data")})
    open_kb(settings).close()
    settings.data_dir.chmod(0o755)
    for name in ("app.sqlite3", "app.sqlite3-wal", "app.sqlite3-shm"):
        path = settings.data_dir / name
        if path.exists():
            path.chmod(0o644)
    open_kb(settings).close()
    assert mode(settings.data_dir) == "0o700"
    assert mode(settings.db_path) == "0o600"


def test_the_backup_command_writes_a_private_copy(tmp_path):
    settings = Settings.from_env({"KB_DATA_DIR": str(tmp_path / "data")})
    open_kb(settings).close()
    env = {**os.environ, "KB_DATA_DIR": str(settings.data_dir)}
    target = tmp_path / "copy.sqlite3"
    done = subprocess.run(
        ["sh", "-c", f'umask 022 && "{sys.executable}" -m kb backup "{target}"'],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert mode(target) == "0o600"


def test_opening_another_connection_keeps_the_locks_of_the_open_ones(tmp_path):
    # Closing any descriptor of a database file drops every POSIX lock the process holds
    # on it, and SQLite then takes the others' WAL for abandoned (writes were lost):
    # making the file private must never open and close an existing database.
    from base.store import open_db

    path = tmp_path / "app.sqlite3"
    holder = open_db(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("INSERT INTO t VALUES (1)")
    before = locks_on(path)
    open_db(path).close()  # another session's connection comes and goes
    after = locks_on(path)
    holder.close()
    assert before and after == before


def locks_on(path) -> list[str]:
    """This process's POSIX locks on ``path`` (/proc/locks: type, mode, range)."""
    inode = f":{path.stat().st_ino} "
    pid = f" {os.getpid()} "
    with open("/proc/locks", encoding="ascii") as table:
        return sorted(
            " ".join(line.split()[1:4] + line.split()[6:])
            for line in table
            if inode in line and pid in line
        )
