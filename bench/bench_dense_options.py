"""The dense side's options, side by side, on one database of bench_search_scale.py.

Exact search (numpy, the whole float32 matrix) against the candidate finders that were
considered for kb/vector_index.py, each followed by the same exact float32 rescoring of
its candidates: faiss (flat scalar quantizers, IVF, HNSW, product quantizers with SIMD
fast scan) and, when installed, usearch's HNSW. For each: its build in CPU seconds, CPU
ms per query p50 (p95), the recall of the exact top 50 passages (a passage scores as
its best unit) and the queries whose top 50 has the same scores. One BLAS and OpenMP
thread, like the app. usearch is not a dependency (``pip install --target DIR
usearch==2.26.6 numkong==7.8.6``, run with ``PYTHONPATH=DIR``).

    .venv/bin/python bench/bench_dense_options.py --db /tmp/bench-scale/x100.sqlite3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_search_scale import make_queries  # noqa: E402

from base.settings import Settings  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.embedding import load_embedder  # noqa: E402
from kb.search import CANDIDATES  # noqa: E402
from kb.vector_index import load_vectors, rank_passages  # noqa: E402

# (faiss index_factory string, candidate rows rescored)
FAISS = [
    ("SQ8", (1000,)),
    ("SQ4", (2000,)),
    ("IVF1024,Flat", (1000,)),
    ("HNSW32", (400,)),
    ("PCA128,SQ8", (5000,)),
    ("PQ96x4fs", (5000,)),
    ("PQ192x4fs", (3000, 5000, 8000)),
    ("PQ384x4fs", (1000,)),
]


def top_rows(index):
    """A faiss index's candidate rows for one query vector."""
    return lambda vector, count: index.search(vector[None], count)[1][0]


def cpu_ms(fn):
    started = time.process_time()
    result = fn()
    return result, (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="x100.sqlite3 of bench_search_scale")
    args = parser.parse_args()
    threadpool_limits(1)
    import faiss

    faiss.omp_set_num_threads(1)
    settings = Settings.from_env()
    embedder = load_embedder(settings.embed_model, settings.model_cache_dir, 1).embedder
    db = open_db(args.db)
    ids, matrix = load_vectors(db, embedder.model_id)
    queries = make_queries(db, 200)
    vectors = [embedder.embed_queries([q])[0] for q in queries]
    print(f"{args.db.name}: {len(ids):,} unit vectors; {len(queries)} queries")

    truth, times = [], []
    for v in vectors:
        ranked, ms = cpu_ms(lambda v=v: rank_passages(ids, matrix @ v, CANDIDATES))
        truth.append(ranked)
        times.append(ms)

    def line(name: str, build_s: float, ms: list[float], found: list) -> None:
        recall = [
            len({c for c, _ in a} & {c for c, _ in b}) / len(a)
            for a, b in zip(truth, found, strict=True)
        ]
        same = sum(
            np.allclose([s for _, s in a], [s for _, s in b], rtol=0, atol=1e-6)
            for a, b in zip(truth, found, strict=True)
        )
        ms = sorted(ms)
        print(
            f"{name:<34} build {build_s:6.1f} s  p50 {statistics.median(ms):6.2f}"
            f" (p95 {ms[round(0.95 * (len(ms) - 1))]:6.2f}) ms  recall {statistics.mean(recall):.4f}"
            f" lowest {min(recall):.2f}  same scores {same}/{len(truth)}",
            flush=True,
        )

    line("exact (numpy, whole matrix)", 0.0, times, truth)

    def rescored(search, count: int):
        found, ms = [], []
        for v in vectors:

            def one(v=v):
                rows = np.asarray(search(v, count), dtype=np.int64)
                rows = np.sort(rows[rows >= 0])
                return rank_passages(ids[rows], matrix[rows] @ v, CANDIDATES)

            ranked, t = cpu_ms(one)
            found.append(ranked)
            ms.append(t)
        return ms, found

    for spec, counts in FAISS:
        started = time.process_time()
        index = faiss.index_factory(matrix.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(15).choice(
            len(matrix), min(len(matrix), 65_536), replace=False
        )
        if spec.startswith("IVF"):
            index.cp.niter = 10
        if not spec.startswith("HNSW"):
            index.train(matrix[np.sort(sample)])
        else:
            index.hnsw.efConstruction = 64
        index.add(matrix)
        build = time.process_time() - started
        if spec.startswith("IVF"):
            for nprobe in (64, 128):
                index.nprobe = nprobe
                line(
                    f"{spec} nprobe {nprobe}, top {counts[0]}",
                    build,
                    *rescored(top_rows(index), counts[0]),
                )
        elif spec.startswith("HNSW"):
            for ef in (400, 800):
                index.hnsw.efSearch = ef
                line(
                    f"{spec} ef {ef}, top {counts[0]}",
                    build,
                    *rescored(top_rows(index), counts[0]),
                )
        else:
            for count in counts:
                line(
                    f"{spec}, top {count}",
                    build,
                    *rescored(top_rows(index), count),
                )

    try:
        from usearch.index import Index
    except ImportError:
        print("usearch: not installed (see the docstring)")
        return
    for dtype in ("f32", "i8"):
        started = time.process_time()
        index = Index(
            ndim=matrix.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=64
        )
        index.add(np.arange(len(matrix)), matrix, threads=1)
        build = time.process_time() - started
        index.expansion_search = 400
        line(
            f"usearch HNSW {dtype} ef 400, top 400",
            build,
            *rescored(lambda v, n, index=index: index.search(v, n, threads=1).keys, 400),
        )


if __name__ == "__main__":
    main()
