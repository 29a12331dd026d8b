"""Query expansion, as measured by bench/bench_levers.py: document words for spoken words.

A person asks about 工厂 and 垃圾; the plan and the laws say 工业, 企业 and 固体废物. A small
hand-written lexicon (``bench/data/query_expansion.tsv``, each entry marked with where it
comes from) maps spoken words to document words, added to the lexical side of a query.
Measured and not kept in search: it lifts the tuning half, whose misses it was written
from, and not the held-out half (README, "Tried and measured").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.lexical import normalize

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "query_expansion.tsv"
SOURCES = ("general", "tune")


class LexiconError(ValueError):
    """A line of the expansion lexicon that is not ``spoken<TAB>words<TAB>source``."""


@dataclass(frozen=True)
class Entry:
    """One lexicon line: a spoken word and the document words it adds."""

    spoken: str
    words: tuple[str, ...]
    source: str


def parse_lexicon(text: str, name: str = "lexicon") -> tuple[Entry, ...]:
    """Read lexicon lines (``#`` comments and blank lines skipped).

    Raises:
        LexiconError: a line without three tab-separated fields, a spoken word of one
            character, no document words, or an unknown source; the message names the
            line.
    """
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        where = f"{name}, line {number}"
        if len(fields) != 3:
            raise LexiconError(f"{where}: expected spoken<TAB>words<TAB>source, got {line!r}")
        spoken, words, source = (normalize(f.strip()) for f in fields)
        if len(spoken) < 2:
            raise LexiconError(f"{where}: the spoken word {spoken!r} is shorter than 2 characters")
        if not words.split():
            raise LexiconError(f"{where}: no document words for {spoken!r}")
        if source not in SOURCES:
            raise LexiconError(f"{where}: source {source!r} is not one of {', '.join(SOURCES)}")
        entries.append(Entry(spoken, tuple(words.split()), source))
    return tuple(entries)


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[Entry, ...]:
    """The lexicon at ``path``, read once per process."""
    return parse_lexicon(path.read_text(encoding="utf-8"), path.name)


def expansion_words(query: str, lexicon: tuple[Entry, ...]) -> list[str]:
    """The document words for the spoken words in ``query``, without those it already has."""
    folded = normalize(query)
    added: list[str] = []
    for entry in lexicon:
        if entry.spoken in folded:
            added.extend(w for w in entry.words if w not in folded and w not in added)
    return added


def expand_query(query: str, lexicon: tuple[Entry, ...]) -> str:
    """``query`` with its expansion words appended (the lexical ranker's query)."""
    added = expansion_words(query, lexicon)
    return " ".join([query, *added]) if added else query
