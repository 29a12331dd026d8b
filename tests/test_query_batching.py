"""Query embeddings from many sessions at once run as one batch on one thread."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from base.settings import Settings, SettingsError
from kb.query_batching import BatchingEmbedder
from tests.conftest import CountingEmbedder

QUERIES = ["文明单位", "全面学习阶段", "志愿服务怎么开展", "诚信建设", "卫生整治", "学习强国"]


class GatedEmbedder(CountingEmbedder):
    """Holds its first query pass until the test opens the gate; records every pass."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.passes: list[list[str]] = []

    def embed_queries(self, texts):
        self.passes.append(list(texts))
        self.entered.set()
        self.gate.wait(10)
        return super().embed_queries(texts)


def ask_in_threads(
    batcher: BatchingEmbedder, queries: list[str]
) -> tuple[list[np.ndarray], list[threading.Thread]]:
    """Each query from its own thread, started; its vectors land in the returned list."""
    results: list[np.ndarray] = [np.empty(0)] * len(queries)

    def ask(i: int) -> None:
        results[i] = batcher.embed_queries([queries[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    return results, threads


def wait_until_queued(batcher: BatchingEmbedder, count: int) -> None:
    for _ in range(1000):
        with batcher._ready:
            if sum(len(r.texts) for r in batcher._pending) == count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} queries never queued")


def test_a_lone_query_gets_the_wrapped_embedders_vectors_at_once():
    inner = CountingEmbedder()
    batcher = BatchingEmbedder(inner)
    vectors = batcher.embed_queries(QUERIES[:2])
    np.testing.assert_array_equal(vectors, inner.embed_queries(QUERIES[:2]))
    assert (batcher.passes, batcher.queries) == (1, 2)
    assert (batcher.model_id, batcher.label, batcher.dimension) == (
        inner.model_id,
        inner.label,
        inner.dimension,
    )


def ask_while_a_pass_is_held(batcher: BatchingEmbedder, inner: GatedEmbedder) -> np.ndarray:
    """Ask the first query, hold its pass, queue the rest, then let every pass run.
    Returns every caller's vectors, in the order of QUERIES."""
    held, held_threads = ask_in_threads(batcher, QUERIES[:1])
    assert inner.entered.wait(10)
    queued, queued_threads = ask_in_threads(batcher, QUERIES[1:])
    wait_until_queued(batcher, len(QUERIES) - 1)
    inner.gate.set()
    for thread in held_threads + queued_threads:
        thread.join(10)
    return np.concatenate(held + queued)


def test_queries_that_arrive_while_a_pass_runs_go_in_the_next_pass_together():
    inner = GatedEmbedder()
    vectors = ask_while_a_pass_is_held(BatchingEmbedder(inner), inner)
    assert [sorted(p) for p in inner.passes] == [QUERIES[:1], sorted(QUERIES[1:])]
    np.testing.assert_array_equal(vectors, CountingEmbedder().embed_queries(QUERIES))


def test_a_pass_takes_at_most_max_batch_queries():
    inner = GatedEmbedder()
    vectors = ask_while_a_pass_is_held(BatchingEmbedder(inner, max_batch=2), inner)
    assert [len(p) for p in inner.passes] == [1, 2, 2, 1]
    np.testing.assert_array_equal(vectors, CountingEmbedder().embed_queries(QUERIES))


class FailingOnce(CountingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def embed_queries(self, texts):
        if not self.failed:
            self.failed = True
            raise RuntimeError("model broke")
        return super().embed_queries(texts)


def test_a_failed_pass_raises_in_its_callers_and_the_next_query_is_served():
    batcher = BatchingEmbedder(FailingOnce())
    with pytest.raises(RuntimeError, match="model broke"):
        batcher.embed_queries(QUERIES[:1])
    np.testing.assert_array_equal(
        batcher.embed_queries(QUERIES[:1]), CountingEmbedder().embed_queries(QUERIES[:1])
    )


def test_passages_go_straight_to_the_wrapped_embedder():
    inner = CountingEmbedder()
    batcher = BatchingEmbedder(inner)
    batcher.embed_passages(["第一条 本法适用于全国。"])
    assert (inner.passages_seen, batcher.passes) == (["第一条 本法适用于全国。"], 0)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="needs os.setpriority (Linux)")
def test_the_embedding_thread_runs_at_the_asked_lower_priority():
    batcher = BatchingEmbedder(CountingEmbedder(), nice=5)
    batcher.embed_queries(QUERIES[:1])
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = os.getpriority(os.PRIO_PROCESS, batcher._thread.native_id)
    assert thread - own == min(5, 19 - own)


@pytest.mark.model
def test_batched_vectors_of_the_builtin_model_are_those_of_each_query_alone(tmp_path_factory):
    from kb.embedding import load_embedder

    inner = load_embedder("builtin", tmp_path_factory.mktemp("models"), threads=1).embedder
    assert inner is not None
    batcher = BatchingEmbedder(inner)
    # Different lengths, so a pass pads the shorter queries.
    queries = [*QUERIES, "没按时完成创建任务的科室会受到什么处理？"]
    results, threads = ask_in_threads(batcher, queries)
    for thread in threads:
        thread.join(60)
    batched = np.concatenate(results)
    alone = np.concatenate([inner.embed_queries([q]) for q in queries])
    assert np.min(np.sum(batched * alone, axis=1)) > 0.9999


def test_the_search_nice_setting_is_a_nice_increment():
    assert Settings.from_env({}).search_nice == 10
    assert Settings.from_env({"KB_SEARCH_NICE": "0"}).search_nice == 0
    with pytest.raises(
        SettingsError, match="KB_SEARCH_NICE='20': expected a whole number from 0 to 19"
    ):
        Settings.from_env({"KB_SEARCH_NICE": "20"})
    with pytest.raises(SettingsError, match="KB_SEARCH_NICE='-5'"):
        Settings.from_env({"KB_SEARCH_NICE": "-5"})
