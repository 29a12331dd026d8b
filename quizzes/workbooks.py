"""The one reader of spreadsheets that come from outside (uploads, the command line).

An .xlsx is a zip, and openpyxl inflates it unchecked: a small file can unpack into
gigabytes (a zip bomb). Every .xlsx the app reads from outside -- the roster, the
question-bank sheet -- is opened here, after its zip directory is checked.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

MAX_UNCOMPRESSED = 50 * 1024 * 1024
"""Largest total size the workbook's parts may inflate to."""
MAX_RATIO = 200
"""Largest inflated size as a multiple of the file's size (real workbooks stay near 10)."""


class UnreadableWorkbook(ValueError):
    """The file cannot be read as a workbook; ``str(error)`` says why, in Chinese."""


@contextmanager
def open_untrusted_xlsx(path: Path | str) -> Iterator[openpyxl.Workbook]:
    """Open an .xlsx from outside read-only, values rather than formulas; closed on exit.

    Raises:
        UnreadableWorkbook: missing, not a zip or not a workbook, or it would inflate
            beyond :data:`MAX_UNCOMPRESSED` or :data:`MAX_RATIO` times its size.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableWorkbook("文件不存在")
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise UnreadableWorkbook("文件可能已损坏") from None
    if inflated > MAX_UNCOMPRESSED or inflated > MAX_RATIO * path.stat().st_size:
        raise UnreadableWorkbook("解压后体积异常，疑似损坏或恶意文件")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnreadableWorkbook("文件可能已损坏") from None
    try:
        yield workbook
    finally:
        workbook.close()
