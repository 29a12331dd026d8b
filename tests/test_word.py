"""Word documents read as Word shows them: automatic numbering, heading styles, tracked
changes, fields, content controls, smart tags, text boxes, footnotes; headers and footers
left out. The documents are real .docx files written in the test (tests/word_support.py)."""

from __future__ import annotations

import io

import docx
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from kb.chunking import chunk_lines
from kb.errors import DocumentTooLarge, EncryptedDocument
from kb.numbering import article_gaps, chinese_number, format_number, parse_chinese_number
from kb.readers import read_document
from tests.word_support import write_law_docx, write_word_features_docx


def passages(result) -> tuple[str, list[tuple[str, str]]]:
    doc = chunk_lines(result.lines, markdown=result.markdown, levels=result.levels)
    return doc.title, [(c.heading_path, c.text) for c in doc.chunks]


LAW_PASSAGES = (
    "某市环境保护条例",
    [
        ("第一章 总则 › 第一条", "为了保护和改善环境，制定本条例。"),
        ("第一章 总则 › 第二条", "本条例适用于本市行政区域。"),
        ("第二章 监督管理 › 第三条", "市生态环境主管部门履行下列职责："),
        ("第二章 监督管理 › 第三条", "（一）制定环境保护规划；"),
        ("第二章 监督管理 › 第三条", "（二）监督检查排污单位。"),
        ("第二章 监督管理 › 第四条", "任何单位和个人都有保护环境的义务。"),
    ],
)


def test_automatic_numbering_gives_article_numbers_and_heading_paths(tmp_path):
    result = read_document(write_law_docx(tmp_path / "law.docx"))
    assert list(zip(result.lines, result.levels, strict=True)) == [
        ("某市环境保护条例", 0),
        ("第一章 总则", 1),
        ("第一条 为了保护和改善环境，制定本条例。", 0),
        ("第二条 本条例适用于本市行政区域。", 0),
        ("第二章 监督管理", 1),
        ("第三条 市生态环境主管部门履行下列职责：", 0),
        ("（一）制定环境保护规划；", 0),
        ("（二）监督检查排污单位。", 0),
        ("第四条 任何单位和个人都有保护环境的义务。", 0),
    ]
    assert passages(result) == LAW_PASSAGES
    # python-docx alone sees none of the numbers; the header and footer are left out.
    assert [p.text for p in docx.Document(tmp_path / "law.docx").paragraphs][1:3] == [
        "总则",
        "为了保护和改善环境，制定本条例。",
    ]
    assert (result.format, result.pages) == ("docx", None)


def test_styles_revisions_fields_controls_boxes_and_notes(tmp_path):
    result = read_document(write_word_features_docx(tmp_path / "features.docx"))
    assert list(zip(result.lines, result.levels, strict=True)) == [
        ("工作要点", 1),
        ("联络方式", 2),
        ("值班电话：12369，联系人：张三，地址：人民路1号。", 0),
        ("注1：工作日 8:30-17:30。", 0),
        ("排污单位应当如实公开排放信息，每月更新一次。", 0),
        ("尾注1：2026年11月修订。", 0),
        ("考核办法", 3),
        ("考核结果报市委。", 0),
        ("文本框：考核不合格的取消评选资格。", 0),
        ("注2：见《考核细则》。", 0),
        ("附则", 1),
        ("甲、本要点自印发之日起施行", 0),
        ("甲.1 由办公室负责解释", 0),
        ("戊、另行通知", 0),
        ("科室 ｜ 任务", 0),
        ("监测站 ｜ 己、按月报送数据", 0),
        ("注3：含各区分站。", 0),
    ]
    assert passages(result) == (
        "工作要点",
        [
            ("联络方式", "值班电话：12369，联系人：张三，地址：人民路1号。"),
            ("联络方式", "注1：工作日 8:30-17:30。"),
            ("联络方式", "排污单位应当如实公开排放信息，每月更新一次。"),
            ("联络方式", "尾注1：2026年11月修订。"),
            ("联络方式 › 考核办法", "考核结果报市委。"),
            ("联络方式 › 考核办法", "文本框：考核不合格的取消评选资格。"),
            ("联络方式 › 考核办法", "注2：见《考核细则》。"),
            ("附则", "甲、本要点自印发之日起施行"),
            ("附则", "甲.1 由办公室负责解释"),
            ("附则", "戊、另行通知"),
            ("附则", "科室 ｜ 任务"),
            ("附则", "监测站 ｜ 己、按月报送数据"),
            ("附则", "注3：含各区分站。"),
        ],
    )


def test_an_encrypted_docx_is_reported_as_encrypted(tmp_path):
    plain = write_law_docx(tmp_path / "plain.docx")
    encrypted = io.BytesIO()
    with plain.open("rb") as source:
        OOXMLFile(source).encrypt("secret", encrypted)
    with pytest.raises(EncryptedDocument) as info:
        read_document(tmp_path / "locked.docx", encrypted.getvalue())
    assert info.value.reason == "文件已加密（设有打开密码），无法读取：请去掉密码后再放入"


def test_a_docx_past_the_character_limit_stops_early(tmp_path, monkeypatch):
    import kb.readers

    document = docx.Document()
    for _ in range(50):
        document.add_paragraph("字" * 100)
    path = tmp_path / "long.docx"
    document.save(path)
    monkeypatch.setattr(kb.readers, "MAX_TEXT_CHARS", 1000)
    with pytest.raises(DocumentTooLarge) as info:
        read_document(path)
    assert info.value.reason == "提取出的文字超过 1,000 字，过大，已停止读取"


def test_chinese_numbers_and_word_formats():
    assert [chinese_number(n) for n in (1, 10, 15, 20, 101, 110, 119, 1000, 1010)] == [
        "一",
        "十",
        "十五",
        "二十",
        "一百零一",
        "一百一十",
        "一百一十九",
        "一千",
        "一千零一十",
    ]
    assert all(parse_chinese_number(chinese_number(n)) == n for n in range(1, 3000))
    assert [
        format_number(3, fmt)
        for fmt in (
            "chineseCounting",
            "chineseLegalSimplified",
            "ideographTraditional",
            "ideographZodiac",
            "decimalEnclosedCircle",
            "decimalFullWidth",
            "lowerLetter",
            "upperRoman",
            "decimal",
            "bullet",
        )
    ] == ["三", "叁", "丙", "寅", "③", "３", "c", "III", "3", ""]


def test_article_gaps_are_named():
    headings = ["第一章 总则", "第一条", "第二条", "第五条", "第五条之一", "第十三条"]
    assert article_gaps(headings) == [
        "第三条 未找到",
        "第四条 未找到",
        "第六条 未找到",
        "第七条 未找到",
        "第八条 未找到",
        "第九条 未找到",
        "第十条 未找到",
        "第十一条 未找到",
        "第十二条 未找到",
    ]
    assert article_gaps(["第一条", "第三条"]) == []  # two articles: not numbered by article


def test_numbering_set_by_a_style_and_removed_by_numid_zero(tmp_path):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml

    from tests.word_support import NS, add_numbering

    document = docx.Document()
    add_numbering(document)
    article = document.styles.add_style("条文", WD_STYLE_TYPE.PARAGRAPH)
    article.element.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {NS}><w:ilvl w:val="0"/><w:numId w:val="102"/></w:numPr>')
    )
    document.add_paragraph("排污费征收办法", style="Heading 1")
    document.add_paragraph("排污者应当缴纳排污费。", style="条文")
    unnumbered = document.add_paragraph("（本条不编号）", style="条文")
    unnumbered._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = 0
    document.add_paragraph("排污费全部专项用于环境污染防治。", style="条文")
    path = tmp_path / "styled.docx"
    document.save(path)
    result = read_document(path)
    assert list(zip(result.lines, result.levels, strict=True)) == [
        ("排污费征收办法", 1),
        ("第一条 排污者应当缴纳排污费。", 0),
        ("（本条不编号）", 0),
        ("第二条 排污费全部专项用于环境污染防治。", 0),
    ]
