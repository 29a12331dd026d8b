"""Read scanned pages and images by OCR, resumably, and put the text back in reading order.

The engine is ``rapidocr-onnxruntime`` 1.4.4: its wheel ships the PP-OCRv4 Chinese
detection and recognition models and the orientation classifier, and it runs on
onnxruntime on the CPU, with nothing downloaded at run time. It is wrapped in a small
object (:class:`RapidOcrEngine`) that callers pass in, so one loaded engine serves many
pages (and tests share one).

Recognising a page takes seconds, so each page's result is kept as soon as it is done
(:func:`save_ocr_page`, keyed by the file's content hash and the page), and a restarted
ingest takes the pages already done from there: nothing is recognised twice, and the
document itself is indexed only once every page is read.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kb.pdf_layout import Line, Page, is_watermark, tidy_spaces

# The recogniser reads the gap after an article number, or a speck, as a dot or a comma:
# a dot at a line's start, a comma before an article number there, a dot after a
# sentence's end, after 第X条, or between two ideographs is dropped.
_STRAY_DOT = re.compile(
    r"^[.．·•]+(?=\S)|^[，,](?=第[一二三四五六七八九十百零〇\d]{1,6}[条章节])|(?<=[。；：！？])[.．·•]+$|(?<=[\u4e00-\u9fff])[.．](?=[\u4e00-\u9fff])"
)
_LEADING_MARKS = re.compile(
    r"^(?:[.．·•]+(?=\S)|[，,](?=第[一二三四五六七八九十百零〇\d]{1,6}[条章节]))"
)
_DOT_AFTER_NUMBER = re.compile(r"(第[一二三四五六七八九十百零〇\d]{1,6}[条章节])[.．·•]")


def clean_ocr_text(text: str) -> str:
    """An OCR line without the stray dots the recogniser reads into gaps and specks."""
    return _DOT_AFTER_NUMBER.sub(r"\1", _STRAY_DOT.sub("", tidy_spaces(text)))


# Pages are rendered for OCR at this many dots per inch. The detector works on the long
# side cut to 2000 pixels (rapidocr's max_side_len), which an A4 page reaches at 170 dpi.
RENDER_DPI = 170
DET_UNCLIP_RATIO = 2.0


@dataclass(frozen=True)
class OcrBox:
    """A recognised line: its corner points (pixels, clockwise from top left), text, score."""

    points: tuple[tuple[float, float], ...]
    text: str
    score: float


@dataclass(frozen=True)
class OcrPage:
    """What OCR read on one page: its boxes and the size of the image they are on."""

    width: int
    height: int
    dpi: float
    boxes: tuple[OcrBox, ...]

    def to_json(self) -> str:
        """The form kept in the ``ocr_pages`` table."""
        return json.dumps(
            {
                "width": self.width,
                "height": self.height,
                "dpi": self.dpi,
                "boxes": [[list(map(list, b.points)), b.text, b.score] for b in self.boxes],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> OcrPage:
        data = json.loads(raw)
        boxes = tuple(
            OcrBox(tuple((float(x), float(y)) for x, y in points), text, float(score))
            for points, text, score in data["boxes"]
        )
        return cls(int(data["width"]), int(data["height"]), float(data["dpi"]), boxes)


class OcrEngine(Protocol):
    """Something that reads the text lines of an image (an RGB numpy array)."""

    def recognize(self, image: Any) -> list[OcrBox]: ...


class RapidOcrEngine:
    """PP-OCRv4 through rapidocr-onnxruntime, loaded once (about 0.6 s and 300 MB)."""

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # The detector's boxes are grown by this ratio before recognition. At the default
        # (1.6) a character at a line's end was cut off on sharp 300 dpi pages (95.6% of a
        # page's characters in bench/bench_ocr.py, 99.9% at 2.0) and the tighter boxes
        # left paragraph starts less clear; at 2.0 one close line was lost on another page.
        self._ocr = RapidOCR(det_unclip_ratio=DET_UNCLIP_RATIO)

    def recognize(self, image: Any) -> list[OcrBox]:
        """The text lines of ``image``, each with its box and the recogniser's score."""
        result, _ = self._ocr(image)
        return [
            OcrBox(tuple((float(x), float(y)) for x, y in points), str(text), float(score))
            for points, text, score in result or []
        ]


class OcrInterrupted(Exception):
    """OCR stopped on purpose before the last page (``OcrRun.stop_after``)."""


@dataclass
class OcrRun:
    """How one file's pages are recognised.

    Attributes:
        engine: the OCR engine, or a function that loads it on first use.
        known: pages already recognised in an earlier run, by page index (from 0).
        on_page: called with (page index, result) as soon as a page is recognised,
            to keep it (the ingest stores it in the ``ocr_pages`` table).
        on_progress: called with (pages done, pages to do) before the first page (0 done)
            and after each page.
        max_pages: the most pages one file may send to OCR.
        stop_after: stop with OcrInterrupted after recognising this many new pages
            (how tests and benchmarks interrupt a run at a chosen page).
    """

    engine: OcrEngine | Callable[[], OcrEngine]
    known: Mapping[int, OcrPage] = field(default_factory=dict)
    on_page: Callable[[int, OcrPage], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    max_pages: int = 300
    stop_after: int | None = None
    _loaded: OcrEngine | None = None

    def get_engine(self) -> OcrEngine:
        """The engine, loaded on first use."""
        if self._loaded is None:
            engine = self.engine
            self._loaded = engine if hasattr(engine, "recognize") else engine()  # type: ignore[operator,assignment]
        return self._loaded  # type: ignore[return-value]

    def recognize_all(
        self, pages: Sequence[int], render: Callable[[int], tuple[Any, float]]
    ) -> dict[int, OcrPage]:
        """Recognise ``pages`` (indexes), taking the known ones as they are.

        ``render(index)`` returns the page's image and its dpi.
        """
        results: dict[int, OcrPage] = {}
        fresh = 0
        if self.on_progress is not None:
            self.on_progress(0, len(pages))  # OCR starts: pages take seconds from here on
        for done, index in enumerate(pages, start=1):
            page = self.known.get(index)
            if page is None:
                if self.stop_after is not None and fresh >= self.stop_after:
                    raise OcrInterrupted(f"stopped after {fresh} pages")
                image, dpi = render(index)
                boxes = self.get_engine().recognize(image)
                page = OcrPage(int(image.shape[1]), int(image.shape[0]), dpi, tuple(boxes))
                fresh += 1
                if self.on_page is not None:
                    self.on_page(index, page)
            results[index] = page
            if self.on_progress is not None:
                self.on_progress(done, len(pages))
        return results


def skew_degrees(boxes: Sequence[OcrBox]) -> float:
    """The page's rotation, from the median slope of the long line boxes' top edges."""
    angles = []
    for box in boxes:
        (x0, y0), (x1, y1) = box.points[0], box.points[1]
        if x1 - x0 > 5 * abs(box.points[3][1] - y0) and x1 > x0:
            angles.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return statistics.median(angles) if angles else 0.0


def page_from_ocr(number: int, result: OcrPage) -> Page:
    """A page of lines (in points, straightened) from what OCR read on it.

    Boxes that share a band are one line, left to right; the scanner app's watermark is
    dropped, and so are boxes the recogniser was unsure of.
    """
    scale = 72.0 / result.dpi
    angle = math.radians(skew_degrees(result.boxes))
    cx, cy = result.width / 2, result.height / 2
    cos, sin = math.cos(-angle), math.sin(-angle)
    items = []
    for box in result.boxes:
        text = box.text.strip()
        if not text or box.score < 0.5 or is_watermark(text):
            continue
        xs, ys = [], []
        for x, y in box.points:
            # Turn the page back by its skew so lines are level and margins straight.
            dx, dy = x - cx, y - cy
            xs.append((cx + dx * cos - dy * sin) * scale)
            ys.append((cy + dx * sin + dy * cos) * scale)
        items.append((min(xs), min(ys), max(xs), max(ys), text))
    lines: list[Line] = []
    for x0, top, x1, bottom, text in sorted(items, key=lambda i: (i[1] + i[3]) / 2):
        height = bottom - top
        if lines:
            line = lines[-1]
            centre = (top + bottom) / 2
            if line.top < centre < line.bottom and not (x0 < line.x1 and x1 > line.x0):
                _merge_into(line, x0, top, x1, bottom, text)
                continue
        # A box is a little taller than the type: about 1.25 times the font size.
        lines.append(Line(text, x0, top, x1, bottom, height / 1.25, number, ocr=True))
    lines.sort(key=lambda line: (round(line.top), line.x0))
    for line in lines:
        # A speck read as a mark before the first character also widened the box: the
        # line starts where its first real character does.
        text = tidy_spaces(line.text)
        line.x0 += (len(text) - len(_LEADING_MARKS.sub("", text))) * line.size
        line.text = clean_ocr_text(text)
    return Page(number, result.width * scale, result.height * scale, lines, ocr=True)


def _merge_into(line: Line, x0: float, top: float, x1: float, bottom: float, text: str) -> None:
    # Two boxes on one line: a gap of more than two characters is a cell boundary.
    gap = (x0 - line.x1) if x0 >= line.x1 else (line.x0 - x1)
    joiner = " ｜ " if gap > 2.2 * line.size else ""
    if x0 >= line.x1:
        line.text = line.text + joiner + text
    else:
        line.text = text + joiner + line.text
    line.table_row = line.table_row or bool(joiner)
    line.x0, line.x1 = min(line.x0, x0), max(line.x1, x1)
    line.top, line.bottom = min(line.top, top), max(line.bottom, bottom)
