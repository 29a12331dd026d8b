"""The query-vector cache: a question asked again gets the same vector without the model,
the cache stays within its size, dropping the least recently used, and search through it
ranks as search without it."""

from __future__ import annotations

import threading

import numpy as np

from kb.ingest import sync_corpus
from kb.query_cache import CachingEmbedder
from kb.search import VectorIndex, search
from tests.conftest import CountingEmbedder


class RecordingEmbedder(CountingEmbedder):
    """The test embedder, recording every call for queries."""

    def __init__(self) -> None:
        super().__init__()
        self.query_calls: list[list[str]] = []

    def embed_queries(self, texts):
        self.query_calls.append(list(texts))
        return super().embed_queries(texts)


def test_a_query_asked_again_gets_the_same_vector_without_the_model():
    inner = RecordingEmbedder()
    cache = CachingEmbedder(inner)
    first = cache.embed_queries(["排污许可证"])
    again = cache.embed_queries(["排污许可证"])
    assert np.array_equal(first, inner._vector("排污许可证")[None, :])
    assert np.array_equal(again, first)
    assert (inner.query_calls, cache.hits, cache.entries) == ([["排污许可证"]], 1, 1)
    assert (cache.model_id, cache.label, cache.dimension) == ("test:bigrams", "test:bigrams", 64)
    assert CachingEmbedder(RecordingEmbedder())  # an empty cache is still an embedder


def test_only_the_queries_not_asked_before_reach_the_model_in_one_call():
    inner = RecordingEmbedder()
    cache = CachingEmbedder(inner)
    cache.embed_queries(["噪声"])
    vectors = cache.embed_queries(["油烟", "噪声", "油烟", "废水"])
    assert inner.query_calls == [["噪声"], ["油烟", "废水"]]
    expected = np.stack([inner._vector(t) for t in ("油烟", "噪声", "油烟", "废水")])
    assert np.array_equal(vectors, expected)
    assert cache.hits == 1
    assert cache.embed_queries([]).shape == (0, 64)


def test_the_cache_keeps_at_most_its_size_and_drops_the_least_recently_used():
    inner = RecordingEmbedder()
    cache = CachingEmbedder(inner, size=2)
    cache.embed_queries(["甲类"])
    cache.embed_queries(["乙类"])
    cache.embed_queries(["甲类"])  # used again: 乙类 is now the oldest
    cache.embed_queries(["丙类"])
    assert cache.entries == 2
    inner.query_calls.clear()
    cache.embed_queries(["甲类"])
    cache.embed_queries(["丙类"])
    cache.embed_queries(["乙类"])  # dropped, so asked of the model again
    assert inner.query_calls == [["乙类"]]
    assert cache.entries == 2


def test_changing_a_returned_vector_does_not_change_the_cache():
    cache = CachingEmbedder(RecordingEmbedder())
    vectors = cache.embed_queries(["公务员"])
    vectors[0, :] = 0.0
    assert np.array_equal(cache.embed_queries(["公务员"]), cache.inner._vector("公务员")[None, :])


def test_passages_are_never_cached():
    inner = RecordingEmbedder()
    cache = CachingEmbedder(inner)
    cache.embed_passages(["第一条 为了保护环境。"])
    cache.embed_passages(["第一条 为了保护环境。"])
    assert (inner.passages_seen, cache.entries) == (["第一条 为了保护环境。"] * 2, 0)


def test_threads_asking_at_once_all_get_their_own_vectors():
    inner = RecordingEmbedder()
    cache = CachingEmbedder(inner, size=8)
    texts = [f"问题{i}" for i in range(16)]
    results: dict[str, np.ndarray] = {}

    def ask(text: str) -> None:
        for _ in range(20):
            results[text] = cache.embed_queries([text])[0]

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(results[t], inner._vector(t)) for t in texts)
    assert cache.entries == 8


def test_search_through_the_cache_ranks_as_search_without_it(db, tiny_corpus):
    inner = RecordingEmbedder()
    sync_corpus(db, tiny_corpus, inner)
    cache, index = CachingEmbedder(inner), VectorIndex()
    plain = search(db, "居民区附近排放油烟", embedder=inner, index=index)
    first = search(db, "居民区附近排放油烟", embedder=cache, index=index)
    again = search(db, " 居民区附近排放油烟 ", embedder=cache, index=index)
    assert first == plain
    assert again == plain
    assert cache.hits == 1
