"""What `python -m kb model` prints about the model in use, with quick measurements."""

from __future__ import annotations

import time

import psutil

from kb.embedding import ModelStatus

SAMPLE_QUERIES = [
    "创建文明单位的主要目标是什么",
    "没按时完成任务的单位会怎样",
    "世界环境日是哪一天",
    "公务员职业道德有哪些要求",
]
SAMPLE_PASSAGES = [
    "对没有按期完成任务的责任单位要通报批评，并追究主要领导的责任。",
    "所有的环保行政许可事项一律实行集中办理，推行“一次性告知”、“一站式”服务、“一个窗口”办结。",
    "以建设“天蓝、地绿、水清、气爽”的现代化美丽文明城市为目标。",
    "每年6月5日为世界环境日。",
] * 16


def describe(status: ModelStatus) -> list[str]:
    """Lines describing the loaded model: what, where, its size and speed here.

    Measures warm query latency (p50/p95 over 40 queries) and passages per second (64
    short passages in batches); bench/bench_model.py measures at length.
    """
    embedder = status.embedder
    assert embedder is not None
    embedder.embed_queries(SAMPLE_QUERIES[:1])  # warm up
    timings = []
    for query in SAMPLE_QUERIES * 10:
        started = time.perf_counter()
        embedder.embed_queries([query])
        timings.append(time.perf_counter() - started)
    timings.sort()
    # The builtin model loads its passage side (torch) at the first passage: not timed.
    embedder.embed_passages(SAMPLE_PASSAGES[:1])
    started = time.perf_counter()
    embedder.embed_passages(SAMPLE_PASSAGES)
    rate = len(SAMPLE_PASSAGES) / (time.perf_counter() - started)
    return [
        f"model: {embedder.label}",
        f"model id: {embedder.model_id}",
        f"location: {status.location}",
        f"dimension: {embedder.dimension}",
        f"load time: {status.load_seconds:.2f} s",
        f"process memory after load: {psutil.Process().memory_info().rss / 1e6:.0f} MB",
        f"query latency (warm): p50 {timings[len(timings) // 2] * 1000:.1f} ms,"
        f" p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms",
        f"passages per second: {rate:.0f}",
    ]
