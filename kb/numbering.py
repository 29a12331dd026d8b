"""Numbers as Chinese documents write them: Chinese numerals, Word's list formats, and the
article sequence of a law (第一条, 第二条, …) checked for gaps."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = "〇一二三四五六七八九"
_LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "十", "百", "千")
_LEGAL_UNITS = ("", "拾", "佰", "仟")
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_ROMAN = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
]


def chinese_number(n: int, *, legal: bool = False) -> str:
    """Write ``n`` (0-99,999,999; larger as digits) in Chinese numerals as documents do.

    ``chinese_number(110) == "一百一十"``, ``chinese_number(101) == "一百零一"``,
    ``chinese_number(15) == "十五"``; ``legal`` gives the banker's forms (壹佰壹拾).
    """
    digits, units = (_LEGAL_DIGITS, _LEGAL_UNITS) if legal else (_DIGITS, _UNITS)
    if n < 0 or n >= 10**8:
        return str(n)
    if n == 0:
        return digits[0]
    if n >= 10000:
        high, low = divmod(n, 10000)
        rest = chinese_number(low, legal=legal) if low else ""
        zero = "零" if 0 < low < 1000 else ""
        return chinese_number(high, legal=legal) + ("万" if not legal else "萬") + zero + rest
    out = []
    zero_pending = False
    for power in range(3, -1, -1):
        digit = n // 10**power % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(digits[digit] + units[power])
    text = "".join(out)
    # 十五, not 一十五; but 一百一十 keeps its 一.
    if not legal and 10 <= n < 20:
        text = text[1:]
    return text


_PARSE_DIGITS = {ch: i for i, ch in enumerate(_DIGITS)} | {"零": 0, "两": 2}
_PARSE_UNITS = {"十": 10, "百": 100, "千": 1000}


def parse_chinese_number(text: str) -> int | None:
    """The value of a Chinese numeral (一百零一 → 101) or of Arabic digits, else None."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _PARSE_DIGITS:
            digit = _PARSE_DIGITS[ch]
        elif ch in _PARSE_UNITS:
            total += (1 if digit is None else digit) * _PARSE_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _letters(n: int, alphabet: str) -> str:
    # Word repeats the letter: a … z, aa … zz, aaa … (a hostile start value of a billion
    # would repeat it a billion times: past 30 repeats, digits).
    if n <= 0 or n > 26 * 30:
        return str(n)
    index, repeat = (n - 1) % 26, (n - 1) // 26 + 1
    return alphabet[index] * repeat


def _roman(n: int) -> str:
    if n <= 0 or n >= 4000:
        return str(n)
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    """Render ``n`` in a Word list number format (the ``w:numFmt`` value).

    Chinese counting (一、二 … 一百一十), the legal forms (壹贰叁), 甲乙丙 and 子丑寅,
    circled digits, letters, Roman numerals and decimal; an unknown format is decimal, as
    Word falls back to.
    """
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting"):
        return chinese_number(n)
    if fmt in ("taiwaneseCounting", "taiwaneseCountingThousand"):
        return chinese_number(n)
    if fmt == "chineseLegalSimplified":
        return chinese_number(n, legal=True)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_DIGITS[int(d)] for d in str(n))
    if fmt == "ideographTraditional":
        return _TIANGAN[(n - 1) % 10] if n > 0 else str(n)
    if fmt == "ideographZodiac":
        return _DIZHI[(n - 1) % 12] if n > 0 else str(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese", "ideographEnclosedCircle"):
        return _CIRCLED[n - 1] if 1 <= n <= len(_CIRCLED) else str(n)
    if fmt == "decimalFullWidth" or fmt == "decimalFullWidth2":
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "lowerLetter":
        return _letters(n, "abcdefghijklmnopqrstuvwxyz")
    if fmt == "upperLetter":
        return _letters(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt in ("none", "bullet"):
        return ""
    return str(n)


_ARTICLE = re.compile(r"^第([零〇一二两三四五六七八九十百千\d]+)条$")


def article_gaps(headings: Iterable[str]) -> list[str]:
    """The article numbers missing from a document numbered by article.

    ``headings`` are the document's heading texts in order; those that are exactly an
    article number (第十三条) are counted. A document with fewer than three articles is
    not numbered by article and has no gaps. Articles inserted by amendment (第十条之一)
    are not part of the sequence.

    Returns:
        e.g. ``["第十三条 未找到"]``, in order.
    """
    numbers = []
    for heading in headings:
        match = _ARTICLE.match(heading.strip())
        if match:
            value = parse_chinese_number(match.group(1))
            if value is not None:
                numbers.append(value)
    if len(numbers) < 3:
        return []
    found = set(numbers)
    return [
        f"第{chinese_number(n)}条 未找到"
        for n in range(min(numbers), max(numbers) + 1)
        if n not in found
    ]
