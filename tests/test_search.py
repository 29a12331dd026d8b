"""Search on a tiny corpus with exact expectations, and queries that must not crash."""

from __future__ import annotations

import pytest

from kb.errors import QueryError
from kb.ingest import sync_corpus
from kb.lexical import match_expression, tokenize
from kb.search import MAX_QUERY_CHARS, VectorIndex, fuse, search


@pytest.fixture
def indexed(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, embedder)
    return db


def top(result, n=1):
    return [(h.doc_path, h.heading_path, h.text) for h in result.hits[:n]]


def test_tokens_are_characters_bigrams_and_words():
    assert tokenize("ＰＭ２.５满意率７０％") == ["pm2", "5", "满", "满意", "意", "意率", "率", "70"]


def test_lexical_finds_the_passage_with_its_place(indexed):
    result = search(indexed, "满意率", method="lexical", k=3)
    assert result.method == "lexical"
    assert top(result) == [("tiny_plan.txt", "一、主要目标", "1、公众对城市环保的满意率70%;")]
    hit = result.hits[0]
    assert (hit.doc_title, hit.block_seq) == ("测试单位工作方案", 2)


def test_a_single_character_query_works(indexed):
    result = search(indexed, "油", method="lexical")
    assert top(result) == [
        ("tiny_law.md", "第二章 监督管理 › 第三条", "任何单位不得在居民区附近排放油烟。")
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("７０％", "1、公众对城市环保的满意率70%;"),  # full-width digits find half-width
        ("6月5日", "每年6月5日为环境日。"),
        ("ＰＭ 满意率 70%", "1、公众对城市环保的满意率70%;"),
    ],
)
def test_full_width_half_width_and_digits(indexed, query, expected):
    assert search(indexed, query, method="lexical").hits[0].text == expected


@pytest.mark.parametrize("query", ["", "   ", "，。！？", "……——", "%%%", '"'])
def test_empty_or_punctuation_only_queries_get_a_clear_message(indexed, query):
    with pytest.raises(QueryError) as info:
        search(indexed, query)
    assert str(info.value) in (
        "请输入要查找的内容。",
        "查询中没有可检索的文字（只有标点或符号），请换个说法。",
    )


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("' OR 1=1 --", "1、公众对城市环保的满意率70%;"),
        ("满意*", "1、公众对城市环保的满意率70%;"),
        ("NEAR(满意 率)", "1、公众对城市环保的满意率70%;"),
        ("a OR b AND NOT c", None),
        ("^率 {x}:y", "1、公众对城市环保的满意率70%;"),
    ],
)
def test_query_syntax_is_never_interpreted(indexed, query, first):
    result = search(indexed, query, method="lexical")
    assert (result.hits[0].text if result.hits else None) == first


def test_fts_operators_are_quoted_as_plain_terms():
    assert match_expression('满意" OR NEAR(') == '"满" OR "满意" OR "意" OR "or" OR "near"'


def test_a_very_long_query_is_cut_with_a_notice(indexed):
    result = search(indexed, "满意率" * 500, method="lexical")
    assert result.notices == (f"查询过长，只按前 {MAX_QUERY_CHARS} 个字检索。",)
    assert result.hits[0].text == "1、公众对城市环保的满意率70%;"


def test_document_filter(indexed):
    only_law = search(indexed, "单位", documents=["tiny_law.md"], method="lexical", k=10)
    assert {h.doc_path for h in only_law.hits} == {"tiny_law.md"}
    assert search(indexed, "单位", documents=[], method="lexical").hits == ()


def test_without_a_model_search_is_lexical_only(indexed):
    assert search(indexed, "满意率", embedder=None, method="hybrid").method == "lexical"


def test_dense_and_hybrid_use_the_current_models_vectors(indexed, embedder):
    index = VectorIndex()
    dense = search(indexed, "居民区附近排放油烟", embedder=embedder, index=index, method="dense")
    assert dense.method == "dense"
    assert dense.hits[0].text == "任何单位不得在居民区附近排放油烟。"
    hybrid = search(indexed, "居民区附近排放油烟", embedder=embedder, index=index)
    assert (hybrid.method, hybrid.hits[0].text) == ("hybrid", "任何单位不得在居民区附近排放油烟。")


def test_the_vector_index_follows_changes(indexed, tiny_corpus, embedder):
    index = VectorIndex()
    ids_before, _ = index.arrays(indexed, embedder.model_id)
    (tiny_corpus / "tiny_law.md").unlink()
    sync_corpus(indexed, tiny_corpus, embedder)
    ids_after, matrix = index.arrays(indexed, embedder.model_id)
    assert len(ids_after) < len(ids_before)
    assert matrix.shape == (len(ids_after), embedder.dimension)


def test_fusion_weighs_normalised_scores():
    lexical = [(1, 10.0), (2, 8.0), (3, 5.0)]
    dense = [(3, 0.90), (1, 0.85), (4, 0.80)]
    fused = dict(fuse(lexical, dense, dense_weight=0.7))
    assert fused == pytest.approx({1: 0.3 + 0.35, 2: 0.24, 3: 0.15 + 0.7, 4: 0.0})
    assert [c for c, _ in fuse(lexical, dense, dense_weight=0.0)] == [1, 2, 3, 4]
    assert [c for c, _ in fuse(lexical, [], dense_weight=0.7)] == [1, 2, 3]
