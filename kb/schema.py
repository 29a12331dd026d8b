"""The knowledge base's tables, as migrations applied in order."""

from __future__ import annotations

import sqlite_utils

from base.store import migrate


def _create_v1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,          -- relative to the corpus folder, '/' separated
            title TEXT NOT NULL,
            format TEXT NOT NULL,
            encoding TEXT,
            content_hash TEXT NOT NULL,         -- sha256 of the file's bytes
            chars INTEGER NOT NULL,
            ingested_at TEXT NOT NULL
        );
        CREATE TABLE blocks (                   -- paragraphs and headings, for the reader
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            level INTEGER NOT NULL,
            heading_path TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (doc_id, seq)
        );
        CREATE TABLE chunks (                   -- passages, the unit of search
            id INTEGER PRIMARY KEY,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            block_seq INTEGER NOT NULL,
            heading_path TEXT NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (doc_id, seq)
        );
        CREATE TABLE chunk_units (              -- what the embedder is given for a passage
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,               -- 0: the passage; then its clause windows
            text TEXT NOT NULL,
            embed_hash TEXT NOT NULL,           -- sha256 of text
            PRIMARY KEY (chunk_id, seq)
        );
        CREATE INDEX chunk_units_embed_hash ON chunk_units(embed_hash);
        -- rowid = chunks.id; body and path hold characters and bigrams (kb.lexical)
        CREATE VIRTUAL TABLE chunks_fts USING fts5(body, path, tokenize = 'unicode61');
        CREATE TABLE vectors (
            embed_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,               -- little-endian float32, normalised
            PRIMARY KEY (embed_hash, model)
        );
        CREATE TABLE kb_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO kb_state (key, value) VALUES ('generation', 0);
        """
    )


def _pages_and_ocr_v2(db: sqlite_utils.Database) -> None:
    # The page a paragraph of a PDF or image starts on, and whether OCR read it (the
    # reader marks that text as possibly wrong); OCR results kept per page so that an
    # interrupted run resumes where it stopped.
    for statement in (
        "ALTER TABLE blocks ADD COLUMN page INTEGER",  # from 1; NULL without pages
        "ALTER TABLE blocks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE ocr_pages (
            content_hash TEXT NOT NULL,         -- sha256 of the file's bytes
            page INTEGER NOT NULL,              -- from 0
            result TEXT NOT NULL,               -- JSON: image size, dpi, boxes with text
            recognized_at TEXT NOT NULL,
            PRIMARY KEY (content_hash, page)
        )""",
    ):
        db.execute(statement)


STEPS = [_create_v1, _pages_and_ocr_v2]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create or upgrade the knowledge-base tables; returns the schema version."""
    return migrate(db, "kb", STEPS)


def generation(db: sqlite_utils.Database) -> int:
    """A number that changes whenever the index changes, for in-memory caches to follow."""
    row = db.execute("SELECT value FROM kb_state WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def bump_generation(db: sqlite_utils.Database) -> None:
    """Mark the index as changed; call inside the write transaction that changed it."""
    db.execute("UPDATE kb_state SET value = value + 1 WHERE key = 'generation'")
