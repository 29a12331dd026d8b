"""The pages OCR has read, kept by file content hash in ``ocr_pages`` (kb's schema), so an
interrupted ingest resumes at the next page. Apart from kb.ocr so the parsing child, which
runs OCR but never touches the database, does not import the store."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from base.store import write
from kb.ocr import OcrPage


def load_ocr_pages(db: sqlite_utils.Database, content_hash: str) -> dict[int, OcrPage]:
    """The pages of a file (by content hash) that OCR has already read, by page index."""
    return {
        page: OcrPage.from_json(raw)
        for page, raw in db.execute(
            "SELECT page, result FROM ocr_pages WHERE content_hash = ?", [content_hash]
        )
    }


def save_ocr_page(db: sqlite_utils.Database, content_hash: str, page: int, result: OcrPage) -> None:
    """Keep one recognised page, in its own transaction, so an interrupted run keeps it."""
    with write(db):
        db.execute(
            "INSERT OR REPLACE INTO ocr_pages (content_hash, page, result, recognized_at)"
            " VALUES (?, ?, ?, ?)",
            [content_hash, page, result.to_json(), datetime.now(UTC).isoformat(timespec="seconds")],
        )
