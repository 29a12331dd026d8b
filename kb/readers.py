"""Turn a document file into its lines of text, in document order.

Supported: .txt (UTF-8, UTF-16/32 with a byte-order mark, or GB18030/GBK detected), .md,
.docx (read as Word shows it: kb.word), .doc/.wps/.rtf/.odt (converted to .docx by
LibreOffice: kb.office_convert), .pdf (the text layer read by its layout, scanned pages by
OCR: kb.pdf_reader) and scanned images (.png .jpg .jpeg .tif .tiff, by OCR). Every reader
works within limits on size, so a hostile file is refused rather than allowed to exhaust
memory.
"""

from __future__ import annotations

import bisect
import codecs
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import olefile

from kb.errors import (
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    UnreadableDocument,
    UnsupportedDocument,
)
from kb.ocr import OcrRun
from kb.office_convert import CONVERTED_SUFFIXES, OLE_MAGIC, convert_to_docx, source_format
from kb.pdf_reader import IMAGE_SUFFIXES, PagedText, read_image, read_pdf

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", *CONVERTED_SUFFIXES, ".pdf", *IMAGE_SUFFIXES)

# A .docx is a zip: refuse one whose parts would inflate past this, or that compress
# suspiciously well (a zip bomb), before any XML parser sees them.
MAX_DOCX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200
# Every format: past this many characters of text a file is refused (an 8 M-character
# .docx under the upload limit took over 300 s to embed and wrote nothing).
MAX_TEXT_CHARS = 5_000_000
# A UTF-8 file with a few damaged bytes is read with U+FFFD in their place and a warning,
# up to this share of its bytes (and at least one byte); past it, it is refused.
MAX_BAD_BYTE_SHARE = 0.001


@dataclass(frozen=True)
class ReadResult:
    """What a reader got out of a file.

    Attributes:
        lines: the document's paragraphs (and table rows) in order, blank lines removed.
        format: the file type, e.g. ``txt``.
        encoding: the text encoding a .txt/.md was decoded with, else ``None``.
        markdown: whether ``#`` headings are meaningful.
        levels: each line's heading level (1-9; 0 = body text) where the format marks
            headings (Word's heading styles); empty where it does not.
        pages: the page count, where the format has pages (PDF, image). A .docx has none:
            the count in its docProps/app.xml is whatever the last program wrote
            (python-docx's template and LibreOffice's conversions say 1 for any length).
        ocr_pages: pages whose text came from OCR.
        warnings: what was read despite a problem (damaged bytes replaced, …).
        line_pages: for PDFs and images, the page each line starts on (from 1); else empty.
        line_ocr: for PDFs and images, whether OCR read each line; else empty.
    """

    lines: tuple[str, ...]
    format: str
    encoding: str | None = None
    markdown: bool = False
    levels: tuple[int, ...] = ()
    pages: int | None = None
    ocr_pages: int = 0
    warnings: tuple[str, ...] = ()
    line_pages: tuple[int, ...] = ()
    line_ocr: tuple[bool, ...] = ()


def read_document(
    path: Path, data: bytes | None = None, *, name: str | None = None, ocr: OcrRun | None = None
) -> ReadResult:
    """Read a document, from ``data`` if given (an upload) or else from ``path``.

    ``ocr`` reads scanned pages and images; without it they raise NeedsOCR.

    Raises:
        UnsupportedDocument: the suffix is not one of SUPPORTED_SUFFIXES.
        NeedsLibreOffice: a .doc/.wps/.rtf/.odt and LibreOffice is not installed.
        EncryptedDocument: the file is password-protected.
        DocumentTooLarge: the text is over MAX_TEXT_CHARS.
        EmptyDocument: there is no text.
        UnreadableDocument: the file is damaged, binary or hostile.
        NeedsOCR: scanned pages or an image, and no ``ocr``.
    """
    label = name or str(path)
    suffix = check_supported(Path(name or path).name, label)
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UnreadableDocument(label, f"无法读取文件：{exc.strerror or exc}") from exc
    if suffix in (".txt", ".md"):
        text, encoding, warnings = decode_text(data, label)
        lines = split_lines(text)
        result = ReadResult(
            tuple(lines), suffix[1:], encoding, markdown=suffix == ".md", warnings=warnings
        )
    elif suffix == ".docx" and not data.startswith(OLE_MAGIC):
        result = _read_docx(data, label, "docx")
    elif suffix in (".docx", *CONVERTED_SUFFIXES):
        # An old binary Word file renamed to .docx (common with WPS) is converted too.
        real = source_format(data, label, suffix)
        if real == ".doc":
            _refuse_encrypted(data, label)
        converted = data if real == ".docx" else convert_to_docx(data, label, real)
        result = _read_docx(converted, label, suffix[1:])
    elif suffix == ".pdf":
        result = _paged(read_pdf(data, label, ocr), "pdf")
    else:
        result = _paged(read_image(data, label, ocr), suffix[1:])
    if not result.lines:
        raise EmptyDocument(label, "文件中没有可索引的文字")
    chars = sum(len(line) for line in result.lines)
    if chars > MAX_TEXT_CHARS:
        raise DocumentTooLarge(label, _too_many_chars())
    return result


def check_supported(name: str, label: str | None = None) -> str:
    """The lower-case suffix of ``name``, if it is a type the knowledge base reads.

    Raises:
        UnsupportedDocument: it is not (the message lists the types that are).
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(
            label or name,
            f"不支持的文件类型 “{suffix or '无扩展名'}”（支持 {' '.join(SUPPORTED_SUFFIXES)}）",
        )
    return suffix


def _too_many_chars() -> str:
    return f"提取出的文字超过 {MAX_TEXT_CHARS:,} 字，过大，已停止读取"


def _refuse_encrypted(data: bytes, label: str) -> None:
    # A password-protected .docx is an OLE container holding the encrypted package and its
    # EncryptionInfo stream (names in an OLE directory are UTF-16LE); a Word 97-2003 file
    # (and WPS Writer's, the same format) says so in its header instead.
    if "EncryptionInfo".encode("utf-16-le") in data or _word97_encrypted(data):
        raise EncryptedDocument(label, "文件已加密（设有打开密码），无法读取：请去掉密码后再放入")


_WORD97_IDENT = b"\xec\xa5"  # wIdent 0xA5EC, little-endian
_F_ENCRYPTED = 0x0100  # FIB base, the flags at offset 0x0A: fEncrypted (RC4 or XOR)


def _word97_encrypted(data: bytes) -> bool:
    """Whether a Word 97-2003 file's header (the FIB at the start of its WordDocument
    stream) marks it encrypted; False for anything that is not such a file."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            if not ole.exists("WordDocument"):
                return False
            head = ole.openstream("WordDocument").read(12)
    except (OSError, ValueError):
        return False
    return (
        len(head) == 12
        and head[:2] == _WORD97_IDENT
        and bool(int.from_bytes(head[10:12], "little") & _F_ENCRYPTED)
    )


_BOMS = (
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)


def decode_text(data: bytes, label: str) -> tuple[str, str, tuple[str, ...]]:
    """Decode a plain-text file; returns ``(text, encoding, warnings)``.

    A byte-order mark names the encoding (UTF-8, and UTF-16/UTF-32 as Windows Notepad
    saves "Unicode"). Without one: UTF-8; else UTF-8 with a few damaged bytes (at most
    MAX_BAD_BYTE_SHARE of the file, among far more valid multi-byte characters), read
    with U+FFFD in their place and a warning naming their lines; else GB18030, a superset
    of GBK and GB2312. Bytes that are none of these, or control bytes that text never
    holds, mean the file is not text (a binary named .txt) and are refused.
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(
                    label, f"文件以 {name.upper()} 标记开头，但第 {exc.start} 字节起内容无效"
                ) from None
            return _checked_text(text, label), name, ()
    if b"\x00" in data[:65536]:
        raise UnreadableDocument(label, "不是文本文件（含有二进制内容）")
    try:
        return _checked_text(data.decode("utf-8"), label), "utf-8", ()
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="surrogateescape")
    # surrogateescape keeps each undecodable byte as one U+DC80-U+DCFF character, so the
    # bad bytes can be counted and placed on their lines.
    bad = [i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"]
    valid = sum(1 for ch in text if ord(ch) > 127) - len(bad)
    # Few bad bytes among many valid multi-byte characters: damage, not another encoding
    # (a GBK file that is mostly ASCII has few bad bytes but no valid ones).
    if len(bad) <= max(1, int(len(data) * MAX_BAD_BYTE_SHARE)) and valid >= 10 * len(bad):
        newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        lines = sorted({bisect.bisect(newlines, i) + 1 for i in bad})
        shown = "、".join(str(n) for n in lines[:5]) + ("等" if len(lines) > 5 else "")
        warning = f"有 {len(bad)} 个字节不是有效的 UTF-8（第 {shown} 行），已替换为 “\ufffd”"
        text = re.sub("[\udc80-\udcff]", "\ufffd", text)
        return _checked_text(text, label), "utf-8", (warning,)
    try:
        return _checked_text(data.decode("gb18030"), label), "gb18030", ()
    except UnicodeDecodeError:
        pass
    raise UnreadableDocument(
        label,
        f"无法识别文字编码：按 UTF-8 有 {len(bad):,} 个无效字节（占 {len(bad) / len(data):.2%}，"
        f"超过可替换的上限 {MAX_BAD_BYTE_SHARE:.1%}），也不是 GBK/GB18030；或不是文本文件",
    )


def _checked_text(text: str, label: str) -> str:
    if _looks_binary(text):
        raise UnreadableDocument(label, "不是文本文件（含有二进制内容）")
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentTooLarge(label, _too_many_chars())
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    return bool(sample) and len(_CONTROL.findall(sample)) > max(2, len(sample) // 200)


def split_lines(text: str) -> list[str]:
    """Split text into non-empty lines with surrounding white space (incl. U+3000) removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (line.strip(" \t\u3000\ufeff\xa0") for line in text.split("\n"))
    return [line for line in lines if line]


def _read_docx(data: bytes, label: str, fmt: str) -> ReadResult:
    _check_zip(data, label)
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml.parser import parse_xml

    from kb.word import note_bodies, read_word_xml

    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types on a damaged file
        raise UnreadableDocument(label, f"无法打开 Word 文件：{type(exc).__name__}") from exc

    def root(reltype: str) -> object | None:
        try:
            part = document.part.part_related_by(reltype)
        except KeyError:
            return None
        # Styles and numbering are parsed by python-docx; notes are plain parts.
        element = getattr(part, "element", None)
        return element if element is not None else parse_xml(part.blob)

    try:
        notes = {
            "footnote": note_bodies(root(RT.FOOTNOTES), "footnote"),
            "endnote": note_bodies(root(RT.ENDNOTES), "endnote"),
        }
        text = read_word_xml(
            document.element.body,
            root(RT.STYLES),
            root(RT.NUMBERING),
            notes,
            label,
            MAX_TEXT_CHARS,
        )
    except DocumentTooLarge:
        raise
    except Exception as exc:  # a damaged part: the XML parser raises many types
        raise UnreadableDocument(label, f"Word 文件内容已损坏：{type(exc).__name__}") from exc
    return ReadResult(text.lines, fmt, levels=text.levels)


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
        pages=text.pages,
        ocr_pages=text.ocr_pages,
        line_pages=tuple(p.page for p in paragraphs),
        line_ocr=tuple(p.ocr for p in paragraphs),
    )
