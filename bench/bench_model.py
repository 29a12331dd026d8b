"""Benchmark the builtin embedding model: conversion, load, memory, latency, throughput.

Prints figures; it is not a test. Run from the project root::

    .venv/bin/python bench/bench_model.py
    .venv/bin/python bench/bench_model.py --queries 200 --passages 500 --threads 2

Queries run both ways, side by side: through ONNX Runtime (what search uses,
``kb.embedding.OnnxQueryEmbedder``) and through torch (sentence-transformers, as before).
Memory is read after loading the ONNX Runtime side alone (a serving worker that embeds no
passage) and again with torch loaded for passages.

Queries and passages are cut from the shipped corpus and, where present, from
``../shared/corpus-public``: queries are clauses of 6-30 characters, passages are
sentences of 60-150 characters.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIRS = (PROJECT_ROOT / "corpus", PROJECT_ROOT.parent / "shared" / "corpus-public")

_SENTENCE_END = re.compile(r"(?<=[。！？；])|\n")
_CLAUSE_END = re.compile(r"[，。！？；：、\n]")


def corpus_texts(dirs: tuple[Path, ...] = CORPUS_DIRS) -> list[str]:
    """Return the text of every ``*.txt`` in ``dirs`` that exist, in a stable order."""
    return [
        path.read_text(encoding="utf-8")
        for folder in dirs
        if folder.is_dir()
        for path in sorted(folder.glob("*.txt"))
        if path.name != "SOURCES.md"
    ]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def make_passages(texts: list[str], n: int, lo: int = 60, hi: int = 150) -> list[str]:
    """Cut ``n`` passages of ``lo``-``hi`` characters from ``texts`` (fewer if there are not).

    Sentences are joined within a line until a passage reaches ``lo`` characters; a sentence
    longer than ``hi`` is cut at its commas, as a chunker would.
    """
    found: list[str] = []
    for text in texts:
        for line in text.splitlines():
            current = ""
            for piece in _pieces(line.strip(), hi):
                if len(current) + len(piece) > hi:
                    current = ""
                current += piece
                if len(current) >= lo:
                    found.append(current)
                    current = ""
    found = _unique(found)
    random.Random(0).shuffle(found)
    return found[:n]


def _pieces(line: str, hi: int) -> list[str]:
    out: list[str] = []
    for sentence in filter(None, _SENTENCE_END.split(line)):
        if len(sentence) <= hi:
            out.append(sentence)
        else:
            out.extend(filter(None, re.split(r"(?<=，)", sentence)))
    return [p for p in out if len(p) <= hi]


def make_queries(texts: list[str], n: int, lo: int = 6, hi: int = 30) -> list[str]:
    """Cut ``n`` clauses of ``lo``-``hi`` characters from ``texts``, standing in for queries."""
    found = _unique(
        [
            c.strip()
            for text in texts
            for c in _CLAUSE_END.split(text)
            if lo <= len(c.strip()) <= hi and re.search(r"[\u4e00-\u9fff]", c)
        ]
    )
    random.Random(1).shuffle(found)
    return found[:n]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, by linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


_WORKER = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
import psutil
from kb.embedding import load_embedder
start = time.perf_counter()
if {way!r} == "onnx":
    load_embedder("builtin", Path({cache!r}), 1).embedder.embed_queries(["生态环境保护"])
else:
    import torch
    from kb.builtin_model import load_builtin_model
    torch.set_num_threads(1)
    load_builtin_model(Path({cache!r})).encode_query("生态环境保护")
rss = psutil.Process().memory_info().rss / 2**20
print(f"load {{time.perf_counter() - start:.2f}} s, RSS {{rss:.0f}} MB,"
      f" torch imported: {{'torch' in sys.modules}}")
"""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="model cache to use (default: a fresh temporary folder, so conversion is timed)",
    )
    parser.add_argument("--queries", type=int, default=200, help="queries for the latency run")
    parser.add_argument("--passages", type=int, default=500, help="passages for the throughput run")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size for passages")
    parser.add_argument(
        "--threads", type=int, help="torch's and ONNX Runtime's threads (default: theirs)"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(PROJECT_ROOT))
    import psutil

    from kb.builtin_model import BUILTIN_LABEL, ensure_builtin_model, load_builtin_model
    from kb.embedding import load_embedder

    texts = corpus_texts()
    queries = make_queries(texts, args.queries)
    passages = make_passages(texts, args.passages)
    process = psutil.Process()

    with tempfile.TemporaryDirectory(prefix="bench-model-") as scratch:
        cache = args.cache_dir or Path(scratch)
        print(f"model: {BUILTIN_LABEL}")
        # Other work on this 2-core machine skews every figure: say how busy it was.
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print(f"cache: {cache}")

        start = time.perf_counter()
        ensure_builtin_model(cache)
        print(f"conversion (ensure_builtin_model): {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        ensure_builtin_model(cache)
        print(f"check of a converted folder: {(time.perf_counter() - start) * 1000:.0f} ms")
        # ru_maxrss is the peak (KiB on Linux): the conversion's own high-water mark.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process during conversion: {peak:.0f} MB")

        start = time.perf_counter()
        status = load_embedder("builtin", cache, args.threads)
        assert status.embedder is not None, status.message
        fast = status.embedder
        print(
            f"load_embedder('builtin'), queries through ONNX Runtime: {time.perf_counter() - start:.2f} s"
        )
        # This process imported torch to convert: a fresh one shows what a worker holds.
        for way in ("onnx", "torch"):
            code = _WORKER.format(root=str(PROJECT_ROOT), cache=str(cache), way=way)
            worker = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            print(f"a fresh process embeds a query ({way}): {worker.stdout.strip()}")

        start = time.perf_counter()
        import sentence_transformers  # noqa: F401
        import torch

        imported = time.perf_counter() - start
        if args.threads:
            torch.set_num_threads(args.threads)
        start = time.perf_counter()
        model = load_builtin_model(cache)
        loaded = time.perf_counter() - start
        print(f"import torch + sentence-transformers: {imported:.2f} s")
        print(f"load_builtin_model: {loaded:.2f} s (total with imports {imported + loaded:.2f} s)")
        print(f"RSS after loading torch as well: {process.memory_info().rss / 2**20:.0f} MB")
        print(f"torch threads: {torch.get_num_threads()}")

        ways = {
            "ONNX Runtime": lambda q: fast.embed_queries([q]),
            "torch (encode_query)": model.encode_query,
        }
        for embed in ways.values():
            for q in queries[:10]:
                embed(q)
        wall: dict[str, list[float]] = {name: [] for name in ways}
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        for q in queries:
            # Each query both ways in turn, so a change of load falls on both alike.
            for name, embed in ways.items():
                start, started_cpu = time.perf_counter(), time.process_time()
                embed(q)
                cpu[name].append((time.process_time() - started_cpu) * 1000)
                wall[name].append((time.perf_counter() - start) * 1000)
        gap = float(abs(fast.embed_queries(queries[:50]) - model.encode_query(queries[:50])).max())
        print(
            f"query latency over {len(queries)} Chinese queries "
            f"({min(map(len, queries))}-{max(map(len, queries))} chars), p50 / p95 ms:"
        )
        for name in ways:
            print(
                f"  {name:22} wall {percentile(wall[name], 50):.1f} / "
                f"{percentile(wall[name], 95):.1f}, CPU {percentile(cpu[name], 50):.1f} / "
                f"{percentile(cpu[name], 95):.1f}"
            )
        print(f"  largest difference between the two ways' vectors: {gap:.2g}")
        # What kb/query_batching.py rests on: a pass over several queries costs far less
        # than that many passes, because one query is bound by reading the weights.
        for size in (1, 2, 4, 8, 16, 32):
            batches = [queries[i : i + size] for i in range(0, len(queries) - size + 1, size)]
            per_query = {}
            for name, embed in (
                ("ONNX Runtime", fast.embed_queries),
                ("torch", model.encode_query),
            ):
                start = time.process_time()
                for batch in batches:
                    embed(batch)
                per_query[name] = (time.process_time() - start) / (len(batches) * size) * 1000
            print(
                f"queries {size:>2} per pass, ms of CPU per query: ONNX Runtime "
                f"{per_query['ONNX Runtime']:.1f}, torch {per_query['torch']:.1f}"
            )

        start = time.perf_counter()
        model.encode_document(passages, batch_size=args.batch_size)
        elapsed = time.perf_counter() - start
        chars = sum(map(len, passages))
        print(
            f"passages: {len(passages)} of {min(map(len, passages))}-{max(map(len, passages))} "
            f"chars (mean {chars / len(passages):.0f}) in {elapsed:.2f} s = "
            f"{len(passages) / elapsed:.1f} passages/s (batch {args.batch_size})"
        )
        print(f"RSS after passages: {process.memory_info().rss / 2**20:.0f} MB")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
