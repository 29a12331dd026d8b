"""Bring the index in line with the documents: add, replace, remove; never half-write.

Parsing and embedding happen before the write transaction, so a file that fails leaves
the index as it was, and a changed file has its blocks, passages, lexical rows and
vectors replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from base.store import write
from kb.chunking import ChunkedDocument, chunk_lines, embedding_units
from kb.corpus_files import (
    corpus_name,
    document_key,
    list_corpus,
    read_file,
    scan_folder,
    skip_rule,
)
from kb.embedding import Embedder, ModelUnavailable
from kb.errors import DocumentError
from kb.ingest_report import FileOutcome, IngestReport
from kb.isolation import OcrOptions, read_untrusted
from kb.lexical import index_text
from kb.lexical_index import publish
from kb.numbering import article_gaps
from kb.ocr_store import load_ocr_pages, save_ocr_page
from kb.readers import check_supported
from kb.schema import bump_generation

EMBED_BATCH = 64
# Files put into the corpus folder by hand: past this size a file is not read at all
# (uploads have their own, lower limit: KB_MAX_UPLOAD_MB).
MAX_CORPUS_FILE_BYTES = 200 * 1024 * 1024
OCR_MAX_PAGES = 300  # Settings.ocr_max_pages (KB_OCR_MAX_PAGES) overrides it


def sync_corpus(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    embedder: Embedder | None,
    paths: Sequence[Path] | None = None,
    *,
    max_bytes: int = MAX_CORPUS_FILE_BYTES,
    progress: Progress | None = None,
    ocr_max_pages: int = OCR_MAX_PAGES,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
) -> IngestReport:
    """Index the corpus folder (or just ``paths``: files and folders) and report every file.

    With no ``paths``, documents that are no longer in the folder leave the index.
    An unreadable file is reported by name and reason; its previous version, if any,
    stays indexed; everything else is still indexed. A file whose text is already
    indexed from another file (the same law as .txt and .docx) is reported as its
    duplicate and indexed once. Scanned pages are read by OCR (at most ``ocr_max_pages``
    a file), with ``progress`` told of each page; pages an interrupted run read are not
    read again. Once everything is committed, ``publish_lexical`` writes the lexical
    index's snapshot (kb.lexical_index); tests pass one that fails, to stand for a crash
    between the two.
    """
    ocr = _OcrPolicy(progress, ocr_max_pages)
    started = time.perf_counter()
    report = IngestReport()
    files: list[Path] = []
    others: list[tuple[Path, str, str, str]] = []
    for root in [corpus_dir] if paths is None else paths:
        if paths is not None and Path(root).is_symlink():
            others.append((Path(root), "failed", "symlink", "是符号链接，为安全起见不跟随，未索引"))
        elif paths is None or Path(root).is_dir():
            found, skipped = scan_folder(Path(root))
            files.extend(found)
            others.extend(skipped)
        else:
            files.append(Path(root))
    outcomes = [
        FileOutcome(document_key(p, corpus_dir), status, kind, reason)
        for p, status, kind, reason in others
    ]
    names = [(path, *corpus_name(path, corpus_dir)) for path in files]
    keys = {key for _, key, _, _ in names}
    texts = _IndexedTexts(db, keys if paths is None else None)
    for path, key, warning, failure in names:
        if failure:
            outcomes.append(FileOutcome(key, "failed", "bad_name", failure))
            continue
        outcome = _ingest_path(db, key, path, embedder, texts, max_bytes, ocr)
        if warning:
            outcome = replace(outcome, warnings=(warning, *outcome.warnings))
        outcomes.append(outcome)
    report.files.extend(sorted(outcomes, key=lambda f: f.path))
    report.passages_embedded = sum(f.vectors for f in report.files)
    if paths is None:
        # What is no longer a regular file in the folder leaves the index: a document
        # replaced by a symbolic link too. A file that failed keeps its previous version.
        _remove_missing(db, keys - set(report.duplicates), report)
    if report.updated or report.removed or report.duplicates:
        with write(db):
            _drop_orphan_vectors(db)
    if embedder is not None:
        report.passages_embedded += embed_missing(db, embedder)
    publish_lexical(db)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_path(
    db: sqlite_utils.Database,
    key: str,
    path: Path,
    embedder: Embedder | None,
    texts: _IndexedTexts,
    max_bytes: int,
    ocr: _OcrPolicy,
) -> FileOutcome:
    try:
        check_supported(key)
        size = path.stat().st_size
        if size > max_bytes:
            return FileOutcome(
                key,
                "failed",
                "too_large",
                f"文件大小 {format_size(size)} 超过上限 {format_size(max_bytes)}",
            )
        data = read_file(path)
    except DocumentError as exc:
        return FileOutcome(key, "failed", exc.kind, exc.reason)
    except OSError as exc:
        return FileOutcome(key, "failed", "unreadable", f"无法读取文件：{exc.strerror or exc}")
    return _ingest_data(db, key, data, embedder, texts, ocr)


def ingest_upload(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    name: str,
    data: bytes,
    embedder: Embedder | None,
    max_bytes: int,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
    *,
    progress: Progress | None = None,
    ocr_max_pages: int = OCR_MAX_PAGES,
) -> IngestReport:
    """Validate an uploaded document, then store it in the corpus folder and index it.

    Nothing is written, to the folder or the index, unless the document reads and
    chunks cleanly and its text is not already indexed from another file.
    ``publish_lexical`` as for :func:`sync_corpus`.
    """
    return ingest_uploads(
        db,
        corpus_dir,
        [(name, data)],
        embedder,
        max_bytes,
        publish_lexical,
        progress=progress,
        ocr_max_pages=ocr_max_pages,
    )


def ingest_uploads(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    uploads: Sequence[tuple[str, bytes]],
    embedder: Embedder | None,
    max_bytes: int,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
    *,
    progress: Progress | None = None,
    ocr_max_pages: int = OCR_MAX_PAGES,
) -> IngestReport:
    """Validate and index several uploaded documents (name, bytes); one report for all.

    Each file is checked, written into the corpus folder and indexed on its own, so one
    bad file stops nothing else. Scans are read by OCR as in :func:`sync_corpus`;
    ``publish_lexical`` as there too.
    """
    ocr = _OcrPolicy(progress, ocr_max_pages)
    started = time.perf_counter()
    report = IngestReport()
    texts = _IndexedTexts(db, None)
    for name, data in uploads:
        safe_name = Path(name).name
        rule = skip_rule(safe_name) if safe_name else None
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            # A NUL cannot be in a file name; other control characters hide what it says.
            shown = "".join(ch if 32 <= ord(ch) != 127 else f"\\x{ord(ch):02x}" for ch in name)
            reason = "文件名含有控制字符（如 NUL），未入库；请改名后再上传"
            report.files.append(FileOutcome(shown, "failed", "bad_name", reason))
        elif not safe_name or (rule and safe_name.startswith(".")):
            report.files.append(FileOutcome(name, "failed", "bad_name", "文件名无效"))
        elif rule:
            report.files.append(FileOutcome(safe_name, "skipped", "rule", rule))
        elif len(data) > max_bytes:
            reason = f"文件大小 {format_size(len(data))} 超过上限 {format_size(max_bytes)}"
            report.files.append(FileOutcome(safe_name, "failed", "too_large", reason))
        else:

            def save(safe_name: str = safe_name, data: bytes = data) -> None:
                target = corpus_dir / safe_name
                corpus_dir.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{safe_name}.uploading")
                tmp.write_bytes(data)
                tmp.replace(target)

            report.files.append(_ingest_data(db, safe_name, data, embedder, texts, ocr, save))
    report.passages_embedded = sum(f.vectors for f in report.files)
    publish_lexical(db)
    report.seconds = time.perf_counter() - started
    return report


# Told (document, pages done, pages to do) while OCR reads a document's scanned pages.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class _OcrPolicy:
    progress: Progress | None = None
    max_pages: int = OCR_MAX_PAGES


def _ocr_options(
    db: sqlite_utils.Database, key: str, data: bytes, policy: _OcrPolicy
) -> OcrOptions:
    """OCR that resumes from the pages kept for these bytes, and keeps each new one."""
    content_hash = hashlib.sha256(data).hexdigest()
    progress = policy.progress
    return OcrOptions(
        known=load_ocr_pages(db, content_hash),
        on_page=lambda page, result: save_ocr_page(db, content_hash, page, result),
        on_progress=None if progress is None else lambda done, total: progress(key, done, total),
        max_pages=policy.max_pages,
    )


@dataclass(frozen=True)
class _Parsed:
    doc: ChunkedDocument
    format: str
    encoding: str | None
    pages: int | None = None
    ocr_pages: int = 0
    warnings: tuple[str, ...] = ()
    line_pages: tuple[int, ...] = ()  # per input line (Block.line), for PDFs and images
    line_ocr: tuple[bool, ...] = ()

    @property
    def text_hash(self) -> str:
        return text_hash(b.text for b in self.doc.blocks)


def text_hash(paragraphs: Iterable[str]) -> str:
    """A hash of a document's text that ignores white space and full/half width, so the
    same text read from a .txt, a .docx or a PDF hashes alike."""
    text = unicodedata.normalize("NFKC", "".join(paragraphs))
    return hashlib.sha256("".join(text.split()).encode("utf-8")).hexdigest()


class _IndexedTexts:
    """Which indexed document holds which text, to find a file that repeats another.

    Read from the index only when a file is parsed: an unchanged corpus costs nothing.
    ``present``: the documents still in the folder (others are about to leave the
    index and cannot be what a new file repeats), or None for all.
    """

    def __init__(self, db: sqlite_utils.Database, present: set[str] | None) -> None:
        self.db = db
        self.present = present
        self.by_hash: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self.by_hash is None:
            texts: dict[str, list[str]] = {}
            for path, text in self.db.execute(
                "SELECT d.path, b.text FROM blocks b JOIN documents d ON d.id = b.doc_id"
                " ORDER BY d.path, b.seq"
            ):
                if self.present is None or path in self.present:
                    texts.setdefault(path, []).append(text)
            self.by_hash = {}
            for path, paragraphs in texts.items():
                self.by_hash.setdefault(text_hash(paragraphs), path)
        return self.by_hash

    def owner(self, digest: str, key: str) -> str | None:
        """The other document that holds this text, if any."""
        path = self._load().get(digest)
        return path if path != key else None

    def record(self, digest: str, key: str) -> None:
        by_hash = self._load()
        for old in [h for h, p in by_hash.items() if p == key]:
            del by_hash[old]
        by_hash.setdefault(digest, key)


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
            parsed = _parse(key, read_file(path), OcrOptions(max_pages=0))
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


def _parse(key: str, data: bytes, ocr: OcrOptions | None = None) -> _Parsed:
    read = read_untrusted(key, data, ocr=ocr)
    doc = chunk_lines(read.lines, markdown=read.markdown, levels=read.levels)
    if not doc.chunks:
        raise DocumentError(key, "文件中没有可检索的正文段落")
    return _Parsed(
        doc,
        read.format,
        read.encoding,
        read.pages,
        read.ocr_pages,
        read.warnings,
        read.line_pages,
        read.line_ocr,
    )


def _ingest_data(
    db: sqlite_utils.Database,
    key: str,
    data: bytes,
    embedder: Embedder | None,
    texts: _IndexedTexts,
    ocr: _OcrPolicy,
    before_store: Callable[[], None] | None = None,
) -> FileOutcome:
    content_hash = hashlib.sha256(data).hexdigest()
    row = db.execute(
        "SELECT id, content_hash, chars, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id)"
        " FROM documents d WHERE path = ?",
        [key],
    ).fetchone()
    if row and row[1] == content_hash:
        return FileOutcome(key, "unchanged", passages=row[3], chars=row[2])
    try:
        parsed = _parse(key, data, _ocr_options(db, key, data, ocr))
    except DocumentError as exc:
        return FileOutcome(key, "failed", exc.kind, exc.reason)
    digest = parsed.text_hash
    owner = texts.owner(digest, key)
    if owner is not None:
        if row:
            # Its old text is not what the file holds any more.
            with write(db):
                _delete_document(db, row[0])
                bump_generation(db)
        return FileOutcome(
            key,
            "duplicate",
            "duplicate",
            f"与 “{owner}” 内容相同，只索引一次",
            warnings=parsed.warnings,
        )
    if before_store is not None:
        before_store()
    status, vectors = _store(db, key, data, parsed, embedder)
    texts.record(digest, key)
    doc = parsed.doc
    return FileOutcome(
        key,
        status,
        passages=len(doc.chunks),
        chars=sum(len(b.text) for b in doc.blocks),
        pages=parsed.pages,
        ocr_pages=parsed.ocr_pages,
        gaps=tuple(article_gaps(b.text for b in doc.blocks if b.kind == "heading")),
        warnings=parsed.warnings,
        vectors=vectors,
    )


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store(
    db: sqlite_utils.Database,
    key: str,
    data: bytes,
    parsed: _Parsed,
    embedder: Embedder | None,
) -> tuple[str, int]:
    """Replace the document at ``key`` in one transaction.

    Returns ``(added or updated, vectors computed)``.
    """
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
    return ("updated" if old else "added"), len(vectors)


def _page_of(parsed: _Parsed, line: int) -> tuple[int | None, int]:
    if not parsed.line_pages:
        return None, 0
    return parsed.line_pages[line], int(parsed.line_ocr[line])


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
            report.files.append(FileOutcome(path, "removed"))
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
        try:
            matrix = embedder.embed_passages([text for _, text in batch])
        except ModelUnavailable:
            # A model loaded at first use (kb.embedding.LazyEmbedder) that failed to load:
            # the text is indexed for lexical search; whoever made it reports why.
            return {}
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
    vectors = _embed(embedder, [(h, text) for h, text in rows])
    if not vectors:
        return 0
    with write(db):
        _insert_vectors(db, vectors, embedder)
        bump_generation(db)
    return len(vectors)
