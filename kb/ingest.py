"""Bring the index in line with the documents: add, replace, remove; never half-write.

Parsing and embedding happen before the write transaction, so a file that fails leaves
the index as it was, and a changed file has its blocks, passages, lexical rows and
vectors replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from kb.chunking import ChunkedDocument, chunk_lines, embedding_units
from kb.embedding import Embedder, ModelUnavailable
from kb.errors import DocumentError
from kb.isolation import read_untrusted
from kb.lexical import index_text
from kb.lexical_index import publish
from kb.numbering import article_gaps
from kb.readers import SUPPORTED_SUFFIXES, check_supported
from kb.schema import bump_generation
from kb.store import write

EMBED_BATCH = 64
# Files put into the corpus folder by hand: past this size a file is not read at all
# (uploads have their own, lower limit: KB_MAX_UPLOAD_MB).
MAX_CORPUS_FILE_BYTES = 200 * 1024 * 1024
# Files that are never documents: left by Windows in folders and zips.
SYSTEM_FILES = ("thumbs.db", "desktop.ini")

STATUS_LABELS = {
    "added": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "removed": "移除",
    "failed": "失败",
    "duplicate": "重复",
    "skipped": "跳过",
}
KIND_LABELS = {
    "unsupported": "不支持的类型",
    "needs_libreoffice": "需要 LibreOffice",
    "encrypted": "已加密",
    "too_large": "过大",
    "empty": "没有文字",
    "symlink": "符号链接",
    "bad_name": "文件名无法识别",
    "unreadable": "无法读取",
    "needs_ocr": "需要文字识别",
    "duplicate": "内容重复",
    "rule": "按规则跳过",
}


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file. ``path`` is relative to the corpus folder.

    Attributes:
        status: added, updated, unchanged, removed, failed (not indexed: the run fails),
            duplicate (its text is indexed under another file) or skipped (by rule:
            Word lock files, hidden and system files).
        kind: for failed and skipped files, the condition (see KIND_LABELS).
        reason: the message, in Chinese.
        passages, chars, pages, ocr_pages: for indexed files; pages is None where the
            format has none (or the file was not read in this run).
        gaps: for a document numbered by article, the articles not found.
        warnings: what was read despite a problem.
        vectors: the vectors computed for its passages in this run.
    """

    path: str
    status: str
    kind: str = ""
    reason: str = ""
    passages: int = 0
    chars: int = 0
    pages: int | None = None
    ocr_pages: int = 0
    gaps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    vectors: int = 0


@dataclass
class IngestReport:
    """What a sync did, file by file."""

    files: list[FileOutcome] = field(default_factory=list)
    passages_embedded: int = 0
    seconds: float = 0.0

    def _paths(self, status: str) -> list[str]:
        return [f.path for f in self.files if f.status == status]

    @property
    def added(self) -> list[str]:
        return self._paths("added")

    @property
    def updated(self) -> list[str]:
        return self._paths("updated")

    @property
    def unchanged(self) -> list[str]:
        return self._paths("unchanged")

    @property
    def removed(self) -> list[str]:
        return self._paths("removed")

    @property
    def duplicates(self) -> list[str]:
        return self._paths("duplicate")

    @property
    def skipped(self) -> list[str]:
        return self._paths("skipped")

    @property
    def failed(self) -> list[FileOutcome]:
        """Files that were meant to be indexed and are not: these fail the run."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def errors(self) -> list[str]:
        """``path: reason`` of each failed file."""
        return [f"{f.path}: {f.reason}" for f in self.failed]

    def summary(self) -> str:
        """One line in Chinese for the CLI and the admin page."""
        return (
            f"新增 {len(self.added)}，更新 {len(self.updated)}，未变 {len(self.unchanged)}，"
            f"移除 {len(self.removed)}，失败 {len(self.failed)}；"
            f"重复 {len(self.duplicates)}，跳过 {len(self.skipped)}；"
            f"计算向量 {self.passages_embedded} 段，用时 {self.seconds:.1f} 秒"
        )

    def lines(self) -> list[str]:
        """Every file except the unchanged ones, a line each (with its gaps and warnings
        indented below), in Chinese, for the CLI."""
        out = []
        for f in self.files:
            if f.status == "unchanged":
                continue
            label = STATUS_LABELS[f.status]
            if f.status in ("added", "updated"):
                out.append(f"{label}  {f.path}：{_figures(f)}")
            elif f.status == "removed":
                out.append(f"{label}  {f.path}")
            else:
                out.append(f"{label}  {f.path}：{f.reason}")
            out.extend(f"    {note}" for note in (*f.gaps, *f.warnings))
        return out

    def table(self) -> list[dict[str, object]]:
        """Every file as a row for a table: 文件, 结果, 段落, 字数, 页数, 识别页数, 说明."""
        rows = []
        for f in self.files:
            indexed = f.status in ("added", "updated", "unchanged")
            notes = [f.reason] if f.reason else []
            rows.append(
                {
                    "文件": f.path,
                    "结果": STATUS_LABELS[f.status]
                    + (f"（{KIND_LABELS[f.kind]}）" if f.status == "failed" else ""),
                    "段落": f.passages if indexed else None,
                    "字数": f.chars if indexed else None,
                    "页数": f.pages,
                    "识别页数": f.ocr_pages if indexed else None,
                    "说明": "；".join([*notes, *f.gaps, *f.warnings]),
                }
            )
        return rows


def _figures(f: FileOutcome) -> str:
    parts = [f"{f.passages} 段", f"{f.chars:,} 字"]
    if f.pages is not None:
        parts.append(f"{f.pages} 页")
    if f.ocr_pages:
        parts.append(f"文字识别 {f.ocr_pages} 页")
    return "，".join(parts)


def skip_rule(name: str) -> str | None:
    """Why a file of this name is skipped by rule (not a document), or None."""
    if name.startswith("~$"):
        return "Word/WPS 打开文件时留下的临时锁文件，按规则跳过"
    if name.startswith("."):
        return "隐藏文件，按规则跳过"
    if name.lower() in SYSTEM_FILES:
        return "系统文件，按规则跳过"
    return None


def scan_folder(folder: Path) -> tuple[list[Path], list[tuple[Path, str, str, str]]]:
    """The files under ``folder`` to read, and the entries that will not be read.

    Symbolic links are never followed (a link in the corpus to /etc/passwd must not
    become searchable); hidden folders are not entered.

    Returns:
        ``(files, others)``: files in path order; others as ``(path, status, kind,
        reason)`` with status ``skipped`` (by rule) or ``failed``.
    """
    files: list[Path] = []
    others: list[tuple[Path, str, str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for name in list(dirnames):
            path = here / name
            if path.is_symlink():
                others.append(
                    (path, "failed", "symlink", "是指向文件夹的符号链接，为安全起见不跟随")
                )
                dirnames.remove(name)
            elif name.startswith("."):
                others.append((path, "skipped", "rule", "隐藏文件夹，按规则跳过"))
                dirnames.remove(name)
        for name in sorted(filenames):
            path = here / name
            rule = skip_rule(name)
            if rule:
                others.append((path, "skipped", "rule", rule))
            elif path.is_symlink():
                others.append((path, "failed", "symlink", "是符号链接，为安全起见不跟随，未索引"))
            elif not path.is_file():
                others.append((path, "failed", "unreadable", "不是普通文件，未索引"))
            else:
                files.append(path)
    return files, others


def list_corpus(corpus_dir: Path) -> list[Path]:
    """The supported documents under ``corpus_dir`` that a sync would read."""
    files, _ = scan_folder(corpus_dir)
    return [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]


def document_key(path: Path, corpus_dir: Path) -> str:
    """How a document is named in the index and in quiz sources: its path in the corpus.

    Symbolic links are not resolved. A name whose bytes are not UTF-8 (a zip made on
    Windows) is read as GB18030; one that is neither keeps its bytes as ``\\xNN``.
    """
    absolute, root = Path(os.path.abspath(path)), Path(os.path.abspath(corpus_dir))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        rel = Path(absolute.name)
    return "/".join(_readable_part(part)[0] for part in rel.parts)


def _readable_part(part: str) -> tuple[str, bool]:
    # os.fsdecode keeps undecodable bytes as lone surrogates (surrogateescape); they
    # cannot be printed or stored, so they are decoded again, as Windows would have.
    try:
        part.encode("utf-8")
        return part, True
    except UnicodeEncodeError:
        raw = os.fsencode(part)
    try:
        return raw.decode("gb18030"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace"), False


def _name_problem(path: Path) -> tuple[str | None, str | None]:
    """(warning, failure) about a file's name."""
    parts = Path(path).parts
    if all(_readable_part(p)[1] for p in parts):
        if any(p != _readable_part(p)[0] for p in parts):
            return "文件名不是 UTF-8 编码，已按 GBK/GB18030 识别", None
        return None, None
    return None, "文件名既不是 UTF-8 也不是 GBK/GB18030 编码，无法识别；请改名后再放入"


def sync_corpus(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    embedder: Embedder | None,
    paths: Sequence[Path] | None = None,
    *,
    max_bytes: int = MAX_CORPUS_FILE_BYTES,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
) -> IngestReport:
    """Index the corpus folder (or just ``paths``: files and folders) and report every file.

    With no ``paths``, documents that are no longer in the folder leave the index.
    An unreadable file is reported by name and reason; its previous version, if any,
    stays indexed; everything else is still indexed. A file whose text is already
    indexed from another file (the same law as .txt and .docx) is reported as its
    duplicate and indexed once. Once everything is committed, ``publish_lexical`` writes
    the lexical index's snapshot (kb.lexical_index); tests pass one that fails, to stand
    for a crash between the two.
    """
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
    keyed = [(document_key(p, corpus_dir), p) for p in files]
    keys = {key for key, _ in keyed}
    texts = _IndexedTexts(db, keys if paths is None else None)
    for key, path in keyed:
        warning, failure = _name_problem(
            path.relative_to(corpus_dir) if _inside(path, corpus_dir) else Path(path.name)
        )
        if failure:
            outcomes.append(FileOutcome(key, "failed", "bad_name", failure))
            continue
        outcome = _ingest_path(db, key, path, embedder, texts, max_bytes)
        if warning:
            outcome = replace(outcome, warnings=(warning, *outcome.warnings))
        outcomes.append(outcome)
    report.files.extend(sorted(outcomes, key=lambda f: f.path))
    report.passages_embedded = sum(f.vectors for f in report.files)
    if paths is None:
        _remove_missing(db, {f.path for f in report.files if f.status != "duplicate"}, report)
    if report.updated or report.removed or report.duplicates:
        with write(db):
            _drop_orphan_vectors(db)
    if embedder is not None:
        report.passages_embedded += embed_missing(db, embedder)
    publish_lexical(db)
    report.seconds = time.perf_counter() - started
    return report


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(folder))
    except ValueError:
        return False
    return True


def _read_file(path: Path) -> bytes:
    # O_NOFOLLOW: a file swapped for a symbolic link after the scan is still not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _ingest_path(
    db: sqlite_utils.Database,
    key: str,
    path: Path,
    embedder: Embedder | None,
    texts: _IndexedTexts,
    max_bytes: int,
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
        data = _read_file(path)
    except DocumentError as exc:
        return FileOutcome(key, "failed", exc.kind, exc.reason)
    except OSError as exc:
        return FileOutcome(key, "failed", "unreadable", f"无法读取文件：{exc.strerror or exc}")
    return _ingest_data(db, key, data, embedder, texts)


def ingest_upload(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    name: str,
    data: bytes,
    embedder: Embedder | None,
    max_bytes: int,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
) -> IngestReport:
    """Validate an uploaded document, then store it in the corpus folder and index it.

    Nothing is written, to the folder or the index, unless the document reads and
    chunks cleanly and its text is not already indexed from another file.
    ``publish_lexical`` as for :func:`sync_corpus`.
    """
    return ingest_uploads(db, corpus_dir, [(name, data)], embedder, max_bytes, publish_lexical)


def ingest_uploads(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    uploads: Sequence[tuple[str, bytes]],
    embedder: Embedder | None,
    max_bytes: int,
    publish_lexical: Callable[[sqlite_utils.Database], object] = publish,
) -> IngestReport:
    """Validate and index several uploaded documents (name, bytes); one report for all.

    Each file is checked, written into the corpus folder and indexed on its own, so one
    bad file stops nothing else. ``publish_lexical`` as for :func:`sync_corpus`.
    """
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

            report.files.append(_ingest_data(db, safe_name, data, embedder, texts, save))
    report.passages_embedded = sum(f.vectors for f in report.files)
    publish_lexical(db)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Parsed:
    doc: ChunkedDocument
    format: str
    encoding: str | None
    pages: int | None = None
    ocr_pages: int = 0
    warnings: tuple[str, ...] = ()

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
            parsed = _parse(key, _read_file(path))
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


def _parse(key: str, data: bytes) -> _Parsed:
    read = read_untrusted(key, data)
    doc = chunk_lines(read.lines, markdown=read.markdown, levels=read.levels)
    if not doc.chunks:
        raise DocumentError(key, "文件中没有可检索的正文段落")
    return _Parsed(doc, read.format, read.encoding, read.pages, read.ocr_pages, read.warnings)


def _ingest_data(
    db: sqlite_utils.Database,
    key: str,
    data: bytes,
    embedder: Embedder | None,
    texts: _IndexedTexts,
    before_store: Callable[[], None] | None = None,
) -> FileOutcome:
    content_hash = hashlib.sha256(data).hexdigest()
    row = db.execute(
        "SELECT content_hash, chars, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id)"
        " FROM documents d WHERE path = ?",
        [key],
    ).fetchone()
    if row and row[0] == content_hash:
        return FileOutcome(key, "unchanged", passages=row[2], chars=row[1])
    try:
        parsed = _parse(key, data)
    except DocumentError as exc:
        return FileOutcome(key, "failed", exc.kind, exc.reason)
    digest = parsed.text_hash
    owner = texts.owner(digest, key)
    if owner is not None:
        if row:
            # Its old text is not what the file holds any more.
            with write(db):
                _delete_document(
                    db, *db.execute("SELECT id FROM documents WHERE path = ?", [key]).fetchone()
                )
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
            "INSERT INTO blocks (doc_id, seq, kind, level, heading_path, text) VALUES (?,?,?,?,?,?)",
            [(doc_id, b.seq, b.kind, b.level, b.heading_path, b.text) for b in doc.blocks],
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


def _delete_document(db: sqlite_utils.Database, doc_id: int) -> None:
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
    todo = [(h, text) for h, text in rows]
    vectors = _embed(embedder, todo)
    with write(db):
        _insert_vectors(db, vectors, embedder)
        bump_generation(db)
    return len(vectors)
