"""Every component's tables, created or upgraded in dependency order: what the app, the
command lines and the tests call on a database before they use it."""

from __future__ import annotations

import sqlite_utils

from kb.schema import ensure_schema as ensure_kb_schema
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.demo import ensure_schema as ensure_demo_schema
from quizzes.review import ensure_schema as ensure_review_schema
from quizzes.studyplan import ensure_schema as ensure_studyplan_schema


def ensure_schemas(db: sqlite_utils.Database) -> None:
    """Create or upgrade the tables of the knowledge base, accounts, attempts, the study
    plan, demo data and spaced review."""
    ensure_kb_schema(db)
    ensure_accounts_schema(db)
    ensure_attempts_schema(db)
    ensure_studyplan_schema(db)
    ensure_demo_schema(db)
    ensure_review_schema(db)
