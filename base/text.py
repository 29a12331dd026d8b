"""Text folding: the one way the app makes two spellings of the same text compare equal."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def fold(text: str, *, case: bool = True, spaces: bool = True) -> str:
    """Fold ``text`` for comparison: NFKC, so full-width and half-width forms agree
    (``７０％`` and ``70%``); then, unless asked not to, letter case (casefold) and
    whitespace.

    Args:
        text: the text.
        case: fold letter case (search terms, fill answers); False keeps it (a quote
            must match its document's letters).
        spaces: keep whitespace (search, highlighting: positions matter); False removes
            every whitespace character (quotes, fill answers: a line break or a space
            typed inside must not make a difference).

    >>> fold("７０％ Ａb")
    '70% ab'
    >>> fold(" 全面\\n学习 ", spaces=False)
    '全面学习'
    """
    folded = unicodedata.normalize("NFKC", text)
    if case:
        folded = folded.casefold()
    if not spaces:
        folded = _WHITESPACE.sub("", folded)
    return folded
