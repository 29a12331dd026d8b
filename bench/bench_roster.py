"""Roster speed: reading an office's sheet, its preview, the import, a re-issue.

For each size a roster of that many people (a title row, the header in row 3, 科室 and
职务, 40 departments) is written with openpyxl, then into a fresh database: read
(:func:`read_roster_file`), previewed (:func:`plan_roster`), imported with the preview as
the expected plan (:func:`import_roster`), previewed again against the full database,
imported again unchanged, and every initial password re-issued. The floor is the argon2id
hashing an import and a re-issue cannot skip: :func:`hash_password` once a person, timed
in the same run. Wall and process CPU seconds are printed (the machine may be shared).

    .venv/bin/python bench/bench_roster.py [--sizes 200 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.store import open_db  # noqa: E402
from quizzes.accounts import ensure_schema  # noqa: E402
from quizzes.initial_passwords import awaiting_first_login, reissue_initial_passwords  # noqa: E402
from quizzes.passwords import hash_password  # noqa: E402
from quizzes.roster import import_roster, plan_roster, read_roster_file  # noqa: E402

TITLES = ("科员", "副科长", "科长", "一级主任科员", "")


def write_roster(path: Path, people: int) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["XX市生态环境局职工花名册"])
    sheet.append(["填报日期：2026年11月30日"])
    sheet.append(["序号", "科室", "姓名", "工号", "职务", "联系电话"])
    for n in range(people):
        sheet.append(
            [n + 1, f"第{n % 40:02d}科", f"职工{n:05d}", f"{n:05d}", TITLES[n % 5], "13800000000"]
        )
    workbook.save(path)


T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    print(
        f"  {label:<44} {time.perf_counter() - wall:7.2f} s wall {time.process_time() - cpu:7.2f} s CPU"
    )
    return result


def run(size: int) -> None:
    """Time each step for a roster of ``size`` people."""
    print(f"{size} people")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "花名册.xlsx"
        write_roster(path, size)
        db = open_db(Path(tmp) / "app.sqlite3")
        ensure_schema(db)
        now = datetime.now(UTC)
        timed(
            "floor: argon2id hash once a person",
            lambda: [hash_password("x") for _ in range(size)],
        )
        roster = timed("read the sheet", lambda: read_roster_file(path))
        plan = timed("preview on an empty database", lambda: plan_roster(db, roster.rows))
        timed(
            "import as previewed (creates everyone)",
            lambda: import_roster(db, roster.rows, now, expected=plan),
        )
        again = timed("preview against the full database", lambda: plan_roster(db, roster.rows))
        assert len(again.unchanged) == size
        timed("import again (all unchanged)", lambda: import_roster(db, roster.rows, now))
        pending = [p.employee_no for p in awaiting_first_login(db)]
        report = timed(
            "re-issue every initial password",
            lambda: reissue_initial_passwords(db, pending, now),
        )
        assert len(report.issued) == size
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args()
    for size in args.sizes:
        run(size)


if __name__ == "__main__":
    main()
