"""Where a query's content words stand in a passage, for highlighting in the UI.

Marks cover whole words as jieba cuts the passage (接待群众, not 接 | 待群众). The
question's own words (什么, 怎么, 能不能 …), which the ranker leaves out of its query,
are never marked.
"""

from __future__ import annotations

from kb.words import content_words, fold_chars, is_text, segment


def _matches(word: str, terms: list[str]) -> bool:
    if word in terms:
        return True
    if len(word) < 2:
        return False
    return any(len(t) > 1 and (t in word or word in t) for t in terms)


def highlight_segments(text: str, query: str) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(piece, matched)`` segments: matched pieces are whole words
    of the passage that are, contain or are part of one of the query's content words.

    Matched after full-/half-width folding, so ``７０％`` marks ``70%``. The pieces
    joined give back ``text`` exactly.
    """
    if not text:
        return []
    terms = content_words(query)
    if not terms:
        return [(text, False)]
    folded = fold_chars(text)
    # Map positions in the folded text back to characters of the original.
    owner: list[int] = []
    for i, piece in enumerate(folded):
        owner.extend([i] * len(piece))
    marked = [False] * len(text)
    pos = 0
    flat = "".join(folded)
    for word in segment(flat):
        if is_text(word) and _matches(word, terms):
            for j in range(pos, pos + len(word)):
                marked[owner[j]] = True
        pos += len(word)
    segments: list[tuple[str, bool]] = []
    for ch, flag in zip(text, marked, strict=True):
        if segments and segments[-1][1] == flag:
            segments[-1] = (segments[-1][0] + ch, flag)
        else:
            segments.append((ch, flag))
    return segments
