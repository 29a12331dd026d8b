"""Where a query's content words stand in a passage, for highlighting in the UI.

Words come from jieba's segmentation (its dictionary, no HMM guessing), so a mark covers
whole words (接待群众, not 接 | 待群众). The question's own words (什么, 怎么, 能不能 …),
which the ranker leaves out of its query, are never marked.
"""

from __future__ import annotations

import logging
import threading

import jieba

from base.text import fold
from kb.lexical import QUESTION_TERMS

# Words that shape a question or a request but say nothing about what is asked; beside
# the ranker's QUESTION_TERMS (characters and bigrams), as jieba cuts them.
QUESTION_WORDS = QUESTION_TERMS | frozenset(
    [
        "怎么办",
        "怎么做",
        "怎么样",
        "为什么",
        "什么样",
        "是不是",
        "能不能",
        "要不要",
        "会不会",
        "可不可以",
        "有没有",
        "不能",
        "可以",
        "能够",
        "一般",
        "这个",
        "那个",
        "这些",
        "那些",
        "这次",
        "哪天",
        "哪一天",
        "多久",
        "多长时间",
        "几天",
        "我该",
        "我们",
        "你们",
        "他们",
        "大家",
        "自己",
        "时候",
        "的话",
        "还是",
        "还要",
        "还能",
        "一些",
        "一下",
        "指的是",
        "意思",
    ]
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _segmenter() -> jieba.Tokenizer:
    """One jieba tokenizer per process; its dictionary loads on first use (about 1 s)."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


def _fold(text: str) -> list[str]:
    """Each character folded (full-width to half-width, case), one entry per character."""
    return [fold(ch) for ch in text]


def _words(folded: str) -> list[str]:
    return [w for w in _segmenter().cut(folded, HMM=False) if w.strip()]


def _is_text(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def content_words(query: str) -> list[str]:
    """The query's words worth marking: no question words, no punctuation.

    Words of two characters or more when there are any, so a stray 我 or 管 does not
    light up every passage; single characters only when the query has nothing longer.

    >>> content_words("群众来问的事不归我管，我该怎么做")
    ['群众']
    """
    words = [w for w in _words("".join(_fold(query))) if _is_text(w)]
    content = [w for w in words if w not in QUESTION_WORDS]
    longer = [w for w in content if len(w) > 1]
    chosen = longer or content or words
    return list(dict.fromkeys(chosen))


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
    folded = _fold(text)
    # Map positions in the folded text back to characters of the original.
    owner: list[int] = []
    for i, piece in enumerate(folded):
        owner.extend([i] * len(piece))
    marked = [False] * len(text)
    pos = 0
    flat = "".join(folded)
    for word in _segmenter().cut(flat, HMM=False):
        if _is_text(word) and _matches(word, terms):
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
