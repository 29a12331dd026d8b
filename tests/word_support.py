"""Real Word documents for the ingestion tests, written with python-docx plus the raw
WordprocessingML that python-docx has no API for (numbering definitions, tracked changes,
fields, content controls, smart tags, text boxes, footnotes)."""

from __future__ import annotations

import re
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (
    f'xmlns:w="{W}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)

# A law's numbering as Word's 样式 set it up: chapters 第%1章 and articles 第%1条 in
# Chinese counting (articles run on through the chapters), items （%1） restarting under
# each article, and a plain decimal list 1.
LAW_NUMBERING = f"""
<w:numbering {NS}>
  <w:abstractNum w:abstractNumId="101">
    <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
      <w:lvlText w:val="第%1章"/><w:suff w:val="space"/></w:lvl>
  </w:abstractNum>
  <w:abstractNum w:abstractNumId="102">
    <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCountingThousand"/>
      <w:lvlText w:val="第%1条"/><w:suff w:val="space"/></w:lvl>
    <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
      <w:lvlText w:val="（%2）"/><w:suff w:val="nothing"/></w:lvl>
  </w:abstractNum>
  <w:abstractNum w:abstractNumId="103">
    <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="ideographTraditional"/>
      <w:lvlText w:val="%1、"/></w:lvl>
    <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/>
      <w:lvlText w:val="%1.%2"/></w:lvl>
  </w:abstractNum>
  <w:num w:numId="101"><w:abstractNumId w:val="101"/></w:num>
  <w:num w:numId="102"><w:abstractNumId w:val="102"/></w:num>
  <w:num w:numId="103"><w:abstractNumId w:val="103"/></w:num>
  <w:num w:numId="104"><w:abstractNumId w:val="103"/>
    <w:lvlOverride w:ilvl="0"><w:startOverride w:val="5"/></w:lvlOverride></w:num>
</w:numbering>
"""


def add_numbering(document: docx.document.Document, xml: str = LAW_NUMBERING) -> None:
    """Put the abstract lists and lists of ``xml`` into the document's numbering part
    (abstract lists before lists, as the schema orders them)."""
    numbering = document.part.numbering_part.element
    extra = parse_xml(xml)
    first_num = numbering.find(f"{{{W}}}num")
    for abstract in extra.findall(f"{{{W}}}abstractNum"):
        if first_num is not None:
            first_num.addprevious(abstract)
        else:
            numbering.append(abstract)
    for num in extra.findall(f"{{{W}}}num"):
        numbering.append(num)


def numbered(document, text: str, num_id: int, ilvl: int = 0, style: str | None = None):
    """A paragraph numbered by list ``num_id`` at level ``ilvl``."""
    paragraph = document.add_paragraph(text, style=style)
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = num_id
    return paragraph


def inline(paragraph, xml: str) -> None:
    """Append one raw element, written with the w: prefix and no namespace declarations."""
    paragraph._p.append(parse_xml(re.sub(r"^<([\w:]+)", rf"<\1 {NS}", xml, count=1)))


def add_notes(document, kind: str, notes: dict[int, str]) -> None:
    """Give the document a footnotes (or endnotes) part holding ``notes`` by id, with the
    separator notes Word writes first."""
    tag = "footnote" if kind == "footnote" else "endnote"
    body = "".join(
        f'<w:{tag} w:id="{note_id}"><w:p><w:pPr><w:pStyle w:val="FootnoteText"/></w:pPr>'
        f'<w:r><w:{tag}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:{tag}>'
        for note_id, text in notes.items()
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:{tag}s {NS}>'
        f'<w:{tag} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{tag}>'
        f'<w:{tag} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
        f"</w:r></w:p></w:{tag}>{body}</w:{tag}s>"
    )
    partname, content_type, reltype = (
        ("/word/footnotes.xml", CT.WML_FOOTNOTES, RT.FOOTNOTES)
        if kind == "footnote"
        else ("/word/endnotes.xml", CT.WML_ENDNOTES, RT.ENDNOTES)
    )
    part = Part(PackURI(partname), content_type, xml.encode("utf-8"), document.part.package)
    document.part.relate_to(part, reltype)


def note_reference(paragraph, kind: str, note_id: int) -> None:
    tag = "footnoteReference" if kind == "footnote" else "endnoteReference"
    inline(paragraph, f'<w:r><w:{tag} w:id="{note_id}"/></w:r>')


LAW = [
    # (automatic number, text, list, level, style)
    ("第一章 ", "总则", 101, 0, "Heading 1"),
    ("第一条 ", "为了保护和改善环境，制定本条例。", 102, 0, None),
    ("第二条 ", "本条例适用于本市行政区域。", 102, 0, None),
    ("第二章 ", "监督管理", 101, 0, "Heading 1"),
    ("第三条 ", "市生态环境主管部门履行下列职责：", 102, 0, None),
    ("（一）", "制定环境保护规划；", 102, 1, None),
    ("（二）", "监督检查排污单位。", 102, 1, None),
    ("第四条 ", "任何单位和个人都有保护环境的义务。", 102, 0, None),
]


def write_law_docx(path: Path, *, typed: bool = False) -> Path:
    """A short law typed the way Word users type one: title, chapters as 标题 1 with
    automatic 第%1章 numbering, articles with automatic 第%1条 numbering (no number in the
    typed text), items （%1）, and a header and footer that must be left out.

    ``typed``: the numbers typed into the text instead (for LibreOffice's RTF export,
    which writes a list's Chinese number text as question marks)."""
    document = docx.Document()
    add_numbering(document)
    section = document.sections[0]
    section.header.paragraphs[0].text = "某市生态环境局文件"
    section.footer.paragraphs[0].text = "— 1 —"
    document.add_paragraph("某市环境保护条例")
    for number, text, num_id, ilvl, style in LAW:
        if typed:
            document.add_paragraph(number + text, style=style)
        else:
            numbered(document, text, num_id, ilvl, style)
    document.save(path)
    return path


def write_word_features_docx(path: Path) -> Path:
    """One document with every feature of Word that hides text from python-docx's
    ``paragraph.text``: heading styles (Heading n, 标题 n, a style based on a heading,
    a direct outline level), tracked changes, fields, content controls, smart tags, a
    text box, footnotes and an endnote, a table with a numbered cell."""
    document = docx.Document()
    add_numbering(document)
    chinese_heading = document.styles.add_style("标题 3", WD_STYLE_TYPE.PARAGRAPH)
    chinese_heading.base_style = document.styles["Normal"]
    based = document.styles.add_style("局内标题", WD_STYLE_TYPE.PARAGRAPH)
    based.base_style = document.styles["Heading 2"]

    document.add_heading("工作要点", level=1)
    document.add_paragraph("联络方式", style="局内标题")
    phone = document.add_paragraph("值班电话：")
    inline(phone, '<w:r><w:fldChar w:fldCharType="begin"/></w:r>')
    inline(phone, '<w:r><w:instrText xml:space="preserve"> MERGEFIELD 电话 </w:instrText></w:r>')
    inline(phone, '<w:r><w:fldChar w:fldCharType="separate"/></w:r>')
    inline(phone, "<w:r><w:t>12369</w:t></w:r>")
    inline(phone, '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    inline(phone, "<w:r><w:t>，联系人：</w:t></w:r>")
    inline(
        phone,
        '<w:sdt><w:sdtPr><w:alias w:val="联系人"/></w:sdtPr><w:sdtContent>'
        "<w:r><w:t>张三</w:t></w:r></w:sdtContent></w:sdt>",
    )
    inline(phone, "<w:r><w:t>，地址：</w:t></w:r>")
    inline(
        phone,
        '<w:smartTag w:uri="urn:schemas-microsoft-com:office:smarttags" w:element="place">'
        "<w:r><w:t>人民路1号</w:t></w:r></w:smartTag>",
    )
    inline(phone, "<w:r><w:t>。</w:t></w:r>")
    note_reference(phone, "footnote", 1)

    revised = document.add_paragraph("排污单位应当")
    inline(
        revised,
        '<w:ins w:id="11" w:author="审核" w:date="2026-11-01T00:00:00Z">'
        "<w:r><w:t>如实</w:t></w:r></w:ins>",
    )
    inline(
        revised,
        '<w:del w:id="12" w:author="审核" w:date="2026-11-01T00:00:00Z">'
        "<w:r><w:delText>按季度</w:delText></w:r></w:del>",
    )
    inline(revised, "<w:r><w:t>公开排放信息，</w:t></w:r>")
    inline(
        revised,
        '<w:fldSimple w:instr=" DOCPROPERTY 期限 "><w:r><w:t>每月</w:t></w:r></w:fldSimple>',
    )
    inline(revised, "<w:r><w:t>更新一次。</w:t></w:r>")
    note_reference(revised, "endnote", 2)

    document.add_paragraph("考核办法", style="标题 3")
    boxed = document.add_paragraph("考核结果报市委。")
    inline(
        boxed,
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        "<a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent>"
        "<w:p><w:r><w:t>文本框：考核不合格的取消评选资格。</w:t></w:r></w:p>"
        "</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor>"
        "</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>"
        "<w:p><w:r><w:t>文本框：考核不合格的取消评选资格。</w:t></w:r></w:p>"
        "</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>",
    )
    note_reference(boxed, "footnote", 2)
    outline = document.add_paragraph("附则")
    outline._p.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {NS} w:val="0"/>'))
    numbered(document, "本要点自印发之日起施行", 103)
    numbered(document, "由办公室负责解释", 103, ilvl=1)
    numbered(document, "另行通知", 104)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "科室"
    table.cell(0, 1).text = "任务"
    table.cell(1, 0).text = "监测站"
    numbered_cell = table.cell(1, 1).paragraphs[0]
    numbered_cell.text = "按月报送数据"
    num_pr = numbered_cell._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = 0
    num_pr.get_or_add_numId().val = 103
    note_reference(table.cell(1, 0).paragraphs[0], "footnote", 3)
    add_notes(
        document,
        "footnote",
        {1: "工作日 8:30-17:30。", 2: "见《考核细则》。", 3: "含各区分站。"},
    )
    add_notes(document, "endnote", {2: "2026年11月修订。"})
    document.save(path)
    return path
