"""Read a PDF as the document it prints, not as its pages, from character positions.

An office PDF (exported from Word or WPS) breaks every paragraph where the page wrapped
it, repeats a running header and a page number (``— 3 —``) on every page, prints
footnotes at the foot of the page and tables as cells placed side by side. The text a
plain extractor returns glues all of that together. Here each character comes with its
box and font size (PDFium's text page, through pypdfium2), and the layout decides:

- a line that repeats at the same place on most pages, or a page number in the top or
  bottom margin, is page furniture and is dropped;
- a line continues the paragraph above unless that line ended short of the right margin,
  the line is indented or centred, its font size changes, or a gap opens above it; so a
  wrapped line that starts with ``一、`` never becomes a heading;
- small-type lines under the body that open with a note mark are footnotes; each becomes
  a paragraph of its own after the paragraph that holds its mark;
- text inside ruled cells is read cell by cell and each row becomes one line, cells
  joined by `` ｜ `` (as the .docx reader does);
- spaces between CJK characters and digits or Latin letters are dropped.

The same paragraph logic joins OCR lines (kb/ocr.py), which come as boxes too.
"""

from __future__ import annotations

import difflib
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

# A "scanner app" stamps its name on each page; the text must not become the title.
WATERMARK = re.compile(
    r"^(由|用)?\s*(扫描全能王|全能扫描王|CamScanner|夸克扫描王|布丁扫描|白描|福昕扫描王?|"
    r"WPS\s*扫描|QQ浏览器扫描|迅捷扫描王?|扫描宝)\s*(创建|扫描|生成)?$",
    re.IGNORECASE,
)
_STAMPS = ("扫描全能王创建", "全能扫描王创建", "CamScanner", "夸克扫描王", "布丁扫描", "福昕扫描王")


def is_watermark(text: str) -> bool:
    """Whether ``text`` is a scanner app's stamp, also as OCR misreads it ("扫描舍王创建")."""
    flat = re.sub(r"[\s。.，,]", "", text)
    if WATERMARK.match(flat):
        return True
    return 4 <= len(flat) <= 16 and any(
        difflib.SequenceMatcher(None, flat, stamp).ratio() >= 0.6 for stamp in _STAMPS
    )


_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－―~·•\s]*\d{1,4}[-—–－―~·•\s]*"
    r"|第\s*[\d一二三四五六七八九十百零〇]+\s*页(?:\s*[,，/]?\s*共\s*[\d一二三四五六七八九十百零〇]+\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|共\s*\d+\s*页\s*第\s*\d+\s*页|page\s*\d+(?:\s*of\s*\d+)?"
    r"|[-—–－―\s]*[ivxlc]{1,6}[-—–－―\s]*)$",
    re.IGNORECASE,
)
# A note's mark; a number is not one when it is the start of a date or a figure.
_NOTE_MARK = re.compile(
    r"^(?:\[\d{1,3}\]|[①-⑳]|\d{1,3}(?![\d年月日.．、%])|\*{1,3}|注\s*\d*[:：]?)"
)
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_CJK_LATIN = re.compile(rf"(?<=[{_CJK}])[ \t\xa0]+(?=[0-9A-Za-z%.])")
_SPACE_LATIN_CJK = re.compile(rf"(?<=[0-9A-Za-z%.])[ \t\xa0]+(?=[{_CJK}])")
_MARGIN_SHARE = 0.12  # the top and bottom 12% of a page hold its furniture
_TERMINAL = "。！？!?；;：:”’」』）)"


@dataclass(frozen=True)
class Char:
    """One character with its box in top-down page coordinates (points)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float


@dataclass
class Line:
    """A printed line: its text and box, the page it is on (1-based), and its font size."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    page: int
    marks: list[str] = field(default_factory=list)  # superscript note marks it holds
    table_row: bool = False
    ocr: bool = False


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the document, the page it starts on, and whether OCR read it."""

    text: str
    page: int
    ocr: bool = False
    kind: str = "text"  # text, note (a footnote) or row (a table row)


@dataclass
class Page:
    """A page's lines (furniture still in), its size in points, and whether OCR read it."""

    number: int
    width: float
    height: float
    lines: list[Line]
    ocr: bool = False


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a CJK ideograph or full-width punctuation."""
    return bool(ch) and re.match(rf"[{_CJK}]", ch) is not None


def tidy_spaces(text: str) -> str:
    """Drop the spaces extraction puts between CJK characters and digits or Latin letters."""
    text = _SPACE_CJK_LATIN.sub("", text)
    return _SPACE_LATIN_CJK.sub("", text).strip()


def _glue(chars: Sequence[Char]) -> str:
    """A line's text from its characters in order, with spaces only where a gap is wide."""
    out: list[str] = []
    previous: Char | None = None
    for char in chars:
        if previous is not None and char.text != " " and previous.text != " ":
            gap = char.x0 - previous.x1
            latin = not is_cjk(char.text) and not is_cjk(previous.text)
            if latin and gap > 0.25 * max(char.size, previous.size):
                out.append(" ")
        out.append(char.text)
        previous = char
    return tidy_spaces(re.sub(r"\s+", " ", "".join(out)))


def lines_from_chars(
    chars: Iterable[Char], page: int, rules: Sequence[tuple[float, float, float, float]] = ()
) -> list[Line]:
    """Group a page's characters into lines, top to bottom; ruled table rows as one line.

    ``rules`` are thin drawn boxes (x0, top, x1, bottom): where at least two horizontal and
    two vertical ones frame a grid, the characters inside are read as table rows.
    """
    chars = [c for c in chars if c.text not in "\r\n\x00\ufffe" and c.x1 >= c.x0]
    tables = _grids(rules)
    rows: list[Line] = []
    free: list[Char] = []
    for char in chars:
        grid = next((g for g in tables if g.holds(char)), None)
        if grid is None:
            free.append(char)
        else:
            grid.add(char)
    for grid in tables:
        rows.extend(grid.rows(page))
    lines = _band_lines(free, page)
    return sorted(lines + rows, key=lambda line: (round(line.top, 1), line.x0))


def _band_lines(chars: list[Char], page: int) -> list[Line]:
    # Characters whose vertical centres fall in the same band form a line; a superscript
    # (smaller, raised) still falls inside its line's band.
    bands: list[list[Char]] = []
    for char in sorted(chars, key=lambda c: (c.top + c.bottom) / 2):
        centre = (char.top + char.bottom) / 2
        if bands:
            band = bands[-1]
            top = min(c.top for c in band)
            bottom = max(c.bottom for c in band)
            if top <= centre <= bottom or abs(centre - (top + bottom) / 2) < 0.25 * char.size:
                band.append(char)
                continue
        bands.append([char])
    lines = []
    for band in bands:
        band.sort(key=lambda c: c.x0)
        body = max(c.size for c in band)
        baseline = max(c.bottom for c in band if c.size >= 0.9 * body)
        marks: list[str] = []
        kept: list[Char] = []
        in_mark = False
        for char in band:
            # A note mark: small type whose foot sits well above the line's baseline.
            small = char.size < 0.8 * body and char.bottom < baseline - 0.2 * body
            if small and (char.text.isdigit() or char.text in "①②③④⑤⑥⑦⑧⑨⑩*"):
                if in_mark:
                    marks[-1] += char.text
                else:
                    marks.append(char.text)
                in_mark = True
                continue
            in_mark = False
            kept.append(char)
        if not "".join(c.text for c in kept).strip():
            continue
        segments = _segments(kept)
        text = " ｜ ".join(_glue(s) for s in segments)
        lines.append(
            Line(
                text,
                min(c.x0 for c in kept),
                min(c.top for c in kept),
                max(c.x1 for c in kept),
                max(c.bottom for c in kept),
                statistics.median(c.size for c in kept),
                page,
                marks,
                table_row=len(segments) > 1,
            )
        )
    return lines


def _segments(chars: list[Char]) -> list[list[Char]]:
    # Text set side by side without rules (a borderless table, a signature block) is cut
    # where the gap is wider than two characters; justified lines never open that wide.
    segments = [[chars[0]]]
    for char in chars[1:]:
        previous = segments[-1][-1]
        if char.x0 - previous.x1 > 2.2 * max(char.size, previous.size) and char.text != " ":
            segments.append([char])
        else:
            segments[-1].append(char)
    return [s for s in segments if "".join(c.text for c in s).strip()]


@dataclass
class _Grid:
    xs: list[float]
    ys: list[float]
    cells: dict[tuple[int, int], list[Char]] = field(default_factory=dict)

    def holds(self, char: Char) -> bool:
        cx, cy = (char.x0 + char.x1) / 2, (char.top + char.bottom) / 2
        return self.xs[0] < cx < self.xs[-1] and self.ys[0] < cy < self.ys[-1]

    def add(self, char: Char) -> None:
        cx, cy = (char.x0 + char.x1) / 2, (char.top + char.bottom) / 2
        col = max(i for i, x in enumerate(self.xs[:-1]) if x < cx)
        row = max(i for i, y in enumerate(self.ys[:-1]) if y < cy)
        self.cells.setdefault((row, col), []).append(char)

    def rows(self, page: int) -> list[Line]:
        lines = []
        for row in range(len(self.ys) - 1):
            texts = []
            chars_of_row: list[Char] = []
            for col in range(len(self.xs) - 1):
                chars = self.cells.get((row, col), [])
                chars_of_row.extend(chars)
                # A cell's wrapped lines are read top to bottom, then joined.
                cell_lines = _band_lines(chars, page)
                text = "".join(line.text for line in cell_lines)
                if text and (not texts or texts[-1] != text):
                    texts.append(text)
            if texts:
                lines.append(
                    Line(
                        " ｜ ".join(texts),
                        self.xs[0],
                        min(c.top for c in chars_of_row),
                        self.xs[-1],
                        max(c.bottom for c in chars_of_row),
                        statistics.median(c.size for c in chars_of_row),
                        page,
                        table_row=True,
                    )
                )
        return lines


def _grids(rules: Sequence[tuple[float, float, float, float]]) -> list[_Grid]:
    horizontal = [r for r in rules if r[3] - r[1] < 2.5 and r[2] - r[0] > 20]
    vertical = [r for r in rules if r[2] - r[0] < 2.5 and r[3] - r[1] > 8]
    grids: list[_Grid] = []
    used: set[int] = set()
    for i, h in enumerate(horizontal):
        if i in used:
            continue
        # The horizontal rules of one table share its left and right edges.
        group = [
            j
            for j, other in enumerate(horizontal)
            if abs(other[0] - h[0]) < 3 and abs(other[2] - h[2]) < 3
        ]
        used.update(group)
        ys = sorted({round((horizontal[j][1] + horizontal[j][3]) / 2, 1) for j in group})
        if len(ys) < 2:
            continue
        xs = sorted(
            {
                round((v[0] + v[2]) / 2, 1)
                for v in vertical
                if h[0] - 3 <= (v[0] + v[2]) / 2 <= h[2] + 3
                and v[1] < ys[-1] + 3
                and v[3] > ys[0] - 3
            }
        )
        if len(xs) >= 2:
            grids.append(_Grid(_dedupe(xs), _dedupe(ys)))
    return grids


def _dedupe(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in values:
        if not out or value - out[-1] > 3:
            out.append(value)
    return out


def _furniture_key(line: Line) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))


def strip_furniture(pages: Sequence[Page]) -> list[list[Line]]:
    """Each page's lines without running headers, footers, page numbers and watermarks.

    A running header or footer is a line in the top or bottom margin whose text (digits
    aside) recurs at about the same height on at least half the pages (and on at least
    two); a page number is recognised by its form alone.
    """
    counts: Counter[tuple[str, int]] = Counter()
    for page in pages:
        seen = set()
        for line in page.lines:
            if _in_margin(line, page):
                seen.add((_furniture_key(line), round(line.top / 6)))
        for key in seen:
            counts[key] += 1
    needed = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, n in counts.items() if n >= needed}
    kept_pages = []
    for page in pages:
        kept = []
        for line in page.lines:
            # A header that repeats the title printed below it (a one-page document).
            repeats = any(o.text == line.text and o.top > line.bottom for o in page.lines)
            if repeats and line.bottom < page.height * _MARGIN_SHARE:
                continue
            text = line.text.replace(" ｜ ", " ")
            if is_watermark(text):
                continue
            if _in_margin(line, page):
                key = _furniture_key(line)
                near = {(key, round(line.top / 6) + d) for d in (-1, 0, 1)}
                if near & repeated or _PAGE_NUMBER.match(text.strip()):
                    continue
            kept.append(line)
        kept_pages.append(kept)
    return kept_pages


def _in_margin(line: Line, page: Page) -> bool:
    return line.bottom < page.height * _MARGIN_SHARE or line.top > page.height * (1 - _MARGIN_SHARE)


@dataclass(frozen=True)
class _Frame:
    left: float
    right: float
    size: float
    pitch: float


def _frame(lines: Sequence[Line]) -> _Frame:
    body = [line for line in lines if not line.table_row] or list(lines)
    size = Counter(round(line.size * 2) / 2 for line in body).most_common(1)[0][0]
    same = [line for line in body if abs(line.size - size) < 0.15 * size] or body
    # Most paragraphs of an office document are a line or two, so indented first lines
    # can outnumber the lines at the margin: the margin is the low end of the starts.
    left = sorted(line.x0 for line in same)[int(0.05 * (len(same) - 1))]
    right = sorted(line.x1 for line in same)[int(0.9 * (len(same) - 1))]
    pitches = [
        b.top - a.top
        for a, b in itertools.pairwise(same)
        if a.page == b.page and 0 < b.top - a.top < 3 * size
    ]
    pitch = statistics.median(pitches) if pitches else 1.5 * size
    return _Frame(float(left), right, size, pitch)


def _split_notes(lines: list[Line], frame: _Frame) -> tuple[list[Line], list[Line]]:
    """A page's body lines and its footnote lines (small type at the foot, opening with a mark)."""
    start = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].size < 0.88 * frame.size and not lines[i].table_row:
            start = i
        else:
            break
    notes = lines[start:]
    while notes and not _NOTE_MARK.match(notes[0].text):
        notes = notes[1:]
        start += 1
    return lines[:start], notes


def _note_paragraphs(notes: list[Line]) -> list[tuple[str, str]]:
    # Each note opens with its mark at the left; following lines continue it.
    out: list[tuple[str, str]] = []
    for line in notes:
        m = _NOTE_MARK.match(line.text)
        starts = m is not None and (not out or line.x0 <= min(n.x0 for n in notes) + 1)
        if starts and m is not None:
            mark = m.group(0)
            rest = line.text[len(mark) :].lstrip(" ．.、:：")
            label = re.sub(r"\D", "", mark) or mark.strip("[]注:： ")
            out.append((label, rest))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + line.text)
    return out


def _starts_paragraph(previous: Line, line: Line, frame: _Frame) -> bool:
    from kb.chunking import match_heading

    if previous.table_row or line.table_row or previous.ocr != line.ocr:
        return True
    # OCR boxes vary in height with what they hold (a line of 。 or of 一): only a large
    # change of size means a change of type there.
    if abs(line.size - previous.size) > (0.4 if line.ocr else 0.15) * frame.size:
        return True
    indent = line.x0 - frame.left
    if indent > 0.8 * frame.size:  # a first-line indent, or a centred line
        return True
    short = previous.x1 < frame.right - 1.5 * frame.size
    centred = previous.x0 - frame.left > 2 * frame.size and short
    if short or centred:
        return True
    if line.page == previous.page and line.top - previous.top > 1.8 * frame.pitch:
        return True
    # A full line that closes a sentence, then a numbered line: a new item.
    return previous.text[-1:] in _TERMINAL and match_heading(line.text) is not None


def _join(a: str, b: str) -> str:
    if a and b and not is_cjk(a[-1]) and not is_cjk(b[0]) and a[-1] != "-":
        return f"{a} {b}"
    return a + b


def paragraphs_from_pages(pages: Sequence[Page]) -> list[Paragraph]:
    """The document's paragraphs in order, furniture dropped, wrapped lines joined.

    Footnotes become paragraphs of kind ``note`` right after the paragraph that holds
    their mark (or, without a mark, after the last paragraph of their page).
    """
    kept = strip_furniture(pages)
    everything = [line for lines in kept for line in lines]
    if not everything:
        return []
    # Text pages share one frame; a scanned page has its own (each scan sits differently).
    text_lines = [
        line for page, lines in zip(pages, kept, strict=True) if not page.ocr for line in lines
    ]
    base = _frame(text_lines or everything)
    frames = {
        page.number: _frame(lines) if page.ocr and len(lines) >= 3 else base
        for page, lines in zip(pages, kept, strict=True)
    }
    by_number = {page.number: page for page in pages}
    paragraphs: list[Paragraph] = []
    # Notes waiting for their paragraph: (page, mark, text, placed by mark or else at the
    # next paragraph end).
    pending: list[tuple[int, str, str, bool]] = []
    current: list[Line] = []
    marks: set[tuple[int, str]] = set()

    def flush() -> None:
        if current:
            text = ""
            for line in current:
                text = _join(text, line.text)
            first = current[0]
            kind = "row" if first.table_row else "text"
            paragraphs.append(Paragraph(text, first.page, by_number[first.page].ocr, kind))
        for entry in list(pending):
            page, mark, note, by_mark = entry
            if not by_mark or (page, mark) in marks:
                paragraphs.append(Paragraph(f"注{mark}：{note}", page, by_number[page].ocr, "note"))
                pending.remove(entry)
        current.clear()
        marks.clear()

    for page, lines in zip(pages, kept, strict=True):
        body, notes = (lines, []) if page.ocr else _split_notes(lines, frames[page.number])
        on_page = {mark for line in body for mark in line.marks}
        orphans = []
        for mark, text in _note_paragraphs(notes):
            if mark in on_page:
                pending.append((page.number, mark, text, True))
            else:
                orphans.append((page.number, mark, text, False))
        for line in body:
            if current and _starts_paragraph(current[-1], line, frames[line.page]):
                flush()
            current.append(line)
            marks.update((line.page, mark) for mark in line.marks)
        pending.extend(orphans)
    flush()
    return _title_first(paragraphs, pages, frames[pages[0].number])


def _title_first(
    paragraphs: list[Paragraph], pages: Sequence[Page], frame: _Frame
) -> list[Paragraph]:
    """Join a title printed large over two lines on the first page into one paragraph."""
    if len(paragraphs) >= 2:
        a, b = paragraphs[0], paragraphs[1]
        first_lines = [line for line in pages[0].lines if line.text.startswith(b.text[:4])]
        big = first_lines and first_lines[0].size > 1.2 * frame.size
        if a.page == b.page == pages[0].number and big and len(a.text) + len(b.text) <= 60:
            same_size = [line for line in pages[0].lines if line.text == a.text]
            if same_size and abs(same_size[0].size - first_lines[0].size) < 0.5:
                return [replace(a, text=a.text + b.text), *paragraphs[2:]]
    return paragraphs
