"""Where a query's terms stand in a passage, for highlighting in the UI."""

from __future__ import annotations

import unicodedata

from kb.lexical import tokenize


def highlight_segments(text: str, query: str) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(piece, matched)`` segments for the query's terms.

    Terms are the query's bigrams and words (single characters only when the query is one
    character), matched after full-/half-width folding, so ``７０％`` marks ``70%``. The
    pieces joined give back ``text`` exactly.
    """
    terms = {t for t in tokenize(query) if len(t) > 1}
    if not terms:
        terms = set(tokenize(query))
    if not terms or not text:
        return [(text, False)] if text else []
    # Fold character by character so positions in the folded text map back to the original.
    folded = [unicodedata.normalize("NFKC", ch).casefold() for ch in text]
    flat = "".join(folded)
    starts, pos = [], 0
    for piece in folded:
        starts.append(pos)
        pos += len(piece)
    marked = [False] * len(text)
    for term in terms:
        begin = flat.find(term)
        while begin >= 0:
            end = begin + len(term)
            for i, start in enumerate(starts):
                if begin <= start < end:
                    marked[i] = True
            begin = flat.find(term, begin + 1)
    segments: list[tuple[str, bool]] = []
    for ch, flag in zip(text, marked, strict=True):
        if segments and segments[-1][1] == flag:
            segments[-1] = (segments[-1][0] + ch, flag)
        else:
            segments.append((ch, flag))
    return segments
