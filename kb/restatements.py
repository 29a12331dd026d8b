"""Restatements: passages of different documents that say the same thing, shown as one.

A bureau's index holds a plan and the study notes that quote it, a law and the material
that cites it. Two passages of different documents are restatements when

- most of the shorter one's character bigrams stand in the longer one (:data:`OVERLAP`,
  at least :data:`MIN_SHARED` bigrams), and its numbers of two digits or more too
  (本法自2015年… is not 本法自2016年…); and
- either one names the other's document (it quotes it: 实施方案要求…, 环境保护法规定…) in
  its text or its headings, or the two are nearly the same text (:data:`SAME_TEXT`,
  Jaccard over bigrams).

Laws written in parallel (the air and the water law's 未依法取得排污许可证排放…) share
most of their words but neither names the other, so they stay apart. A document is named
by its short title: the last four characters of its title once "中华人民共和国" and a
closing parenthesis are taken off (实施方案, 境保护法, 公务员法); a short title that a
passage's own document title ends with (染防治法 in both pollution laws) names nothing.

In a group the passage of the document the others name comes first; without such a
mention, the best-ranked one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kb.lexical import normalize

# Chosen by reading the pairs the benchmark's top thirties hold (bench/bench_quality.py):
# 0.6 catches a note that quotes part of a plan's sentence; 0.9 Jaccard keeps a note
# that copies a law's article word for word.
OVERLAP = 0.6
MIN_SHARED = 6
SAME_TEXT = 0.9
SHORT_TITLE_CHARS = 4

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff0-9a-z]+")
_NUMBER = re.compile(r"\d{2,}")
_PARENTHESIS = re.compile(r"[（(][^（()）]*[)）]\s*$")

T = TypeVar("T")


@dataclass(frozen=True)
class Passage:
    """What grouping needs to know of a hit."""

    doc_path: str
    doc_title: str
    heading_path: str
    text: str


def bigrams(text: str) -> frozenset[str]:
    """The passage's character bigrams, punctuation and spaces left out."""
    grams: set[str] = set()
    for run in _RUN.findall(normalize(text)):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def short_title(title: str) -> str:
    """How other documents name this one: the last characters of its bare title."""
    bare = _PARENTHESIS.sub("", title.strip()).removeprefix("中华人民共和国")
    return bare[-SHORT_TITLE_CHARS:]


def names(passage: Passage, other: Passage) -> bool:
    """Whether ``passage`` names ``other``'s document in its text or headings."""
    name = short_title(other.doc_title)
    if len(name) < 2 or name in passage.doc_title:
        return False
    return name in passage.heading_path or name in passage.text


def _similar(a: Passage, b: Passage, grams_a: frozenset[str], grams_b: frozenset[str]) -> str:
    """ "same" (nearly the same text), "overlap" (the shorter mostly in the longer), or ""."""
    if not grams_a or not grams_b:
        return ""
    shared = len(grams_a & grams_b)
    if shared < MIN_SHARED or shared / min(len(grams_a), len(grams_b)) < OVERLAP:
        return ""
    short, long = (a, b) if len(grams_a) <= len(grams_b) else (b, a)
    if not set(_NUMBER.findall(normalize(short.text))) <= set(
        _NUMBER.findall(normalize(long.text))
    ):
        return ""
    return "same" if shared / len(grams_a | grams_b) >= SAME_TEXT else "overlap"


def group_restatements(items: Sequence[T], passage_of: Callable[[T], Passage]) -> list[list[T]]:
    """Group ranked ``items`` (best first) whose passages restate one another across
    documents; ``passage_of`` gives a hit's document, headings and text.

    Returns the groups in the order of their best-ranked member; in each, the quoted
    passage first, then the others by rank. A group never holds two passages of one
    document.
    """
    passages = [passage_of(item) for item in items]
    grams = [bigrams(p.text) for p in passages]
    groups: list[list[int]] = []
    quoted: dict[int, int] = {}  # group -> the member the others name
    for i, passage in enumerate(passages):
        for g, group in enumerate(groups):
            lead = group[0]
            if passage.doc_path in {passages[j].doc_path for j in group}:
                continue
            kind = _similar(passage, passages[lead], grams[i], grams[lead])
            if not kind:
                continue
            if names(passage, passages[lead]):
                quoted.setdefault(g, lead)
            elif names(passages[lead], passage):
                quoted.setdefault(g, i)
            elif kind != "same":
                continue
            group.append(i)
            break
        else:
            groups.append([i])
    ordered = []
    for g, group in enumerate(groups):
        first = quoted.get(g, group[0])
        ordered.append([items[first]] + [items[j] for j in group if j != first])
    return ordered
