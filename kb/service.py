"""Opening the knowledge base as the app and the command line use it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from base.settings import Settings
from base.store import PRIVATE_DIR_MODE, create_private_file, open_db
from kb.schema import ensure_schema


def prepare_data_dir(settings: Settings) -> None:
    """Create the data folder readable by its owner only (0700), or make it so."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    settings.data_dir.chmod(PRIVATE_DIR_MODE)


def open_kb(settings: Settings) -> sqlite_utils.Database:
    """Open the app's database with the knowledge-base schema in place."""
    prepare_data_dir(settings)
    db = open_db(settings.db_path)
    ensure_schema(db)
    return db


def backup_database(db: sqlite_utils.Database, target: Path) -> Path:
    """Copy the live database to ``target`` with SQLite's online backup API.

    The copy is consistent even while other connections write: it is a snapshot of one
    moment. It is written to a temporary file and renamed, so ``target`` is never a
    half-copied database. Like the database, it is readable by its owner only (0600).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    tmp.unlink(missing_ok=True)
    create_private_file(tmp)
    destination = sqlite3.connect(str(tmp))
    try:
        db.conn.backup(destination, pages=1024)
        destination.execute("PRAGMA journal_mode = DELETE")
    finally:
        destination.close()
    tmp.replace(target)
    return target
