"""Hostile documents are refused with a clear message, parsed within limits, and change
nothing that was stored."""

from __future__ import annotations

import io
import zipfile

import pytest

import kb.isolation
from kb.errors import UnreadableDocument
from kb.ingest import ingest_upload, sync_corpus
from kb.isolation import read_untrusted

LIMIT = 1024 * 1024


def looping_pdf() -> bytes:
    """A PDF whose page tree lists itself as its own child, written by hand."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def test_a_looping_pdf_is_refused(tmp_path, db):
    report = ingest_upload(db, tmp_path / "c", "loop.pdf", looping_pdf(), None, LIMIT)
    assert report.errors == ["loop.pdf: PDF 文件已损坏或无法解析"]
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0


def test_a_truncated_pdf_is_refused(tmp_path, db):
    report = ingest_upload(db, tmp_path / "c", "cut.pdf", looping_pdf()[:60], None, LIMIT)
    assert report.errors == ["cut.pdf: PDF 文件已损坏或无法解析"]


def test_a_parser_that_runs_too_long_is_stopped(monkeypatch):
    with pytest.raises(UnreadableDocument) as info:
        read_untrusted("slow.pdf", looping_pdf(), timeout=0.001)
    assert info.value.reason == "解析超过 0.001 秒仍未完成，疑似损坏或恶意文件，已拒绝"


def test_a_parser_that_swells_is_stopped(monkeypatch):
    # A memory limit far below what Python needs to start makes the child fail at once.
    monkeypatch.setattr(kb.isolation, "PARSE_MEMORY_BYTES", 16 * 1024 * 1024)
    with pytest.raises(UnreadableDocument) as info:
        read_untrusted("big.docx", b"PK")
    assert info.value.reason == "解析时出错或占用内存过多，疑似损坏或恶意文件，已拒绝"


def test_docx_bomb_and_entities_through_ingest(tmp_path, db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    before = db.execute("SELECT path, content_hash FROM documents ORDER BY path").fetchall()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/fill.bin", b"\0" * 50_000_000)
    entity = io.BytesIO()
    with zipfile.ZipFile(entity, "w") as archive:
        archive.writestr(
            "word/document.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><w:document>&a;</w:document>',
        )
    reports = [
        ingest_upload(db, tiny_corpus, "bomb.docx", bomb.getvalue(), None, 10 * LIMIT),
        ingest_upload(db, tiny_corpus, "xxe.docx", entity.getvalue(), None, 10 * LIMIT),
        ingest_upload(db, tiny_corpus, "tiny_plan.txt", b"\x00\x01" * 300, None, LIMIT),
        ingest_upload(db, tiny_corpus, "huge.txt", b"a" * (2 * LIMIT), None, LIMIT),
    ]
    assert [r.errors for r in reports] == [
        ["bomb.docx: Word 文件压缩比异常，疑似压缩炸弹，已拒绝"],
        ["xxe.docx: Word 文件含有 DOCTYPE/ENTITY 声明（可能是恶意文件），已拒绝"],
        ["tiny_plan.txt: 不是文本文件（含有二进制内容）"],
        ["huge.txt: 文件大小 2.0 MB 超过上限 1.0 MB"],
    ]
    assert db.execute("SELECT path, content_hash FROM documents ORDER BY path").fetchall() == before
    assert sorted(p.name for p in tiny_corpus.iterdir()) == ["tiny_law.md", "tiny_plan.txt"]
