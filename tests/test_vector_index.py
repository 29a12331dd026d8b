"""The dense ranker's index: exact below its threshold, the exact top k above it on sets
whose answer is known, and following the database as passages come and go."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from base.store import write
from kb.ingest import sync_corpus
from kb.schema import bump_generation, ensure_schema
from kb.search import search
from kb.vector_index import CANDIDATES_PER_PASSAGE, VectorIndex, load_vectors

MODEL = "test:planted"
DIM = 64
UNITS_PER_PASSAGE = 3


def store_vectors(db, matrix: np.ndarray, passage_of: np.ndarray | None = None) -> None:
    """One document whose passages 1, 2, ... hold ``UNITS_PER_PASSAGE`` rows each, or the
    rows' passages ``passage_of`` (ascending, from 1)."""
    ensure_schema(db)
    if passage_of is None:
        passage_of = np.arange(len(matrix)) // UNITS_PER_PASSAGE + 1
    with write(db):
        db.execute(
            "INSERT INTO documents (id, path, title, format, content_hash, chars, ingested_at)"
            " VALUES (1, 'planted.txt', 'planted', 'txt', '', 0, '')"
        )
        db.conn.executemany(
            "INSERT INTO chunks (id, doc_id, seq, block_seq, heading_path, text)"
            " VALUES (?, 1, ?, ?, '', ?)",
            [(p, p, p, f"passage {p}") for p in np.unique(passage_of).tolist()],
        )
        first = {p: row for row, p in reversed(list(enumerate(passage_of.tolist())))}
        units = [
            (p, row - first[p], f"unit {row}", f"h{row}")
            for row, p in enumerate(passage_of.tolist())
        ]
        db.conn.executemany("INSERT INTO chunk_units VALUES (?, ?, ?, ?)", units)
        db.conn.executemany(
            "INSERT INTO vectors VALUES (?, ?, ?, ?)",
            [(f"h{row}", MODEL, DIM, v.astype("<f4").tobytes()) for row, v in enumerate(matrix)],
        )
        bump_generation(db)


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    """Vectors in a narrow cone, as a sentence model's are (cosines mostly 0.8-0.95)."""
    centre = rng.standard_normal(DIM)
    centre /= np.linalg.norm(centre)
    spread = rng.standard_normal((count, DIM)) * 0.06 * rng.uniform(0.5, 1.5, DIM)
    vectors = centre + spread
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def brute_force(db, vector: np.ndarray, depth: int, allowed=None) -> list[tuple[int, float]]:
    """Every passage's best unit, by a loop over all rows: what exact search must give."""
    ids, matrix = load_vectors(db, MODEL)
    best: dict[int, float] = {}
    for chunk_id, score in zip(ids.tolist(), (matrix @ vector).tolist(), strict=True):
        if allowed is None or chunk_id in allowed:
            best[chunk_id] = max(best.get(chunk_id, -2.0), score)
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth]


def test_below_the_threshold_every_ranking_is_exact_search(db):
    rng = np.random.default_rng(1)
    store_vectors(db, unit_vectors(rng, 3_000))
    index = VectorIndex()  # the app's threshold, far above 3,000 rows
    for query in unit_vectors(rng, 20):
        assert index.nearest(db, MODEL, query, 50) == brute_force(db, query, 50)
    allowed = set(range(1, 1001, 7))
    query = unit_vectors(rng, 1)[0]
    assert index.nearest(db, MODEL, query, 50, allowed) == brute_force(db, query, 50, allowed)


def test_above_the_threshold_the_index_returns_the_planted_top_k(db):
    rng = np.random.default_rng(2)
    depth = 10
    rows = 30_000  # 1,600 candidate rows are rescored of 30,000
    assert depth * CANDIDATES_PER_PASSAGE < rows / 10
    matrix = unit_vectors(rng, rows)
    query = unit_vectors(rng, 1)[0]
    # The answer, planted: passage 1000 + 100 i gets, as its second unit, a vector whose
    # cosine with the query is exactly planted[i]; every other unit stays below 0.97.
    planted = [0.995 - 0.002 * i for i in range(depth)]
    chunk_ids = [1000 + 100 * i for i in range(depth)]
    assert (matrix @ query).max() < 0.97
    for chunk_id, cosine in zip(chunk_ids, planted, strict=True):
        other = rng.standard_normal(DIM)
        other -= (other @ query) * query
        other /= np.linalg.norm(other)
        matrix[(chunk_id - 1) * UNITS_PER_PASSAGE + 1] = (
            cosine * query + np.sqrt(1 - cosine**2) * other
        )
    store_vectors(db, matrix)
    index = VectorIndex(exact_below=0)
    found = index.nearest(db, MODEL, query, depth)
    assert [c for c, _ in found] == chunk_ids
    assert [s for _, s in found] == pytest.approx(planted, abs=1e-6)


def test_above_the_threshold_the_index_returns_the_exact_top_k(db):
    rng = np.random.default_rng(3)
    store_vectors(db, unit_vectors(rng, 30_000))
    index, exact = VectorIndex(exact_below=0), VectorIndex(exact_below=sys.maxsize)
    for query in unit_vectors(rng, 10):
        expected = brute_force(db, query, 10)
        assert exact.nearest(db, MODEL, query, 10) == expected
        assert index.nearest(db, MODEL, query, 10) == expected
    allowed = set(range(1, 10_001, 3))
    query = unit_vectors(rng, 1)[0]
    assert index.nearest(db, MODEL, query, 10, allowed) == brute_force(db, query, 10, allowed)


def test_candidates_of_too_few_passages_fall_back_to_the_whole_matrix(db):
    rng = np.random.default_rng(5)
    query = unit_vectors(rng, 1)[0]
    # Passage 1 holds 19,000 units near the query, so every candidate row the copy picks
    # for 10 passages (1,600) is likely its; 1,000 passages of one unit each follow.
    near = query + rng.standard_normal((19_000, DIM)).astype(np.float32) * 0.01
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    matrix = np.vstack([near, unit_vectors(rng, 1_000)])
    passage_of = np.concatenate([np.ones(19_000, dtype=np.int64), np.arange(2, 1_002)])
    store_vectors(db, matrix, passage_of)
    found = VectorIndex(exact_below=0).nearest(db, MODEL, query, 10)
    assert len(found) == 10
    assert found == brute_force(db, query, 10)


def paragraphs(count: int) -> str:
    """``count`` distinct lines of Chinese text, one passage each."""
    rng = np.random.default_rng(4)
    words = list("环境保护监督管理单位排放污染治理大气水土壤噪声固体废物企业部门公众信息公开")
    return "规定汇编\n\n" + "\n\n".join(
        f"第{i + 1}条 " + "".join(rng.choice(words, 18)) + "。" for i in range(count)
    )


def test_a_new_passage_ingested_is_found_and_a_removed_one_is_not(db, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "many.txt").write_text(paragraphs(400), encoding="utf-8")
    sync_corpus(db, corpus, embedder)
    index = VectorIndex(exact_below=0)
    query = "城市夜间施工噪声扰民投诉的处理时限为三日。"
    before = search(db, query, embedder=embedder, index=index, method="dense")
    assert query not in [h.text for h in before.hits]

    (corpus / "new.txt").write_text(f"新规定\n\n{query}\n", encoding="utf-8")
    sync_corpus(db, corpus, embedder)
    after = search(db, query, embedder=embedder, index=index, method="dense")
    assert (after.hits[0].doc_path, after.hits[0].text) == ("new.txt", query)
    assert after.hits[0].score == pytest.approx(1.0)
    # One passage asked for: the copy picks the 160 of 401 rows that are rescored.
    vector = embedder.embed_queries([query])[0]
    assert len(load_vectors(db, embedder.model_id)[0]) > 2 * CANDIDATES_PER_PASSAGE
    nearest = index.nearest(db, embedder.model_id, vector, 1)
    assert nearest == [(after.hits[0].chunk_id, pytest.approx(1.0))]

    (corpus / "new.txt").unlink()
    sync_corpus(db, corpus, embedder)
    gone = search(db, query, embedder=embedder, index=index, method="dense")
    assert "new.txt" not in {h.doc_path for h in gone.hits}
    exact = search(db, query, embedder=embedder, index=VectorIndex(sys.maxsize), method="dense")
    assert gone == exact
