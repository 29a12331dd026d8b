"""Search speed and ingest cost at 1x, 10x and 100x the public corpus.

Replicas of the six legal texts (../shared/corpus-public) are written to a temporary
corpus folder and indexed from scratch with the configured model; then warm query latency
is measured for each ranker. Replicas repeat passages, and vectors are keyed by content
hash, so each passage is embedded once: the 10x and 100x ingest figures measure reading,
chunking, the lexical index and the store, and the first row's rate is the embedding cost.
Dense search still scores one vector per passage, so its cost grows with the replicas.

    .venv/bin/python bench/bench_search.py [--scales 1 10 100] [--queries 60]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import Settings  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.embedding import load_embedder  # noqa: E402
from kb.evaluate import load_questions  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema  # noqa: E402
from kb.search import VectorIndex, search  # noqa: E402

PUBLIC = ROOT.parent / "shared" / "corpus-public"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        sys.exit(f"{PUBLIC} is not present")
    settings = Settings.from_env()
    started = time.perf_counter()
    status = load_embedder(settings.embed_model, settings.model_cache_dir, settings.torch_threads)
    load_s = time.perf_counter() - started
    label = status.embedder.label if status.embedder else "none (lexical only)"
    print(f"model: {label}; load {load_s:.1f} s; torch threads {settings.torch_threads}")
    print(f"process RSS after model load: {psutil.Process().memory_info().rss / 1e6:.0f} MB")
    questions = [
        q.text
        for name in ("public_literal", "public_paraphrased")
        for q in load_questions(ROOT / "bench" / "data" / f"{name}.tsv")
    ][: args.queries]
    sources = sorted(PUBLIC.glob("*.txt"))
    print(
        f"{'scale':>5} {'files':>6} {'chars':>10} {'passages':>9} {'ingest s':>9}"
        f" {'chars/s':>9} {'ranker':>8} {'p50 ms':>7} {'p95 ms':>7} {'RSS MB':>7}"
    )
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus"
            corpus.mkdir()
            for r in range(scale):
                for source in sources:
                    target = corpus / f"{source.stem}_r{r:03d}.txt"
                    shutil.copyfile(source, target)
                    if r:
                        # A replica with the same text would be indexed once, as a
                        # duplicate: a last line of its own makes it a document.
                        with target.open("a", encoding="utf-8") as f:
                            f.write(f"\n副本{r}。\n")
            chars = sum(len(p.read_text(encoding="utf-8")) for p in corpus.iterdir())
            db = open_db(Path(tmp) / "bench.sqlite3")
            ensure_schema(db)
            t0 = time.perf_counter()
            report = sync_corpus(db, corpus, status.embedder)
            ingest_s = time.perf_counter() - t0
            passages = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            index = VectorIndex()
            rankers = ["lexical"] + (["dense", "hybrid"] if status.embedder else [])
            for ranker in rankers:
                search(db, questions[0], embedder=status.embedder, index=index, method=ranker)
                timings = []
                for q in questions:
                    t = time.perf_counter()
                    search(db, q, embedder=status.embedder, index=index, k=8, method=ranker)
                    timings.append((time.perf_counter() - t) * 1000)
                rss = psutil.Process().memory_info().rss / 1e6
                print(
                    f"{scale:>5} {len(sources) * scale:>6} {chars:>10,} {passages:>9,}"
                    f" {ingest_s:>9.1f} {chars / ingest_s:>9,.0f} {ranker:>8}"
                    f" {statistics.median(timings):>7.1f} {percentile(timings, 95):>7.1f} {rss:>7.0f}"
                )
            assert not report.errors, report.errors
            db.close()


if __name__ == "__main__":
    main()
