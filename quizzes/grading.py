"""Grading of one answer to one question.

Answers are always given in terms of the question's ORIGINAL option keys: the UI maps the
positions it displayed back to keys through the attempt's stored option order, so the
shuffling of options never reaches grading.

Answer forms: single: a key (``"B"``); multiple: keys (``["A", "C"]``, order and
duplicates ignored); true_false: ``True``/``False``; fill: the text typed. ``None`` (or an
empty list/text) is an unanswered question. An answer of the wrong form earns nothing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quizzes.bank import Question

_WHITESPACE = re.compile(r"\s+")


def normalize_fill(text: str) -> str:
    """Fold a fill answer so that equivalent spellings compare equal.

    NFKC makes full-width and half-width forms agree (``７０％`` and ``70%``), every
    whitespace character is removed (Chinese does not separate words, and a stray space
    typed inside an answer should not fail it), and casefold ignores letter case.
    """
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


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
          accepted variants.
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
