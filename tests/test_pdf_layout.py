"""Office PDFs read as the document: real PDFs laid out line by line with fpdf2.

The PDFs are set the way Word or WPS prints a document: a title on the first page, a
running header (the same title) and a page number on every page, paragraphs wrapped at
the right margin with a two-character first-line indent, a footnote in small type at the
foot of a page with its mark raised in the text, and a ruled table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from kb.chunking import chunk_lines
from kb.errors import EncryptedDocument
from kb.pdf_layout import tidy_spaces
from kb.readers import read_document

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")

TITLE = "关于加强重点区域大气污染防治工作的通知"
SIZE = 14  # points: body type
LEFT, RIGHT, TOP, BOTTOM = 25.0, 185.0, 30.0, 265.0  # millimetres on A4
PER_LINE = 32  # characters of 14 pt in the 160 mm measure

# (kind, text): "title" is centred and large; "para" is wrapped with a first-line indent;
# "note" is a footnote for the page being set; "table" is a ruled table.
BODY: list[tuple[str, object]] = [
    ("title", TITLE),
    (
        "para",
        "第一条 为了防治重点区域大气污染，保障公众健康，根据有关法律，结合本地实际，制定本办法。",
    ),
    (
        "para",
        # The second printed line starts with 一、 in the middle of the sentence.
        "第二条 本办法所称重点区域，是指按照大气环境质量功能区划划定的"
        "一、二类功能区以及城市建成区，具体范围由市人民政府确定并公布。",
    ),
    ("para", "第三条 每年 6 月 5 日为环境日，各单位应当组织开展宣传活动。"),
    (
        "para",
        "第四条 排放大气污染物的企业事业单位应当依法取得排污许可^1，按照许可证载明的"
        "污染物种类、浓度和排放量排放污染物，并建立台账。",
    ),
    ("note", "1 排污许可是指生态环境主管部门依排污单位的申请核发排污许可证的行为。"),
    (
        "para",
        "第五条 各级人民政府应当加强对重点区域大气污染防治工作的领导，建立协调机制，"
        "统筹解决跨区域的大气污染问题，并将大气环境质量改善目标完成情况纳入考核。",
    ),
    ("para", "第六条 重点区域的排放限值如下表："),
    (
        "table",
        [
            ["污染物", "限值（毫克/立方米）", "适用范围"],
            ["二氧化硫", "35", "燃煤锅炉以及其他各类工业窑炉的排放口"],
            ["氮氧化物", "50", "燃气锅炉"],
        ],
    ),
    ("para", "第七条 本办法自2026年1月1日起施行。"),
]


class OfficePdf:
    """Sets BODY line by line as an office suite would, with a chosen page-number form."""

    def __init__(self, page_number: str, lines_per_page: int) -> None:
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_auto_page_break(False)
        self.pdf.add_font("noto", fname=str(CJK_FONT), collection_font_number=2)
        self.page_number = page_number
        self.lines_per_page = lines_per_page
        self.char = (RIGHT - LEFT) / PER_LINE
        self.pitch = 9.0
        self.notes: list[str] = []
        self.note_of_mark = ""
        self.pages = 0
        self.new_page()

    def new_page(self) -> None:
        if self.pages:
            self.finish_page()
        self.pdf.add_page()
        self.pages += 1
        self.y = TOP + 10
        self.lines = 0
        self.pdf.set_font("noto", size=10.5)
        self.pdf.set_xy(LEFT, 12)
        self.pdf.cell(RIGHT - LEFT, 6, TITLE, align="C")

    def finish_page(self) -> None:
        self.pdf.set_font("noto", size=9)
        y = BOTTOM - 6 * len(self.notes)
        for note in self.notes:
            self.pdf.text(LEFT, y, note)
            y += 6
        self.notes = []
        self.pdf.set_font("noto", size=12)
        number = self.page_number.format(n=self.pages, total=3)
        self.pdf.set_xy(LEFT, 280)
        self.pdf.cell(RIGHT - LEFT, 6, number, align="C")

    def room(self) -> None:
        if self.lines >= self.lines_per_page:
            self.new_page()

    def write_line(self, x: float, text: str) -> None:
        self.room()
        self.pdf.set_font("noto", size=SIZE)
        cursor = x
        for part in text.split("^"):
            if cursor != x:  # a raised note mark: its digit, then the rest of the line
                mark, part = part[0], part[1:]
                self.pdf.set_font("noto", size=8)
                self.pdf.text(cursor, self.y - 2.2, mark)
                # The note goes to the foot of the page its mark is on.
                self.notes.append(self.note_of_mark)
                cursor += 2
                self.pdf.set_font("noto", size=SIZE)
            self.pdf.text(cursor, self.y, part)
            cursor += self.pdf.get_string_width(part)
        self.y += self.pitch
        self.lines += 1

    def para(self, text: str) -> None:
        # Filled to the right margin as an office suite does; a note mark ("^1") is set
        # small and takes no room in the measure.
        self.pdf.set_font("noto", size=SIZE)
        first = True
        while text:
            width = RIGHT - LEFT - (2 * self.char if first else 0)
            end = 0
            while (
                end < len(text)
                and self.pdf.get_string_width(text[: end + 1].replace("^1", "")) <= width
            ):
                end += 1
            end += 2 if text[end : end + 2] == "^1" else 0
            line, text = text[:end], text[end:]
            self.write_line(LEFT + (2 * self.char if first else 0), line)
            first = False

    def title(self, text: str) -> None:
        self.pdf.set_font("noto", size=22)
        self.pdf.set_xy(LEFT, self.y - 8)
        self.pdf.cell(RIGHT - LEFT, 10, text, align="C")
        self.y += 16

    def table(self, rows: list[list[str]]) -> None:
        self.pdf.set_font("noto", size=12)
        self.pdf.set_xy(LEFT, self.y - 5)
        with self.pdf.table(
            col_widths=(30, 50, 80), line_height=7, first_row_as_headings=False
        ) as t:
            for row in rows:
                r = t.row()
                for cell in row:
                    r.cell(cell)
        self.y = self.pdf.get_y() + 10
        self.lines += 4

    def build(self, path: Path) -> Path:
        for index, (kind, content) in enumerate(BODY):
            following = BODY[index + 1] if index + 1 < len(BODY) else ("", "")
            self.note_of_mark = following[1] if following[0] == "note" else ""
            if kind == "title":
                self.title(content)  # type: ignore[arg-type]
            elif kind == "para":
                self.para(content)  # type: ignore[arg-type]
            elif kind == "table":
                self.table(content)  # type: ignore[arg-type]
        self.finish_page()
        self.pdf.output(str(path))
        return path


EXPECTED_LINES = (
    TITLE,
    "第一条 为了防治重点区域大气污染，保障公众健康，根据有关法律，结合本地实际，制定本办法。",
    "第二条 本办法所称重点区域，是指按照大气环境质量功能区划划定的"
    "一、二类功能区以及城市建成区，具体范围由市人民政府确定并公布。",
    "第三条 每年6月5日为环境日，各单位应当组织开展宣传活动。",
    "第四条 排放大气污染物的企业事业单位应当依法取得排污许可，按照许可证载明的"
    "污染物种类、浓度和排放量排放污染物，并建立台账。",
    "注1：排污许可是指生态环境主管部门依排污单位的申请核发排污许可证的行为。",
    "第五条 各级人民政府应当加强对重点区域大气污染防治工作的领导，建立协调机制，"
    "统筹解决跨区域的大气污染问题，并将大气环境质量改善目标完成情况纳入考核。",
    "第六条 重点区域的排放限值如下表：",
    "污染物 ｜ 限值（毫克/立方米） ｜ 适用范围",
    "二氧化硫 ｜ 35 ｜ 燃煤锅炉以及其他各类工业窑炉的排放口",
    "氮氧化物 ｜ 50 ｜ 燃气锅炉",
    "第七条 本办法自2026年1月1日起施行。",
)


@pytest.mark.parametrize(
    "page_number", ["— {n} —", "- {n} -", "第 {n} 页", "{n}/{total}", "第 {n} 页 共 {total} 页"]
)
def test_office_pdf_reads_as_the_document(tmp_path, page_number):
    # Six lines a page: articles and the footnote's article run across page breaks.
    path = OfficePdf(page_number, lines_per_page=6).build(tmp_path / "通知.pdf")
    result = read_document(path)
    assert result.lines == EXPECTED_LINES
    assert result.pages >= 3


def test_office_pdf_passages_headings_and_title(tmp_path):
    path = OfficePdf("— {n} —", lines_per_page=6).build(tmp_path / "通知.pdf")
    result = read_document(path)
    doc = chunk_lines(result.lines)
    assert doc.title == TITLE
    # No wrapped line became a heading: the only headings are the articles.
    assert [b.text for b in doc.blocks if b.kind == "heading"] == [
        f"第{n}条" for n in "一二三四五六七"
    ]
    note = next(c for c in doc.chunks if c.text.startswith("注1"))
    assert (note.heading_path, note.text) == (
        "第四条",
        "注1：排污许可是指生态环境主管部门依排污单位的申请核发排污许可证的行为。",
    )
    pages = dict(zip(result.lines, result.line_pages, strict=True))
    assert pages[TITLE] == 1
    assert result.line_ocr == (False,) * len(result.lines)


def test_a_one_page_pdf_takes_its_title_not_the_header_that_repeats_it(tmp_path):
    path = OfficePdf("— {n} —", lines_per_page=40).build(tmp_path / "一页.pdf")
    result = read_document(path)
    assert (result.pages, result.lines) == (1, EXPECTED_LINES)


def test_spaces_between_cjk_and_digits_are_dropped_but_not_between_latin_words():
    assert tidy_spaces("每年 6 月 5 日，PM 2.5 浓度 下降 10 %") == "每年6月5日，PM 2.5浓度 下降10 %"


def test_owner_password_pdf_is_read_and_an_encrypted_one_is_reported(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = OfficePdf("— {n} —", lines_per_page=6).build(tmp_path / "plain.pdf")
    for name, user_password in (("owner.pdf", ""), ("locked.pdf", "secret")):
        writer = PdfWriter(clone_from=PdfReader(plain))
        # Owner password only: printing and copying restricted, opening is free.
        writer.encrypt(
            user_password=user_password, owner_password="owner-pass", algorithm="RC4-128"
        )
        with open(tmp_path / name, "wb") as out:
            writer.write(out)
    assert read_document(tmp_path / "owner.pdf").lines == EXPECTED_LINES
    with pytest.raises(EncryptedDocument) as info:
        read_document(tmp_path / "locked.pdf")
    assert str(info.value) == (
        f"{tmp_path / 'locked.pdf'}: PDF 已加密（需要打开密码），无法读取；请上传未加密的版本"
    )
