"""Words of a query and of a passage, as jieba segments them (its dictionary, no HMM).

The highlight marks whole words with them, and search's "no good match" judgment asks
whether any of the query's content words stands in what was found.
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


def load_segmenter() -> None:
    """Load jieba's dictionary now (the app does it at start, off any page run)."""
    _segmenter()


def fold_chars(text: str) -> list[str]:
    """Each character folded as search folds it, one entry per character (positions kept)."""
    return [fold(ch) for ch in text]


def segment(text: str) -> list[str]:
    """Cut ``text`` into words (every character kept: the words joined give it back)."""
    return list(_segmenter().cut(text, HMM=False))


def is_text(word: str) -> bool:
    """Whether a word holds a letter or digit (not punctuation or space)."""
    return any(ch.isalnum() for ch in word)


def content_words(query: str) -> list[str]:
    """The query's words worth marking: no question words, no punctuation.

    Words of two characters or more when there are any, so a stray 我 or 管 does not
    light up every passage; single characters only when the query has nothing longer.

    >>> content_words("群众来问的事不归我管，我该怎么做")
    ['群众']
    """
    words = [w for w in segment("".join(fold_chars(query))) if is_text(w)]
    content = [w for w in words if w not in QUESTION_WORDS]
    longer = [w for w in content if len(w) > 1]
    chosen = longer or content or words
    return list(dict.fromkeys(chosen))
