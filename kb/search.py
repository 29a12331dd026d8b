"""Hybrid search: BM25 over characters and bigrams, dense vectors, and their fusion.

The lexical ranker is FTS5's BM25 over characters and bigrams (kb.lexical), served from
posting lists in memory (kb.lexical_index); the dense ranker is a dot product
against the current model's normalised vectors held in memory by a
:class:`kb.vector_index.VectorIndex` (exact, or past a size over candidates that a
compressed copy picks);
the two lists are fused by a weighted sum of normalised scores (weight chosen on the
benchmark in bench/, see README). Without an embedder search is lexical-only and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import sqlite_utils

from kb.embedding import Embedder
from kb.errors import QueryError
from kb.lexical import match_expression, normalize
from kb.lexical_index import index_for
from kb.restatements import Passage, group_restatements
from kb.vector_index import VectorIndex
from kb.words import content_words

MAX_QUERY_CHARS = 300
CANDIDATES = 50
# The dense ranker's share of the fused score, chosen on the tuning half of the
# whole-corpus question sets (bench/bench_quality.py): 0.6 has the best sum of R@5 and
# MRR@10 over the literal, paraphrased and law sets, though 0.3-0.6 lie within two
# questions of each other.
DENSE_WEIGHT = 0.6
METHODS = ("hybrid", "lexical", "dense")
# Hits looked at for restatements: k x this many ranked passages.
GROUP_WINDOW = 3
# "No good match", calibrated on the off-topic questions of the benchmark's tuning half
# (bench/bench_quality.py): with the builtin model, a best passage cosine below 0.892
# flags 12 of 15 off-topic questions and 3 of 141 answerable ones. A cosine floor belongs
# to one model; for any other, and without a model, search falls back to words: no
# content word of the query in the top three passages (6 of 15 and 6 of 141).
NO_MATCH_COSINE = {"builtin:": 0.892}
LEXICAL_NO_MATCH_DEPTH = 3


@dataclass(frozen=True)
class SeeAlso:
    """A passage of another document that restates a hit (shown as "另见：《…》")."""

    chunk_id: int
    doc_path: str
    doc_title: str
    heading_path: str


@dataclass(frozen=True)
class Hit:
    """One passage found by search, with where it stands.

    Attributes:
        chunk_id: the passage's id; the reader opens at it.
        doc_path: the document's name in the corpus (the reader's key).
        doc_title: the document's title.
        heading_path: the headings it stands under.
        text: the passage, verbatim.
        score: the ranker's score (fused, BM25 or cosine); higher is better.
        block_seq: the paragraph it comes from, for the reader.
        also: passages of other documents that say the same thing (kb.restatements).
    """

    chunk_id: int
    doc_path: str
    doc_title: str
    heading_path: str
    text: str
    score: float
    block_seq: int
    also: tuple[SeeAlso, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    """Hits, how they were found, and anything the user should be told.

    ``weak`` says nothing relevant was found: the hits are only the nearest passages
    (the page says 没有找到可靠的答案 above them).
    """

    hits: tuple[Hit, ...]
    method: str
    notices: tuple[str, ...] = ()
    weak: bool = False


def check_query(query: str) -> tuple[str, list[str]]:
    """Clean a query; return it and notices, or raise QueryError saying what is wrong."""
    notices: list[str] = []
    cleaned = " ".join(query.split())
    if not cleaned:
        raise QueryError("请输入要查找的内容。")
    if len(cleaned) > MAX_QUERY_CHARS:
        cleaned = cleaned[:MAX_QUERY_CHARS]
        notices.append(f"查询过长，只按前 {MAX_QUERY_CHARS} 个字检索。")
    if match_expression(cleaned) is None:
        raise QueryError("查询中没有可检索的文字（只有标点或符号），请换个说法。")
    return cleaned, notices


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    embedder: Embedder | None = None,
    index: VectorIndex | None = None,
    k: int = 10,
    documents: Sequence[str] | None = None,
    method: str = "hybrid",
    group: bool = True,
) -> SearchResult:
    """Find the passages that answer ``query``.

    Args:
        db: the knowledge-base database.
        query: what the person typed, in any wording.
        embedder: the dense model; without it search is lexical-only.
        index: the in-memory vectors (shared across calls); built for this call if None.
        k: how many hits to return.
        documents: only search these documents (corpus paths); None for all.
        method: ``hybrid`` (default), ``lexical`` or ``dense``.
        group: fold restatements of other documents into one hit (kb.restatements).

    Raises:
        QueryError: the query is empty or holds nothing searchable.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    cleaned, notices = check_query(query)
    k = max(1, min(int(k), 100))
    depth = max(CANDIDATES, k)
    if embedder is None and method != "lexical":
        method = "lexical"
    lexical = _lexical(db, cleaned, depth, documents) if method != "dense" else []
    dense: list[tuple[int, float]] = []
    if method != "lexical" and embedder is not None:
        allowed = _allowed_chunks(db, documents)
        dense = _dense(db, cleaned, embedder, index or VectorIndex(), depth, allowed)
    if method == "lexical":
        ranked = lexical
    elif method == "dense":
        ranked = dense
    else:
        ranked = fuse(lexical, dense)
    # Restatements fold into one hit, so look past k for the hits that fill the list.
    hits = _hits(db, ranked[: max(k * GROUP_WINDOW, LEXICAL_NO_MATCH_DEPTH)])
    floor = no_match_cosine(embedder)
    if dense and floor is not None:
        weak = dense[0][1] < floor
    else:
        weak = not any_word_found(cleaned, hits[:LEXICAL_NO_MATCH_DEPTH])
    if group:
        hits = _grouped(hits)
    return SearchResult(tuple(hits[:k]), method, tuple(notices), weak)


def no_match_cosine(embedder: Embedder | None) -> float | None:
    """The calibrated cosine below which the best passage is no good match, if known."""
    if embedder is None:
        return None
    for prefix, floor in NO_MATCH_COSINE.items():
        if embedder.model_id.startswith(prefix):
            return floor
    return None


def any_word_found(query: str, hits: Sequence[Hit]) -> bool:
    """Whether any of the query's content words stands in the hits (heading or text)."""
    found = normalize("".join(f"{h.heading_path}{h.text}" for h in hits))
    return any(word in found for word in content_words(query))


def fuse(
    lexical: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    dense_weight: float = DENSE_WEIGHT,
) -> list[tuple[int, float]]:
    """Fuse two ranked lists of (chunk id, score) by a weighted sum of normalised scores.

    BM25 is divided by the best BM25 of the list; cosines are scaled min-max over the
    candidates. A passage missing from one list gets nothing from it. Reciprocal-rank
    fusion, z-scored scores and a weight that adapts to the query measured no better on
    the benchmark (README: what was tried).
    """
    scores: dict[int, float] = {}
    if lexical:
        best = max(score for _, score in lexical) or 1.0
        for chunk_id, score in lexical:
            scores[chunk_id] = (1 - dense_weight) * score / best
    if dense:
        high, low = dense[0][1], dense[-1][1]
        spread = (high - low) or 1.0
        for chunk_id, score in dense:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + dense_weight * (score - low) / spread
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _document_ids(db: sqlite_utils.Database, documents: Sequence[str]) -> list[int]:
    """The ids of the documents at these corpus paths (unknown paths are ignored)."""
    paths = list(documents)
    if not paths:
        return []
    marks = ",".join("?" * len(paths))
    return [
        row[0] for row in db.execute(f"SELECT id FROM documents WHERE path IN ({marks})", paths)
    ]


def _allowed_chunks(db: sqlite_utils.Database, documents: Sequence[str] | None) -> set[int] | None:
    if documents is None:
        return None
    paths = list(documents)
    if not paths:
        return set()
    marks = ",".join("?" * len(paths))
    return {
        row[0]
        for row in db.execute(
            f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.path IN ({marks})",
            paths,
        )
    }


def _lexical(
    db: sqlite_utils.Database, query: str, depth: int, documents: Sequence[str] | None
) -> list[tuple[int, float]]:
    # FTS5's bm25() over posting lists in memory (kb.lexical_index); the document filter
    # applies before the cut at depth.
    doc_ids = None if documents is None else _document_ids(db, documents)
    return index_for(db).snapshot(db).top(query, depth, doc_ids)


def _dense(
    db: sqlite_utils.Database,
    query: str,
    embedder: Embedder,
    index: VectorIndex,
    depth: int,
    allowed: set[int] | None,
) -> list[tuple[int, float]]:
    ids, _ = index.arrays(db, embedder.model_id)
    if len(ids) == 0:
        return []
    vector = embedder.embed_queries([query])[0]
    return index.nearest(db, embedder.model_id, vector, depth, allowed)


def _passage(hit: Hit) -> Passage:
    return Passage(hit.doc_path, hit.doc_title, hit.heading_path, hit.text)


def _grouped(hits: Sequence[Hit]) -> list[Hit]:
    """One hit per restatement group, the quoted passage first, the others as 另见."""
    grouped = []
    for group in group_restatements(hits, _passage):
        first, others = group[0], group[1:]
        also = tuple(SeeAlso(h.chunk_id, h.doc_path, h.doc_title, h.heading_path) for h in others)
        grouped.append(replace(first, score=max(h.score for h in group), also=also))
    return grouped


def _hits(db: sqlite_utils.Database, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
    if not ranked:
        return []
    ids = [chunk_id for chunk_id, _ in ranked]
    marks = ",".join("?" * len(ids))
    rows = {
        row[0]: row
        for row in db.execute(
            "SELECT c.id, d.path, d.title, c.heading_path, c.text, c.block_seq FROM chunks c"
            f" JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            ids,
        )
    }
    hits = []
    for chunk_id, score in ranked:
        row = rows.get(chunk_id)
        if row is not None:
            hits.append(Hit(row[0], row[1], row[2], row[3], row[4], score, row[5]))
    return hits
