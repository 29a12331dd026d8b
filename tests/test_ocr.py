"""OCR of scans, scanned pages in text PDFs, scanner-app PDFs and images, with the real engine.

Pages are rendered with Pillow from Chinese text in Noto Sans CJK and made to look
scanned (turned 0.7°, blurred, speckled: bench/scans.py), then read by rapidocr-onnxruntime
(PP-OCRv4). OCR may misread a character, so recovered text is compared with its source
by character accuracy (at least ACCURACY of the source's characters, white space aside),
while the paragraph structure (how many paragraphs, which page, which are OCR) is exact.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from fpdf import FPDF

from bench.scans import CJK_FONT, degrade, render_pages
from kb.chunking import chunk_lines
from kb.cli import cli as kb_cli
from kb.documents import get_document
from kb.errors import DocumentError
from kb.ingest import sync_corpus
from kb.ocr import OcrInterrupted, OcrRun
from kb.ocr_store import load_ocr_pages, save_ocr_page
from kb.readers import read_document
from kb.service import open_kb
from tests.apptest_support import logged_in, open_page
from ui.reader_page import OCR_NOTICE

pytestmark = pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")

ACCURACY = 0.95
PAGE_MM = (180.0, 120.0)  # a small page keeps each OCR run to a few seconds
DPI = 200
TITLE = "中华人民共和国环境保护法"
PARAGRAPHS = [
    "第一条 为保护和改善环境，防治污染和其他公害，保障公众健康，推进生态文明建设，促进经济社会可持续发展，制定本法。",
    "第四条 保护环境是国家的基本国策。",
    "第五条 环境保护坚持保护优先、预防为主、综合治理、公众参与、损害担责的原则。",
    "第六条 一切单位和个人都有保护环境的义务。",
    "地方各级人民政府应当对本行政区域的环境质量负责。",
    "第十二条 每年6月5日为环境日。",
]
WATERMARK = "扫描全能王 创建"


def accuracy(source: str, read: str) -> float:
    """The share of the source's characters (white space aside) that OCR recovered in order."""
    a, b = "".join(source.split()), "".join(read.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(a)


def scans(paragraphs: list[str], *, title: bool = False, footer: str | None = None):
    """Scanned-looking page images holding ``paragraphs``, and each page's paragraphs."""
    pages = render_pages(
        paragraphs, dpi=DPI, page_mm=PAGE_MM, footer=footer, centre_first=title, margins_mm=(15, 12)
    )
    return [(degrade(image), texts) for image, texts in pages]


def pdf_of(
    path: Path, pages: list, *, text_pages: list[list[str]] = (), stamp: bool = False
) -> Path:
    """A PDF of text pages (a real text layer) followed by scanned page images."""
    pdf = FPDF(orientation="L", unit="mm", format=(PAGE_MM[1], PAGE_MM[0]))
    pdf.add_font("noto", fname=str(CJK_FONT), collection_font_number=2)
    pdf.set_auto_page_break(False)
    for lines in text_pages:
        pdf.add_page()
        pdf.set_font("noto", size=12)
        pdf.set_xy(15, 15)
        for line in lines:
            pdf.multi_cell(150, 8, line, new_x="LMARGIN", new_y="NEXT")
    for image, _ in pages:
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=PAGE_MM[0], h=PAGE_MM[1])
        if stamp:
            # The scanner app's stamp is also a tiny text layer on every page.
            pdf.set_font("noto", size=7)
            pdf.text(PAGE_MM[0] - 40, PAGE_MM[1] - 5, WATERMARK)
    pdf.output(str(path))
    return path


@pytest.mark.slow
def test_a_scanned_image_is_read_by_ocr_into_its_paragraphs(tmp_path, ocr_engine):
    [(image, texts)] = scans([TITLE, *PARAGRAPHS[:3]], title=True)
    path = tmp_path / "扫描件.png"
    image.save(path, dpi=(DPI, DPI))
    progress: list[tuple[int, int]] = []
    result = read_document(
        path, ocr=OcrRun(ocr_engine, on_progress=lambda d, t: progress.append((d, t)))
    )
    assert len(result.lines) == len(texts) == 4
    for source, read in zip(texts, result.lines, strict=True):
        assert accuracy(source, read) >= ACCURACY, (source, read)
    assert (result.format, result.line_pages, result.line_ocr, progress) == (
        "png",
        (1, 1, 1, 1),
        (True, True, True, True),
        [(0, 1), (1, 1)],  # told when OCR starts, then after the page
    )
    doc = chunk_lines(result.lines)
    assert accuracy(TITLE, doc.title) >= ACCURACY
    assert [b.kind for b in doc.blocks] == [
        "title",
        "heading",
        "text",
        "heading",
        "text",
        "heading",
        "text",
    ]


@pytest.mark.slow
def test_a_scanner_app_pdf_is_read_by_ocr_without_its_watermark(tmp_path, ocr_engine):
    pages = scans([TITLE, *PARAGRAPHS[:2]], title=True, footer=WATERMARK)
    path = pdf_of(tmp_path / "scan.pdf", pages, stamp=True)
    result = read_document(path, ocr=OcrRun(ocr_engine))
    assert not any("扫描全能王" in line for line in result.lines)
    assert accuracy(TITLE, chunk_lines(result.lines).title) >= ACCURACY
    assert len(result.lines) == 3 and result.line_ocr == (True, True, True)
    assert accuracy("".join(pages[0][1]), "".join(result.lines)) >= ACCURACY
    # Without OCR the page is reported, not indexed as its watermark.
    with pytest.raises(DocumentError, match="PDF 没有文字层（可能是扫描件），需要先做文字识别"):
        read_document(path)


@pytest.mark.slow
def test_a_mixed_pdf_indexes_every_page_and_the_reader_marks_the_ocr_ones(tmp_path, app_settings):
    text_pages = [[TITLE, PARAGRAPHS[0]], [PARAGRAPHS[1], PARAGRAPHS[2]]]
    images = scans(PARAGRAPHS[3:5]) + scans(PARAGRAPHS[5:6])
    path = pdf_of(tmp_path / "混合.pdf", images, text_pages=text_pages)
    db = open_kb(app_settings)
    progress: list[tuple[str, int, int]] = []
    report = sync_corpus(
        db, app_settings.corpus_dir, None, [path], progress=lambda *p: progress.append(p)
    )
    assert (report.added, report.errors) == (["混合.pdf"], [])
    assert progress == [("混合.pdf", 1, 2), ("混合.pdf", 2, 2)]
    view = get_document(db, "混合.pdf")
    db.close()
    assert [(p.kind, p.page, p.ocr) for p in view.paragraphs] == [
        ("title", 1, False),
        ("heading", 1, False),  # 第一条
        ("text", 1, False),
        ("heading", 2, False),  # 第四条
        ("text", 2, False),
        ("heading", 2, False),  # 第五条
        ("text", 2, False),
        ("heading", 3, True),  # 第六条
        ("text", 3, True),
        ("text", 3, True),
        ("heading", 4, True),  # 第十二条
        ("text", 4, True),
    ]
    ocr_text = "".join(p.text for p in view.paragraphs if p.ocr)
    assert accuracy("".join(PARAGRAPHS[3:6]), ocr_text) >= ACCURACY

    at = logged_in()
    at.query_params["doc"] = "混合.pdf"
    open_page(at, "reader")
    marks = [c.value for c in at.caption if OCR_NOTICE in c.value]
    assert marks == [f"第 3 页：{OCR_NOTICE}", f"第 4 页：{OCR_NOTICE}"]


def test_a_scan_over_the_ocr_page_limit_is_refused_with_the_limit(tmp_path, db):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdf_of(corpus / "长扫描.pdf", scans(PARAGRAPHS[:1]) * 3)
    report = sync_corpus(db, corpus, None, ocr_max_pages=2)
    assert report.errors == [
        "长扫描.pdf: 需要文字识别（OCR）的页有 3 页，超过上限 2 页（KB_OCR_MAX_PAGES）；"
        "请拆分文件，或调高上限后重试"
    ]


class StopIngest(Exception):
    pass


@pytest.mark.slow
def test_an_interrupted_ocr_run_resumes_at_the_next_page_and_never_half_indexes(
    tmp_path, db, ocr_engine
):
    pages = scans(PARAGRAPHS[:1]) + scans(PARAGRAPHS[3:4]) + scans(PARAGRAPHS[5:6])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = pdf_of(corpus / "扫描.pdf", pages)
    content_hash = hashlib.sha256(path.read_bytes()).hexdigest()

    # In process: stop after the first page; the page done is kept, nothing else.
    kept: list[int] = []

    def keep(index, result):
        kept.append(index)
        save_ocr_page(db, content_hash, index, result)

    with pytest.raises(OcrInterrupted):
        read_document(path, ocr=OcrRun(ocr_engine, on_page=keep, stop_after=1))
    assert kept == [0]
    assert sorted(load_ocr_pages(db, content_hash)) == [0]
    db.execute("UPDATE ocr_pages SET recognized_at = 'first run'")

    # Through ingest (the OCR child): a progress callback that stops the run after the
    # second page, the way Ctrl-C or a restart would. Page 1 is new, page 0 reused.
    def stop_after_second(name, done, total):
        if done == 2:
            raise StopIngest

    with pytest.raises(StopIngest):
        sync_corpus(db, corpus, None, progress=stop_after_second)
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    assert db.execute(
        "SELECT page, recognized_at = 'first run' FROM ocr_pages ORDER BY page"
    ).fetchall() == [
        (0, 1),
        (1, 0),
    ]

    # The next run recognises only page 2, then indexes the whole file at once.
    seen: list[tuple[int, int]] = []
    report = sync_corpus(db, corpus, None, progress=lambda n, d, t: seen.append((d, t)))
    assert (report.added, report.errors, seen) == (["扫描.pdf"], [], [(1, 3), (2, 3), (3, 3)])
    rows = db.execute("SELECT page, recognized_at = 'first run' FROM ocr_pages ORDER BY page")
    assert rows.fetchall() == [(0, 1), (1, 0), (2, 0)]
    view = get_document(db, "扫描.pdf")
    assert [p.page for p in view.paragraphs if p.kind == "text"] == [1, 2, 3]
    text = "".join(p.text for p in view.paragraphs)
    assert accuracy(PARAGRAPHS[0] + PARAGRAPHS[3] + PARAGRAPHS[5], text) >= ACCURACY


def test_ocr_pages_round_trip_through_the_store(db):
    from kb.ocr import OcrBox, OcrPage

    page = OcrPage(800, 600, 200.0, (OcrBox(((1, 2), (3, 2), (3, 4), (1, 4)), "第一条", 0.98),))
    save_ocr_page(db, "abc", 4, page)
    assert load_ocr_pages(db, "abc") == {4: page}


def test_an_image_that_is_not_an_image_is_reported(tmp_path, ocr_engine):
    path = tmp_path / "坏图.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DocumentError) as info:
        read_document(path, ocr=OcrRun(ocr_engine))
    assert info.value.reason == "图片文件已损坏或格式无法识别"


@pytest.fixture
def scan_env(tmp_path, monkeypatch):
    """`kb` command-line settings over a corpus folder holding one scanned page image."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    [(image, _)] = scans(PARAGRAPHS[:2])
    image.save(corpus / "扫描.png", dpi=(DPI, DPI))
    for name, value in (
        ("KB_DATA_DIR", str(tmp_path / "data")),
        ("KB_CORPUS_DIR", str(corpus)),
        ("KB_EMBED_MODEL", "none"),
    ):
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.slow
def test_kb_ingest_prints_ocr_progress(scan_env):
    result = CliRunner().invoke(kb_cli, ["ingest"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "文字识别 扫描.png：第 1/1 页" in result.stderr.splitlines()


def test_kb_ingest_applies_the_ocr_page_limit_setting(scan_env):
    scan_env.setenv("KB_OCR_MAX_PAGES", "0")
    result = CliRunner().invoke(kb_cli, ["ingest"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "需要文字识别（OCR）的页有 1 页，超过上限 0 页（KB_OCR_MAX_PAGES）" in result.stderr
