"""What `python -m kb model` prints about the model in use."""

from __future__ import annotations

import time

from kb.embedding import ModelStatus

SAMPLE_QUERIES = [
    "创建文明单位的主要目标是什么",
    "没按时完成任务的单位会怎样",
    "世界环境日是哪一天",
]


def describe(status: ModelStatus) -> list[str]:
    """Lines describing the loaded model, with a quick measurement of query latency."""
    embedder = status.embedder
    assert embedder is not None
    embedder.embed_queries(SAMPLE_QUERIES[:1])  # warm up
    timings = []
    for query in SAMPLE_QUERIES * 5:
        started = time.perf_counter()
        embedder.embed_queries([query])
        timings.append(time.perf_counter() - started)
    timings.sort()
    return [
        f"model: {embedder.label}",
        f"model id: {embedder.model_id}",
        f"location: {status.location}",
        f"dimension: {embedder.dimension}",
        f"load time: {status.load_seconds:.2f} s",
        f"query latency (warm, median of {len(timings)}): {timings[len(timings) // 2] * 1000:.1f} ms",
    ]
