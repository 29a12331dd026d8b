"""Turn a document file into its lines of text, in document order.

Supported: .txt (UTF-8, or GB18030/GBK detected), .md, .docx (paragraphs and tables in
document order), .pdf (the text layer read by layout, scanned pages by OCR: kb/pdf_reader.py)
and scanned images (.png .jpg .jpeg .tif .tiff, by OCR). Every reader works within limits on size, so a
hostile file is refused rather than allowed to exhaust memory.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kb.errors import UnreadableDocument, UnsupportedDocument
from kb.ocr import OcrRun
from kb.pdf_reader import IMAGE_SUFFIXES, PagedText, read_image, read_pdf

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", *IMAGE_SUFFIXES)

# A .docx is a zip: refuse one whose parts would inflate past this, or that compress
# suspiciously well (a zip bomb), before any XML parser sees them.
MAX_DOCX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200
MAX_TEXT_CHARS = 5_000_000


@dataclass(frozen=True)
class ReadResult:
    """What a reader got out of a file.

    Attributes:
        lines: the document's paragraphs (and table rows) in order, blank lines removed.
        format: the file type, e.g. ``txt``.
        encoding: the text encoding a .txt/.md was decoded with, else ``None``.
        markdown: whether ``#`` headings are meaningful.
        pages: for a paged format (PDF, image), the page each line starts on (from 1);
            else empty.
        ocr: for a paged format, whether each line was read by OCR; else empty.
        page_count: the file's pages (0 for formats without pages).
        ocr_pages: how many of them OCR read.
    """

    lines: tuple[str, ...]
    format: str
    encoding: str | None = None
    markdown: bool = False
    pages: tuple[int, ...] = ()
    ocr: tuple[bool, ...] = ()
    page_count: int = 0
    ocr_pages: int = 0


def read_document(
    path: Path, data: bytes | None = None, *, name: str | None = None, ocr: OcrRun | None = None
) -> ReadResult:
    """Read a document, from ``data`` if given (an upload) or else from ``path``.

    ``ocr`` reads scanned pages and images; without it they raise NeedsOCR.

    Raises:
        UnsupportedDocument: the suffix is not one of SUPPORTED_SUFFIXES.
        UnreadableDocument: the file is damaged, binary, hostile or empty.
        EncryptedDocument: the file needs a password to open.
        NeedsOCR: scanned pages or an image, and no ``ocr``.
    """
    label = name or str(path)
    suffix = Path(name or path).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            label,
            f"不支持的文件类型 “{suffix or '无扩展名'}”（支持 .txt .md .docx .pdf"
            " .png .jpg .jpeg .tif .tiff）",
        )
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UnreadableDocument(label, f"无法读取文件：{exc.strerror or exc}") from exc
    if suffix in (".txt", ".md"):
        text, encoding = decode_text(data, label)
        lines = split_lines(text)
        result = ReadResult(tuple(lines), suffix[1:], encoding, markdown=suffix == ".md")
    elif suffix == ".docx":
        result = ReadResult(tuple(_read_docx(data, label)), "docx")
    elif suffix == ".pdf":
        result = _paged(read_pdf(data, label, ocr), "pdf")
    else:
        result = _paged(read_image(data, label, ocr), suffix[1:])
    if not result.lines:
        raise UnreadableDocument(label, "文件中没有可索引的文字")
    return result


def decode_text(data: bytes, label: str) -> tuple[str, str]:
    """Decode a plain-text file: UTF-8 (with or without BOM), else GB18030.

    GB18030 is a superset of GBK and GB2312, so one attempt covers the office files that
    are not UTF-8. Bytes that are neither, or control bytes that text never holds, mean
    the file is not text (a binary named .txt) and are refused.
    """
    if b"\x00" in data[:65536]:
        raise UnreadableDocument(label, "不是文本文件（含有二进制内容）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        if len(text) > MAX_TEXT_CHARS:
            raise UnreadableDocument(label, f"文字超过 {MAX_TEXT_CHARS:,} 字，过大")
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise UnreadableDocument(label, "无法识别文字编码（应为 UTF-8 或 GBK/GB18030），或不是文本文件")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    return bool(sample) and len(_CONTROL.findall(sample)) > max(2, len(sample) // 200)


def split_lines(text: str) -> list[str]:
    """Split text into non-empty lines with surrounding white space (incl. U+3000) removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (line.strip(" \t\u3000\ufeff\xa0") for line in text.split("\n"))
    return [line for line in lines if line]


def _read_docx(data: bytes, label: str) -> list[str]:
    _check_zip(data, label)
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types on a damaged file
        raise UnreadableDocument(label, f"无法打开 Word 文件：{type(exc).__name__}") from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.extend(split_lines(block.text))
        elif isinstance(block, Table):
            lines.extend(_table_lines(block))
    return lines


def _table_lines(table: object) -> list[str]:
    # A row becomes one line, cells joined by a separator a reader of Chinese expects;
    # merged cells repeat in python-docx, so consecutive duplicates are dropped.
    rows: list[str] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(split_lines(cell.text))
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" ｜ ".join(cells))
    return rows


def _check_zip(data: bytes, label: str) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableDocument(label, "不是有效的 Word（.docx）文件") from exc
    with archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if total > MAX_DOCX_UNCOMPRESSED:
                raise UnreadableDocument(label, "Word 文件解压后过大，疑似压缩炸弹，已拒绝")
            if info.compress_size and info.file_size / info.compress_size > MAX_DOCX_RATIO:
                raise UnreadableDocument(label, "Word 文件压缩比异常，疑似压缩炸弹，已拒绝")
        for part in ("word/document.xml",):
            if part not in archive.namelist():
                raise UnreadableDocument(label, "不是有效的 Word（.docx）文件：缺少正文")
        for info in archive.infolist():
            if info.filename.endswith(".xml") or info.filename.endswith(".rels"):
                head = archive.read(info)[:4096].upper()
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise UnreadableDocument(
                        label, "Word 文件含有 DOCTYPE/ENTITY 声明（可能是恶意文件），已拒绝"
                    )


def _paged(text: PagedText, format: str) -> ReadResult:
    paragraphs = text.paragraphs
    return ReadResult(
        tuple(p.text for p in paragraphs),
        format,
        pages=tuple(p.page for p in paragraphs),
        ocr=tuple(p.ocr for p in paragraphs),
        page_count=text.pages,
        ocr_pages=text.ocr_pages,
    )
