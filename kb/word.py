"""Read a .docx as Word shows it, from python-docx's parts and the raw WordprocessingML.

python-docx's ``paragraph.text`` gives the typed characters only: the article numbers of
a law typed with automatic numbering (第%1条), tracked insertions, field results (a
phone number in a MERGEFIELD), content controls, smart tags, text boxes and footnotes are
lost, and deleted text is kept. This walker reads the XML of the body in order and
renders what Word renders:

- automatic numbering (``w:numPr`` → ``w:num`` → ``w:abstractNum`` levels, ``w:lvlText``
  such as ``第%1章``, ``（%1）``, in the level's ``w:numFmt``: Chinese counting, 甲乙丙,
  circled digits, decimal …), counted per abstract list as Word counts it;
- headings: paragraph styles named ``heading n`` / ``标题 n``, styles based on them, and
  outline levels (``w:outlineLvl``), given as the line's level;
- tracked changes as accepted: ``w:ins`` and ``w:moveTo`` kept, ``w:del`` and
  ``w:moveFrom`` dropped;
- fields by their result (between ``separate`` and ``end``; ``w:fldSimple``'s runs),
  never their code; a table of contents (TOC field) is left out, as it repeats headings;
- content controls (``w:sdt``), smart tags, custom XML, hyperlinks and text boxes;
- footnotes and endnotes as lines of their own after the paragraph that cites them
  (``注1：…``, ``尾注1：…``; after the row, for a table cell), so they become passages
  under that paragraph's heading;
- headers and footers are other parts, and are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kb.errors import DocumentTooLarge
from kb.numbering import format_number
from kb.readers import split_lines

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W_NS}}}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"


def _w(name: str) -> str:
    return _W + name


def _val(element: Any, name: str, default: str | None = None) -> str | None:
    if element is None:
        return default
    child = element.find(_w(name))
    if child is None:
        return default
    return child.get(_w("val"), default)


# Elements whose content Word does not show (or that hold no text).
_INLINE_SKIPPED = {
    _w(n)
    for n in (
        "del",
        "moveFrom",
        "pPr",
        "rPr",
        "proofErr",
        "bookmarkStart",
        "bookmarkEnd",
        "commentRangeStart",
        "commentRangeEnd",
        "permStart",
        "permEnd",
        "sdtPr",
        "sdtEndPr",
    )
}
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_MAX_STYLE_DEPTH = 20


@dataclass(frozen=True)
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = ""
    suffix: str = "tab"
    legal: bool = False


def _read_level(element: Any) -> _Level:
    start = _val(element, "start", "1") or "1"
    return _Level(
        start=int(start) if start.lstrip("-").isdigit() else 1,
        fmt=_val(element, "numFmt", "decimal") or "decimal",
        text=_val(element, "lvlText", "") or "",
        suffix=_val(element, "suff", "tab") or "tab",
        legal=element.find(_w("isLgl")) is not None,
    )


class _Styles:
    """Paragraph styles: heading levels and numbering, following ``w:basedOn``."""

    def __init__(self, root: Any | None) -> None:
        self.by_id: dict[str, Any] = {}
        self.default: str | None = None
        for style in [] if root is None else root.iter(_w("style")):
            if style.get(_w("type")) != "paragraph":
                continue
            style_id = style.get(_w("styleId"))
            if style_id:
                self.by_id[style_id] = style
                if style.get(_w("default")) in ("1", "true"):
                    self.default = style_id

    def chain(self, style_id: str | None) -> Iterator[Any]:
        seen: set[str] = set()
        current = style_id or self.default
        while current and current in self.by_id and current not in seen:
            if len(seen) >= _MAX_STYLE_DEPTH:
                return
            seen.add(current)
            style = self.by_id[current]
            yield style
            current = _val(style, "basedOn")

    def heading_level(self, ppr: Any | None) -> int:
        """1-9 for a heading paragraph, 0 for body text."""
        direct = _val(ppr, "outlineLvl")
        if direct is not None and direct.isdigit():
            return int(direct) + 1 if int(direct) < 9 else 0
        for style in self.chain(_val(ppr, "pStyle")):
            name = _val(style, "name", "") or ""
            match = _HEADING_NAME.match(name.strip())
            if match:
                return int(match.group(1))
            level = _val(style.find(_w("pPr")), "outlineLvl")
            if level is not None and level.isdigit():
                return int(level) + 1 if int(level) < 9 else 0
        return 0

    def numbering(self, ppr: Any | None) -> tuple[str, int] | None:
        """The paragraph's (numId, ilvl), from its own properties or its style's."""
        num_id: str | None = None
        ilvl: str | None = None
        direct = None if ppr is None else ppr.find(_w("numPr"))
        if direct is not None:
            num_id, ilvl = _val(direct, "numId"), _val(direct, "ilvl")
        if num_id is None:
            for style in self.chain(_val(ppr, "pStyle")):
                style_ppr = style.find(_w("pPr"))
                numpr = None if style_ppr is None else style_ppr.find(_w("numPr"))
                if numpr is not None and _val(numpr, "numId") is not None:
                    num_id = _val(numpr, "numId")
                    ilvl = ilvl if ilvl is not None else _val(numpr, "ilvl")
                    break
        if num_id is None or num_id == "0":
            return None
        return num_id, int(ilvl) if ilvl and ilvl.isdigit() else 0

    def num_id_of(self, style_id: str) -> str | None:
        style = self.by_id.get(style_id)
        ppr = None if style is None else style.find(_w("pPr"))
        numpr = None if ppr is None else ppr.find(_w("numPr"))
        return _val(numpr, "numId")


class _Numbering:
    """Word's list counters: one set per abstract list, as Word shares them between the
    ``w:num`` instances that point at the same abstract list."""

    def __init__(self, root: Any | None, styles: _Styles) -> None:
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.style_links: dict[str, str] = {}
        self.nums: dict[str, tuple[str, dict[int, int], dict[int, _Level]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.started: set[str] = set()
        self.styles = styles
        if root is None:
            return
        for abstract in root.iter(_w("abstractNum")):
            abstract_id = abstract.get(_w("abstractNumId"), "")
            self.abstract[abstract_id] = {
                int(lvl.get(_w("ilvl"), "0")): _read_level(lvl)
                for lvl in abstract.iter(_w("lvl"))
                if (lvl.get(_w("ilvl")) or "0").isdigit()
            }
            link = _val(abstract, "numStyleLink")
            if link:
                self.style_links[abstract_id] = link
        for num in root.iter(_w("num")):
            starts: dict[int, int] = {}
            levels: dict[int, _Level] = {}
            for override in num.iter(_w("lvlOverride")):
                ilvl = int(override.get(_w("ilvl"), "0") or 0)
                start = _val(override, "startOverride")
                if start is not None and start.isdigit():
                    starts[ilvl] = int(start)
                lvl = override.find(_w("lvl"))
                if lvl is not None:
                    levels[ilvl] = _read_level(lvl)
            self.nums[num.get(_w("numId"), "")] = (
                _val(num, "abstractNumId", "") or "",
                starts,
                levels,
            )

    def _abstract_of(self, num_id: str, depth: int = 0) -> str | None:
        if num_id not in self.nums or depth > 3:
            return None
        abstract_id = self.nums[num_id][0]
        link = self.style_links.get(abstract_id)
        if link:
            # A list defined by a numbering style: the style names the real list.
            linked = self.styles.num_id_of(link)
            if linked and linked != num_id:
                return self._abstract_of(linked, depth + 1) or abstract_id
        return abstract_id

    def label(self, num_id: str, ilvl: int) -> tuple[str, str]:
        """Advance the list and return (number text, separator after it)."""
        abstract_id = self._abstract_of(num_id)
        if abstract_id is None:
            return "", ""
        _, starts, overrides = self.nums[num_id]
        levels = dict(self.abstract.get(abstract_id, {}))
        levels.update(overrides)
        level = levels.get(ilvl, _Level())
        counters = self.counters.setdefault(abstract_id, {})
        if num_id not in self.started:
            self.started.add(num_id)
            for restart_level, value in starts.items():
                counters[restart_level] = value - 1
                for deeper in [k for k in counters if k > restart_level]:
                    del counters[deeper]
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else level.start
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if level.fmt == "bullet":
            return "", ""

        def number(match: re.Match[str]) -> str:
            k = int(match.group(1)) - 1
            at = levels.get(k, _Level())
            value = counters.get(k, at.start)
            return format_number(value, "decimal" if level.legal else at.fmt)

        text = re.sub(r"%([1-9])", number, level.text)
        if not text or level.suffix == "nothing" or text[-1] in "、，,．。：:）)]】」』":
            return text, ""
        return text, " "


@dataclass
class _Paragraph:
    text: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    boxes: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class WordText:
    """What the walker read: lines in order, with each line's heading level (0 = body)."""

    lines: tuple[str, ...]
    levels: tuple[int, ...]


class _Walker:
    def __init__(
        self,
        styles: _Styles,
        numbering: _Numbering,
        notes: dict[str, dict[str, Any]],
        label: str,
        max_chars: int,
    ) -> None:
        self.styles = styles
        self.numbering = numbering
        self.notes = notes
        self.label = label
        self.max_chars = max_chars
        self.chars = 0
        self.out: list[tuple[str, int]] = []
        # Complex fields: [shown, instruction so far] per open field, outermost first.
        self.fields: list[list[Any]] = []
        self.note_numbers = {"footnote": 0, "endnote": 0}
        # Inside a table cell (nesting depth), and the notes cited in the current row.
        self.in_cell = 0
        self.row_notes: list[tuple[str, str]] = []

    # -- output -------------------------------------------------------------------------

    def emit(self, text: str, level: int) -> None:
        lines = split_lines(text)
        if level and lines:
            lines = [" ".join(lines)]
        for line in lines:
            self.chars += len(line)
            if self.chars > self.max_chars:
                raise DocumentTooLarge(
                    self.label, f"提取出的文字超过 {self.max_chars:,} 字，过大，已停止读取"
                )
            self.out.append((line, level))

    # -- blocks -------------------------------------------------------------------------

    def blocks(self, elements: Iterable[Any]) -> None:
        for element in elements:
            tag = element.tag
            if tag == _w("p"):
                self.paragraph(element)
            elif tag == _w("tbl"):
                self.table(element)
            elif tag == _w("sdt"):
                content = _sdt_content(element)
                if content is not None:
                    self.blocks(content)
            elif tag in (_w("customXml"), _w("ins"), _w("moveTo")):
                self.blocks(element)

    def paragraph(self, p: Any) -> None:
        ppr = p.find(_w("pPr"))
        content = _Paragraph()
        self.inline(p, content)
        text = "".join(content.text)
        mark_deleted = _paragraph_mark_deleted(ppr)
        prefix = ""
        numbered = self.styles.numbering(ppr)
        if numbered is not None and not (mark_deleted and not text.strip()):
            number, separator = self.numbering.label(*numbered)
            if text.strip() and number:
                prefix = number + separator
        level = self.styles.heading_level(ppr)
        self.emit(prefix + text, level)
        for box in content.boxes:
            self.blocks(box)
        if self.in_cell:
            # A note cited in a table cell follows the row, not inside the cell's text.
            self.row_notes.extend(content.notes)
        else:
            for kind, note_id in content.notes:
                self.note(kind, note_id)

    def table(self, tbl: Any) -> None:
        for row in _children(tbl, "tr"):
            trpr = row.find(_w("trPr"))
            if trpr is not None and trpr.find(_w("del")) is not None:
                continue
            saved, saved_notes = self.out, self.row_notes
            cells: list[str] = []
            self.in_cell += 1
            self.row_notes = []
            for cell in _children(row, "tc"):
                self.out = []
                self.blocks(cell)
                text = " ".join(line for line, _ in self.out)
                if text:
                    cells.append(text)
            self.in_cell -= 1
            notes, self.out, self.row_notes = self.row_notes, saved, saved_notes
            if cells:
                self.out.append((" ｜ ".join(cells), 0))
            if self.in_cell:
                self.row_notes.extend(notes)  # a table inside a cell: after the outer row
            else:
                for kind, note_id in notes:
                    self.note(kind, note_id)

    def note(self, kind: str, note_id: str) -> None:
        body = self.notes.get(kind, {}).get(note_id)
        if body is None:
            return
        self.note_numbers[kind] += 1
        mark = f"{'注' if kind == 'footnote' else '尾注'}{self.note_numbers[kind]}："
        saved_fields, self.fields = self.fields, []
        saved, self.out = self.out, []
        saved_cell, self.in_cell = self.in_cell, 0
        self.blocks(body)
        lines, self.out, self.fields, self.in_cell = self.out, saved, saved_fields, saved_cell
        for index, (line, _) in enumerate(lines):
            self.out.append((mark + line if index == 0 else line, 0))

    # -- inline content -----------------------------------------------------------------

    def shown(self) -> bool:
        return all(f[0] for f in self.fields)

    def inline(self, element: Any, para: _Paragraph) -> None:
        for child in element:
            tag = child.tag
            if tag == _w("r"):
                self.run(child, para)
            elif tag in _INLINE_SKIPPED:
                continue
            elif tag == _w("sdt"):
                content = _sdt_content(child)
                if content is not None:
                    self.inline(content, para)
            elif tag == _MC + "AlternateContent":
                choice = child.find(_MC + "Choice")
                self.inline(choice if choice is not None else child, para)
            elif tag == _M + "oMathPara" or tag == _M + "oMath":
                if self.shown():
                    para.text.append("".join(t.text or "" for t in child.iter(_M + "t")))
            elif isinstance(tag, str):
                # ins, moveTo, hyperlink, smartTag, customXml, fldSimple, dir, bdo …: runs
                # that Word shows (an XML comment's tag is not a string).
                self.inline(child, para)

    def run(self, r: Any, para: _Paragraph) -> None:
        rpr = r.find(_w("rPr"))
        hidden = rpr is not None and _on(rpr.find(_w("vanish")))
        for child in r:
            tag = child.tag
            if tag == _w("fldChar"):
                self.field_char(child.get(_w("fldCharType")))
            elif tag == _w("instrText"):
                if self.fields:
                    self.fields[-1][1].append(child.text or "")
            elif not self.shown() or hidden:
                continue
            elif tag == _w("t"):
                para.text.append(child.text or "")
            elif tag in (_w("tab"), _w("ptab")):
                para.text.append("\t")
            elif tag in (_w("br"), _w("cr")):
                para.text.append("\n")
            elif tag == _w("noBreakHyphen"):
                para.text.append("-")
            elif tag == _w("footnoteReference"):
                para.notes.append(("footnote", child.get(_w("id"), "")))
            elif tag == _w("endnoteReference"):
                para.notes.append(("endnote", child.get(_w("id"), "")))
            elif tag == _w("ruby"):
                base = child.find(_w("rubyBase"))
                if base is not None:
                    self.inline(base, para)
            elif tag in (_w("drawing"), _w("pict"), _w("object"), _MC + "AlternateContent"):
                para.boxes.extend(_text_boxes(child))

    def field_char(self, kind: str | None) -> None:
        if kind == "begin":
            self.fields.append([False, []])
        elif kind == "separate" and self.fields:
            instruction = "".join(self.fields[-1][1]).strip().upper()
            # A table of contents repeats the headings (with page numbers): not content.
            self.fields[-1][0] = not instruction.startswith(("TOC", "INDEX"))
        elif kind == "end" and self.fields:
            self.fields.pop()


def _on(element: Any | None) -> bool:
    if element is None:
        return False
    return element.get(_w("val"), "true") not in ("0", "false", "off")


def _children(element: Any, name: str) -> Iterator[Any]:
    # Rows and cells may be wrapped in content controls or custom XML.
    for child in element:
        if child.tag == _w(name):
            yield child
        elif child.tag == _w("sdt"):
            content = _sdt_content(child)
            if content is not None:
                yield from _children(content, name)
        elif child.tag == _w("customXml"):
            yield from _children(child, name)


def _sdt_content(sdt: Any) -> Any | None:
    return sdt.find(_w("sdtContent"))


def _paragraph_mark_deleted(ppr: Any | None) -> bool:
    rpr = None if ppr is None else ppr.find(_w("rPr"))
    return rpr is not None and rpr.find(_w("del")) is not None


def _text_boxes(element: Any) -> list[Any]:
    # mc:AlternateContent holds the same text box twice (DrawingML and the VML fallback).
    if element.tag == _MC + "AlternateContent":
        choice = element.find(_MC + "Choice")
        element = choice if choice is not None else element
    boxes = []
    for box in element.iter(_w("txbxContent")):
        ancestor = box.getparent()
        nested = False
        while ancestor is not None and ancestor is not element:
            if ancestor.tag == _w("txbxContent") or ancestor.tag == _MC + "Fallback":
                nested = True
                break
            ancestor = ancestor.getparent()
        if not nested:
            boxes.append(box)
    return boxes


def read_word_xml(
    body: Any,
    styles_root: Any | None,
    numbering_root: Any | None,
    notes: dict[str, dict[str, Any]],
    label: str,
    max_chars: int,
) -> WordText:
    """Render a document body as Word shows it.

    Args:
        body: the ``w:body`` element.
        styles_root, numbering_root: the ``w:styles`` and ``w:numbering`` elements, if any.
        notes: ``{"footnote": {id: w:footnote}, "endnote": {id: w:endnote}}``.
        label: the file's name, for errors.
        max_chars: reading stops with DocumentTooLarge past this many characters.
    """
    styles = _Styles(styles_root)
    walker = _Walker(styles, _Numbering(numbering_root, styles), notes, label, max_chars)
    walker.blocks(body)
    return WordText(tuple(t for t, _ in walker.out), tuple(level for _, level in walker.out))


def note_bodies(root: Any | None, tag: str) -> dict[str, Any]:
    """The real notes of a footnotes/endnotes part by id (separators left out)."""
    if root is None:
        return {}
    return {
        note.get(_w("id"), ""): note
        for note in root.iter(_w(tag))
        if note.get(_w("type"), "normal") == "normal"
    }
