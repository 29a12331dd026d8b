"""Restatements: passages of different documents that say the same thing, shown as one.

A bureau's index holds a plan and the study notes that quote it, a law and the material
that cites it. Two passages are restatements when most of the shorter one's character
bigrams stand in the longer one (:data:`OVERLAP`) and they share at least
:data:`MIN_SHARED` of them. In a group, the passage whose document another member names
comes first: the others quote it ("实施方案要求…", "环境保护法规定…"). A document is named
by its short title, the last four characters of its title once "中华人民共和国" and a
closing parenthesis are taken off (实施方案, 境保护法, 公务员法). Without such a mention
the best-ranked member comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kb.lexical import normalize

# Measured on the benchmark's top tens (bench/bench_quality.py): 0.6 groups the plan with
# the notes that quote it and leaves apart law articles that share only their formulas.
OVERLAP = 0.6
MIN_SHARED = 6
SHORT_TITLE_CHARS = 4

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff0-9a-z]+")
_PARENTHESIS = re.compile(r"[（(][^（()）]*[)）]\s*$")

T = TypeVar("T")


@dataclass(frozen=True)
class Passage:
    """What grouping needs to know of a hit."""

    doc_path: str
    doc_title: str
    text: str


def bigrams(text: str) -> frozenset[str]:
    """The passage's character bigrams, punctuation and spaces left out."""
    grams: set[str] = set()
    for run in _CJK_RUN.findall(normalize(text)):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def same_statement(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two passages' bigram sets say the same thing (see the module docstring)."""
    if not a or not b:
        return False
    shared = len(a & b)
    return shared >= MIN_SHARED and shared / min(len(a), len(b)) >= OVERLAP


def short_title(title: str) -> str:
    """How other documents name this one: the last characters of its bare title."""
    bare = _PARENTHESIS.sub("", title.strip()).removeprefix("中华人民共和国")
    return bare[-SHORT_TITLE_CHARS:]


def _names(passage: Passage, other: Passage) -> bool:
    name = short_title(other.doc_title)
    return len(name) >= 2 and name in passage.text


def group_restatements(items: Sequence[T], passage_of: Callable[[T], Passage]) -> list[list[T]]:
    """Group ranked ``items`` whose passages restate one another across documents.

    Returns the groups in the order of their best-ranked member; in each group the
    quoted passage first (see the module docstring), then the others by rank. A group
    never holds two passages of one document.
    """
    groups: list[list[int]] = []
    grams = [bigrams(passage_of(item).text) for item in items]
    passages = [passage_of(item) for item in items]
    for i in range(len(items)):
        for group in groups:
            if passages[i].doc_path in {passages[j].doc_path for j in group}:
                continue
            if same_statement(grams[i], grams[group[0]]):
                group.append(i)
                break
        else:
            groups.append([i])
    ordered = []
    for group in groups:
        quoted = [
            j
            for j in group
            if any(_names(passages[m], passages[j]) for m in group if m != j)
            and not any(_names(passages[j], passages[m]) for m in group if m != j)
        ]
        first = quoted[0] if quoted else group[0]
        ordered.append([items[first]] + [items[j] for j in group if j != first])
    return ordered
