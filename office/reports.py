"""Exports of the dashboard for reporting upward: one .xlsx workbook, or one .csv per table.

The tables are the dashboard functions' own results (:func:`report_tables` calls them,
sharing one progress computation), so an exported figure is always the figure on screen.
Only the presentation differs: shares are formatted as percentages, times as Beijing time
to the minute in the workbook's cell format (the stored value keeps the seconds).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from base.clock import LOCAL_TZ
from office.dashboard import (
    by_department,
    completions_per_day,
    exempt_list,
    headline,
    headline_table,
    overdue_list,
)
from office.scope import PERCENT_COLUMNS, Scope
from office.statistics import question_stats, quiz_stats
from quizzes.export_cells import csv_table

REPORT_KIND = "参与情况"
"""The name the workbook's file starts with."""

SHEETS = ("汇总", "按部门", "逾期名单", "免学名单", "每日完成", "测验统计", "题目统计")
"""The workbook's sheets, in order; also the CSV files' names."""

_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_DATE_FORMAT = "yyyy-mm-dd"
_PERCENT_FORMAT = "0.0%"
_MAX_WIDTH = 60


def report_filename(kind: str, as_of: datetime, suffix: str = "xlsx") -> str:
    """A report's file name carrying its date (Beijing time), e.g. ``参与情况_2026-11-25.xlsx``.

    Args:
        kind: what the file holds (``参与情况``, or a sheet's name).
        as_of: the moment the figures are about, aware.
        suffix: the extension, without the dot.
    """
    return f"{kind}_{as_of.astimezone(LOCAL_TZ).date().isoformat()}.{suffix}"


def report_tables(scope: Scope) -> dict[str, pd.DataFrame]:
    """Every exported table by sheet name (:data:`SHEETS`), from the dashboard functions.

    The dashboard page shows these same tables from the same scope (whose progress is
    computed once), so what is exported is what was on the screen.

    Args:
        scope: the page's scope (a head's export holds their department).
    """
    return {
        "汇总": headline_table(headline(scope)),
        "按部门": by_department(scope),
        "逾期名单": overdue_list(scope),
        "免学名单": exempt_list(scope),
        "每日完成": completions_per_day(scope),
        "测验统计": quiz_stats(scope),
        "题目统计": question_stats(scope),
    }


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    # CJK characters take two columns in Excel's default font.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")
_DAY_NS = 86_400 * 10**9


def _excel_serials(values: pd.Series) -> list[float | None]:
    """Naive times as Excel's serial days (NaT: None), the whole column at once."""
    stamps = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    days = (stamps - _EXCEL_EPOCH).astype("int64") / _DAY_NS
    return [
        None if missing else day
        for day, missing in zip(days.tolist(), np.isnat(stamps), strict=True)
    ]


def _sheet_cells(
    table: pd.DataFrame, formats: dict[str, Any]
) -> tuple[list[list[Any]], list[Any], list[int]]:
    """Per column: the values to write, the column's cell format (or, in a label/value
    table, one per row) and its width."""
    columns, column_formats, widths = [], [], []
    for position, column in enumerate(table.columns):
        values = table[column]
        cell_format: Any = None
        if column in PERCENT_COLUMNS:
            cell_format = formats["percent"]
            cells = values.tolist()
        elif pd.api.types.is_datetime64_any_dtype(values):
            cell_format = formats["datetime"]
            cells = _excel_serials(values)
        elif len(values) and all(isinstance(v, date) for v in values.dropna()):
            cell_format = formats["date"]
            cells = _excel_serials(values)
        else:
            cells = values.tolist()
            if position > 0:
                # A label/value table (汇总): a row named like a share holds one.
                labels = table.iloc[:, 0].tolist()
                if any(label in PERCENT_COLUMNS for label in labels):
                    cell_format = [
                        formats["percent"]
                        if label in PERCENT_COLUMNS and isinstance(v, float)
                        else None
                        for label, v in zip(labels, cells, strict=True)
                    ]
        sample = [column, *values.head(200).tolist()]
        width = max(_display_width(v) for v in sample)
        if cell_format is formats["datetime"]:
            width = 16
        columns.append(cells)
        column_formats.append(cell_format)
        widths.append(min(_MAX_WIDTH, max(8, width + 2)))
    return columns, column_formats, widths


def _write_sheet(sheet: Any, table: pd.DataFrame, formats: dict[str, Any]) -> None:
    columns, column_formats, widths = _sheet_cells(table, formats)
    for index, header in enumerate(table.columns):
        sheet.write_string(0, index, str(header), formats["header"])
        sheet.set_column(index, index, widths[index])
    sheet.freeze_panes(1, 0)
    # Every value goes in by its type: text is always a string cell, never a formula
    # (the workbook also has strings_to_formulas off).
    write_string, write_number = sheet.write_string, sheet.write_number
    for row, values in enumerate(zip(*columns, strict=True), start=1):
        for col, value in enumerate(values):
            if value is None:
                continue
            cell_format = column_formats[col]
            if isinstance(cell_format, list):
                cell_format = cell_format[row - 1]
            kind = type(value)
            if kind is str:
                if value:
                    write_string(row, col, value, cell_format)
            elif kind is float or kind is int:
                if value == value:  # NaN: an empty cell
                    write_number(row, col, value, cell_format)
            else:
                _write_other(sheet, row, col, value, cell_format, formats)


def _write_other(
    sheet: Any, row: int, col: int, value: Any, cell_format: Any, formats: dict[str, Any]
) -> None:
    # The rare cells of a mixed column: booleans, numpy scalars, missing values, dates.
    if value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, col, bool(value), cell_format)
    elif isinstance(value, int | float | np.integer | np.floating):
        if not pd.isna(value):
            sheet.write_number(
                row, col, value.item() if hasattr(value, "item") else value, cell_format
            )
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value, cell_format or formats["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, cell_format or formats["date"])
    else:
        sheet.write_string(row, col, str(value), cell_format)


_WORKBOOK_OPTIONS = {
    # Built in memory with a shared string table: at 50,000 people (200,000 cells) a
    # third less CPU than XlsxWriter's streamed constant_memory mode, and a smaller file
    # (bench/bench_xlsx_writer.py).
    "in_memory": True,
    # A text is a text: never read as a formula, a link or a number.
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def workbook_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """Tables as an .xlsx workbook, one formatted sheet per table, in the given order.

    Written with XlsxWriter, cell by cell by type: every text is a string cell (no text
    ever becomes a formula or a link), shares are numbers in a percent format, times are
    times in a date format.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, _WORKBOOK_OPTIONS)
    formats = {
        "header": book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "pattern": 1, "valign": "vcenter"}
        ),
        "percent": book.add_format({"num_format": _PERCENT_FORMAT}),
        "datetime": book.add_format({"num_format": _DATETIME_FORMAT}),
        "date": book.add_format({"num_format": _DATE_FORMAT}),
    }
    for name, table in tables.items():
        _write_sheet(book.add_worksheet(name), table, formats)
    book.close()
    return buffer.getvalue()


def dashboard_workbook(scope: Scope) -> bytes:
    """The dashboard as an .xlsx workbook: sheets 汇总, 按部门, 逾期名单, 免学名单, 每日完成,
    测验统计, 题目统计 (see :func:`report_tables`; name it with :func:`report_filename`)."""
    return workbook_bytes(report_tables(scope))


def _percent_text(value: object) -> object:
    # "83.3%" is read back by Excel as the number 0.833 shown as a percentage.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "" if pd.isna(value) else f"{value:.1%}"
    return value


def shown_cells(table: pd.DataFrame) -> pd.DataFrame:
    """A table as text the way the CSV files (and the page's label/value tables) show it:
    shares as percentages (``83.3%``), times as Beijing time to the second.

    A share is a column named in :data:`office.scope.PERCENT_COLUMNS`, or, in a label/value
    table such as 汇总, a value whose row label is such a name.
    """
    shown = table.copy()
    for position, column in enumerate(shown.columns):
        values = shown[column]
        if column in PERCENT_COLUMNS:
            shown[column] = [_percent_text(v) for v in pd.to_numeric(values, errors="coerce")]
        elif pd.api.types.is_datetime64_any_dtype(values):
            shown[column] = values.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif position > 0 and pd.api.types.is_object_dtype(values):
            labels = shown.iloc[:, 0]
            shown[column] = [
                _percent_text(v) if label in PERCENT_COLUMNS else v
                for label, v in zip(labels, values, strict=True)
            ]
    return shown


def _csv_text(table: pd.DataFrame) -> str:
    return csv_table(shown_cells(table)).to_csv(index=False, lineterminator="\r\n")


def csv_bytes(tables: dict[str, pd.DataFrame], as_of: datetime) -> dict[str, bytes]:
    """Tables as CSV files (UTF-8 with BOM, so Excel opens them) named with the date.

    Text that a spreadsheet would take for a formula starts with an apostrophe
    (``quizzes.export_cells``)."""
    return {
        report_filename(name, as_of, "csv"): _csv_text(table).encode("utf-8-sig")
        for name, table in tables.items()
    }


def csv_archive(tables: dict[str, pd.DataFrame], as_of: datetime) -> bytes:
    """The files of :func:`csv_bytes` in one .zip: the page's CSV download, byte for byte
    the files ``python -m office report --csv`` writes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in csv_bytes(tables, as_of).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def dashboard_csvs(scope: Scope) -> dict[str, bytes]:
    """The dashboard's tables as CSV files by file name, e.g. ``按部门_2026-11-25.csv``.

    UTF-8 with a byte order mark (Excel on Chinese Windows shows UTF-8 without one as
    mojibake); shares as percentages, times as Beijing time.
    """
    return csv_bytes(report_tables(scope), scope.as_of)
