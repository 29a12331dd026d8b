"""Search quality: lexical vs dense vs hybrid, per question set, and a fusion-weight sweep.

Builds a temporary index for each document set with the configured model (default:
builtin), runs the question sets of bench/data through every ranker, and prints
Recall@1, Recall@5 and MRR@10, then hybrid scores over a grid of fusion settings
(the numbers behind the weights in kb/search.py). Not part of the test run.

    .venv/bin/python bench/bench_quality.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import Settings  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.embedding import load_embedder  # noqa: E402
from kb.evaluate import answer_text, evaluate, load_questions  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema  # noqa: E402
from kb.search import VectorIndex, fuse, search  # noqa: E402

DATA = ROOT / "bench" / "data"
PUBLIC = ROOT.parent / "shared" / "corpus-public"
PLAN = ROOT / "corpus" / "chuangjian_wenming_danwei_shishi_fangan.txt"
GRID = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # the dense ranker's weight


def document_sets() -> list[tuple[str, list[Path], list[str]]]:
    sets = [
        ("plan alone", [PLAN], ["plan_literal", "plan_paraphrased"]),
        (
            "whole corpus/",
            sorted(p for p in (ROOT / "corpus").iterdir() if p.is_file()),
            ["plan_literal", "plan_paraphrased"],
        ),
    ]
    if PUBLIC.is_dir():
        sets.append(
            (
                "corpus-public",
                sorted(PUBLIC.glob("*.txt")),
                ["public_literal", "public_paraphrased"],
            )
        )
    return sets


def rank_of(hits, expected: str) -> int | None:
    needle = "".join(expected.split())
    for rank, text in enumerate(hits, start=1):
        if needle in "".join(text.split()):
            return rank
    return None


def sweep(db, questions, embedder, index) -> list[dict[str, float]]:
    """Hybrid quality for each fusion setting, from one lexical and one dense run."""
    texts = {
        chunk_id: answer_text(path, text)
        for chunk_id, path, text in db.execute("SELECT id, heading_path, text FROM chunks")
    }
    runs = []
    for q in questions:
        lex = search(db, q.text, embedder=None, k=50, method="lexical").hits
        den = search(db, q.text, embedder=embedder, index=index, k=50, method="dense").hits
        runs.append((q, [(h.chunk_id, h.score) for h in lex], [(h.chunk_id, h.score) for h in den]))
    rows = []
    for weight in GRID:
        r5 = mrr = 0.0
        for q, lex, den in runs:
            fused = fuse(lex, den, weight)[:10]
            rank = rank_of([texts[c] for c, _ in fused], q.expected)
            r5 += rank is not None and rank <= 5
            mrr += 1 / rank if rank else 0
        n = len(runs)
        rows.append({"dense_weight": weight, "r@5": r5 / n, "mrr@10": mrr / n})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings.from_env()
    status = load_embedder(settings.embed_model, settings.model_cache_dir)
    if status.embedder is None:
        print(status.message)
    results = []
    for name, files, sets in document_sets():
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "bench.sqlite3")
            ensure_schema(db)
            report = sync_corpus(db, files[0].parent, status.embedder, files)
            index = VectorIndex()
            for set_name in sets:
                questions = load_questions(DATA / f"{set_name}.tsv")
                scores = evaluate(db, questions, status.embedder, index=index, k=5)
                entry = {"documents": name, "questions": set_name, **scores.as_dict()}
                entry["passages"] = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
                entry["misses"] = len(scores.misses)
                if status.embedder is not None:
                    entry["sweep"] = sweep(db, questions, status.embedder, index)
                results.append(entry)
            db.close()
            del report
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    print(f"model: {status.embedder.label if status.embedder else 'none (lexical only)'}")
    print(f"{'documents':15} {'questions':20} {'ranker':8} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
    for e in results:
        for ranker in ("lexical", "dense", "hybrid"):
            s = e[ranker]
            if s is None:
                continue
            print(
                f"{e['documents']:15} {e['questions']:20} {ranker:8} {s['recall@1']:6.3f}"
                f" {s['recall@5']:6.3f} {s['mrr@10']:7.3f}"
            )
        print(f"{'':36} mean passage {e['mean_passage_chars']} chars, {e['passages']} passages")
    if results and "sweep" in results[0]:
        print("\nhybrid R@5 / MRR@10 by the dense ranker's weight in the fusion:")
        header = "  ".join(f"{e['questions'][:14]:>14}" for e in results)
        print(f"{'setting':16} {header}")
        for i, weight in enumerate(GRID):
            cells = "  ".join(
                f"{e['sweep'][i]['r@5']:.3f}/{e['sweep'][i]['mrr@10']:.3f}".rjust(14)
                for e in results
            )
            print(f"dense weight {weight:.1f}  {cells}")


if __name__ == "__main__":
    main()
