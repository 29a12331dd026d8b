"""The staff roster: read the office's spreadsheet, then bring the accounts in line with it.

Reading checks the whole file before anything is written, and reports every problem with
the row number a spreadsheet user sees (the header is row 1). Importing runs in one write
transaction: it adds and updates people but never deletes anyone; people the roster no
longer lists are reported so the office can deactivate them.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import sqlite_utils

from base.store import write
from quizzes.accounts import (
    FIRST_ADMIN_NO,
    add_person,
    field_problems,
    reactivate_account,
    update_person,
)
from quizzes.passwords import generate_password, hash_password, password_problems
from quizzes.people import Person, Role, list_people, role_problem
from quizzes.workbooks import UnreadableWorkbook, open_untrusted_xlsx

EMPLOYEE_NO = "工号"
NAME = "姓名"
DEPARTMENT = "部门"
ROLE = "角色"
INITIAL_PASSWORD = "初始密码"
REQUIRED_COLUMNS = (EMPLOYEE_NO, NAME, DEPARTMENT, ROLE)

_FIELD_LABELS = {"name": NAME, "department": DEPARTMENT, "role": ROLE, "active": "状态"}


@dataclass(frozen=True)
class RosterRow:
    """One person as the roster lists them.

    Attributes:
        line: the spreadsheet row number (the header is row 1).
        employee_no: the 工号.
        name: the 姓名.
        department: the 部门 (科室/站/队).
        role: the 角色.
        initial_password: the 初始密码 column when the file has one and the cell is filled.
    """

    line: int
    employee_no: str
    name: str
    department: str
    role: Role
    initial_password: str | None = None


class RosterError(ValueError):
    """The roster file cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class NewAccount:
    """A person the import added, with the initial password to hand out."""

    person: Person
    initial_password: str


@dataclass(frozen=True)
class Change:
    """One field of a person that the import changed, as text to show."""

    field: str
    old: str
    new: str

    @property
    def label(self) -> str:
        """The field's Chinese name (姓名, 部门, 角色, 状态)."""
        return _FIELD_LABELS[self.field]

    def __str__(self) -> str:
        return f"{self.label} {self.old} → {self.new}"


@dataclass(frozen=True)
class UpdatedPerson:
    """A person the roster already knew, and what changed about them."""

    employee_no: str
    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes:
        created: new accounts, with their initial passwords, in roster order.
        updated: existing accounts whose name, department, role or status changed.
        unchanged: 工号 of listed people whose account already matched.
        missing: active accounts the roster does not list (not in this roster), by
            department; the office decides whether to deactivate them.
    """

    created: tuple[NewAccount, ...] = ()
    updated: tuple[UpdatedPerson, ...] = ()
    unchanged: tuple[str, ...] = ()
    missing: tuple[Person, ...] = ()

    def summary(self) -> str:
        """One line in Chinese: how many were added, updated, unchanged and not listed."""
        return (
            f"新增 {len(self.created)} 人，更新 {len(self.updated)} 人，"
            f"未变 {len(self.unchanged)} 人，不在本名册中 {len(self.missing)} 人"
        )


# -- reading --------------------------------------------------------------------------------


def read_roster(path: Path | str) -> list[RosterRow]:
    """Read and check a roster file (.csv or .xlsx).

    The columns are 工号, 姓名, 部门, 角色 and, optionally, 初始密码; other columns are
    ignored. A .csv may be UTF-8 (with or without BOM) or GB18030/GBK; of an .xlsx the
    first sheet is read. Blank rows are skipped. Note that Excel stores a 工号 typed as a
    number without its leading zeros; format that column as text to keep them.

    Args:
        path: the roster file.

    Returns:
        The people, in file order.

    Raises:
        RosterError: listing every problem, e.g.
            ``roster.xlsx:第4行: 角色 “经理” 无法识别（可用：职工、负责人、创建办）``.
    """
    path = Path(path)
    return _parse(path.name, _read_table(path))


def _read_table(path: Path) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".xls", ".et", ".wps"):
        problem = "这是旧版表格格式，无法读取；请在 Excel 或 WPS 中另存为 .xlsx 或 .csv"
    else:
        problem = f"不支持的文件类型“{path.suffix or '（无扩展名）'}”；请使用 .csv 或 .xlsx"
    raise RosterError([f"{path.name}: {problem}"])


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RosterError([f"{path.name}: 文件不存在"]) from None
    except OSError as error:
        raise RosterError([f"{path.name}: 无法读取文件（{error.strerror}）"]) from None


def _decode(name: str, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RosterError(
            [
                f"{name}: 文件是 UTF-16 编码（Excel 的“Unicode 文本”），"
                "请另存为“CSV UTF-8（逗号分隔）”"
            ]
        )
    # UTF-8 first: GBK text is almost never valid UTF-8, while GB18030 accepts much UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise RosterError(
        [f"{name}: 无法识别文件编码，请保存为 UTF-8 或 GB18030（GBK）编码的 CSV 文件"]
    )


def _read_csv(path: Path) -> list[list[str]]:
    text = _decode(path.name, _read_bytes(path))
    try:
        # One record per spreadsheet row, even where a quoted cell holds a line break.
        return [[cell.strip() for cell in record] for record in csv.reader(io.StringIO(text))]
    except csv.Error as error:
        raise RosterError([f"{path.name}: 不是有效的 CSV 文件（{error}）"]) from None


def _read_xlsx(path: Path) -> list[list[str]]:
    if not path.exists():
        raise RosterError([f"{path.name}: 文件不存在"])
    try:
        with open_untrusted_xlsx(path) as workbook:
            sheet = workbook.worksheets[0]
            # Files written by other tools may declare wrong dimensions and be cut short.
            sheet.reset_dimensions()
            # Read-only sheets yield every row from row 1, blank ones included, so the
            # position in this list is the row number Excel shows.
            return [
                [_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)
            ]
    except UnreadableWorkbook as error:
        raise RosterError([f"{path.name}: 无法作为 Excel（.xlsx）文件打开，{error}"]) from None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        # A 工号 typed as a number comes back as 1001.0.
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _parse(name: str, table: list[list[str]]) -> list[RosterRow]:
    header_index = next((i for i, row in enumerate(table) if any(row)), None)
    if header_index is None:
        raise RosterError([f"{name}: 文件是空的"])
    header_line = header_index + 1
    header = table[header_index]

    def at(line: int, problem: str) -> str:
        return f"{name}:第{line}行: {problem}"

    columns: dict[str, int] = {}
    errors = []
    for position, title in enumerate(header):
        if title in columns and title in (*REQUIRED_COLUMNS, INITIAL_PASSWORD):
            errors.append(at(header_line, f"列“{title}”出现了不止一次"))
        columns.setdefault(title, position)
    missing = [title for title in REQUIRED_COLUMNS if title not in columns]
    if missing:
        errors.append(
            at(
                header_line,
                f"缺少列：{'、'.join(missing)}"
                f"（表头应为：{'、'.join(REQUIRED_COLUMNS)}，可选 {INITIAL_PASSWORD}）",
            )
        )
    if errors:
        raise RosterError(errors)

    width = max((position for title, position in columns.items() if title), default=0) + 1
    rows: list[RosterRow] = []
    first_seen: dict[str, int] = {}
    for index in range(header_index + 1, len(table)):
        cells, line = table[index], index + 1
        if not any(cells):
            continue

        def cell(title: str, cells: list[str] = cells) -> str:
            position = columns.get(title)
            return cells[position] if position is not None and position < len(cells) else ""

        employee_no, person_name, department = cell(EMPLOYEE_NO), cell(NAME), cell(DEPARTMENT)
        role_text, password = cell(ROLE), cell(INITIAL_PASSWORD)
        problems = field_problems(employee_no, person_name, department)
        role_error = role_problem(role_text)
        if role_error:
            problems.append(role_error)
        if password:
            weak = password_problems(password, employee_no)
            if weak:
                problems.append(f"{INITIAL_PASSWORD} 不符合要求：{'；'.join(weak)}")
        stray = sum(1 for value in cells[width:] if value)
        if stray:
            problems.append(f"有 {stray} 个值不在任何表头之下（某个值里是否有逗号？）")
        if employee_no:
            key = employee_no.lower()
            if key in first_seen:
                problems.append(f"工号 “{employee_no}” 与第{first_seen[key]}行重复")
            else:
                first_seen[key] = line
        errors.extend(at(line, problem) for problem in problems)
        if not problems:
            role = Role.parse(role_text)
            assert role is not None
            rows.append(
                RosterRow(line, employee_no, person_name, department, role, password or None)
            )
    if errors:
        raise RosterError(errors)
    if not rows:
        raise RosterError([at(header_line, "表头之后没有人员")])
    return rows


# -- importing ------------------------------------------------------------------------------


def import_roster(
    db: sqlite_utils.Database,
    rows: Sequence[RosterRow],
    now: datetime,
    password_factory: Callable[[], str] = generate_password,
) -> ImportReport:
    """Bring the accounts in line with a roster, in one write transaction.

    New people get an account with the roster's 初始密码, or one from
    ``password_factory``, that must be changed at first login. People already known (same
    工号, any letter case) get the roster's name, department and role, and are reactivated
    if they had been deactivated; their password is left alone. Department moves are
    added to the department history. Nobody is deleted.

    Args:
        db: the app database.
        rows: the people, as :func:`read_roster` returns them.
        now: the current time, timezone-aware; the date of any department move.
        password_factory: makes initial passwords for new people without one.

    Returns:
        What was created (with initial passwords), updated, unchanged and not listed.

    Raises:
        ValueError: two rows share a 工号 (read_roster never returns such rows).
    """
    rows = list(rows)
    keys = [row.employee_no.lower() for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("roster rows share an employee_no")

    # Hash before taking the writer lock: 24 ms per new person must not hold up others.
    known = {person.employee_no.lower() for person in list_people(db)}
    prepared = {
        key: _new_password(row, password_factory)
        for row, key in zip(rows, keys, strict=True)
        if key not in known
    }

    created: list[NewAccount] = []
    updated: list[UpdatedPerson] = []
    unchanged: list[str] = []
    with write(db):
        # Read again under the lock: someone may have been added since.
        current = {person.employee_no.lower(): person for person in list_people(db)}
        for row, key in zip(rows, keys, strict=True):
            person = current.get(key)
            if person is None:
                password, password_hash = prepared.get(key) or _new_password(row, password_factory)
                new = add_person(
                    db, row.employee_no, row.name, row.department, row.role, password_hash, now
                )
                created.append(NewAccount(new, password))
                continue
            changes = _changes(person, row)
            if not changes:
                unchanged.append(person.employee_no)
                continue
            update_person(db, person.employee_no, row.name, row.department, row.role, now)
            if not person.active:
                reactivate_account(db, person.employee_no, now)
            updated.append(UpdatedPerson(person.employee_no, row.name, changes))
        listed = set(keys)
        missing = tuple(
            person
            for key, person in current.items()
            # The built-in first admin is never in the office's roster; listing it every
            # time would invite deactivating the way in.
            if key not in listed and person.active and key != FIRST_ADMIN_NO
        )
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged), missing)


def _new_password(row: RosterRow, factory: Callable[[], str]) -> tuple[str, str]:
    password = row.initial_password or factory()
    return password, hash_password(password)


def _changes(person: Person, row: RosterRow) -> tuple[Change, ...]:
    changes = []
    if person.name != row.name:
        changes.append(Change("name", person.name, row.name))
    if person.department != row.department:
        changes.append(Change("department", person.department, row.department))
    if person.role is not row.role:
        changes.append(Change("role", person.role.label, row.role.label))
    if not person.active:
        changes.append(Change("active", "停用", "在用"))
    return tuple(changes)


def passwords_table(created: Iterable[NewAccount]) -> list[list[str]]:
    """The rows of the initial-password sheet to hand out: a header, then one per person."""
    return [[EMPLOYEE_NO, NAME, DEPARTMENT, ROLE, INITIAL_PASSWORD]] + [
        [
            account.person.employee_no,
            account.person.name,
            account.person.department,
            account.person.role.label,
            account.initial_password,
        ]
        for account in created
    ]
