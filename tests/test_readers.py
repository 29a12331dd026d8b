"""Each document format, from real files made in the test."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from kb.errors import NeedsOCR, UnreadableDocument, UnsupportedDocument
from kb.readers import read_document

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_utf8_text_with_bom_and_full_width_spaces(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeff方案\r\n\u3000\u3000一、主要目标\r\n\r\n内容。\n".encode())
    result = read_document(path)
    assert (result.lines, result.format, result.encoding) == (
        ("方案", "一、主要目标", "内容。"),
        "txt",
        "utf-8",
    )


def test_gbk_text_is_detected(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("创建文明单位实施方案\n公众对城市环保的满意率70%;\n".encode("gbk"))
    result = read_document(path)
    assert (result.lines, result.encoding) == (
        ("创建文明单位实施方案", "公众对城市环保的满意率70%;"),
        "gb18030",
    )


def test_markdown_is_flagged_as_markdown(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# 标题\n\n正文。\n", encoding="utf-8")
    assert read_document(path).markdown is True


def test_docx_paragraphs_and_tables_in_document_order(tmp_path):
    document = docx.Document()
    document.add_paragraph("学习安排")
    document.add_paragraph("一、学习内容")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "科室"
    table.cell(0, 1).text = "完成时间"
    table.cell(1, 0).text = "监测站"
    table.cell(1, 1).text = "6月5日前"
    document.add_paragraph("二、工作要求。按时完成。")
    path = tmp_path / "plan.docx"
    document.save(path)
    assert read_document(path).lines == (
        "学习安排",
        "一、学习内容",
        "科室 ｜ 完成时间",
        "监测站 ｜ 6月5日前",
        "二、工作要求。按时完成。",
    )


def make_pdf(path: Path, lines: list[str]) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("noto", fname=str(CJK_FONT), collection_font_number=2)
    pdf.set_font("noto", size=11)
    for line in lines:
        pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


@pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")
def test_pdf_text_layer_with_wrapped_paragraphs(tmp_path):
    long = "各科室、站、队要组织干部职工认真学习实施方案和学习材料，" * 4 + "按期完成测验。"
    path = make_pdf(tmp_path / "a.pdf", ["学习通知", "一、学习要求", long, "二、完成时间"])
    result = read_document(path)
    assert result.format == "pdf"
    # the long paragraph wrapped over several lines on the page comes back as one
    assert result.lines == ("学习通知", "一、学习要求", long, "二、完成时间")


def test_pdf_without_text_layer_needs_ocr(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(NeedsOCR, match=r"scan\.pdf: PDF 没有文字层"):
        read_document(path)


def test_unsupported_and_damaged_files_name_the_file_and_reason(tmp_path):
    (tmp_path / "a.xls").write_bytes(b"x")
    (tmp_path / "bad.docx").write_bytes(b"not a zip at all")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "empty.txt").write_bytes(b"\n \n")
    messages = {}
    for name in ("a.xls", "bad.docx", "bad.pdf", "binary.txt", "empty.txt"):
        with pytest.raises((UnsupportedDocument, UnreadableDocument)) as info:
            read_document(tmp_path / name)
        messages[name] = info.value.reason
    assert messages == {
        "a.xls": "不支持的文件类型 “.xls”（支持 .txt .md .docx .doc .wps .rtf .odt .pdf .png .jpg .jpeg .tif .tiff）",
        "bad.docx": "不是有效的 Word（.docx）文件",
        "bad.pdf": "PDF 文件已损坏或无法解析",
        "binary.txt": "不是文本文件（含有二进制内容）",
        "empty.txt": "文件中没有可索引的文字",
    }


def _docx_bytes(document_xml: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", document_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_docx_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.docx"
    path.write_bytes(_docx_bytes(b"<w:document/>", {"word/media/big.bin": b"\0" * 30_000_000}))
    with pytest.raises(UnreadableDocument, match="疑似压缩炸弹"):
        read_document(path)


def test_docx_with_entity_declarations_is_refused(tmp_path):
    xml = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "xx">]><w:document>&x;</w:document>'
    path = tmp_path / "xxe.docx"
    path.write_bytes(_docx_bytes(xml))
    with pytest.raises(UnreadableDocument, match="DOCTYPE/ENTITY"):
        read_document(path)


def test_a_mostly_ascii_gbk_file_is_not_taken_for_damaged_utf8(tmp_path):
    # Few bytes are invalid as UTF-8 here, but none is valid multi-byte UTF-8 either.
    path = tmp_path / "notice.txt"
    path.write_bytes(("Notice for all staff. " * 40 + "\n环境日\n").encode("gbk"))
    result = read_document(path)
    assert (result.lines[-1], result.encoding, result.warnings) == ("环境日", "gb18030", ())
