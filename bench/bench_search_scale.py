"""Search latency as the corpus grows: 1x, 10x and 100x the six public laws, in one run.

The 1x index is the six laws of ../shared/corpus-public ingested with the configured
model (kept in --work between runs, so the embedding is paid once). 10x and 100x copy it
and replicate every document, passage and lexical row in SQL under new ids. The model
never embeds 121,200 passages on two shared cores, so each replica's units get vectors of
their own, stored under their own hashes: the 1x unit vector plus Gaussian noise shaped
like the 1x vectors' own spread (their covariance), renormalised, at a strength that
leaves a replica's vector about as near its source as a 1x unit is to its nearest other
unit (the printed cosines). Identical copies would make every top 50 ties of one vector,
unfair to an approximate index and to an exact one. Then 200 queries of 2-30
characters (the question sets of bench/data, topped up with spans of the laws' passages)
run warm through each ranker, every query through all of them in turn, and the table
prints p50 (p95) in ms (wall clock, and CPU of the process) and the 1x->100x ratio of p50:

- project lexical: ``kb.search.search(method="lexical")``, end to end (hits read too);
- project lexical, one document: the same with a document filter;
- raw FTS5, old MATCH: what lexical search ran before, ``bm25()`` over an OR of the
  query's terms (``kb.lexical_index.fts5_top``);
- index top-k: the chosen engine alone (``Snapshot.top``);
- project hybrid: ``search(method="hybrid")``, end to end, every query new to it, with the
  dense side as the app runs it (exact below kb.vector_index.EXACT_BELOW units, the
  compressed copy's candidates rescored above);
- project hybrid, exact dense: the same with the whole float32 matrix scanned at every
  scale (the code before the vector index);
- project hybrid, asked before: the same with the app's query-vector cache
  (``kb.query_cache.CachingEmbedder``) holding every query, as when staff repeat a question;
- floor: the model's query embedding + one numpy matrix product and partial sort + the
  index's top-k + ``fuse``, with nothing of the project around them;
- query embedding: the model's share of the floor;
- dense product: the matrix product alone (``matrix @ query``), its share at 100x;
- dense exact / dense index: ``VectorIndex.nearest`` for the top 50 passages of a query
  vector, exact (whole matrix) and through the compressed copy (forced at every scale),
  and the index's recall of the exact top 50 at each scale;
- with the builtin model, the same hybrid search and query embedding with queries through
  torch (sentence-transformers, as before ONNX Runtime took them), side by side;
- with ``--tantivy``: tantivy 0.27 (Rust, block-max WAND top-k pruning) over the same
  terms, body and path fields (path boosted 0.3), and how often its top 10 equals FTS5's.
  tantivy is not a dependency of the project: install it apart, for example
  ``pip install --target /tmp/tv tantivy==0.27.0`` and run with ``PYTHONPATH=/tmp/tv``.

    .venv/bin/python bench/bench_search_scale.py [--scales 1 10 100] [--work DIR] [--tantivy]
        [--no-fts5] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import Settings  # noqa: E402
from base.store import open_db, write  # noqa: E402
from kb.embedding import (  # noqa: E402
    OnnxQueryEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
)
from kb.evaluate import load_questions  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.lexical import query_terms  # noqa: E402
from kb.lexical_index import PATH_WEIGHT, fts5_top, index_for, publish, snapshot_dir  # noqa: E402
from kb.query_cache import CachingEmbedder  # noqa: E402
from kb.schema import bump_generation, ensure_schema  # noqa: E402
from kb.search import CANDIDATES, fuse, search  # noqa: E402
from kb.vector_index import EXACT_BELOW, VectorIndex  # noqa: E402

PUBLIC = ROOT.parent / "shared" / "corpus-public"
QUERIES = 200


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_queries(db, count: int, seed: int = 15) -> list[str]:
    """The question sets' questions of 2-30 characters, then spans of the passages."""
    queries = [
        q.text
        for name in ("public_literal", "public_paraphrased", "plan_literal", "plan_paraphrased")
        for q in load_questions(ROOT / "bench" / "data" / f"{name}.tsv")
        if 2 <= len(q.text) <= 30
    ][:count]
    rng = random.Random(seed)
    passages = [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY id")]
    while len(queries) < count:
        text = rng.choice(passages)
        size = rng.randint(2, 30)
        if len(text) >= size:
            start = rng.randint(0, len(text) - size)
            queries.append(text[start : start + size])
    return queries


NOISE = 0.8  # the perturbation's strength, in units of the 1x vectors' own spread


def replica_vectors(db, model_id: str, scale: int, seed: int = 15):
    """For each replica 1..scale-1, the 1x vectors by hash, perturbed and renormalised.

    Yields (replica, hashes, vectors, the 1x vectors). The noise is Gaussian with the
    covariance of the 1x unit vectors (so a replica stays in the narrow cone the model's
    vectors fill), times NOISE; units of one text share one vector within a replica, as
    they do at 1x.
    """
    rows = db.execute(
        "SELECT DISTINCT v.embed_hash, v.vector FROM vectors v JOIN chunk_units u"
        " ON u.embed_hash = v.embed_hash WHERE v.model = ? ORDER BY v.embed_hash",
        [model_id],
    ).fetchall()
    hashes = [r[0] for r in rows]
    base = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    spread = base - base.mean(axis=0)
    _, sv, vt = np.linalg.svd(spread, full_matrices=False)
    basis = (sv[:, None] / np.sqrt(len(base) - 1)) * vt
    rng = np.random.default_rng(seed)
    for r in range(1, scale):
        noisy = base + NOISE * (rng.standard_normal((len(base), len(sv))) @ basis)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        yield r, hashes, noisy.astype("<f4"), base


def replicate(source: Path, target: Path, scale: int, model_id: str | None) -> None:
    """Copy the 1x database and repeat its documents ``scale`` times under new ids, each
    replica's units with vectors of their own (``replica_vectors``)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(Path(f"{target}.lexical"), ignore_errors=True)
    src = open_db(source)
    src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    src.close()
    shutil.copyfile(source, target)
    db = open_db(target)
    with write(db):
        chunks = db.execute("SELECT MAX(id) FROM chunks").fetchone()[0]
        docs = db.execute("SELECT MAX(id) FROM documents").fetchone()[0]
        for r in range(1, scale):
            c, d = r * chunks, r * docs
            db.execute(
                "INSERT INTO documents SELECT id + ?, path || '#' || ?, title, format, encoding,"
                " content_hash, chars, ingested_at FROM documents WHERE id <= ?",
                [d, r, docs],
            )
            db.execute(
                "INSERT INTO blocks (doc_id, seq, kind, level, heading_path, text, page, ocr)"
                " SELECT doc_id + ?, seq, kind, level, heading_path, text, page, ocr"
                " FROM blocks WHERE doc_id <= ?",
                [d, docs],
            )
            db.execute(
                "INSERT INTO chunks SELECT id + ?, doc_id + ?, seq, block_seq, heading_path,"
                " text FROM chunks WHERE id <= ?",
                [c, d, chunks],
            )
            db.execute(
                "INSERT INTO chunk_units SELECT chunk_id + ?, seq, text, embed_hash || '~' || ?"
                " FROM chunk_units WHERE chunk_id <= ?",
                [c, r, chunks],
            )
            db.execute(
                "INSERT INTO chunks_fts (rowid, body, path) SELECT rowid + ?, body, path"
                " FROM chunks_fts WHERE rowid <= ?",
                [c, chunks],
            )
        if model_id is not None:
            near = []
            for r, hashes, noisy, base in replica_vectors(db, model_id, scale):
                db.conn.executemany(
                    "INSERT INTO vectors (embed_hash, model, dim, vector) VALUES (?, ?, ?, ?)",
                    (
                        (f"{h}~{r}", model_id, noisy.shape[1], v.tobytes())
                        for h, v in zip(hashes, noisy, strict=True)
                    ),
                )
                near.append(float(np.median((noisy * base).sum(axis=1))))
            own = base @ base.T
            np.fill_diagonal(own, -1)
            print(
                f"  replicas' vectors: median cosine to their source {statistics.median(near):.3f};"
                f" 1x units' median cosine to their nearest other unit {np.median(own.max(1)):.3f}"
            )
        bump_generation(db)
    db.close()


def has_own_vectors(path: Path) -> bool:
    """Whether a replica database kept in --work gives its replicas their own vectors."""
    db = open_db(path)
    try:
        return (
            db.execute("SELECT 1 FROM chunk_units WHERE embed_hash LIKE '%~%' LIMIT 1").fetchone()
            is not None
        )
    finally:
        db.close()


def timed(
    cases: list[tuple[str, Callable[[str], object]]], queries: list[str]
) -> dict[str, tuple[list[float], list[float]]]:
    """Wall-clock and CPU milliseconds of each case on each query, after a warm-up pass.

    Each query runs through every case in turn, so a change in the shared machine's load
    falls on all cases alike. CPU is the process's (every thread's): numpy's BLAS would
    otherwise hide work in its own threads; nothing else runs in this process meanwhile.
    """
    for _, fn in cases:
        for q in queries[:10]:
            fn(q)  # warm: snapshot mapped, vectors loaded
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _ in cases}
    for q in queries:
        for name, fn in cases:
            t, c = time.perf_counter(), time.process_time()
            fn(q)
            times[name][1].append((time.process_time() - c) * 1000)
            times[name][0].append((time.perf_counter() - t) * 1000)
    return times


def tantivy_rival(db, folder: Path, queries: list[str]) -> tuple[Callable[[str], list], float]:
    """A tantivy index of the same terms, its query function and its top-10 agreement."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, fast=True)
    builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("path", tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(folder))
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for rowid, body, path in db.execute("SELECT rowid, body, path FROM chunks_fts"):
        writer.add_document(tantivy.Document(id=rowid, body=body, path=path))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def top(q: str, depth: int = CANDIDATES) -> list:
        should = []
        for term in query_terms(q)[:200]:
            for field, boost in (("body", 1.0), ("path", PATH_WEIGHT)):
                query = tantivy.Query.term_query(schema, field, term, index_option="freq")
                if boost != 1.0:
                    query = tantivy.Query.boost_query(query, boost)
                should.append((tantivy.Occur.Should, query))
        hits = searcher.search(tantivy.Query.boolean_query(should), depth).hits
        return [searcher.doc(address)["id"][0] for _, address in hits]

    same = sum(top(q, 10) == [c for c, _ in fts5_top(db, q, 10)] for q in queries)
    return top, same / len(queries)


def measure(
    db,
    embedder,
    queries: list[str],
    tantivy_dir: Path | None = None,
    cached=None,
    fts5: bool = True,
    through_torch=None,
) -> dict[str, tuple[float, float, float, float]]:
    """p50 and p95 in ms of each ranker over ``queries``, warm: wall clock, then CPU."""
    one_doc = db.execute("SELECT path FROM documents ORDER BY id LIMIT 1").fetchone()[0]
    vectors = VectorIndex()
    lexical = index_for(db)
    exact, forced = VectorIndex(exact_below=sys.maxsize), VectorIndex(exact_below=0)
    if embedder is not None:
        vectors.arrays(db, embedder.model_id)
        t, c = time.perf_counter(), time.process_time()
        ids, _ = exact.arrays(db, embedder.model_id)
        load_s, load_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        forced.arrays(db, embedder.model_id)
        both_s, both_cpu = time.perf_counter() - t, time.process_time() - c
        print(
            f"  {len(ids):,} unit vectors: read from SQLite {load_s:.1f} s ({load_cpu:.1f} s CPU);"
            f" read + compressed copy built {both_s:.1f} s ({both_cpu:.1f} s CPU);"
            f" the app uses the copy: {len(ids) >= EXACT_BELOW}"
        )
        print("  " + recall_line(db, embedder, cached, exact, forced, queries))

    def floor(q: str) -> None:
        vector = embedder.embed_queries([q])[0]
        ids, matrix = vectors.arrays(db, embedder.model_id)
        scores = matrix @ vector
        top = np.argpartition(-scores, CANDIDATES * 8)[: CANDIDATES * 8]
        top = top[np.argsort(-scores[top])]
        dense, seen = [], set()
        for row in top:
            if int(ids[row]) not in seen and len(dense) < CANDIDATES:
                seen.add(int(ids[row]))
                dense.append((int(ids[row]), float(scores[row])))
        fuse(lexical.snapshot(db).top(q, CANDIDATES), dense)

    def product(q: str) -> None:
        _, matrix = vectors.arrays(db, embedder.model_id)
        matrix @ cached.embed_queries([" ".join(q.split())])[0]

    def dense(index: VectorIndex) -> Callable[[str], object]:
        return lambda q: index.nearest(
            db, embedder.model_id, cached.embed_queries([" ".join(q.split())])[0], CANDIDATES
        )

    cases: list[tuple[str, Callable[[str], object]]] = [
        ("project lexical", lambda q: search(db, q, method="lexical")),
        (
            "project lexical, one document",
            lambda q: search(db, q, method="lexical", documents=[one_doc]),
        ),
        ("index top-k", lambda q: lexical.snapshot(db).top(q, CANDIDATES)),
    ]
    if fts5:
        cases.insert(2, ("raw FTS5, old MATCH", lambda q: fts5_top(db, q, CANDIDATES)))
    if embedder is not None:
        cases += [
            (
                "project hybrid",
                lambda q: search(db, q, embedder=embedder, index=vectors, method="hybrid"),
            ),
            (
                "project hybrid, asked before",
                lambda q: search(db, q, embedder=cached, index=vectors, method="hybrid"),
            ),
            (
                "project hybrid, exact dense",
                lambda q: search(db, q, embedder=embedder, index=exact, method="hybrid"),
            ),
            ("floor: embed + numpy + index + fuse", floor),
            ("query embedding alone", lambda q: embedder.embed_queries([q])),
            ("dense product alone", lambda q: product(q)),
            ("dense top 50, exact", dense(exact)),
            ("dense top 50, index", dense(forced)),
        ]
    if through_torch is not None:
        cases += [
            (
                "project hybrid, queries via torch",
                lambda q: search(db, q, embedder=through_torch, index=vectors, method="hybrid"),
            ),
            ("query embedding alone, via torch", lambda q: through_torch.embed_queries([q])),
        ]
    if fts5:
        same = sum(
            [c for c, _ in lexical.snapshot(db).top(q, CANDIDATES)]
            == [c for c, _ in fts5_top(db, q, CANDIDATES)]
            for q in queries
        )
        print(f"  index top {CANDIDATES} in FTS5's order: {same} of {len(queries)} queries")
    if tantivy_dir is not None:
        t = time.perf_counter()
        rival, agreement = tantivy_rival(db, tantivy_dir, queries)
        print(
            f"  tantivy: index built in {time.perf_counter() - t:.1f} s;"
            f" top 10 equal to FTS5's for {agreement:.0%} of the queries"
        )
        cases.append(("tantivy, same terms (rival)", rival))
    figures = {}
    for name, (wall, cpu) in timed(cases, queries).items():
        figures[name] = (
            statistics.median(wall),
            percentile(wall, 95),
            statistics.median(cpu),
            percentile(cpu, 95),
        )
    return figures


def recall_line(db, embedder, cached, exact, forced, queries: list[str]) -> str:
    """How well the compressed copy's candidates keep the exact top 50 passages."""
    shares, same, tied = [], 0, 0
    for q in queries:
        vector = cached.embed_queries([" ".join(q.split())])[0]
        truth = exact.nearest(db, embedder.model_id, vector, CANDIDATES)
        found = forced.nearest(db, embedder.model_id, vector, CANDIDATES)
        shares.append(len({c for c, _ in truth} & {c for c, _ in found}) / len(truth))
        same += [c for c, _ in truth] == [c for c, _ in found]
        # The same scores in the same order: any difference is the order of exact ties.
        tied += np.allclose([s for _, s in truth], [s for _, s in found], rtol=0, atol=1e-6)
    return (
        f"index recall of the exact top {CANDIDATES}: mean {statistics.mean(shares):.4f},"
        f" lowest {min(shares):.2f}; the same top {CANDIDATES} in the same order for"
        f" {same} of {len(queries)} queries, the same scores for {tied}"
    )


def print_table(title: str, rows: dict, scales: list[int], at: int) -> None:
    header = f"{title:<40}" + "".join(f"{f'{s}x':>19}" for s in scales)
    if len(scales) > 1:
        header += f"{f'{scales[0]}x->{scales[-1]}x':>13}"
    print(header)
    for name, by_scale in rows.items():
        cells = [by_scale[s][at : at + 2] for s in scales]
        line = f"{name:<40}" + "".join(f"{f'{p50:.2f} ({p95:.2f})':>19}" for p50, p95 in cells)
        if len(scales) > 1:
            line += f"{cells[-1][0] / cells[0][0]:>12.1f}x"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--corpus", type=Path, default=PUBLIC, help="the six laws (.txt)")
    parser.add_argument("--work", type=Path, help="keep the databases here (default: temporary)")
    parser.add_argument("--tantivy", action="store_true", help="measure tantivy beside")
    parser.add_argument(
        "--no-fts5", action="store_true", help="skip the old FTS5 query (minutes at 100x)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep replicas already in --work (same 1x)"
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"{args.corpus} is not present (pass --corpus)")
    settings = Settings.from_env()
    status = load_embedder(settings.embed_model, settings.model_cache_dir, settings.torch_threads)
    embedder = status.embedder
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    print(
        f"model: {embedder.label if embedder else 'none (lexical only)'};"
        f" torch threads {settings.torch_threads}, BLAS threads {blas}"
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / "x1.sqlite3"
    db = open_db(base)
    ensure_schema(db)
    laws = work / "laws"
    laws.mkdir(exist_ok=True)
    for path in sorted(args.corpus.glob("*.txt")):
        if not (laws / path.name).exists():
            shutil.copyfile(path, laws / path.name)
    t = time.perf_counter()
    report = sync_corpus(db, laws, embedder)
    assert not report.errors, report.errors
    print(f"1x ingest: {time.perf_counter() - t:.1f} s, {report.passages_embedded} units embedded")
    queries = make_queries(db, QUERIES)
    db.close()
    lengths = [len(q) for q in queries]
    print(
        f"{len(queries)} queries, {min(lengths)}-{max(lengths)} characters,"
        f" median {statistics.median(lengths):.0f}"
    )

    through_torch = None
    if isinstance(embedder, OnnxQueryEmbedder):
        # The same model with its queries through sentence-transformers and torch, as before;
        # its vectors are stored under the same id (they equal ONNX Runtime's to 1.5e-7).
        plain = load_embedder(status.location, settings.model_cache_dir, settings.torch_threads)
        assert plain.embedder is not None, plain.message
        through_torch = SentenceTransformerEmbedder(
            plain.embedder.model, embedder.model_id, "torch"
        )
    cached = None
    if embedder is not None:
        # Every query asked once before, one at a time as the app asks them.
        cached = CachingEmbedder(embedder, size=len(queries))
        for q in queries:
            cached.embed_queries([" ".join(q.split())])
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows: dict[str, dict[int, tuple[float, float, float, float]]] = {}
    for scale in args.scales:
        path = base if scale == 1 else work / f"x{scale}.sqlite3"
        t = time.perf_counter()
        if scale != 1 and not (args.reuse and path.exists() and has_own_vectors(path)):
            replicate(base, path, scale, embedder.model_id if embedder else None)
        replicate_s = time.perf_counter() - t
        db = open_db(path)
        shutil.rmtree(snapshot_dir(db), ignore_errors=True)
        t, c = time.perf_counter(), time.thread_time()
        publish(db)
        build_s, build_cpu = time.perf_counter() - t, time.thread_time() - c
        folder = snapshot_dir(db)
        size = sum(f.stat().st_size for f in folder.rglob("*.npy")) / 1e6
        passages = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        print(
            f"{scale}x: {passages:,} passages; replicate {replicate_s:.1f} s;"
            f" lexical index build {build_s:.2f} s ({build_cpu:.2f} s CPU), {size:.0f} MB on disk"
        )
        rival_dir = work / f"x{scale}.tantivy" if args.tantivy else None
        for name, figures in measure(
            db, embedder, queries, rival_dir, cached, not args.no_fts5, through_torch
        ).items():
            rows.setdefault(name, {})[scale] = figures
        db.close()

    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for title, at in (("wall clock", 0), ("CPU of the process", 2)):
        print_table(f"p50 (p95) ms, {title}", rows, args.scales, at)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
