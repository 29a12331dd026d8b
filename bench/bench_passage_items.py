"""Measure "就此段练一练" on a corpus: how many passages yield a practice item, by kind.

Prints figures; it is not a test. Run from the project root::

    .venv/bin/python bench/bench_passage_items.py [--corpus corpus/] [--sample 30 --seed 13]

The corpus is indexed lexical-only into a temporary database (as ``kb ingest --no-model``
would), every passage gets its items (quizzes/passage_items.py), and each item is checked
again with ``check_item``: a failure there is a bug and is printed. ``--sample N`` prints
N items drawn at random (a fixed seed) for a hand review, numbered, with their passages.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from base.settings import Settings  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.service import open_kb  # noqa: E402
from quizzes.passage_items import KINDS, STRAY, check_item, practice_for_passages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    parser.add_argument("--sample", type=int, default=0, help="items to print for review")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env(
            {"KB_DATA_DIR": folder, "KB_CORPUS_DIR": str(args.corpus), "KB_EMBED_MODEL": "none"}
        )
        db = open_kb(settings)
        sync_corpus(db, settings.corpus_dir, None)
        ids = [row[0] for row in db.execute("SELECT id FROM chunks ORDER BY doc_id, seq")]
        start = time.perf_counter()
        practised = practice_for_passages(db, ids)
        seconds = time.perf_counter() - start
        db.close()

    total = len(practised)
    with_any = sum(1 for p in practised if p.items)
    by_kind = Counter(kind for p in practised for kind in {item.kind for item in p.items})
    items = Counter(item.kind for p in practised for item in p.items)
    print(f"passages: {total}; time: {seconds:.2f} s ({seconds / max(total, 1) * 1e3:.1f} ms each)")
    print(f"at least one item: {with_any} ({with_any / max(total, 1):.1%})")
    for kind in KINDS:
        share = by_kind[kind] / max(total, 1)
        print(f"  {kind}: {by_kind[kind]} passages ({share:.1%}), {items[kind]} items")
    failures = [
        (p.passage.chunk_id, item, reason)
        for p in practised
        for item in p.items
        if (reason := check_item(item, p.passage.text.lstrip(STRAY), p.passage.heading_path))
    ]
    print(f"items failing check_item: {len(failures)}")
    for chunk_id, item, reason in failures:
        print(f"  passage {chunk_id}: {reason}: {item}")

    if args.sample:
        pool = [(p.passage, item) for p in practised for item in p.items]
        rng = random.Random(args.seed)
        for number, (passage, item) in enumerate(rng.sample(pool, args.sample), start=1):
            where = " › ".join(x for x in (passage.doc_title, passage.heading_path) if x)
            print(f"\n#{number} [{item.kind}] passage {passage.chunk_id} ({where})")
            print(f"  段落：{passage.text}")
            print(f"  题目：{item.stem}")
            if item.kind == "单选":
                print(f"  选项：{' / '.join(item.options)}")
            print(
                f"  答案：{item.answer}" + (f"（原文：{item.original}）" if item.original else "")
            )


if __name__ == "__main__":
    main()
