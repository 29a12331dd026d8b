"""Bring the index in line with the documents: add, replace, remove; never half-write.

Parsing and embedding happen before the write transaction, so a file that fails leaves
the index as it was, and a changed file has its blocks, passages, lexical rows and
vectors replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from kb.chunking import ChunkedDocument, chunk_lines, embedding_units
from kb.embedding import Embedder
from kb.errors import DocumentError
from kb.isolation import OcrOptions, read_untrusted
from kb.lexical import index_text
from kb.ocr import load_ocr_pages, save_ocr_page
from kb.readers import SUPPORTED_SUFFIXES
from kb.schema import bump_generation
from kb.store import write

EMBED_BATCH = 64
OCR_MAX_PAGES = 300  # Settings.ocr_max_pages (KB_OCR_MAX_PAGES) overrides it

# Told (document, pages done, pages to do) while OCR reads a document's scanned pages.
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What a sync did. Paths are relative to the corpus folder."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    passages_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line in Chinese for the CLI and the admin page."""
        return (
            f"新增 {len(self.added)}，更新 {len(self.updated)}，未变 {len(self.unchanged)}，"
            f"移除 {len(self.removed)}，失败 {len(self.errors)}；"
            f"计算向量 {self.passages_embedded} 段，用时 {self.seconds:.1f} 秒"
        )


def list_corpus(corpus_dir: Path) -> list[Path]:
    """The supported documents under ``corpus_dir``, hidden files and folders skipped."""
    found = []
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(path)
    return found


def document_key(path: Path, corpus_dir: Path) -> str:
    """How a document is named in the index and in quiz sources: its path in the corpus."""
    try:
        return path.resolve().relative_to(corpus_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def sync_corpus(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    embedder: Embedder | None,
    paths: Sequence[Path] | None = None,
    *,
    progress: Progress | None = None,
    ocr_max_pages: int = OCR_MAX_PAGES,
) -> IngestReport:
    """Index the corpus folder (or just ``paths``) and return what changed.

    With no ``paths``, documents that are no longer in the folder leave the index.
    An unreadable file is reported by name and reason; its previous version, if any,
    stays indexed; everything else is still indexed. Scanned pages are read by OCR,
    with ``progress`` told of each page; pages already read by an interrupted run are
    not read again.
    """
    started = time.perf_counter()
    report = IngestReport()
    files = list(paths) if paths is not None else list_corpus(corpus_dir)
    keys = set()
    for path in files:
        key = document_key(path, corpus_dir)
        keys.add(key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.errors.append(f"{key}: 无法读取文件：{exc.strerror or exc}")
            continue
        _ingest_bytes(
            db, key, data, embedder, report, _ocr_options(db, key, data, progress, ocr_max_pages)
        )
    if paths is None:
        _remove_missing(db, keys, report)
    if report.updated or report.removed:
        with write(db):
            _drop_orphan_vectors(db)
    if embedder is not None:
        report.passages_embedded += embed_missing(db, embedder)
    report.seconds = time.perf_counter() - started
    return report


def ingest_upload(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    name: str,
    data: bytes,
    embedder: Embedder | None,
    max_bytes: int,
    *,
    progress: Progress | None = None,
    ocr_max_pages: int = OCR_MAX_PAGES,
) -> IngestReport:
    """Validate an uploaded document, then store it in the corpus folder and index it.

    Nothing is written, to the folder or the index, unless the document reads and
    chunks cleanly.
    """
    started = time.perf_counter()
    report = IngestReport()
    safe_name = Path(name).name
    if not safe_name or safe_name.startswith("."):
        report.errors.append(f"{name}: 文件名无效")
        return report
    if len(data) > max_bytes:
        report.errors.append(
            f"{safe_name}: 文件大小 {format_size(len(data))} 超过上限 {format_size(max_bytes)}"
        )
        return report
    try:
        ocr = _ocr_options(db, safe_name, data, progress, ocr_max_pages)
        parsed = _parse(safe_name, data, ocr)
    except DocumentError as exc:
        report.errors.append(str(exc))
        return report
    target = corpus_dir / safe_name
    corpus_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{safe_name}.uploading")
    tmp.write_bytes(data)
    tmp.replace(target)
    _store(db, safe_name, data, parsed, embedder, report)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Parsed:
    doc: ChunkedDocument
    format: str
    encoding: str | None
    pages: tuple[int, ...] = ()  # per input line (Block.line), for paged formats
    ocr: tuple[bool, ...] = ()


def extract_texts(corpus_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Each document's text exactly as indexing would store it, without touching the index.

    Returns ``(texts by corpus path, errors)``; the text is the reader's paragraphs joined
    by newlines, the same as :func:`kb.documents.document_texts` gives for an indexed copy,
    so quiz quotes are checked against what the app will show.
    """
    texts: dict[str, str] = {}
    errors: list[str] = []
    for path in list_corpus(corpus_dir):
        key = document_key(path, corpus_dir)
        try:
            # No OCR here: this check runs often, and a scan's text is in the index.
            parsed = _parse(key, path.read_bytes(), OcrOptions(max_pages=0))
        except DocumentError as exc:
            errors.append(str(exc))
            continue
        except OSError as exc:
            errors.append(f"{key}: 无法读取文件：{exc.strerror or exc}")
            continue
        texts[key] = "\n".join(block.text for block in parsed.doc.blocks)
    return texts, errors


def format_size(n: int) -> str:
    """A byte count as a person reads it: ``812 B``, ``14.6 KB``, ``20.0 MB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1048576:.1f} MB"


def _ocr_options(
    db: sqlite_utils.Database, key: str, data: bytes, progress: Progress | None, max_pages: int
) -> OcrOptions:
    """OCR that resumes from the pages kept for this file's bytes, and keeps each new one."""
    content_hash = hashlib.sha256(data).hexdigest()
    return OcrOptions(
        known=load_ocr_pages(db, content_hash),
        on_page=lambda page, result: save_ocr_page(db, content_hash, page, result),
        on_progress=None if progress is None else lambda done, total: progress(key, done, total),
        max_pages=max_pages,
    )


def _parse(key: str, data: bytes, ocr: OcrOptions | None = None) -> _Parsed:
    read = read_untrusted(key, data, ocr=ocr)
    doc = chunk_lines(read.lines, markdown=read.markdown)
    if not doc.chunks:
        raise DocumentError(key, "文件中没有可检索的正文段落")
    return _Parsed(doc, read.format, read.encoding, read.pages, read.ocr)


def _ingest_bytes(
    db: sqlite_utils.Database,
    key: str,
    data: bytes,
    embedder: Embedder | None,
    report: IngestReport,
    ocr: OcrOptions | None = None,
) -> None:
    content_hash = hashlib.sha256(data).hexdigest()
    row = db.execute("SELECT content_hash FROM documents WHERE path = ?", [key]).fetchone()
    if row and row[0] == content_hash:
        report.unchanged.append(key)
        return
    try:
        parsed = _parse(key, data, ocr)
    except DocumentError as exc:
        report.errors.append(str(exc))
        return
    _store(db, key, data, parsed, embedder, report)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store(
    db: sqlite_utils.Database,
    key: str,
    data: bytes,
    parsed: _Parsed,
    embedder: Embedder | None,
    report: IngestReport,
) -> None:
    doc = parsed.doc
    title = doc.title or Path(key).stem
    # The embedder sees the passage alone (and its clause windows, see
    # kb.chunking.embedding_units): prefixing the heading path or the title pulls every
    # passage of a section towards one vector and cost the dense ranker 0.09-0.26 of
    # Recall@5 on paraphrased questions (bench/bench_quality.py). The heading path still
    # counts in the lexical index.
    units = [
        [(seq, text, _hash(text)) for seq, text in enumerate(embedding_units(c.text))]
        for c in doc.chunks
    ]
    vectors: dict[str, np.ndarray] = {}
    if embedder is not None:
        texts = {h: t for chunk_units in units for _, t, h in chunk_units}
        missing = _hashes_without_vectors(db, list(texts), embedder.model_id)
        vectors = _embed(embedder, [(h, t) for h, t in texts.items() if h in missing])
        report.passages_embedded += len(vectors)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with write(db):
        old = db.execute("SELECT id FROM documents WHERE path = ?", [key]).fetchone()
        if old:
            _delete_document(db, old[0])
        cursor = db.execute(
            "INSERT INTO documents (path, title, format, encoding, content_hash, chars, ingested_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                title,
                parsed.format,
                parsed.encoding,
                hashlib.sha256(data).hexdigest(),
                sum(len(b.text) for b in doc.blocks),
                now,
            ],
        )
        doc_id = cursor.lastrowid
        db.conn.executemany(
            "INSERT INTO blocks (doc_id, seq, kind, level, heading_path, text, page, ocr)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [
                (doc_id, b.seq, b.kind, b.level, b.heading_path, b.text, *_page_of(parsed, b.line))
                for b in doc.blocks
            ],
        )
        for chunk, chunk_units in zip(doc.chunks, units, strict=True):
            chunk_id = db.execute(
                "INSERT INTO chunks (doc_id, seq, block_seq, heading_path, text)"
                " VALUES (?, ?, ?, ?, ?)",
                [doc_id, chunk.seq, chunk.block_seq, chunk.heading_path, chunk.text],
            ).lastrowid
            db.conn.executemany(
                "INSERT INTO chunk_units (chunk_id, seq, text, embed_hash) VALUES (?, ?, ?, ?)",
                [(chunk_id, seq, text, h) for seq, text, h in chunk_units],
            )
            db.execute(
                "INSERT INTO chunks_fts (rowid, body, path) VALUES (?, ?, ?)",
                [chunk_id, index_text(chunk.text), index_text(f"{title} {chunk.heading_path}")],
            )
        if embedder is not None:
            _insert_vectors(db, vectors, embedder)
        bump_generation(db)
    (report.updated if old else report.added).append(key)


def _page_of(parsed: _Parsed, line: int) -> tuple[int | None, int]:
    if not parsed.pages:
        return None, 0
    return parsed.pages[line], int(parsed.ocr[line])


def _delete_document(db: sqlite_utils.Database, doc_id: int) -> None:
    # The OCR kept for the old bytes served its purpose: they are indexed, or gone.
    db.execute(
        "DELETE FROM ocr_pages WHERE content_hash ="
        " (SELECT content_hash FROM documents WHERE id = ?)",
        [doc_id],
    )
    db.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", [doc_id]
    )
    db.execute("DELETE FROM documents WHERE id = ?", [doc_id])


def _remove_missing(db: sqlite_utils.Database, keep: Iterable[str], report: IngestReport) -> None:
    keep = set(keep)
    gone = [(i, p) for i, p in db.execute("SELECT id, path FROM documents") if p not in keep]
    if not gone:
        return
    with write(db):
        for doc_id, path in gone:
            _delete_document(db, doc_id)
            report.removed.append(path)
        bump_generation(db)


def _drop_orphan_vectors(db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM vectors WHERE embed_hash NOT IN (SELECT embed_hash FROM chunk_units)")


def _hashes_without_vectors(
    db: sqlite_utils.Database, hashes: Sequence[str], model_id: str
) -> set[str]:
    have = set()
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        batch = unique[start : start + 500]
        marks = ",".join("?" * len(batch))
        have.update(
            row[0]
            for row in db.execute(
                f"SELECT embed_hash FROM vectors WHERE model = ? AND embed_hash IN ({marks})",
                [model_id, *batch],
            )
        )
    return set(unique) - have


def _embed(embedder: Embedder, todo: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        matrix = embedder.embed_passages([text for _, text in batch])
        for (embed_hash, _), vector in zip(batch, matrix, strict=True):
            vectors[embed_hash] = vector
    return vectors


def _insert_vectors(
    db: sqlite_utils.Database, vectors: dict[str, np.ndarray], embedder: Embedder
) -> None:
    db.conn.executemany(
        "INSERT OR REPLACE INTO vectors (embed_hash, model, dim, vector) VALUES (?, ?, ?, ?)",
        [
            (h, embedder.model_id, embedder.dimension, np.asarray(v, "<f4").tobytes())
            for h, v in vectors.items()
        ],
    )


def embed_missing(db: sqlite_utils.Database, embedder: Embedder) -> int:
    """Embed every passage that has no vector from this embedder's model yet.

    This is what makes a change of model re-embed on the next ingest: vectors are keyed
    by (passage hash, model id) and search reads only the current model's.
    """
    rows = db.execute(
        "SELECT DISTINCT u.embed_hash, u.text FROM chunk_units u"
        " WHERE NOT EXISTS (SELECT 1 FROM vectors v"
        "   WHERE v.embed_hash = u.embed_hash AND v.model = ?)",
        [embedder.model_id],
    ).fetchall()
    if not rows:
        return 0
    todo = [(h, text) for h, text in rows]
    vectors = _embed(embedder, todo)
    with write(db):
        _insert_vectors(db, vectors, embedder)
        bump_generation(db)
    return len(vectors)
