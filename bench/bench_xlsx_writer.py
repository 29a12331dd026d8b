"""The .xlsx writer alone: the dashboard export's tables written by the project's writer
beside its rivals, in one run, on the tables of a database kept by bench_dashboard.py.

The tables are computed once (:func:`office.reports.report_tables`, as of the benchmark's
"now"), then each writer makes the whole workbook from them ``--repeat`` times:

* ``openpyxl via pandas`` -- the writer before this change: ``DataFrame.to_excel`` into
  an openpyxl workbook, every text cell made a string cell, then formats set cell by cell;
* ``openpyxl write-only`` -- openpyxl's streaming mode, typed cells appended row by row;
* ``XlsxWriter, constant_memory`` -- the project's writer in XlsxWriter's streamed mode;
* ``XlsxWriter, shared strings`` -- the project's writer
  (:func:`office.reports.workbook_bytes`: in memory, a shared string table);
* ``CSV files`` -- the same tables as the page's .csv files (:func:`office.reports.csv_bytes`),
  a floor: text with no cell structure.

Prints the process's CPU seconds (median and best) and the file size.

    .venv/bin/python bench/bench_xlsx_writer.py --db /tmp/b/bench_50000.sqlite3 [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.store import open_db  # noqa: E402
from bench.bench_dashboard import NOW, _bank_and_plan  # noqa: E402
from office import reports  # noqa: E402
from office.reports import csv_bytes, report_tables, workbook_bytes  # noqa: E402
from office.scope import PERCENT_COLUMNS, Scope  # noqa: E402
from quizzes.export_cells import text_cells  # noqa: E402


def openpyxl_via_pandas(tables: dict[str, pd.DataFrame]) -> bytes:
    """The writer before this change (office/reports.py at 6f46313), verbatim in effect."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name, index=False)
            text_cells(writer.sheets[name])
            sheet = writer.sheets[name]
            header_fill = PatternFill("solid", fgColor="DDEBF7")
            for cell in sheet[1]:
                cell.font = Font(bold=True)
                cell.fill = header_fill
                cell.alignment = Alignment(vertical="center", wrap_text=False)
            sheet.freeze_panes = "A2"
            for index, column in enumerate(table.columns, start=1):
                letter = get_column_letter(index)
                values = table[column]
                number_format = None
                if column in PERCENT_COLUMNS:
                    number_format = "0.0%"
                elif pd.api.types.is_datetime64_any_dtype(values):
                    number_format = "yyyy-mm-dd hh:mm"
                elif len(values) and all(isinstance(v, date) for v in values.dropna()):
                    number_format = "yyyy-mm-dd"
                if number_format is not None:
                    for row in range(2, len(table) + 2):
                        sheet[f"{letter}{row}"].number_format = number_format
                sample = [column, *values.head(200).tolist()]
                width = max(reports._display_width(v) for v in sample)
                sheet.column_dimensions[letter].width = min(60, max(8, width + 2))
    return buffer.getvalue()


def openpyxl_write_only(tables: dict[str, pd.DataFrame]) -> bytes:
    """openpyxl's streaming mode: typed cells appended row by row, text as string cells."""
    book = Workbook(write_only=True)
    for name, table in tables.items():
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=str(column))
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            header.append(cell)
        sheet.append(header)
        formats = [
            "0.0%"
            if c in PERCENT_COLUMNS
            else "yyyy-mm-dd hh:mm"
            if pd.api.types.is_datetime64_any_dtype(table[c])
            else None
            for c in table.columns
        ]
        columns = [
            [None if pd.isna(v) else v.to_pydatetime() for v in table[c]]
            if formats[i] == "yyyy-mm-dd hh:mm"
            else table[c].tolist()
            for i, c in enumerate(table.columns)
        ]
        for values in zip(*columns, strict=True):
            row = []
            for value, number_format in zip(values, formats, strict=True):
                if isinstance(value, float) and value != value:
                    value = None
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                if number_format is not None:
                    cell.number_format = number_format
                row.append(cell)
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsxwriter_constant_memory(tables: dict[str, pd.DataFrame]) -> bytes:
    """The project's writer in XlsxWriter's streamed mode (inline strings, a temporary
    file per sheet, each row written out when the next begins)."""
    kept = dict(reports._WORKBOOK_OPTIONS)
    reports._WORKBOOK_OPTIONS.update(constant_memory=True, in_memory=False)
    try:
        return workbook_bytes(tables)
    finally:
        reports._WORKBOOK_OPTIONS.clear()
        reports._WORKBOOK_OPTIONS.update(kept)


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median and best CPU seconds of ``repeat`` runs, and the last result."""
    cpus = []
    result = None
    for _ in range(repeat):
        started = time.process_time()
        result = run()
        cpus.append(time.process_time() - started)
    return statistics.median(cpus), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a bench_dashboard.py database")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    db = open_db(args.db)
    bank, plan = _bank_and_plan(db)
    started = time.process_time()
    tables = report_tables(Scope(db, plan, bank, NOW))
    print(f"tables computed in {time.process_time() - started:.2f} s CPU")
    cells = sum(t.size + len(t.columns) for t in tables.values())
    print("rows per sheet: " + ", ".join(f"{n} {len(t):,}" for n, t in tables.items()))
    print(f"{cells:,} cells\n")
    writers: dict[str, Callable[[], object]] = {
        "openpyxl via pandas (before)": lambda: openpyxl_via_pandas(tables),
        "openpyxl write-only": lambda: openpyxl_write_only(tables),
        "XlsxWriter, constant_memory": lambda: xlsxwriter_constant_memory(tables),
        "XlsxWriter, shared strings": lambda: workbook_bytes(tables),
        "CSV files (floor)": lambda: csv_bytes(tables, NOW),
    }
    print(f"{'writer':32s} {'median CPU':>11s} {'best CPU':>9s} {'size':>10s}")
    for name, run in writers.items():
        median, best, data = timed(run, args.repeat)
        size = sum(map(len, data.values())) if isinstance(data, dict) else len(data)
        print(f"{name:32s} {median:9.3f} s {best:7.3f} s {size / 1e6:7.2f} MB", flush=True)
    db.close()


if __name__ == "__main__":
    main()
