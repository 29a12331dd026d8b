""".doc, .wps, .rtf and .odt converted by LibreOffice (in the isolated child, each with a
profile of its own) and read as .docx; where LibreOffice is missing, each file is named
with the command that installs it."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from kb.chunking import chunk_lines
from kb.errors import EncryptedDocument, UnreadableDocument
from kb.ingest import sync_corpus
from kb.isolation import read_untrusted
from kb.office_convert import OLE_MAGIC, convert_to_docx, soffice_path
from tests.test_word import LAW_PASSAGES

needs_soffice = pytest.mark.skipif(
    soffice_path() is None,
    reason="LibreOffice is not installed (apt-get install libreoffice-writer-nogui)",
)


@needs_soffice
@pytest.mark.slow
def test_old_word_wps_odt_and_rtf_read_like_the_docx(office_files):
    # Four conversions at once: each has its own profile, so none waits on another's lock.
    def read(suffix):
        result = read_untrusted(f"法规{suffix}", office_files[suffix].read_bytes())
        doc = chunk_lines(result.lines, levels=result.levels)
        return result.format, (doc.title, [(c.heading_path, c.text) for c in doc.chunks])

    with ThreadPoolExecutor(4) as pool:
        results = dict(zip(office_files, pool.map(read, office_files), strict=True))
    assert results == {
        ".doc": ("doc", LAW_PASSAGES),
        ".wps": ("wps", LAW_PASSAGES),
        ".odt": ("odt", LAW_PASSAGES),
        ".rtf": ("rtf", LAW_PASSAGES),
    }


@needs_soffice
def test_an_encrypted_doc_or_wps_is_reported_as_encrypted(office_files, tmp_path):
    # Word 97-2003 (and WPS, the same format) marks a password in the header of its
    # WordDocument stream (fEncrypted); the file is the real converted law with that flag.
    import olefile

    plain = office_files[".doc"].read_bytes()
    locked = tmp_path / "locked.doc"
    locked.write_bytes(plain)
    with olefile.OleFileIO(str(locked), write_mode=True) as ole:
        stream = bytearray(ole.openstream("WordDocument").read())
        stream[11] |= 0x01  # the flags at 0x0A, little-endian: 0x0100 is fEncrypted
        ole.write_stream("WordDocument", bytes(stream))
    for name in ("保密.doc", "保密.wps"):
        with pytest.raises(EncryptedDocument) as info:
            read_untrusted(name, locked.read_bytes())
        assert (info.value.kind, info.value.reason) == (
            "encrypted",
            "文件已加密（设有打开密码），无法读取：请去掉密码后再放入",
        )


@needs_soffice
@pytest.mark.slow
def test_a_corpus_of_old_formats_is_indexed_and_reported(db, tmp_path, office_files):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "条例.doc").write_bytes(office_files[".doc"].read_bytes())
    (corpus / "坏文件.doc").write_bytes(OLE_MAGIC + b"\x00" * 4000)
    (corpus / "纯文本.doc").write_bytes("其实是纯文本".encode())
    report = sync_corpus(db, corpus, None)
    assert [(f.path, f.status, f.kind, f.reason, f.passages) for f in report.files] == [
        (
            "坏文件.doc",
            "failed",
            "unreadable",
            "LibreOffice 无法转换此 .doc 文件（可能已损坏或设有密码）：Error: source file could not be loaded",
            0,
        ),
        ("条例.doc", "added", "", "", 6),
        (
            "纯文本.doc",
            "failed",
            "unreadable",
            "不是有效的 .doc 文件：内容不是 Word、WPS、RTF 或 OpenDocument 格式",
            0,
        ),
    ]


@needs_soffice
@pytest.mark.slow
def test_a_conversion_past_its_time_limit_is_stopped_with_libreoffice(
    tmp_path, monkeypatch, office_files
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(UnreadableDocument) as info:
        convert_to_docx(office_files[".doc"].read_bytes(), "慢.doc", ".doc", timeout=0.5)
    assert info.value.reason == "LibreOffice 转换超过 0.5 秒仍未完成，已停止"
    left = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if any(str(tmp_path) in part for part in p.info["cmdline"] or [])
    ]
    assert left == []


def test_without_libreoffice_each_file_is_named_with_the_install_command(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("通知.doc", "方案.wps", "条例.odt", "说明.rtf"):
        (corpus / name).write_bytes(OLE_MAGIC + b"\x00" * 100)
    report = sync_corpus(db, corpus, None)
    assert [(f.path, f.status, f.kind, f.reason) for f in report.files] == [
        (
            f"{stem}{suffix}",
            "failed",
            "needs_libreoffice",
            f"读取 {suffix} 文件需要 LibreOffice，本机未安装；安装命令：apt-get install libreoffice-writer-nogui",
        )
        for stem, suffix in (("方案", ".wps"), ("条例", ".odt"), ("说明", ".rtf"), ("通知", ".doc"))
    ]
