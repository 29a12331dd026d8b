"""Reading documents back out of the index: the list, one document, a passage in context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlite_utils


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the index."""

    path: str
    title: str
    format: str
    chars: int
    passages: int
    ingested_at: str


@dataclass(frozen=True)
class Paragraph:
    """A block of a document as the reader shows it, with its passages' ids.

    ``page`` is the page it starts on (PDFs and images; else None) and ``ocr`` whether
    its text was read by OCR, which the reader marks as possibly wrong.
    """

    seq: int
    kind: str
    level: int
    heading_path: str
    text: str
    chunk_ids: tuple[int, ...]
    page: int | None = None
    ocr: bool = False


@dataclass(frozen=True)
class DocumentView:
    """A whole document for the reader."""

    info: DocumentInfo
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Passage:
    """One passage with the paragraph around it."""

    chunk_id: int
    doc_path: str
    doc_title: str
    heading_path: str
    text: str
    paragraph: str
    block_seq: int


_INFO_SQL = (
    "SELECT d.path, d.title, d.format, d.chars,"
    " (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id), d.ingested_at FROM documents d"
)


def list_documents(db: sqlite_utils.Database) -> list[DocumentInfo]:
    """Every indexed document, by title."""
    return [DocumentInfo(*row) for row in db.execute(_INFO_SQL + " ORDER BY d.title, d.path")]


def get_document(db: sqlite_utils.Database, path: str) -> DocumentView | None:
    """The document at ``path`` with its paragraphs in order, or None if not indexed."""
    row = db.execute(_INFO_SQL + " WHERE d.path = ?", [path]).fetchone()
    if row is None:
        return None
    info = DocumentInfo(*row)
    by_block: dict[int, list[int]] = {}
    for chunk_id, block_seq in db.execute(
        "SELECT c.id, c.block_seq FROM chunks c JOIN documents d ON d.id = c.doc_id"
        " WHERE d.path = ? ORDER BY c.seq",
        [path],
    ):
        by_block.setdefault(block_seq, []).append(chunk_id)
    paragraphs = tuple(
        Paragraph(
            seq, kind, level, heading_path, text, tuple(by_block.get(seq, ())), page, bool(ocr)
        )
        for seq, kind, level, heading_path, text, page, ocr in db.execute(
            "SELECT b.seq, b.kind, b.level, b.heading_path, b.text, b.page, b.ocr FROM blocks b"
            " JOIN documents d ON d.id = b.doc_id WHERE d.path = ? ORDER BY b.seq",
            [path],
        )
    )
    return DocumentView(info, paragraphs)


def get_passage(db: sqlite_utils.Database, chunk_id: int) -> Passage | None:
    """A passage by id with the paragraph it stands in, or None if it is gone."""
    row = db.execute(
        "SELECT c.id, d.path, d.title, c.heading_path, c.text, b.text, c.block_seq"
        " FROM chunks c JOIN documents d ON d.id = c.doc_id"
        " JOIN blocks b ON b.doc_id = c.doc_id AND b.seq = c.block_seq WHERE c.id = ?",
        [chunk_id],
    ).fetchone()
    return Passage(*row) if row else None


def _flat(text: str) -> str:
    return "".join(text.split())


def find_quote(db: sqlite_utils.Database, doc_path: str, quote: str) -> Passage | None:
    """The passage of ``doc_path`` that holds ``quote`` (white space ignored), or None.

    A quote that straddles two passages of a paragraph gives the passage it starts in;
    a quote from a heading gives the first passage under that heading.
    """
    return find_quotes(db, [(doc_path, quote)])[0]


def find_quotes(
    db: sqlite_utils.Database, quotes: Sequence[tuple[str, str]]
) -> list[Passage | None]:
    """:func:`find_quote` for many ``(doc_path, quote)`` pairs, reading each document once
    (the office's coverage places every question of the bank)."""
    documents: dict[str, _QuoteIndex] = {}
    found = []
    for doc_path, quote in quotes:
        needle = _flat(quote)
        if not needle:
            found.append(None)
            continue
        if doc_path not in documents:
            documents[doc_path] = _quote_index(db, doc_path)
        chunk_id = documents[doc_path].locate(needle)
        found.append(None if chunk_id is None else get_passage(db, chunk_id))
    return found


@dataclass(frozen=True)
class _QuoteIndex:
    """A document's passages per paragraph and its headings, white space removed."""

    paragraphs: list[tuple[str, list[tuple[int, int]]]]  # (text, [(chunk id, end offset)])
    headings: list[tuple[int, str]]  # (block seq, text)
    first_after: dict[int, int | None]  # heading seq -> the first passage after it

    def locate(self, needle: str) -> int | None:
        for text, ends in self.paragraphs:
            start = text.find(needle)
            if start < 0:
                continue
            for chunk_id, end in ends:
                if start < end:
                    return chunk_id
        for seq, text in self.headings:
            if needle in text:
                return self.first_after[seq]
        return None


def _quote_index(db: sqlite_utils.Database, doc_path: str) -> _QuoteIndex:
    groups: dict[int, list[tuple[int, str]]] = {}
    for chunk_id, block_seq, text in db.execute(
        "SELECT c.id, c.block_seq, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
        " WHERE d.path = ? ORDER BY c.seq",
        [doc_path],
    ):
        groups.setdefault(block_seq, []).append((chunk_id, _flat(text)))
    paragraphs = []
    for chunks in groups.values():
        ends, offset = [], 0
        for chunk_id, text in chunks:
            offset += len(text)
            ends.append((chunk_id, offset))
        paragraphs.append(("".join(text for _, text in chunks), ends))
    headings = [
        (seq, _flat(text))
        for seq, text in db.execute(
            "SELECT b.seq, b.text FROM blocks b JOIN documents d ON d.id = b.doc_id"
            " WHERE d.path = ? AND b.kind != 'text' ORDER BY b.seq",
            [doc_path],
        )
    ]
    ordered = sorted(groups.items())
    first_after = {
        seq: next((chunks[0][0] for block, chunks in ordered if block > seq), None)
        for seq, _ in headings
    }
    return _QuoteIndex(paragraphs, headings, first_after)


def document_texts(db: sqlite_utils.Database) -> dict[str, str]:
    """Each document's full text as indexed (paragraphs joined by newlines), by path."""
    texts: dict[str, list[str]] = {}
    for path, text in db.execute(
        "SELECT d.path, b.text FROM blocks b JOIN documents d ON d.id = b.doc_id"
        " ORDER BY d.path, b.seq"
    ):
        texts.setdefault(path, []).append(text)
    return {path: "\n".join(lines) for path, lines in texts.items()}


def section_passages(db: sqlite_utils.Database) -> pd.DataFrame:
    """Each document's sections (distinct heading paths holding passages), in reading order.

    Returns:
        Columns ``path``, ``title``, ``heading_path``, ``passages`` (how many), ``first``
        (the first passage's position).
    """
    cursor = db.execute(
        "SELECT d.path, d.title, c.heading_path, COUNT(*) AS passages, MIN(c.seq) AS first "
        "FROM chunks c JOIN documents d ON d.id = c.doc_id "
        "GROUP BY d.path, c.heading_path ORDER BY d.path, first"
    )
    names = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=names)
