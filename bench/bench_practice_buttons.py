"""What 就此段练一练 costs a reader page run: one button under each paragraph.

Prints figures; it is not a test. Run from the project root::

    .venv/bin/python bench/bench_practice_buttons.py [--rounds 3] [--runs 7]

Two measurements, each alternating its variants ``--rounds`` times (the machine is shared:
the spread between rounds is part of the figure), medians of ``--runs`` page runs:

1. the reader (the real page, AppTest) on a 200-paragraph page, as shipped and with the
   buttons left out (the floor);
2. 200 paragraphs drawn bare, with a toggle, a tertiary button or a page link each: what
   each kind of element costs (a page link is cheapest, but one to the page already shown
   does not navigate in Streamlit 1.67, so the reader cannot use it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))


def _median_ms(at, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def reader_runs(rounds: int, runs: int) -> None:
    import pytest

    import ui.reader_page as reader
    from kb.ingest import ingest_uploads
    from kb.service import open_kb
    from tests.apptest_support import logged_in, make_app_settings, open_page
    from ui.services import forget_process_state

    folder = Path(tempfile.mkdtemp())
    settings = make_app_settings(folder, pytest.MonkeyPatch())
    forget_process_state()
    lines = ["大文件测试"] + [f"记录{n}：环境监测数据按时报送，编号{n}。" for n in range(1, 201)]
    db = open_kb(settings)
    ingest_uploads(db, folder, [("big.txt", "\n\n".join(lines).encode())], None, 10**8)
    db.close()
    shipped = reader.passage_practice
    variants = {"with buttons": shipped, "without (floor)": lambda *args, **kwargs: None}
    figures: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, function in variants.items():
            reader.passage_practice = function
            at = logged_in()
            at.query_params["doc"] = "big.txt"
            open_page(at, "reader")
            figures[name].append(_median_ms(at, runs))
    reader.passage_practice = shipped
    print("reader, a page of 200 paragraphs (median ms a page run, per round):")
    for name, values in figures.items():
        print(f"  {name:16} {' '.join(f'{v:5.0f}' for v in values)}")


def _paragraphs(kind: str) -> None:
    import streamlit as st

    for i in range(200):
        st.markdown(f"记录{i}：环境监测数据按时报送，编号{i}。")
        if kind == "toggle":
            st.toggle("就此段练一练", key=f"t{i}")
        elif kind == "button":
            st.button("就此段练一练", key=f"b{i}", type="tertiary", icon=":material/edit_note:")
        elif kind == "page link":
            st.page_link("https://example.invalid/", label="就此段练一练")


def element_runs(rounds: int, runs: int) -> None:
    from streamlit.testing.v1 import AppTest

    kinds = ("bare", "toggle", "button", "page link")
    figures: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            at = AppTest.from_function(_paragraphs, args=(kind,), default_timeout=60)
            at.run()
            figures[kind].append(_median_ms(at, runs))
    print("200 paragraphs with one element each (median ms a run, per round):")
    for kind, values in figures.items():
        print(f"  {kind:16} {' '.join(f'{v:5.0f}' for v in values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    reader_runs(args.rounds, args.runs)
    element_runs(args.rounds, args.runs)


if __name__ == "__main__":
    main()
