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

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

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
from quizzes.export_cells import csv_table, text_cells

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


def _format_sheet(sheet: Worksheet, table: pd.DataFrame) -> None:
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
            number_format = _PERCENT_FORMAT
        elif pd.api.types.is_datetime64_any_dtype(values):
            number_format = _DATETIME_FORMAT
        elif len(values) and all(isinstance(v, date) for v in values.dropna()):
            number_format = _DATE_FORMAT
        if number_format is not None:
            for row in range(2, len(table) + 2):
                sheet[f"{letter}{row}"].number_format = number_format
        elif index > 1:
            # A label/value table (汇总): a row named like a share holds one.
            for row, label in enumerate(table.iloc[:, 0], start=2):
                if label in PERCENT_COLUMNS and isinstance(values.iloc[row - 2], float):
                    sheet[f"{letter}{row}"].number_format = _PERCENT_FORMAT
        sample = [column, *values.head(200).tolist()]
        width = max(_display_width(v) for v in sample)
        if number_format == _DATETIME_FORMAT:
            width = 16
        sheet.column_dimensions[letter].width = min(_MAX_WIDTH, max(8, width + 2))


def workbook_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """Tables as an .xlsx workbook, one formatted sheet per table, in the given order."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name, index=False)
            text_cells(writer.sheets[name])  # a name like "=1+1" stays text
            _format_sheet(writer.sheets[name], table)
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
