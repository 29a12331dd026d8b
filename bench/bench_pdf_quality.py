"""Search over office PDFs of the six public laws against search over their .txt.

Makes two office-PDF versions of ../shared/corpus-public/*.txt with LibreOffice (a .docx
written by python-docx, exported headless: bench/office_pdfs.py): "plain", and "furniture"
with a running header and a ``— N —`` page-number footer on every page. Indexes each
version with the configured model (default: builtin), runs the public question sets of
bench/data through ``kb eval``'s machinery, and prints R@5 / MRR@10 per ranker, with the
share of passages that do not end a sentence (a passage cut mid-sentence was cut by the
layout). Not part of the test run; about 3 minutes here (the PDFs take 2 of them).

    .venv/bin/python bench/bench_pdf_quality.py [--pdf-dir DIR] [--no-model] [--json]

``--pdf-dir`` keeps the PDFs there and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from office_pdfs import office_pdf  # noqa: E402

from base.settings import Settings  # noqa: E402
from base.store import open_db  # noqa: E402
from kb.embedding import load_embedder  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.schema import ensure_schema  # noqa: E402
from kb.search import VectorIndex  # noqa: E402

DATA = ROOT / "bench" / "data"
# ../shared beside the repo, or beside the folder of worktrees when run from a worktree
PUBLIC = (
    next(
        (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()),
        ROOT.parent / "shared",
    )
    / "corpus-public"
)
SETS = ["public_literal", "public_paraphrased"]
SENTENCE_ENDS = "。！？!?；;：:…"  # a colon ends the lead-in to a list
CLOSERS = "”’」』）)"


def ends_sentence(text: str) -> bool:
    """Whether a passage ends where a sentence does (closing quotes and brackets aside)."""
    return text.rstrip(CLOSERS)[-1:] in SENTENCE_ENDS


def make_pdfs(target: Path, furniture: bool) -> list[Path]:
    made = []
    for source in sorted(PUBLIC.glob("*.txt")):
        pdf = target / f"{source.stem}.pdf"
        if not pdf.exists():
            office_pdf(source.read_text(encoding="utf-8"), pdf, furniture=furniture)
        made.append(pdf)
    return made


def measure(name: str, files: list[Path], embedder, vectors: Path) -> dict[str, object]:
    """Index ``files`` and score them; the first version leaves its vectors in ``vectors``."""
    vectors_from = vectors if vectors.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.sqlite3")
        ensure_schema(db)
        if vectors_from is not None:
            # Vectors depend only on the text and the model: passages the .txt run already
            # embedded are not embedded again (the bench otherwise runs 30 min under load).
            db.execute("ATTACH DATABASE ? AS src", [str(vectors_from)])
            db.execute("INSERT OR IGNORE INTO vectors SELECT * FROM src.vectors")
            db.execute("DETACH DATABASE src")
        started = time.perf_counter()
        report = sync_corpus(db, files[0].parent, embedder, files)
        seconds = time.perf_counter() - started
        if report.errors:
            raise SystemExit(f"{name}: {report.errors}")
        texts = [row[0] for row in db.execute("SELECT text FROM chunks")]
        if vectors_from is None:
            db.execute("VACUUM INTO ?", [str(vectors)])
        titles = sorted(row[0] for row in db.execute("SELECT title FROM documents"))
        entry: dict[str, object] = {
            "version": name,
            "passages": len(texts),
            "not_ending_sentence": sum(not ends_sentence(t) for t in texts) / len(texts),
            "ingest_seconds": round(seconds, 1),
            "titles": titles,
            "passage_texts": texts,
        }
        index = VectorIndex()
        for set_name in SETS:
            scores = evaluate(db, load_questions(DATA / f"{set_name}.tsv"), embedder, index=index)
            entry[set_name] = scores.as_dict()
        db.close()
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf-dir", type=Path, help="keep the PDFs here and reuse them")
    parser.add_argument("--no-model", action="store_true", help="lexical ranker only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        raise SystemExit(f"{PUBLIC} is not present")
    settings = Settings.from_env()
    model = "none" if args.no_model else settings.embed_model
    embedder = load_embedder(model, settings.model_cache_dir).embedder
    with tempfile.TemporaryDirectory() as tmp:
        base = args.pdf_dir or Path(tmp)
        versions = [("txt", sorted(PUBLIC.glob("*.txt")))]
        for variant, furniture in (("pdf plain", False), ("pdf furniture", True)):
            folder = base / variant.replace(" ", "-")
            folder.mkdir(parents=True, exist_ok=True)
            versions.append((variant, make_pdfs(folder, furniture)))
        vectors = Path(tmp) / "txt-vectors.sqlite3"
        results = [measure(name, files, embedder, vectors) for name, files in versions]
        txt_passages = set(results[0]["passage_texts"])  # type: ignore[arg-type]
        for e in results:
            same = sum(t in txt_passages for t in e.pop("passage_texts"))  # type: ignore[union-attr]
            e["same_as_txt"] = same
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    print(f"model: {embedder.label if embedder else 'none (lexical only)'}")
    print(
        f"{'version':14} {'questions':19} {'ranker':8} {'R@5':>6} {'MRR@10':>7}"
        f"   passages  same as .txt  not ending a sentence"
    )
    for e in results:
        for set_name in SETS:
            for ranker in ("lexical", "dense", "hybrid"):
                s = e[set_name][ranker]  # type: ignore[index]
                if s is None:
                    continue
                print(
                    f"{e['version']:14} {set_name:19} {ranker:8} {s['recall@5']:6.3f}"
                    f" {s['mrr@10']:7.3f}   {e['passages']:8} {e['same_as_txt']:11}"
                    f" {e['not_ending_sentence']:7.1%}"
                )
    print()
    for e in results:
        print(f"{e['version']:14} titles: {', '.join(e['titles'])}")  # type: ignore[arg-type]
    base_line = results[0]
    for e in results[1:]:
        for set_name in SETS:
            for ranker in ("lexical", "dense", "hybrid"):
                a = base_line[set_name][ranker]  # type: ignore[index]
                b = e[set_name][ranker]  # type: ignore[index]
                if a is None:
                    continue
                gap = a["recall@5"] - b["recall@5"]
                print(f"{e['version']:14} {set_name:19} {ranker:8} R@5 below .txt by {gap:+.3f}")


if __name__ == "__main__":
    main()
