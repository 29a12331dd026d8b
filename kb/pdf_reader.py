"""PDFs and images into paragraphs: the text layer where there is one, OCR where not.

PDFium (pypdfium2) opens the file, gives each character with its box and font size
(kb/pdf_layout.py turns those into the document's paragraphs) and renders the pages that
have no text layer for OCR (kb/ocr.py). PDFium was chosen over pdfplumber because it does
both jobs in one library written in C: pdfplumber reads positions through pdfminer.six, in
pure Python (several times slower on a 100-page PDF), and still needs pypdfium2 to render.
PDFium also opens PDFs protected only by an owner password (restrictions on printing
or copying), which can be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kb.errors import EncryptedDocument, NeedsOCR, UnreadableDocument
from kb.ocr import RENDER_DPI, OcrRun, page_from_ocr
from kb.pdf_layout import (
    Char,
    Page,
    Paragraph,
    is_watermark,
    lines_from_chars,
    paragraphs_from_pages,
)

MAX_PDF_PAGES = 2000
# A page whose own text is shorter than this (a scanner app's stamp, a page number) and
# that holds an image is a scanned page: OCR reads it.
MIN_TEXT_CHARS = 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_IMAGE_PIXELS = 60_000_000


@dataclass(frozen=True)
class PagedText:
    """A document's paragraphs with the page each starts on, and what OCR read."""

    paragraphs: tuple[Paragraph, ...]
    pages: int
    ocr_pages: int


def _open(data: bytes, label: str):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedDocument(
                label, "PDF 已加密（需要打开密码），无法读取；请上传未加密的版本"
            ) from exc
        raise UnreadableDocument(label, "PDF 文件已损坏或无法解析") from exc


def _chars(page) -> Iterator[Char]:  # page: pypdfium2.PdfPage
    import pypdfium2.raw as pdfium_c

    height = page.get_height()
    textpage = page.get_textpage()
    try:
        for i in range(textpage.count_chars()):
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            # PDFium adds spaces and line breaks of its own where it sees gaps; the layout
            # decides those from the positions instead.
            if code in (0, 0xFFFE, 0xFFFF) or pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
                continue
            # The loose box spans the font's ascent and descent: every character of a line
            # gets the same height, which is what grouping into lines needs.
            left, bottom, right, top = textpage.get_charbox(i, loose=True)
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
            yield Char(chr(code), left, height - top, right, height - bottom, size)
    finally:
        textpage.close()


def _rules_and_images(page) -> tuple[list[tuple[float, float, float, float]], bool]:
    import pypdfium2.raw as pdfium_c

    height = page.get_height()
    rules = []
    has_image = False
    for obj in page.get_objects(max_depth=2):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            has_image = True
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            left, bottom, right, top = obj.get_bounds()
            if min(right - left, top - bottom) < 2.5:
                rules.append((left, height - top, right, height - bottom))
    return rules, has_image


def _needs_ocr(page: Page, has_image: bool) -> bool:
    text = "".join(line.text for line in page.lines if not is_watermark(line.text))
    return has_image and len(re.sub(r"\s+", "", text)) < MIN_TEXT_CHARS


def read_pdf(data: bytes, label: str, ocr: OcrRun | None = None) -> PagedText:
    """The paragraphs of a PDF; pages without a text layer are read by ``ocr``.

    Raises:
        EncryptedDocument: the PDF needs a password to open.
        UnreadableDocument: damaged, too many pages, or too many pages for OCR.
        NeedsOCR: scanned pages and no ``ocr`` given.
    """
    pdf = _open(data, label)
    try:
        count = len(pdf)
        if count > MAX_PDF_PAGES:
            raise UnreadableDocument(label, f"PDF 有 {count} 页，超过 {MAX_PDF_PAGES} 页的上限")
        pages: list[Page] = []
        scanned: list[int] = []
        for index in range(count):
            page = pdf[index]
            try:
                rules, has_image = _rules_and_images(page)
                lines = lines_from_chars(_chars(page), index + 1, rules)
                pages.append(Page(index + 1, page.get_width(), page.get_height(), lines))
                if _needs_ocr(pages[-1], has_image):
                    scanned.append(index)
            finally:
                page.close()
        if scanned:
            if ocr is None:
                raise NeedsOCR(label, _scanned_message(scanned, count))
            _check_page_limit(label, len(scanned), ocr.max_pages)
            results = ocr.recognize_all(scanned, lambda i: _render(pdf, i))
            for index, result in results.items():
                pages[index] = page_from_ocr(index + 1, result)
    except (UnreadableDocument, NeedsOCR):
        raise
    except Exception as exc:  # PDFium raises few types; a damaged file can raise any
        if type(exc).__name__ == "OcrInterrupted":
            raise
        raise UnreadableDocument(label, "PDF 文件已损坏或无法解析") from exc
    finally:
        pdf.close()
    paragraphs = paragraphs_from_pages(pages)
    if not paragraphs and not scanned:
        raise NeedsOCR(label, _scanned_message(list(range(count)), count))
    return PagedText(tuple(paragraphs), count, len(scanned))


def _scanned_message(scanned: list[int], count: int) -> str:
    if len(scanned) == count:
        return "PDF 没有文字层（可能是扫描件），需要先做文字识别（OCR）"
    numbers = "、".join(str(i + 1) for i in scanned[:10]) + ("等" if len(scanned) > 10 else "")
    return f"PDF 第 {numbers} 页没有文字层（扫描页），需要文字识别（OCR）"


def _check_page_limit(label: str, pages: int, limit: int) -> None:
    if pages > limit:
        raise UnreadableDocument(
            label,
            f"需要文字识别（OCR）的页有 {pages} 页，超过上限 {limit} 页"
            "（KB_OCR_MAX_PAGES）；请拆分文件，或调高上限后重试",
        )


def _render(pdf, index: int):  # -> (numpy array, dpi)
    page = pdf[index]
    try:
        bitmap = page.render(scale=RENDER_DPI / 72, grayscale=False)
        return bitmap.to_numpy()[:, :, :3].copy(), float(RENDER_DPI)
    finally:
        page.close()


def read_image(data: bytes, label: str, ocr: OcrRun | None) -> PagedText:
    """The paragraphs of a scanned image (.png, .jpg, .tif; every frame of a TIFF)."""
    import io

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    if ocr is None:
        raise NeedsOCR(label, "图片需要文字识别（OCR），但文字识别不可用")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
        _check_page_limit(label, frames, ocr.max_pages)

        def render(index: int):
            image.seek(index)
            frame = ImageOps.exif_transpose(image.convert("RGB"))
            dpi = image.info.get("dpi", (300, 300))[0] or 300
            return np.asarray(frame), float(dpi)

        results = ocr.recognize_all(list(range(frames)), render)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnreadableDocument(label, "图片文件已损坏或格式无法识别") from exc
    pages = [page_from_ocr(index + 1, results[index]) for index in range(frames)]
    return PagedText(tuple(paragraphs_from_pages(pages)), frames, frames)
