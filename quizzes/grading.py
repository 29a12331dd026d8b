"""Grading of one answer to one question.

Answers are always given in terms of the question's ORIGINAL option keys: the UI maps the
positions it displayed back to keys through the attempt's stored option order, so the
shuffling of options never reaches grading.

Answer forms: single: a key (``"B"``); multiple: keys (``["A", "C"]``, order and
duplicates ignored); true_false: ``True``/``False``; fill: the text typed. ``None`` (or an
empty list/text) is an unanswered question. An answer of the wrong form earns nothing.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from base.text import fold

if TYPE_CHECKING:
    from quizzes.bank import Question

# Punctuation that carries meaning in an answer: a percent sign, and a decimal point
# between digits (protected by a stand-in while the rest of the punctuation goes).
_KEPT_PUNCTUATION = frozenset("%‰")
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_POINT_STAND_IN = "\x00"
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUMERAL = "[零〇一二两三四五六七八九十百千万亿]+"
_PERCENT = re.compile(rf"百分之({_NUMERAL}|\d+(?:\.\d+)?)")
_NUMERAL_RUN = re.compile(_NUMERAL)


# A fold costs 28-46 µs, mostly the OpenCC lookup, and 0.3-0.5 µs from the cache
# (bench/bench_grading.py): the variants and most typed answers repeat across submissions.
@functools.lru_cache(maxsize=8192)
def normalize_fill(text: str) -> str:
    """Fold a fill answer so that equivalent spellings compare equal.

    In order: NFKC makes full-width and half-width forms agree (``７０％`` and ``70%``);
    traditional characters become simplified (``隊伍`` -> ``队伍``, OpenCC's t2s tables);
    whitespace and punctuation go, quotes and 书名号 included (``“一次性告知”。`` ->
    ``一次性告知``: the stem itself often quotes the blank), except a percent sign and a
    decimal point between digits; ``百分之N`` becomes ``N%`` and Chinese numerals become
    digits (``百分之七十`` -> ``70%``, ``七`` -> ``7``); casefold ignores letter case.

    Both the typed answer and every accepted variant are folded the same way, so a
    folding that also changes other words (``一次性`` -> ``1次性``) changes both sides.
    """
    text = _to_simplified(fold(text))
    text = _DECIMAL_POINT.sub(_POINT_STAND_IN, text)
    text = "".join(
        c
        for c in text
        if c in _KEPT_PUNCTUATION or not (c.isspace() or unicodedata.category(c)[0] == "P")
    )
    text = text.replace(_POINT_STAND_IN, ".")
    text = _PERCENT.sub(lambda m: _numeral_digits(m.group(1)) + "%", text)
    return _NUMERAL_RUN.sub(lambda m: _numeral_digits(m.group()), text)


@functools.cache
def _converter() -> Any:
    # Loading the tables takes 0.5-0.8 s, once per process: loading the bank folds every
    # accepted variant, so this happens there and not in a submission.
    from opencc_purepy import OpenCC

    return OpenCC("t2s")


def _to_simplified(text: str) -> str:
    if text.isascii():
        return text
    return str(_converter().convert(text))


def _numeral_digits(text: str) -> str:
    value = chinese_numeral(text)
    return text if value is None else value


def chinese_numeral(text: str) -> str | None:
    """The digits of a Chinese numeral (or of digits), or None if ``text`` is not one.

    ``七`` -> ``7``, ``十五`` -> ``15``, ``一百零五`` -> ``105``, ``两万`` -> ``20000``;
    a run without units is read digit by digit, as years are written: ``二〇〇三`` ->
    ``2003``. Digits come back as they are (``7.5`` -> ``7.5``).
    """
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return text
    if not any(c in _UNITS or c in _BIG_UNITS for c in text):
        if text and all(c in _DIGITS for c in text):
            return "".join(str(_DIGITS[c]) for c in text)
        return None
    total = section = 0
    digit: int | None = None
    for c in text:
        if c in _DIGITS:
            if _DIGITS[c] == 0:
                continue  # 零 only marks a skipped place: 一百零五
            if digit is not None:
                return None  # two digits in a row between units: not one number
            digit = _DIGITS[c]
        elif c in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[c]
            digit = None
        else:
            section += digit or 0
            if section == 0:
                return None
            total += section * _BIG_UNITS[c]
            section, digit = 0, None
    return str(total + section + (digit or 0))


def half_points(points: float) -> float:
    """Half of ``points`` rounded down to a multiple of 0.5 (1 -> 0.5, 3 -> 1.5, 1.5 -> 0.5)."""
    return math.floor(points) / 2


def grade_question(question: Question, answer: Any) -> tuple[float, bool]:
    """Grade ``answer`` to ``question``.

    Rules:
        * single / true_false: the right key or value earns full points.
        * multiple (少选得一半分、错选不得分): all correct keys and no wrong key earns full
          points and counts as correct; a non-empty subset of the correct keys with no
          wrong key earns half the points, rounded down to a multiple of 0.5
          (:func:`half_points`), and counts as NOT correct; any wrong key earns 0.
        * fill: right when :func:`normalize_fill` of the answer equals that of one of the
          accepted variants (punctuation, spaces, width, traditional characters and
          Chinese numerals do not matter).
        * unanswered, or an answer of the wrong form: 0 points, not correct.

    Args:
        question: the question, with its answer key.
        answer: the answer, in the question's original option keys.

    Returns:
        ``(points_awarded, correct)``.
    """
    if question.type == "single":
        right = isinstance(answer, str) and answer == question.answer
        return (question.points, True) if right else (0.0, False)

    if question.type == "true_false":
        right = isinstance(answer, bool) and answer is question.answer
        return (question.points, True) if right else (0.0, False)

    if question.type == "fill":
        if not isinstance(answer, str):
            return 0.0, False
        typed = normalize_fill(answer)
        assert isinstance(question.answer, tuple)
        right = bool(typed) and typed in {normalize_fill(v) for v in question.answer}
        return (question.points, True) if right else (0.0, False)

    # multiple
    chosen = _key_set(answer)
    if not chosen:
        return 0.0, False
    correct_keys = set(question.answer) if isinstance(question.answer, tuple) else set()
    if not chosen <= correct_keys:
        return 0.0, False
    if chosen == correct_keys:
        return question.points, True
    return half_points(question.points), False


def _key_set(answer: Any) -> set[str] | None:
    if isinstance(answer, str) or not isinstance(answer, Iterable):
        return None
    keys = list(answer)
    if not all(isinstance(k, str) for k in keys):
        return None
    return set(keys)
