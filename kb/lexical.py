"""The lexical side of search: Chinese text as characters and character bigrams.

SQLite's FTS5 with its default tokenizer over a column of space-separated characters and
bigrams gives BM25 through ``bm25()`` (DESIGN.md: 0.96 R@5 literal, 0.89 paraphrased),
and it works for a query of any length, one character included, where the trigram
tokenizer does not.
"""

from __future__ import annotations

import re

from base.text import fold

# CJK ideographs (with extensions) and the iteration marks, as code point ranges; every
# other run of letters or digits forms a word.
CJK_RANGES = (
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)
CJK_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_RANGES)

_TOKEN = re.compile(rf"([{CJK_CLASS}]+)|((?:(?![{CJK_CLASS}])[^\W_])+)")


def normalize(text: str) -> str:
    """Fold full-width forms to half-width (NFKC) and case, so ７０％ finds 70%."""
    return fold(text)


def tokenize(text: str) -> list[str]:
    """Split text into index terms: each CJK character, each CJK bigram, each word.

    >>> tokenize("满意率70%")
    ['满', '满意', '意', '意率', '率', '70']
    """
    terms: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        run, word = m.group(1), m.group(2)
        if run:
            for i, ch in enumerate(run):
                terms.append(ch)
                if i + 1 < len(run):
                    terms.append(run[i : i + 2])
        else:
            terms.append(word)
    return terms


def index_text(text: str) -> str:
    """The text as FTS5 stores it: terms separated by spaces."""
    return " ".join(tokenize(text))


# Words that shape a question but are not what it asks about. They match everywhere and
# pull up passages that merely sound like questions; dropped from queries only.
QUESTION_TERMS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "么",
        "啥",
        "哪",
        "怎",
        "是",
        "么",
        "请",
        "问",
        "些",
        "什么",
        "怎么",
        "怎样",
        "如何",
        "哪些",
        "哪个",
        "哪项",
        "哪里",
        "哪一",
        "多少",
        "几个",
        "是否",
        "为什",
        "请问",
        "我们",
        "咱们",
        "应该",
        "需要",
        "一下",
        "有没",
        "没有",
        "有哪",
        "是什",
        "要怎",
        "么样",
        "怎么样",
    ]
)


def query_terms(query: str) -> list[str]:
    """The query's distinct terms without question words (unless nothing else is left)."""
    terms = list(dict.fromkeys(tokenize(query)))
    content = [t for t in terms if t not in QUESTION_TERMS]
    return content or terms


# A longer query keeps its first terms (MAX_QUERY_CHARS in kb.search bounds it anyway).
MAX_QUERY_TERMS = 200


def match_expression(query: str, max_terms: int = MAX_QUERY_TERMS) -> str | None:
    """An FTS5 MATCH expression that ORs the query's distinct terms, or None if it has none.

    Every term is quoted as an FTS5 string, so nothing a user types (``"``, ``*``,
    ``NEAR(``, ``OR``, ``--``) is read as query syntax.
    """
    terms = query_terms(query)[:max_terms]
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
