"""Ingestion throughput per format: the six public laws as .txt, .docx, .doc, .odt and .pdf.

The .txt files are ../shared/corpus-public/ as they are; the .docx is written from their
lines with python-docx; .doc, .odt and .pdf are made from the .docx by LibreOffice
(``soffice --convert-to``), outside the timing. Each format is then indexed into a fresh
database by ``kb.ingest.sync_corpus`` lexical-only (the model's cost does not depend on
the format; bench/bench_search.py measures it), and the script prints characters indexed
per second and seconds per file, with .txt as the floor the other formats are compared
with. .doc and .odt include LibreOffice's conversion in the child process (a fresh
profile each time), which is most of their cost.

    .venv/bin/python bench/bench_ingest.py [--repeat N]   # KB_PUBLIC_CORPUS=folder optional
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docx  # noqa: E402

from base.store import open_db  # noqa: E402
from kb.ingest import sync_corpus  # noqa: E402
from kb.office_convert import soffice_path  # noqa: E402
from kb.readers import split_lines  # noqa: E402
from kb.schema import ensure_schema  # noqa: E402

# KB_PUBLIC_CORPUS points elsewhere (a worktree has no ../shared beside it).
PUBLIC = Path(os.environ.get("KB_PUBLIC_CORPUS") or ROOT.parent / "shared" / "corpus-public")
FORMATS = (".txt", ".docx", ".doc", ".odt", ".pdf")


def make_formats(folder: Path) -> dict[str, Path]:
    """One folder per format, each holding the six laws."""
    folders = {suffix: folder / suffix[1:] for suffix in FORMATS}
    for path in folders.values():
        path.mkdir()
    for source in sorted(PUBLIC.glob("*.txt")):
        shutil.copyfile(source, folders[".txt"] / source.name)
        document = docx.Document()
        for line in split_lines(source.read_text(encoding="utf-8")):
            document.add_paragraph(line)
        document.save(folders[".docx"] / f"{source.stem}.docx")
    soffice = soffice_path()
    if soffice is None:
        print("LibreOffice is not installed: .doc, .odt and .pdf are left out")
        return {s: p for s, p in folders.items() if s in (".txt", ".docx")}
    sources = sorted(str(p) for p in folders[".docx"].iterdir())
    for suffix in (".doc", ".odt", ".pdf"):
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                suffix[1:],
                "--outdir",
                str(folders[suffix]),
                *sources,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return folders


def measure(folder: Path, work: Path) -> tuple[int, int, float, list[str]]:
    """Index ``folder`` into a fresh database: (files, characters, seconds, errors)."""
    db = open_db(work / f"{folder.name}-{time.monotonic_ns()}.sqlite3")
    ensure_schema(db)
    started = time.perf_counter()
    report = sync_corpus(db, folder, None)
    seconds = time.perf_counter() - started
    chars = sum(f.chars for f in report.files if f.status == "added")
    db.close()
    return len(report.added), chars, seconds, report.errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs per format; best is shown")
    args = parser.parse_args()
    if not PUBLIC.is_dir():
        sys.exit(f"{PUBLIC} is not present")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folders = make_formats(work)
        print(
            f"{'format':>6} {'files':>5} {'chars':>8} {'best s':>7} {'s/file':>7}"
            f" {'chars/s':>9} {'vs .txt':>8}"
        )
        floor = None
        for suffix, folder in folders.items():
            runs = [measure(folder, work) for _ in range(args.repeat)]
            files, chars, _, errors = runs[0]
            best = min(seconds for _, _, seconds, _ in runs)
            rate = chars / best
            floor = floor or rate
            print(
                f"{suffix:>6} {files:>5} {chars:>8,} {best:>7.2f} {best / max(files, 1):>7.2f}"
                f" {rate:>9,.0f} {rate / floor:>7.2f}x"
            )
            for error in errors:
                print(f"       error: {error}")


if __name__ == "__main__":
    main()
