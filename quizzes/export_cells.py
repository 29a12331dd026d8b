"""Values as they go into exported spreadsheets: text a person typed stays text.

A roster name, a department, an exemption reason or a question stem may start with ``=``,
``+``, ``-`` or ``@``; a spreadsheet program reads such a cell as a formula (OWASP, "CSV
injection"). In an .xlsx file every text value is written as a string cell; in a CSV file
such a value gets a leading apostrophe, which Excel and WPS show as a text marker.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program evaluate a CSV cell (OWASP)."""


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells are safe to write as CSV (:func:`csv_cell`)."""
    safe = table.copy()
    for column in safe.columns:
        values = safe[column]
        # pandas 3 keeps text in its own string dtype, older data in object columns.
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe[column] = values.map(csv_cell)
    return safe


def csv_rows_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """Rows as CSV bytes, UTF-8 with a byte order mark (Excel on Chinese Windows needs it),
    every cell through :func:`csv_cell`."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def text_cells(sheet: Worksheet) -> None:
    """Make every cell of ``sheet`` that holds text a string cell.

    openpyxl stores a string that starts with ``=`` as a formula; a string cell is shown
    as the characters typed and never evaluated.
    """
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.data_type != "s":
                cell.data_type = "s"
