"""Landed migrations stay as they landed: a database made by an earlier release upgrades.

Each component's steps are applied one by one to an empty database, and the schema after
each step is compared with the one recorded when that step landed
(tests/data/landed_schemas.json). Editing a landed step in place would leave existing
databases on the old schema with code that expects the new one; a change goes in a new
step, and its schema is then added to the record.
"""

from __future__ import annotations

import hashlib
import json

import sqlite_utils

from kb import schema as kb_schema
from quizzes import accounts, attempts, demo, review, studyplan
from tests.conftest import DATA

COMPONENTS = {
    "kb": kb_schema.STEPS,
    "accounts": accounts.STEPS,
    "attempts": attempts._MIGRATIONS,
    "studyplan": studyplan.STEPS,
    "demo": demo.STEPS,
    "review": review.STEPS,
}
RECORD = DATA / "landed_schemas.json"


def schema_after_each_step(steps) -> list[str]:
    """A digest of the whole schema (every table, index and trigger) after each step."""
    db = sqlite_utils.Database(memory=True)
    digests = []
    for step in steps:
        step(db)
        rows = db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
        ).fetchall()
        digests.append(hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16])
    return digests


def test_every_landed_migration_step_still_makes_the_schema_it_made_when_it_landed():
    landed = json.loads(RECORD.read_text(encoding="utf-8"))
    now = {name: schema_after_each_step(steps) for name, steps in COMPONENTS.items()}
    changed = [
        f"{name} v{number}"
        for name, digests in landed.items()
        for number, digest in enumerate(digests, start=1)
        if now[name][number - 1 : number] != [digest]
    ]
    assert changed == [], (
        f"landed migration steps changed: {changed}. Add a new step instead; "
        f"record a new step's schema in {RECORD.name}."
    )
    assert set(landed) == set(COMPONENTS)
