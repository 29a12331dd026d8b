"""Practice items made from one passage without a language model: 填空 of its key terms,
判断 made by swapping one term for a sibling, 单选 built from its enumerations.

Key terms are the passage's quoted phrases (“一次性告知”), its numbers, percentages and
dates, and the named items of its enumerations: inline lists (``富强、民主、文明、和谐``,
``(确保…;确保…;…)``) and the sibling headings it stands under (``五、工作措施`` › ``(一)提高
认识`` … ``(五)广泛宣传``). A wrong option or a swapped-in term is always a sibling: an item
of another list of the same document (the nearest, of about the same length first), or a
number of the same kind (a date for a date) from the same document.

Every item is checked before it is offered (:func:`check_item`): its answer stands in the
passage (its text, or the heading path shown with it), no wrong option does, a blank's
answer appears in the passage once and not in the stem, options are distinct. Items are
practice only: marked 自动生成, never graded, never stored, never a bank question.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlite_utils

from kb.chunking import PATH_SEPARATOR, match_heading
from kb.documents import DocumentView, Passage, get_document, get_passage
from kb.words import segment
from quizzes.grading import normalize_fill

BLANK = "____"
FILL, CHOICE, JUDGE = "填空", "单选", "判断"
KINDS = (FILL, CHOICE, JUDGE)
TRUE, FALSE = "正确", "错误"
MAX_FILLS = 2
"""At most this many 填空 a passage (with one 单选 and one 判断): a short practice."""
_LONG_PASSAGE = 120
"""A passage longer than this is practised sentence by sentence (the one holding the term)."""
_MIN_SENTENCE = 15
STRAY = "、，,；;：:。 "
"""Marks a passage may open with when a list number fell off (``、开展…``): not practised."""

# A sentence ends at a full stop, not at a semicolon (the items of a ；-list are not
# sentences) nor at a stray "。;" between list items.
_SENTENCE = re.compile(r"(?:[^。！？!?]|[。！？!?](?=[;；]))+[。！？!?]*[”」』]?")
_QUOTE = re.compile(r"[“「『]([^“”「」『』]{2,12})[”」』]")
# A quote holding a clause or a section number ("（五）切实加强组织领导") is no term.
_QUOTE_FORBIDDEN = set("，,。；;：:、！？!?（）()")
_CN = "零〇一二三四五六七八九十百千两"
_NUMBER = re.compile(
    r"(?P<date>\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}年)"
    r"|(?P<percent>\d+(?:\.\d+)?%|百分之[零一二三四五六七八九十百]+)"
    r"|(?P<arabic>\d+(?:\.\d+)?(?P<aunit>个工作日|摄氏度|个字|个|项|日|天|次|条|字|人|万|亿)|\d{3,})"
    rf"|(?<![第{_CN}])(?P<cn>[二三四五六七八九十两][{_CN}]*(?P<cunit>个字|个|项|场|条|字|日|声|次))"
)
_LIST_ITEM_MAX = {"、": 16, "；": 24}
_LIST_CLAUSE_END = {
    # A 、 list lives inside one clause; a ；-list may hold commas in its items, but not
    # a full stop (a stray "。;" between items, as retyped lists have, is a separator).
    "、": "，,。；;：:！？!?（）()“”「」『』《》【】\n",
    "；": "。：:！？!?（）()“”「」『』《》【】\n",
}
# Characters too common to say two names share a topic.
_COMMON_CHARS = frozenset("的和与及之不有是在为了以对等一")
# An item holding these is a question word (the study material's reading notes list
# 什么文件、何时提出、内容是什么), not a named thing.
_QUESTION_MARKERS = ("什么", "何时", "哪", "怎么", "如何")
_LIST_TAIL_CUT = frozenset(["等", "的", "为", "是", "和", "及", "以及", "与", "作为"])
# Words that open the sentence, not its list's first item (以改善…, 倡导富强, 做到垃圾分类).
_HEAD_PREPOSITIONS = ("以", "要", "把", "对", "在", "将", "为", "使", "是", "与", "共", "即")
_HEAD_VERBS = ("做到", "坚持", "进行", "包括", "倡导", "实现", "推行")
_LIST_HEAD_CUT = frozenset((*_HEAD_PREPOSITIONS, *_HEAD_VERBS))
# A list opened by a bracket, a quote or a colon starts its first item right there, and one
# closed by a bracket or quote ends its last item there: no trimming by words.
_LIST_OPENERS = "(（“「『：:"
_LIST_CLOSERS = ")）”」』"


@dataclass(frozen=True)
class Enumeration:
    """A list of named items: inline in a paragraph, or the sibling headings of a section.

    Attributes:
        items: the items as written (``打好污染减排攻坚战``).
        prefix, suffix: what every item shares (``打好`` … ``攻坚战``), so a blank or an
            option is only the part that differs (the core).
        position: the paragraph (block seq) it stands in or starts at: "nearby" is by it.
        parent: for sibling headings, the heading they stand under ("" at the top); None
            for an inline list.
        ordered: the text says 依次 (the order is part of what is learnt).
    """

    items: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    position: int = 0
    parent: str | None = None
    ordered: bool = False

    @property
    def cores(self) -> tuple[str, ...]:
        """Each item without the shared prefix and suffix."""
        end = len(self.suffix)
        return tuple(item[len(self.prefix) : len(item) - end] for item in self.items)


@dataclass(frozen=True)
class PassageItem:
    """One generated practice item.

    Attributes:
        kind: ``填空``, ``单选`` or ``判断``.
        stem: the question; a blank is ``____``.
        answer: the right answer: the blank's text, the right option, or 正确/错误.
        options: 单选's options (the answer among them), 判断's 正确/错误; empty for 填空.
        original: for a 判断 that is 错误, the passage's own words the statement changed.
        wrong: the options or swapped-in terms that must not stand in the passage.
    """

    kind: str
    stem: str
    answer: str
    options: tuple[str, ...] = ()
    original: str = ""
    wrong: tuple[str, ...] = ()


@dataclass(frozen=True)
class PassagePractice:
    """A passage and the items made from it (possibly none)."""

    passage: Passage
    items: tuple[PassageItem, ...]


# -- checking ---------------------------------------------------------------------------------


def _folded(text: str) -> str:
    return normalize_fill(text)


def check_item(item: PassageItem, text: str, heading_path: str = "") -> str | None:
    """Why ``item`` is not a fair question on the passage ``text``, or None if it is.

    The passage's heading path counts as part of it (it is shown with the passage).
    """
    context = _folded(text + heading_path)
    stem = item.stem
    if item.kind in (FILL, CHOICE):
        if stem.count(BLANK) != 1:
            return "题干应恰有一个空"
        answer = _folded(item.answer)
        if not answer or answer not in context:
            return "答案不在本段中"
        if answer in _folded(stem.replace(BLANK, "\x00")):
            return "答案出现在题干中"
        if item.kind == FILL and _folded(text).count(answer) > 1:
            return "答案在本段中出现不止一次"
    if item.kind == CHOICE:
        folded = [_folded(o) for o in item.options]
        if item.answer not in item.options or len(item.options) < 3:
            return "选项不足或不含答案"
        if len(set(folded)) != len(folded) or not all(folded):
            return "选项重复"
        if any(o in context for o in folded if o != _folded(item.answer)):
            return "干扰项出现在本段中"
    if item.kind == JUDGE:
        if item.options != (TRUE, FALSE) or item.answer not in item.options:
            return "判断题选项有误"
        flat = "".join(text.split())
        if item.answer == TRUE and "".join(stem.split()) not in flat:
            return "判断为正确的陈述不是本段原文"
        if item.answer == FALSE:
            if not item.original or "".join(item.original.split()) not in flat:
                return "判断题缺少原文"
            if "".join(stem.split()) in flat:
                return "判断为错误的陈述与原文相同"
            if any(_folded(w) in context for w in item.wrong):
                return "替换进来的词出现在本段中"
    return None


def is_right(item: PassageItem, response: str | None) -> bool:
    """Whether ``response`` answers ``item``: a blank as fill-in answers are graded
    (punctuation, width, traditional characters and numerals folded), else the option."""
    if not response:
        return False
    if item.kind == FILL:
        return _folded(response) == _folded(item.answer)
    return response == item.answer


# -- finding terms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A key term of a text: what it says, where it starts, and its kind (``quote``,
    ``item``, or ``number:<shape>``: ``number:date:0年0月`` and ``number:cn:项`` are two
    shapes; a number is only swapped for one of the same shape)."""

    text: str
    start: int
    kind: str


def _quoted_terms(text: str) -> list[Term]:
    terms = []
    for match in _QUOTE.finditer(text):
        phrase = match.group(1)
        cjk = sum(1 for ch in phrase if "\u4e00" <= ch <= "\u9fff")
        if cjk >= 2 and not _QUOTE_FORBIDDEN & set(phrase):
            terms.append(Term(phrase, match.start(1), "quote"))
    return terms


def _number_shape(match: re.Match[str]) -> str:
    if match.group("date"):
        return "date:" + re.sub(r"\d+", "0", match.group("date"))
    if match.group("percent"):
        return "percent"
    if match.group("arabic"):
        return "arabic:" + (match.group("aunit") or "")
    return "cn:" + match.group("cunit")


def _number_terms(text: str) -> list[Term]:
    return [
        Term(m.group(), m.start(), "number:" + _number_shape(m)) for m in _NUMBER.finditer(text)
    ]


def _affixes(items: Sequence[str]) -> tuple[str, str]:
    """The prefix and suffix all items share (``打好`` … ``攻坚战``), each of two or more
    characters and ending (starting) where jieba ends (starts) a word in every item, and
    leaving a core of two or more characters; three items at least."""
    if len(items) < 3:
        return "", ""
    shortest = min(len(i) for i in items)
    bounds = [_word_bounds(item) for item in items]
    prefix = _common_start(items)
    while prefix and not (
        len(prefix) >= 2 and shortest - len(prefix) >= 2 and all(len(prefix) in b for b in bounds)
    ):
        prefix = prefix[:-1]
    suffix = _common_start([i[::-1] for i in items])[::-1]
    while suffix and not (
        len(suffix) >= 2
        and shortest - len(prefix) - len(suffix) >= 2
        and all(len(i) - len(suffix) in b for i, b in zip(items, bounds, strict=True))
    ):
        suffix = suffix[1:]
    return prefix, suffix


def _common_start(texts: Sequence[str]) -> str:
    start = texts[0]
    for text in texts[1:]:
        while not text.startswith(start):
            start = start[:-1]
    return start


def _word_bounds(text: str) -> set[int]:
    """The offsets in ``text`` where jieba starts a word."""
    bounds, at = set(), 0
    for word in segment(text):
        bounds.add(at)
        at += len(word)
    return bounds


def _trim_head(part: str, size: int | None) -> str:
    """The end of the text before a list's first separator that is its first item: whole
    words from the end until about as long as the list's middle items (all of it when
    ``size`` is None), without a leading preposition or verb of the sentence (以, 要,
    倡导 …)."""
    words = segment(part)
    taken: list[str] = []
    for word in reversed(words):
        taken.insert(0, word)
        if size is not None and len("".join(taken)) >= _enough(size):
            break
    while len(taken) > 1 and taken[0] in _LIST_HEAD_CUT:
        taken.pop(0)
    return "".join(taken)


def _trim_tail(part: str, size: int) -> str:
    """The start of the text after a list's last separator that is its last item: whole
    words until about as long as the middle items, stopping at 等, 的, 是 and the like."""
    taken = ""
    for word in segment(part):
        if taken and (word in _LIST_TAIL_CUT or not any(ch.isalnum() for ch in word)):
            break
        taken += word
        if len(taken) >= _enough(size):
            break
    return taken


def _enough(size: int) -> int:
    # One character short of the middle items is close enough (人与人 beside 人与社会):
    # one more word would take in the sentence's verb (强调人与人).
    return max(2, size - 1)


@dataclass(frozen=True)
class _InlineList:
    enumeration: Enumeration
    spans: tuple[tuple[int, int], ...]


def _clauses(text: str, ends: str) -> Iterable[tuple[int, int]]:
    start = 0
    for i, ch in enumerate(text):
        if ch in ends:
            if ch == "。" and text[i + 1 : i + 2] in (";", "；"):
                continue
            yield start, i
            start = i + 1
    yield start, len(text)


def _inline_lists(text: str, position: int = 0) -> list[_InlineList]:
    """The enumerations of three or more items written in ``text``, with their spans."""
    found: list[_InlineList] = []
    for separator, ends in _LIST_CLAUSE_END.items():
        splitter = re.compile("、" if separator == "、" else r"。?[;；]")
        for start, end in _clauses(text, ends):
            clause = text[start:end]
            cuts = [(m.start(), m.end()) for m in splitter.finditer(clause)]
            if len(cuts) < 2:
                continue
            bounds = [0, *(c for cut in cuts for c in cut), len(clause)]
            parts = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
            middle = [clause[a:b].strip() for a, b in parts[1:-1]]
            size = int(statistics.median(len(m) for m in middle))
            head_a, head_b = parts[0]
            head = clause[head_a:head_b]
            tail_a, tail_b = parts[-1]
            tail = clause[tail_a:tail_b].rstrip("。")
            if separator == "；":
                # Items of a ；-list are clauses: the first starts after the last comma.
                head = re.split(r"[，,]", head)[-1].lstrip()
                tail = re.split(r"[，,]", tail)[0].rstrip()
            else:
                opener = text[start - 1] if start else ""
                # After a colon the first item may still follow a lead-in (说明：八项的
                # 标题依次是…); after a bracket or quote it starts right there.
                whole = opener in _LIST_OPENERS and (opener not in "：:" or len(head) <= size + 2)
                head = _trim_head(head, None if whole else size)
                if text[end : end + 1] not in _LIST_CLOSERS:
                    tail = _trim_tail(tail, size)
            spans = []
            head_start = start + head_b - len(head)
            spans.append((head_start, start + head_b))
            spans += [(start + a, start + b) for a, b in parts[1:-1]]
            tail_start = start + tail_a
            spans.append((tail_start, tail_start + len(tail)))
            items = [text[a:b] for a, b in spans]
            if len(set(items)) != len(items) or not all(
                2 <= len(i) <= _LIST_ITEM_MAX[separator] and i == i.strip(STRAY) for i in items
            ):
                continue
            if separator == "、" and any(ch in i for i in items for ch in "，,"):
                continue
            # A middle item holding 和 or 及 is two items run together (奠基活动和庆祝会)
            # or a clause (执法和处理投诉时秉公办事): no list of names.
            if separator == "、" and any(ch in m for m in middle for ch in "和及或"):
                continue
            if any(q in i for i in items for q in _QUESTION_MARKERS):
                continue
            prefix, suffix = _affixes(items)
            ordered = "依次" in text[max(0, start - 12) : start + head_b]
            enumeration = Enumeration(tuple(items), prefix, suffix, position, None, ordered)
            found.append(_InlineList(enumeration, tuple(spans)))
    return found


def _heading_item(text: str) -> str:
    found = match_heading(text)
    label = found[2] if found else text
    return label.strip().rstrip("。.；;：:")


def heading_lists(view: DocumentView) -> list[Enumeration]:
    """The document's sibling headings (three or more under one parent, each short)."""
    groups: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for paragraph in view.paragraphs:
        if paragraph.kind != "heading":
            continue
        parent = PATH_SEPARATOR.join(paragraph.heading_path.split(PATH_SEPARATOR)[:-1])
        groups.setdefault((parent, paragraph.level), []).append(
            (paragraph.seq, _heading_item(paragraph.text))
        )
    lists = []
    for (parent, _), members in groups.items():
        items = tuple(item for _, item in members)
        if len(items) < 3 or len(set(items)) != len(items):
            continue
        if not all(2 <= len(i) <= 12 and not set("，,。") & set(i) for i in items):
            continue
        prefix, suffix = _affixes(items)
        lists.append(
            Enumeration(items, prefix, suffix, members[0][0], parent.split(PATH_SEPARATOR)[-1])
        )
    return lists


def document_lists(view: DocumentView) -> list[Enumeration]:
    """Every enumeration of a document: inline ones of each paragraph, and sibling headings.
    These are the siblings that wrong options and swaps are drawn from."""
    inline = [
        found.enumeration
        for paragraph in view.paragraphs
        if paragraph.kind == "text"
        for found in _inline_lists(paragraph.text, paragraph.seq)
    ]
    return inline + heading_lists(view)


def document_numbers(view: DocumentView) -> list[tuple[int, Term]]:
    """Every number, percentage and date of a document, with the paragraph it stands in."""
    return [
        (paragraph.seq, term)
        for paragraph in view.paragraphs
        if paragraph.kind == "text"
        for term in _number_terms(paragraph.text)
    ]


# -- building items -----------------------------------------------------------------------------


def _stable(text: str) -> int:
    """A number drawn from ``text``, the same in every process: which item is asked, the
    order of options, and whether a 判断 is the passage's own statement or a changed one.
    (CRC-32's lowest bit leaned to odd on this corpus, 49 true statements to 29.)"""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _rotation(seed: int, count: int) -> list[int]:
    """0 … count-1 starting at ``seed % count``: which item a question is about varies from
    passage to passage, and the next one is tried when the first makes no fair question."""
    first = seed % count
    return [*range(first, count), *range(first)]


def _sentence_around(text: str, start: int, end: int) -> tuple[str, int]:
    """The stretch of ``text`` a question about ``text[start:end]`` shows: the whole
    passage if short, else the sentence holding it; with its offset in ``text``."""
    if len(text) <= _LONG_PASSAGE:
        return text, 0
    for match in _SENTENCE.finditer(text):
        if match.start() <= start and end <= match.end():
            sentence = match.group()
            return (sentence, match.start()) if len(sentence) >= _MIN_SENTENCE else (text, 0)
    return text, 0


def _blanked(text: str, start: int, end: int) -> str:
    stretch, at = _sentence_around(text, start, end)
    return stretch[: start - at] + BLANK + stretch[end - at :]


def _distractors(
    answer: str,
    target: Enumeration,
    pool: Sequence[Enumeration],
    context: str,
    count: int,
) -> list[str]:
    """Up to ``count`` sibling items for ``answer``: cores of other lists, about as long
    as it, nearest list first; none that stands in the passage, none that overlaps an
    item of the target list (so none is also right)."""
    taken = [_folded(core) for core in target.cores]
    themes = set("".join(target.cores)) - _COMMON_CHARS
    four_chars = _four_chars(target)
    candidates = []
    for enumeration in pool:
        if set(enumeration.items) == set(target.items):
            continue
        distance = abs(enumeration.position - target.position)
        # Headings are replaced by headings, list items by list items: same kind of name.
        other_kind = (enumeration.parent is None) != (target.parent is None)
        for core in enumeration.cores:
            folded = _folded(core)
            if (
                len(folded) < 2
                or folded in context
                or any(folded in t or t in folded for t in taken)
            ):
                continue
            long_off = abs(len(core) - len(answer)) > max(1, len(answer) // 3)
            # Sharing characters with the target list is a cheap sign of the same topic
            # (综合治理 beside 保护优先, 预防为主 …), which makes a wrong option plausible.
            unrelated = len(set(core) & themes) < 2
            # A wrong option must look like a right one: a heading for a heading; a list
            # item for a list item of about its length, and of the same topic, or from a
            # list of four-character terms like the target's (诚实守信 for 团结友善).
            # Otherwise it gives itself away (任务重 among 持续、快速、____发展; 数量 for
            # 享乐 in ____主义; 周边地市, a place of 环保七进, among duties).
            if other_kind or (
                target.parent is None
                and (long_off or (unrelated and not (four_chars and _four_chars(enumeration))))
            ):
                continue
            candidates.append(
                (other_kind, long_off, unrelated, distance, abs(len(core) - len(answer)), core)
            )
    chosen: list[str] = []
    for *_, core in sorted(candidates):
        folded = _folded(core)
        if all(folded not in c and c not in folded for c in map(_folded, chosen)):
            chosen.append(core)
        if len(chosen) == count:
            break
    return chosen


def _four_chars(enumeration: Enumeration) -> bool:
    """Whether a list is made of four-character terms (爱国守法、明礼诚信…), the set form
    of Chinese official enumerations: any two such lists look alike."""
    return all(len(core) == 4 for core in enumeration.cores)


def _core_span(enumeration: Enumeration, span: tuple[int, int]) -> tuple[int, int]:
    return span[0] + len(enumeration.prefix), span[1] - len(enumeration.suffix)


def _fill_items(text: str, lists: Sequence[_InlineList]) -> list[PassageItem]:
    terms = _quoted_terms(text)
    for found in lists:
        for span in found.spans:
            start, end = _core_span(found.enumeration, span)
            terms.append(Term(text[start:end], start, "item"))
    terms += _number_terms(text)
    items, kinds = [], set()
    for term in terms:
        kind = term.kind.split(":")[0]
        if kind in kinds or text.count(term.text) != 1:
            continue
        item = PassageItem(FILL, _blanked(text, term.start, term.start + len(term.text)), term.text)
        if check_item(item, text) is None:
            items.append(item)
            kinds.add(kind)
        if len(items) == MAX_FILLS:
            break
    return items


def _choice_item(
    passage: Passage,
    text: str,
    lists: Sequence[_InlineList],
    own: tuple[Enumeration, int] | None,
    pool: Sequence[Enumeration],
    blanked: set[str],
) -> PassageItem | None:
    context = _folded(text + passage.heading_path)
    seed = _stable(text)
    tries: list[tuple[Enumeration, str, str]] = []
    for found in lists:
        for index in _rotation(seed, len(found.spans)):
            start, end = _core_span(found.enumeration, found.spans[index])
            tries.append((found.enumeration, text[start:end], _blanked(text, start, end)))
    if own is not None:
        headings, index = own
        shown = [*headings.items]
        shown[index] = headings.prefix + BLANK + headings.suffix
        where = (
            f"“{headings.parent}”下的各项"
            if headings.parent
            else f"《{passage.doc_title}》的各部分"
        )
        # A heading may hold a 、 itself (有报必查、有查必复): then 、 cannot part them.
        joiner = "；" if any("、" in item for item in headings.items) else "、"
        stem = f"{where}依次是：{joiner.join(shown)}。"
        tries.append((headings, headings.cores[index], stem))
    # An item already asked as a blank is asked again only if nothing else makes a choice.
    tries.sort(key=lambda attempt: attempt[1] in blanked)
    for enumeration, answer, stem in tries:
        wrong = _distractors(answer, enumeration, pool, context, 3)
        if len(wrong) < 2:
            continue
        options = [answer, *wrong]
        rotate = seed % len(options)
        options = options[rotate:] + options[:rotate]
        item = PassageItem(CHOICE, stem, answer, tuple(options), wrong=tuple(wrong))
        if check_item(item, text, passage.heading_path) is None:
            return item
    return None


def _judge_item(
    passage: Passage,
    text: str,
    lists: Sequence[_InlineList],
    pool: Sequence[Enumeration],
    numbers: Sequence[tuple[int, Term]],
) -> PassageItem | None:
    context = _folded(text + passage.heading_path)
    seed = _stable(text)
    # (start, end, replacement, what it brings in that the passage does not say)
    swaps: list[tuple[int, int, str, tuple[str, ...]]] = []
    for found in lists:
        enumeration = found.enumeration
        for index in _rotation(seed, len(found.spans)):
            start, end = _core_span(enumeration, found.spans[index])
            wrong = _distractors(text[start:end], enumeration, pool, context, 1)
            if wrong:
                swaps.append((start, end, wrong[0], (wrong[0],)))
        if enumeration.ordered:
            index = seed % len(found.spans)
            other = index + 1 if index + 1 < len(found.spans) else index - 1
            a, b = sorted((index, other))
            (s1, e1), (s2, e2) = found.spans[a], found.spans[b]
            swapped = text[s2:e2] + text[e1:s2] + text[s1:e1]
            # An order swap brings in nothing new: the order itself is what changed.
            swaps.insert(0, (s1, e2, swapped, ()))
    for term in _number_terms(text):
        siblings = sorted(
            (abs(seq - passage.block_seq), other.text)
            for seq, other in numbers
            if other.kind == term.kind and _folded(other.text) not in context
        )
        if siblings:
            other = siblings[0][1]
            swaps.append((term.start, term.start + len(term.text), other, (other,)))
    for start, end, replacement, brought in swaps:
        stretch, at = _sentence_around(text, start, end)
        changed = stretch[: start - at] + replacement + stretch[end - at :]
        if seed % 2:
            item = PassageItem(JUDGE, stretch, TRUE, (TRUE, FALSE))
        else:
            item = PassageItem(JUDGE, changed, FALSE, (TRUE, FALSE), stretch, brought)
        if check_item(item, text, passage.heading_path) is None:
            return item
    return None


def _own_heading_list(
    passage: Passage, headings: Sequence[Enumeration]
) -> tuple[Enumeration, int] | None:
    """The deepest sibling-heading list that holds one of the passage's headings, and
    that heading's place in it."""
    parts = passage.heading_path.split(PATH_SEPARATOR) if passage.heading_path else []
    for depth in range(len(parts), 0, -1):
        parent = parts[depth - 2] if depth >= 2 else ""
        label = _heading_item(parts[depth - 1])
        for enumeration in headings:
            if enumeration.parent == parent and label in enumeration.items:
                return enumeration, enumeration.items.index(label)
    return None


def make_items(
    passage: Passage,
    lists: Sequence[Enumeration],
    numbers: Sequence[tuple[int, Term]] = (),
) -> tuple[PassageItem, ...]:
    """The practice items for ``passage``, given its document's enumerations and numbers
    (:func:`document_lists`, :func:`document_numbers`): up to two 填空, one 单选 and one
    判断, each checked by :func:`check_item`. Deterministic: the same passage gives the
    same items."""
    text = passage.text.lstrip(STRAY) or passage.text
    inline = _inline_lists(text, passage.block_seq)
    own = _own_heading_list(passage, [e for e in lists if e.parent is not None])
    items: list[PassageItem] = _fill_items(text, inline)
    choice = _choice_item(passage, text, inline, own, lists, {i.answer for i in items})
    if choice is not None:
        items.append(choice)
    judge = _judge_item(passage, text, inline, lists, numbers)
    if judge is not None:
        items.append(judge)
    return tuple(items)


def practice_for_passages(
    db: sqlite_utils.Database, chunk_ids: Iterable[int]
) -> list[PassagePractice]:
    """Each passage (by id) with the items made from it; passages gone from the index are
    left out. The document's lists are read once for all passages of one document."""
    out: list[PassagePractice] = []
    documents: dict[str, tuple[list[Enumeration], list[tuple[int, Term]]]] = {}
    for chunk_id in chunk_ids:
        passage = get_passage(db, chunk_id)
        if passage is None:
            continue
        if passage.doc_path not in documents:
            view = get_document(db, passage.doc_path)
            documents[passage.doc_path] = (
                (document_lists(view), document_numbers(view)) if view else ([], [])
            )
        lists, numbers = documents[passage.doc_path]
        out.append(PassagePractice(passage, make_items(passage, lists, numbers)))
    return out
