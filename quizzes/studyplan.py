"""The ``studyplan`` component's tables and their migration steps.

The component landed as one step that made the tables of the plan's versions, the
reading confirmations, the exemptions and the frozen notices (通报). The code that uses
them is now split by concern (:mod:`quizzes.plan`, :mod:`quizzes.readings`,
:mod:`quizzes.exemptions`, :mod:`office.notices`), but a landed step stays whole and keeps
its component's name (``tests/test_migrations.py``): a later change to one of these tables
is a new step here.
"""

from __future__ import annotations

import sqlite_utils

from base.store import migrate
from quizzes.plan_status import create_plan_status

COMPONENT = "studyplan"


def _create_v1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Append-only: each save is a new version, so a past plan can be looked up.
        CREATE TABLE study_plan_versions (
            id INTEGER PRIMARY KEY,
            saved_at TEXT NOT NULL,
            saved_by TEXT NOT NULL,
            body TEXT NOT NULL                  -- JSON: {"phases": [...]}
        );
        -- One row per person and document: a second click changes nothing.
        CREATE TABLE readings (
            employee_no TEXT NOT NULL COLLATE NOCASE,
            doc_path TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            PRIMARY KEY (employee_no, doc_path)
        );
        CREATE INDEX readings_by_doc ON readings (doc_path, confirmed_at);
        -- Ended by setting removed_at, never deleted: figures as of the past stay exact.
        CREATE TABLE exemptions (
            id INTEGER PRIMARY KEY,
            employee_no TEXT NOT NULL COLLATE NOCASE,
            reason TEXT NOT NULL CHECK (reason <> ''),
            since TEXT NOT NULL,
            until TEXT,
            created_by TEXT NOT NULL,
            removed_at TEXT,
            removed_by TEXT
        );
        CREATE INDEX exemptions_by_person ON exemptions (employee_no, since);
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL CHECK (title <> ''),
            phase TEXT NOT NULL,
            phase_start TEXT NOT NULL,
            deadline TEXT NOT NULL,
            as_of TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            plan_version INTEGER,
            includes_demo INTEGER NOT NULL DEFAULT 0 CHECK (includes_demo IN (0, 1))
        );
        CREATE TABLE notice_departments (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            department TEXT NOT NULL,
            headcount INTEGER NOT NULL,
            completed_on_time INTEGER NOT NULL,
            completed_late INTEGER NOT NULL,
            overdue INTEGER NOT NULL,
            exempt INTEGER NOT NULL,
            PRIMARY KEY (notice_id, department)
        );
        CREATE TABLE notice_people (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            employee_no TEXT NOT NULL,
            name TEXT NOT NULL,
            department TEXT NOT NULL,
            PRIMARY KEY (notice_id, employee_no)
        );
        CREATE TABLE notice_missing (
            notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
            employee_no TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('quiz', 'document')),
            target TEXT NOT NULL,
            title TEXT NOT NULL,
            PRIMARY KEY (notice_id, employee_no, position)
        );
        """
    )


# Step 2: the kept per person status with each phase of the plan in force
# (quizzes.plan_status), built from the records already stored.
STEPS = [_create_v1, create_plan_status]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the study-plan tables (component ``studyplan``); returns the version."""
    return migrate(db, COMPONENT, STEPS)


def delete_demo_notices(db: sqlite_utils.Database) -> int:
    """Delete the notices frozen over demo people (``includes_demo``), with their rows,
    inside the caller's write transaction; returns how many notices went.

    Here rather than in :mod:`office.notices` because removing the demo data
    (:mod:`quizzes.demo`) must not reach up into the office's package.
    """
    return db.execute("DELETE FROM notices WHERE includes_demo = 1").rowcount
