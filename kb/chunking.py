"""Split a Chinese official document into headings and short passages.

Official documents number their structure in a handful of ways, from the outside in:
``第X编`` ``第X章`` ``第X节`` ``第X条`` (laws), ``一、`` ``（一）``/``(一)`` ``1、``/``1.``
``（1）`` and ``一是`` (plans and reports); Markdown files add ``#`` headings. A heading
may stand alone on its line (``一、指导思想``) or open a paragraph
(``（一）提高认识。创建市级文明单位是……``). Real documents are retyped from paper, so
the chunker also accepts a list number typed as the letter ``l`` (``l、全面学习``), an item
whose number fell off (``、文明志愿服务活动经常化``), and a parenthesis that never closes.

A passage is a sentence or two (about PASSAGE_TARGET characters), short enough to be the
answer itself; the reader shows the paragraph around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATH_SEPARATOR = " › "
PASSAGE_TARGET = 120
PASSAGE_HARD_MAX = 240
# Clause windows embedded beside each passage; measured on the plan's paraphrased
# questions (bench/bench_quality.py): dense Recall@5 0.83 with the passage alone, 0.91
# with windows of up to 30 characters, 0.89 with 50 or 70.
UNIT_WINDOW = 30
_SHORT_SENTENCE = 20

_CN_NUM = "零〇一二三四五六七八九十百千两"
# Rank: a smaller number is further out. Articles sit inside chapters and sections but
# outside the enumerations of their own paragraphs.
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (10, re.compile(rf"^(第[{_CN_NUM}\d]+编)[\s\u3000]*(.*)$")),
    (20, re.compile(rf"^(第[{_CN_NUM}\d]+章)[\s\u3000]*(.*)$")),
    (30, re.compile(rf"^(第[{_CN_NUM}\d]+节)[\s\u3000]*(.*)$")),
    (35, re.compile(rf"^(第[{_CN_NUM}\d]+条(?:之[{_CN_NUM}]+)?)[\s\u3000]*(.*)$")),
    (40, re.compile(rf"^([{_CN_NUM}]+[、，,．.])\s*(.+)$")),
    (50, re.compile(rf"^([（(][{_CN_NUM}]+[）)])\s*(.+)$")),
    # ``l``/``I`` typed for ``1``, and an item whose number fell off (a bare ``、``).
    (60, re.compile(r"^((?:\d{1,2}|[lI])(?:[、，,．]|\.(?!\d))|、)\s*(.+)$")),
    (70, re.compile(r"^([（(]\d{1,2}[）)])\s*(.+)$")),
    (80, re.compile(rf"^([{_CN_NUM}]是)(.+)$")),
]
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_MD_LIST = re.compile(r"^(?:[-*+]\s+|>\s*)")
_MD_INLINE = re.compile(r"(\*\*|__|`)")

_TERMINATORS = "。！？!?；;"
_HEADING_MAX = 40
# A paragraph styled as a heading but longer than this is a misused style: body text.
_STYLED_HEADING_MAX = 80
_TITLE_MAX = 60


@dataclass(frozen=True)
class Block:
    """A paragraph of the document as the reader shows it.

    Attributes:
        seq: position in the document, from 0.
        kind: ``title``, ``heading`` or ``text``.
        text: the line as it stands in the document.
        level: nesting depth for headings (1 = outermost), 0 otherwise.
        heading_path: the headings this block stands under, joined by PATH_SEPARATOR.
        line: the index of the input line it comes from (for the page a PDF line is on).
    """

    seq: int
    kind: str
    text: str
    level: int
    heading_path: str
    line: int = 0


@dataclass(frozen=True)
class Chunk:
    """A passage: the unit that search returns.

    Attributes:
        seq: position among the document's passages, from 0.
        block_seq: the paragraph (Block.seq) it comes from.
        heading_path: where it stands, e.g. ``三、创建的主要内容 › （四）深化精神文明创建活动``.
        text: the passage, verbatim.
    """

    seq: int
    block_seq: int
    heading_path: str
    text: str


@dataclass(frozen=True)
class ChunkedDocument:
    """A document split for the store: its title, paragraphs and passages."""

    title: str
    blocks: tuple[Block, ...]
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class _Heading:
    rank: int
    label: str


def match_heading(line: str) -> tuple[int, str, str] | None:
    """Return ``(rank, marker, rest)`` if the line opens with a structural number."""
    for rank, pattern in _PATTERNS:
        m = pattern.match(line)
        if m:
            return rank, m.group(1), m.group(2)
    return None


def _split_heading(line: str, rank: int, marker: str, rest: str) -> tuple[str | None, str]:
    """Decide what of a numbered line is heading and what is body text.

    Returns ``(heading or None, body)``. ``第X条`` is always a heading, its text the body.
    A short line with no sentence end is a heading alone. A short first sentence followed
    by more text is the heading of the rest. A single sentence ending the line is a list
    item: body, under its parent heading.
    """
    if rank == 35:
        return marker, rest
    if rank <= 30:
        return line, ""
    end = _first_terminator(rest)
    if end is None:
        if len(line) <= _HEADING_MAX:
            return line, ""
        return None, line
    title, after = rest[:end], rest[end + 1 :].strip()
    if after and len(title) <= _HEADING_MAX - len(marker):
        return marker + title + rest[end], after
    return None, line


def _first_terminator(text: str) -> int | None:
    for i, ch in enumerate(text):
        if ch in _TERMINATORS:
            return i
    return None


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, keeping the punctuation with the sentence.

    A semicolon ends a sentence only outside parentheses, so an enumeration in brackets
    (``“六个确保”(确保……;确保……)``) stays whole; a parenthesis that never closes only
    keeps semicolons from splitting, and over-long pieces are cut later. ``。;`` (a full
    stop followed by a stray semicolon, as retyped lists have) ends one sentence, not two.
    """
    sentences: list[str] = []
    start = 0
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        end = None
        if ch in "。！？!?":
            end = i + 1
            while end < len(text) and text[end] in "。！？!?”’」』":
                end += 1
            if end < len(text) and text[end] in ";；":
                end += 1
        elif ch in ";；" and depth == 0:
            end = i + 1
        if end is not None:
            piece = text[start:end].strip()
            if piece:
                sentences.append(piece)
            start = i = end
            continue
        i += 1
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _hard_split(sentence: str) -> list[str]:
    # A sentence far over the limit (an unclosed parenthesis, a list run together) is cut
    # at the last comma before the limit, so no passage is too long to be an answer.
    pieces: list[str] = []
    while len(sentence) > PASSAGE_HARD_MAX:
        window = sentence[:PASSAGE_HARD_MAX]
        cut = max(window.rfind(c) for c in "，,、：:")
        cut = cut + 1 if cut > PASSAGE_HARD_MAX // 3 else PASSAGE_HARD_MAX
        pieces.append(sentence[:cut])
        sentence = sentence[cut:]
    if sentence:
        pieces.append(sentence)
    return pieces


def group_passages(text: str) -> list[str]:
    """Group a paragraph's sentences into passages of about PASSAGE_TARGET characters."""
    sentences = [p for s in split_sentences(text) for p in _hard_split(s)]
    passages: list[str] = []
    current = ""
    for sentence in sentences:
        # A short sentence (the tail of a list) stays with what it ends rather than
        # standing alone as a passage that answers nothing by itself.
        too_long = len(current) + len(sentence) > (
            PASSAGE_HARD_MAX if len(sentence) < _SHORT_SENTENCE else PASSAGE_TARGET
        )
        if current and too_long:
            passages.append(current)
            current = sentence
        else:
            current += sentence
    if current:
        passages.append(current)
    return passages


def _clean_markdown(line: str) -> str:
    line = _MD_LIST.sub("", line)
    return _MD_INLINE.sub("", line).strip()


def chunk_lines(
    lines: list[str] | tuple[str, ...],
    *,
    markdown: bool = False,
    levels: list[int] | tuple[int, ...] = (),
) -> ChunkedDocument:
    """Split a document's lines into a title, blocks (for the reader) and chunks (for search).

    Args:
        lines: the document's non-empty lines, in order.
        markdown: treat ``#`` lines as headings and strip list and emphasis markers.
        levels: each line's heading level from the file's own markup (Word's heading
            styles: 1-9, 0 = body), if it has one. A marked heading ranks like a Markdown
            heading of that level, above numbered headings; an article (第X条) keeps its
            own rank, with its text as the body.
    """
    stack: list[_Heading] = []
    blocks: list[Block] = []
    chunks: list[Chunk] = []
    title = ""
    index = 0

    def path() -> str:
        return PATH_SEPARATOR.join(h.label for h in stack)

    def push(rank: int, text: str) -> None:
        # The block keeps the heading verbatim ("l、全面学习。"), so quotes that run from
        # a heading into its paragraph still match; the path drops the closing stop.
        while stack and stack[-1].rank >= rank:
            stack.pop()
        stack.append(_Heading(rank, text.rstrip(_TERMINATORS)))
        blocks.append(Block(len(blocks), "heading", text, len(stack), path(), index))

    def add_text(text: str) -> None:
        block = Block(len(blocks), "text", text, 0, path(), index)
        blocks.append(block)
        for passage in group_passages(text):
            chunks.append(Chunk(len(chunks), block.seq, block.heading_path, passage))

    for index, raw in enumerate(lines):
        line = raw.strip()
        if markdown:
            md = _MD_HEADING.match(line)
            if md:
                text = _clean_markdown(md.group(2))
                if len(md.group(1)) == 1 and not title and not blocks:
                    title = text
                    blocks.append(Block(0, "title", text, 0, "", index))
                else:
                    push(len(md.group(1)), text)
                continue
            line = _clean_markdown(line)
            if not line:
                continue
        if index == 0 and not title and _is_title(line):
            title = line
            blocks.append(Block(0, "title", line, 0, "", index))
            continue
        found = match_heading(line)
        level = levels[index] if index < len(levels) else 0
        if level and (found is None or found[0] != 35) and len(line) <= _STYLED_HEADING_MAX:
            push(level, line)
            continue
        if found is None:
            add_text(line)
            continue
        rank, marker, rest = found
        # Markdown headings rank 1-6; numbered headings in a Markdown file sit below them.
        heading, body = _split_heading(line, rank, marker, rest)
        if heading is not None:
            push(rank, heading)
        else:
            while stack and stack[-1].rank >= rank:
                stack.pop()
        if body:
            add_text(body if heading is not None else line)
    return ChunkedDocument(title, tuple(blocks), tuple(chunks))


def _is_title(line: str) -> bool:
    return (
        len(line) <= _TITLE_MAX
        and match_heading(line) is None
        and not any(ch in line for ch in _TERMINATORS + "，,")
    )


def embedding_units(text: str) -> list[str]:
    """What the dense ranker embeds for a passage: the passage, then its clause windows.

    A long passage's vector is an average of everything it says; a question about one
    clause of it ("要把城市建成什么样子") matches that clause's own vector far better. The
    windows group clauses (split after ，；：。 and the like) up to UNIT_WINDOW
    characters; a passage that fits in one window has none.
    """
    clauses = [c for c in re.split(r"(?<=[，,；;：:。！？!?、])", text) if c]
    windows: list[str] = []
    current = ""
    for clause in clauses:
        if current and len(current) + len(clause) > UNIT_WINDOW:
            windows.append(current)
            current = clause
        else:
            current += clause
    if current:
        windows.append(current)
    return [text, *windows] if len(windows) > 1 else [text]
