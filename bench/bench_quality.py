"""Search quality on one index of the whole shipped corpus and the six public laws.

Indexes corpus/ and ../shared/corpus-public/*.txt together (or reuses --db), runs the
question sets bench/data/whole_{literal,paraphrased,laws,offtopic}_{tune,heldout}.tsv
through every ranker, and prints Recall@5 / MRR@10 per set and half, the "no good match"
shares, then hybrid over a grid of dense weights on both halves (the numbers behind the
weight in kb/search.py: it is chosen on the tuning half only). "before" is the fusion
shipped before this benchmark: dense weight 0.7, restatements not grouped.

With ``--compare-torch`` and the builtin model, every question also runs by dense and
hybrid search with its query embedded through torch (sentence-transformers, as before
ONNX Runtime took the queries), and the two are compared: the same top 10, the same
另见 groups, the same "no good match" flag, and the largest difference of a score.

    .venv/bin/python bench/bench_quality.py [--db PATH] [--json] [--compare-torch]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import Settings  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.embedding import SentenceTransformerEmbedder, load_embedder  # noqa: E402
from kb.evaluate import answer_text, evaluate, load_questions, rank_of, score_ranks  # noqa: E402
from kb.ingest import list_corpus, sync_corpus  # noqa: E402
from kb.schema import ensure_schema  # noqa: E402
from kb.search import VectorIndex, fuse, search  # noqa: E402

DATA = ROOT / "bench" / "data"
PUBLIC = Path(os.environ.get("KB_PUBLIC_CORPUS") or ROOT.parent / "shared" / "corpus-public")
SETS = ("literal", "paraphrased", "laws", "offtopic")
HALVES = ("tune", "heldout")
GRID = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]  # the dense ranker's weight
BEFORE = 0.7


def whole_index(path: Path, embedder):
    """The corpus and the laws in one index at ``path`` (unchanged files cost nothing)."""
    db = open_db(path)
    ensure_schema(db)
    corpus = ROOT / "corpus"
    files = list_corpus(corpus) + sorted(PUBLIC.glob("*.txt"))
    report = sync_corpus(db, corpus, embedder, files)
    print(report.summary(), file=sys.stderr)
    return db


def sweep(db, questions, embedder, index) -> dict[str, list[float]]:
    """Hybrid R@5 / MRR@10 for each dense weight (and "before"), from one run of each ranker."""
    texts = {
        chunk_id: answer_text(heading, text)
        for chunk_id, heading, text in db.execute("SELECT id, heading_path, text FROM chunks")
    }
    runs = []
    for q in questions:
        if not q.answerable:
            continue
        lexical = search(db, q.text, k=50, method="lexical", group=False).hits
        dense = search(
            db, q.text, embedder=embedder, index=index, k=50, method="dense", group=False
        ).hits
        pairs = ([(h.chunk_id, h.score) for h in lexical], [(h.chunk_id, h.score) for h in dense])
        runs.append((q, *pairs))
    rows = {}
    for weight in GRID:
        ranks = [
            rank_of([texts[c] for c, _ in fuse(lex, den, weight)[:10]], q.expected)
            for q, lex, den in runs
        ]
        scores = score_ranks(ranks)
        rows[f"{weight:.1f}"] = [scores.recall_at_5, scores.mrr_at_10]
    return rows


def compare_query_paths(db, questions, embedder, through_torch, index) -> tuple[int, int, float]:
    """Rankings equal with queries through ``embedder`` and ``through_torch``; worst score gap."""
    same = total = 0
    worst = 0.0
    for q in questions:
        for method in ("dense", "hybrid"):
            a, b = (
                search(db, q.text, embedder=e, index=index, method=method)
                for e in (embedder, through_torch)
            )
            total += 1
            same += [(h.chunk_id, h.also) for h in a.hits] == [
                (h.chunk_id, h.also) for h in b.hits
            ] and a.weak == b.weak
            worst = max(
                [worst] + [abs(x.score - y.score) for x, y in zip(a.hits, b.hits, strict=True)]
            )
    return same, total, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="index file to build or reuse")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--compare-torch", action="store_true", help="compare with queries through torch"
    )
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        sys.exit(f"{PUBLIC} is not present (set KB_PUBLIC_CORPUS)")
    settings = Settings.from_env()
    status = load_embedder(settings.embed_model, settings.model_cache_dir, 1)
    embedder = status.embedder
    if embedder is None:
        print(status.message, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        db = whole_index(args.db or Path(tmp) / "whole.sqlite3", embedder)
        index = VectorIndex()
        passages = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        results = []
        for name in SETS:
            for half in HALVES:
                questions = load_questions(DATA / f"whole_{name}_{half}.tsv")
                report = evaluate(db, questions, embedder, index=index, k=5)
                entry = {"set": name, "half": half, "questions": len(questions)}
                entry.update(report.as_dict())
                entry["misses"] = len(report.misses)
                if embedder is not None and report.answerable:
                    entry["sweep"] = sweep(db, questions, embedder, index)
                results.append(entry)
        if args.compare_torch and embedder is not None:
            plain = load_embedder(status.location, settings.model_cache_dir, 1)
            assert plain.embedder is not None, plain.message
            through_torch = SentenceTransformerEmbedder(
                plain.embedder.model, embedder.model_id, "torch"
            )
            questions = [
                q
                for name in SETS
                for half in HALVES
                for q in load_questions(DATA / f"whole_{name}_{half}.tsv")
            ]
            same, total, worst = compare_query_paths(db, questions, embedder, through_torch, index)
            print(
                f"queries through torch against {type(embedder).__name__}: {same} of {total}"
                f" rankings (dense and hybrid, {len(questions)} questions) identical, top 10"
                f" with 另见 groups and the no-good-match flag; largest score difference"
                f" {worst:.2g}",
                file=sys.stderr,
            )
        db.close()
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    model = embedder.label if embedder else "none (lexical only)"
    print(f"model: {model}; one index of {passages} passages")
    print(
        f"{'set':12} {'half':8} {'n':>4} {'lexical':>13} {'dense':>13} {'hybrid':>13}"
        f" {'before':>13}  no-match: off-topic / answerable"
    )
    for e in results:
        cells = []
        for ranker in ("lexical", "dense", "hybrid"):
            s = e[ranker]
            cells.append(f"{s['recall@5']:.3f}/{s['mrr@10']:.3f}" if s and e["answerable"] else "-")
        before = e.get("sweep", {}).get(f"{BEFORE:.1f}")
        cells.append(f"{before[0]:.3f}/{before[1]:.3f}" if before else "-")
        flagged = e["off_topic_flagged"]
        shares = f"{'-' if flagged is None else f'{flagged:.2f}'} / {e['answerable_flagged']:.3f}"
        print(
            f"{e['set']:12} {e['half']:8} {e['questions']:4} "
            + " ".join(f"{c:>13}" for c in cells)
            + f"  {shares}"
        )
    swept = [e for e in results if "sweep" in e]
    if swept:
        print("\nhybrid R@5/MRR@10 (not grouped) by the dense ranker's weight:")
        print(
            f"{'weight':7} " + " ".join(f"{e['set'][:8] + ' ' + e['half'][:4]:>14}" for e in swept)
        )
        for weight in GRID:
            key = f"{weight:.1f}"
            print(
                f"{key:7} "
                + " ".join(
                    f"{e['sweep'][key][0]:.3f}/{e['sweep'][key][1]:.3f}".rjust(14) for e in swept
                )
            )


if __name__ == "__main__":
    main()
