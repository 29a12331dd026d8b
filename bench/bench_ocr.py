"""OCR accuracy, speed and memory on pages of the public laws rendered as scans.

Pages of ../shared/corpus-public/*.txt are set as A4 images (Noto Sans CJK, 14 pt:
bench/scans.py) at 300 and 150 dpi, clean and degraded (turned 0.7°, blurred, speckled),
and read by the same path ingestion takes for an image (kb.pdf_reader.read_image with
rapidocr-onnxruntime). Character accuracy is the share of the source's characters (white
space aside) recovered in order (difflib's matching blocks); the goal is at least 98% at
300 dpi. Each setting runs in a child process of its own so that its peak memory (the
engine's included; the engine alone is measured too) is its own. Not part of the test run.

    .venv/bin/python bench/bench_ocr.py [--pages N] [--json]
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PUBLIC = (
    next(
        (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()),
        ROOT.parent / "shared",
    )
    / "corpus-public"
)
SETTINGS = [(300, "clean"), (300, "degraded"), (150, "clean"), (150, "degraded")]
GOAL_300_DPI = 0.98


def accuracy(source: str, read: str) -> tuple[int, int]:
    """(characters of the source recovered in order, characters of the source)."""
    a, b = "".join(source.split()), "".join(read.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(m.size for m in matcher.get_matching_blocks()), len(a)


def laws(count: int) -> list[list[str]]:
    """The paragraphs of the first ``count`` laws; the first page of each is measured."""
    out = []
    for path in sorted(PUBLIC.glob("*.txt"))[:count]:
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        # Enough paragraphs to fill the first page, not the whole law.
        out.append([line for line in lines if line][:40])
    return out


def worker(dpi: int, condition: str, count: int) -> dict[str, object]:
    from bench.scans import degrade, render_pages
    from kb.ocr import OcrRun, RapidOcrEngine
    from kb.pdf_reader import read_image

    started = time.perf_counter()
    engine = RapidOcrEngine()
    load_seconds = time.perf_counter() - started
    engine_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recovered = total = 0
    seconds = []
    worst = 1.0
    for paragraphs in laws(count):
        image, texts = render_pages(paragraphs, dpi=dpi)[0]
        if condition == "degraded":
            image = degrade(image, blur=1.0 if dpi >= 300 else 0.6)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", dpi=(dpi, dpi))
        began = time.perf_counter()
        result = read_image(buffer.getvalue(), "page.png", OcrRun(engine))
        seconds.append(time.perf_counter() - began)
        got, of = accuracy("".join(texts), "".join(p.text for p in result.paragraphs))
        recovered += got
        total += of
        worst = min(worst, got / of)
    return {
        "dpi": dpi,
        "condition": condition,
        "pages": len(seconds),
        "accuracy": recovered / total,
        "worst_page": worst,
        "seconds_per_page": sum(seconds) / len(seconds),
        "slowest_page": max(seconds),
        "engine_load_seconds": load_seconds,
        "engine_rss_mb": engine_rss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages", type=int, default=6, help="pages per setting (one per law, at most 6)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("DPI", "CONDITION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(int(args.worker[0]), args.worker[1], args.pages)))
        return
    if not PUBLIC.is_dir():
        raise SystemExit(f"{PUBLIC} is not present")
    results = []
    for dpi, condition in SETTINGS:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(dpi), condition, "--pages", str(args.pages)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results))
        return
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    pages = results[0]["pages"]
    print(f"{pages} A4 pages a setting, 14 pt Noto Sans CJK; load average at the end {load}")
    print(
        f"{'dpi':>4} {'condition':9} {'accuracy':>8} {'worst page':>10} {'s/page':>7}"
        f" {'slowest':>7} {'peak MB':>8} {'engine MB':>9}"
    )
    for r in results:
        print(
            f"{r['dpi']:4} {r['condition']:9} {r['accuracy']:8.2%} {r['worst_page']:10.2%}"
            f" {r['seconds_per_page']:7.1f} {r['slowest_page']:7.1f} {r['peak_rss_mb']:8.0f}"
            f" {r['engine_rss_mb']:9.0f}"
        )
    at_300 = min(r["accuracy"] for r in results if r["dpi"] == 300)
    verdict = "met" if at_300 >= GOAL_300_DPI else "NOT met"
    print(f"goal at 300 dpi: >= {GOAL_300_DPI:.0%}; lowest {at_300:.2%}: {verdict}")


if __name__ == "__main__":
    main()
