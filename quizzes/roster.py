"""The staff roster: read the office's spreadsheet, preview what it would change, then
bring the accounts in line with it.

Reading finds the header row (below any title rows), accepts the header names offices
use (科室/处室/部门/单位/站/队, 工号/编号/人员编号/职工编号, ...), and checks the whole file
before anything is written, reporting every problem with the row number the spreadsheet
shows. :func:`plan_roster` says what an import would do (new, changed with each change,
unchanged, and people in the system the sheet does not list); :func:`import_roster` does
it in one write transaction, refusing if the accounts changed since the plan was shown.
Nobody is deleted; people the sheet no longer lists are deactivated only when asked.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import sqlite_utils

from base.store import write
from quizzes.accounts import (
    FIRST_ADMIN_NO,
    add_person,
    deactivate_account,
    field_problems,
    reactivate_account,
    update_person,
)
from quizzes.initial_passwords import NewAccount, passwords_table
from quizzes.passwords import generate_password, hash_password, password_problems
from quizzes.people import ROLE_CHOICES, AccountError, Person, Role, list_people, role_problem
from quizzes.workbooks import UnreadableWorkbook, open_untrusted_xlsx

__all__ = [
    "COLUMNS",
    "Change",
    "ImportReport",
    "NewAccount",
    "RosterChanged",
    "RosterError",
    "RosterFile",
    "RosterPlan",
    "RosterRow",
    "UpdatedPerson",
    "import_roster",
    "passwords_table",
    "plan_roster",
    "preview_rows",
    "read_roster",
    "read_roster_file",
]

MAX_HEADER_ROW = 10
"""The header row is looked for in this many rows from the top (title rows above it)."""


@dataclass(frozen=True)
class Column:
    """A roster column: the field it fills and the header names that mean it.

    Attributes:
        field: the :class:`RosterRow` attribute.
        label: its name in messages and in the template.
        names: the header names accepted, the preferred first; when a sheet has two of
            them (科室 and 单位), the one earlier in this list is read.
        required: whether a header row must have it.
        note: what the README and the page say about it.
    """

    field: str
    label: str
    names: tuple[str, ...]
    required: bool
    note: str


COLUMNS = (
    Column(
        "employee_no",
        "工号",
        ("工号", "人员编号", "职工编号", "员工编号", "职工号", "编号"),
        True,
        "登录用的账号：英文字母、数字和 . _ -；在 Excel 中请设为文本格式，以免丢掉开头的 0",
    ),
    Column("name", "姓名", ("姓名", "职工姓名", "人员姓名"), True, "最多 50 字"),
    Column(
        "department",
        "部门",
        ("科室", "处室", "部门", "站", "队", "所在科室", "所在部门", "单位"),
        True,
        "科室/站/队，按此统计完成情况；同时有“单位”和“科室”两列时读“科室”",
    ),
    Column("title", "职务", ("职务", "职位"), False, "科员、副科长等，只作显示，不决定权限"),
    Column(
        "role",
        "角色",
        ("角色", "系统角色"),
        False,
        f"系统角色：{ROLE_CHOICES}；不填即为 职工（已有的人不填则保持原角色）",
    ),
    Column(
        "initial_password",
        "初始密码",
        ("初始密码",),
        False,
        "新账号的初始密码；不填则自动生成",
    ),
)
_BY_FIELD = {column.field: column for column in COLUMNS}
_REQUIRED = tuple(column for column in COLUMNS if column.required)

_FIELD_LABELS = {
    "name": "姓名",
    "department": "部门",
    "title": "职务",
    "role": "角色",
    "active": "状态",
}

# 职务 as offices write them (科员, 副科长, 一级主任科员, 站长, 工程师...): a value like this
# in the role column is a 职务 put in the wrong column, and is told so.
_TITLE_LIKE = re.compile(r"(长|员|主任|书记|干事|师|助理|秘书|专员)$")


@dataclass(frozen=True)
class RosterRow:
    """One person as the roster lists them.

    Attributes:
        line: the spreadsheet row number (title rows and the header counted).
        employee_no: the 工号.
        name: the 姓名.
        department: the 部门 (科室/站/队).
        role: the 角色; None when the sheet gives none (new people become 职工,
            people already known keep theirs).
        initial_password: the 初始密码 column when the file has one and the cell is filled.
        title: the 职务; None when the sheet has no such column (a known person keeps
            theirs), "" when the cell is blank.
    """

    line: int
    employee_no: str
    name: str
    department: str
    role: Role | None
    initial_password: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class RosterFile:
    """A roster as read: the people, and where in the file they were found.

    Attributes:
        rows: the people, in file order.
        sheet: the worksheet read (None for a .csv).
        header_line: the row number of the header row.
        columns: for each field read, the header as the file writes it (工号 → 人员编号).
        skipped: rows below the header with neither 工号 nor 姓名 (制表人、合计 lines),
            each as “第N行：…” with what it holds; not read as people.
    """

    rows: list[RosterRow]
    sheet: str | None
    header_line: int
    columns: dict[str, str]
    skipped: tuple[str, ...] = ()

    def description(self) -> str:
        """Where the roster was read, in Chinese: sheet, header row, the columns used."""
        place = f"工作表“{self.sheet}”，" if self.sheet is not None else ""
        used = "、".join(
            label if header == label else f"{label}（“{header}”列）"
            for label, header in self.columns.items()
        )
        return f"读取{place}表头在第 {self.header_line} 行；列：{used}"

    def skipped_note(self) -> str | None:
        """The rows not read as people, in one Chinese line; None when there are none."""
        if not self.skipped:
            return None
        return f"以下行没有工号和姓名，未作为人员读取：{'；'.join(self.skipped)}"


class RosterError(ValueError):
    """The roster file cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


class RosterChanged(RuntimeError):
    """The accounts changed between the preview and the import; nothing was written."""

    def __init__(self) -> None:
        super().__init__("预览之后账号已有变化（有人同时修改了账号），未做任何修改；请重新检查名册")


@dataclass(frozen=True)
class Change:
    """One field of a person that the import changes, as text to show."""

    field: str
    old: str
    new: str

    @property
    def label(self) -> str:
        """The field's Chinese name (姓名, 部门, 职务, 角色, 状态)."""
        return _FIELD_LABELS[self.field]

    def __str__(self) -> str:
        return f"{self.label}：{self.old or '（空）'} → {self.new or '（空）'}"


@dataclass(frozen=True)
class UpdatedPerson:
    """A person the roster already knew, what changes about them, and (not compared)
    the person as they will be."""

    employee_no: str
    name: str
    changes: tuple[Change, ...]
    after: Person | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RosterPlan:
    """What importing a roster would do, as :func:`plan_roster` finds it.

    Attributes:
        new: the accounts to create, in roster order.
        changed: listed people whose name, department, 职务, role or status would change.
        unchanged: listed people whose account already matches.
        missing: active accounts the roster does not list (the built-in first admin
            aside), by department.
    """

    new: tuple[Person, ...] = ()
    changed: tuple[UpdatedPerson, ...] = ()
    unchanged: tuple[Person, ...] = ()
    missing: tuple[Person, ...] = ()

    def summary(self) -> str:
        """One line in Chinese: how many are new, changed, unchanged and not listed."""
        return (
            f"新增 {len(self.new)} 人，变更 {len(self.changed)} 人，"
            f"未变 {len(self.unchanged)} 人，系统中有但名册中没有 {len(self.missing)} 人"
        )

    def deactivatable(self) -> tuple[Person, ...]:
        """The missing people an import may deactivate: staff and heads. 创建办 accounts
        (the office's own, often not on the staff roster) are never deactivated by it."""
        return tuple(person for person in self.missing if person.role is not Role.ADMIN)

    def _signature(self) -> tuple:
        return (
            tuple((p.employee_no, p.name, p.department, p.role, p.title) for p in self.new),
            self.changed,
            tuple(p.employee_no for p in self.unchanged),
            tuple(p.employee_no for p in self.missing),
        )


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes:
        created: new accounts, with their initial passwords, in roster order.
        updated: existing accounts whose name, department, 职务, role or status changed.
        unchanged: 工号 of listed people whose account already matched.
        missing: active accounts the roster does not list, by department.
        deactivated: those of ``missing`` that the import deactivated (when asked to).
    """

    created: tuple[NewAccount, ...] = ()
    updated: tuple[UpdatedPerson, ...] = ()
    unchanged: tuple[str, ...] = ()
    missing: tuple[Person, ...] = ()
    deactivated: tuple[Person, ...] = ()

    def summary(self) -> str:
        """One line in Chinese: how many were added, updated, unchanged, not listed and
        deactivated."""
        line = (
            f"新增 {len(self.created)} 人，更新 {len(self.updated)} 人，"
            f"未变 {len(self.unchanged)} 人，不在本名册中 {len(self.missing)} 人"
        )
        if self.deactivated:
            line += f"（已停用其中 {len(self.deactivated)} 人）"
        return line


# -- reading --------------------------------------------------------------------------------


def read_roster(path: Path | str) -> list[RosterRow]:
    """The people of a roster file; see :func:`read_roster_file`."""
    return read_roster_file(path).rows


def read_roster_file(path: Path | str) -> RosterFile:
    """Read and check a roster file (.csv or .xlsx).

    The header row is the first of the top :data:`MAX_HEADER_ROW` rows that holds the
    required columns (工号, 姓名, 部门, each by any of its names in :data:`COLUMNS`), so
    title rows above it are passed over. Header names are compared without spaces and
    without a trailing note in brackets (“科室（站、队）”, “工号*”). Other columns are
    ignored. A .csv may be UTF-8 (with or without BOM) or GB18030/GBK; of an .xlsx the
    first sheet with such a header is read. Blank rows are skipped. Note that Excel
    stores a 工号 typed as a number without its leading zeros; format that column as text
    to keep them.

    Args:
        path: the roster file.

    Returns:
        The people and where they were found.

    Raises:
        RosterError: listing every problem, e.g.
            ``roster.xlsx:第4行: 角色 “科员” 是职务，不是系统角色：...``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _parse_sheet(path.name, None, _read_csv(path), path.name)
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


def _read_xlsx(path: Path) -> RosterFile:
    if not path.exists():
        raise RosterError([f"{path.name}: 文件不存在"])
    try:
        with open_untrusted_xlsx(path) as workbook:
            sheets = workbook.worksheets
            problems = []
            for sheet in sheets:
                # Files written by other tools may declare wrong dimensions and be cut short.
                sheet.reset_dimensions()
                # Read-only sheets yield every row from row 1, blank ones included, so the
                # position in this list is the row number Excel shows.
                rows = sheet.iter_rows(values_only=True)
                top = [
                    [_cell_text(value) for value in row]
                    for _, row in zip(range(MAX_HEADER_ROW), rows, strict=False)
                ]
                where = f"{path.name}（工作表“{sheet.title}”）"
                if _find_header(top)[0] is None:
                    problems.append(_no_header(where, top))
                    continue
                table = top + [[_cell_text(value) for value in row] for row in rows]
                prefix = where if len(sheets) > 1 else path.name
                return _parse_sheet(prefix, sheet.title, table, where)
    except UnreadableWorkbook as error:
        raise RosterError([f"{path.name}: 无法作为 Excel（.xlsx）文件打开，{error}"]) from None
    raise RosterError(problems or [f"{path.name}: 工作簿中没有工作表"])


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


_NOTE = re.compile(r"[（(][^）)]*[）)]$")


def _header_name(text: str) -> str:
    """A header cell as compared with the accepted names: no blanks (“姓  名”), no
    required-mark or trailing note (“工号*”, “科室（站、队）”)."""
    name = re.sub(r"\s+", "", text)
    name = name.rstrip("*＊:：")
    return _NOTE.sub("", name)


def _columns(header: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Which position each field is read from (the preferred name present), and the
    header text there."""
    names = [_header_name(cell) for cell in header]
    positions: dict[str, int] = {}
    for column in COLUMNS:
        for accepted in column.names:
            if accepted in names:
                positions[column.field] = names.index(accepted)
                break
    return positions, {field: header[position] for field, position in positions.items()}


def _find_header(table: list[list[str]]) -> tuple[int | None, int | None]:
    """The index of the header row, or None with the index of the row that came closest."""
    best, best_count = None, 0
    for index, row in enumerate(table[:MAX_HEADER_ROW]):
        positions, _ = _columns(row)
        count = sum(1 for column in _REQUIRED if column.field in positions)
        if count == len(_REQUIRED):
            return index, None
        if count > best_count:
            best, best_count = index, count
    return None, best


def _no_header(where: str, table: list[list[str]]) -> str:
    if not any(any(row) for row in table):
        return f"{where}: 是空的"
    wanted = "、".join(
        column.label
        + (
            f"（或 {'、'.join(n for n in column.names if n != column.label)}）"
            if len(column.names) > 1
            else ""
        )
        for column in _REQUIRED
    )
    message = f"{where}: 前 {MAX_HEADER_ROW} 行中没有找到表头行，表头须有这几列：{wanted}"
    _, closest = _find_header(table)
    if closest is not None:
        positions, _ = _columns(table[closest])
        absent = "、".join(c.label for c in _REQUIRED if c.field not in positions)
        message += f"；第 {closest + 1} 行最接近，缺少 {absent}"
    return message


def _is_title(text: str) -> bool:
    return bool(text) and Role.parse(text) is None and bool(_TITLE_LIKE.search(text))


def _role_problem(text: str) -> str | None:
    if _is_title(text):
        return (
            f"角色 “{text}” 是职务，不是系统角色：职务请填在“职务”列，"
            f"角色列只填 {ROLE_CHOICES}（不填即为 职工）"
        )
    return role_problem(text) if text else None


def _parse_sheet(prefix: str, sheet: str | None, table: list[list[str]], where: str) -> RosterFile:
    def at(line: int, problem: str) -> str:
        return f"{prefix}:第{line}行: {problem}"

    if not any(any(row) for row in table):
        raise RosterError([f"{prefix}: 文件是空的"])
    header_index, _ = _find_header(table)
    if header_index is None:
        raise RosterError([_no_header(where, table)])
    header_line = header_index + 1
    header = table[header_index]
    columns, headers = _columns(header)

    names = [_header_name(cell) for cell in header]
    errors = [
        at(header_line, f"列“{header[position]}”出现了不止一次")
        for position in columns.values()
        if names.count(names[position]) > 1
    ]
    if errors:
        raise RosterError(errors)

    width = max((position for position, title in enumerate(header) if title), default=0) + 1
    rows: list[RosterRow] = []
    first_seen: dict[str, int] = {}
    titles_as_roles = 0
    skipped: list[str] = []
    for index in range(header_index + 1, len(table)):
        cells, line = table[index], index + 1
        if not any(cells):
            continue

        def cell(field: str, cells: list[str] = cells) -> str:
            position = columns.get(field)
            return cells[position] if position is not None and position < len(cells) else ""

        employee_no, person_name, department = (
            cell("employee_no"),
            cell("name"),
            cell("department"),
        )
        if not employee_no and not person_name:
            # A 制表人/审核人 or 合计 line under the table, not a person.
            skipped.append(f"第{line}行：{' '.join(value for value in cells if value)[:40]}")
            continue
        title, role_text, password = cell("title"), cell("role"), cell("initial_password")
        problems = field_problems(employee_no, person_name, department, title)
        role_error = _role_problem(role_text)
        if role_error:
            problems.append(role_error)
            titles_as_roles += _is_title(role_text)
        if password:
            weak = password_problems(password, employee_no)
            if weak:
                problems.append(f"初始密码 不符合要求：{'；'.join(weak)}")
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
            rows.append(
                RosterRow(
                    line,
                    employee_no,
                    person_name,
                    department,
                    Role.parse(role_text) if role_text else None,
                    password or None,
                    title if "title" in columns else None,
                )
            )
    if titles_as_roles > 1 and "title" not in columns:
        # A whole column of 职务 under the header 角色: one line says what to do about it.
        errors.insert(
            0,
            at(
                header_line,
                f"“{headers['role']}”列有 {titles_as_roles} 行填的是职务：如这一列就是职务，"
                "请把表头改为“职务”（角色可不填，默认 职工）",
            ),
        )
    if errors:
        raise RosterError(errors)
    if not rows:
        raise RosterError([at(header_line, "表头之后没有人员")])
    return RosterFile(
        rows,
        sheet,
        header_line,
        {_BY_FIELD[field].label: headers[field] for field in _BY_FIELD if field in headers},
        tuple(skipped),
    )


# -- planning and importing ---------------------------------------------------------------


def plan_roster(db: sqlite_utils.Database, rows: Sequence[RosterRow]) -> RosterPlan:
    """What importing ``rows`` would do now, without writing anything.

    A person is matched by 工号 in any letter case. The sheet's name, department and,
    where the sheet gives them, 职务 and role are compared with the account; a new person
    without a role becomes 职工. A deactivated person listed again is reactivated.

    Raises:
        ValueError: two rows share a 工号 (:func:`read_roster` never returns such rows).
    """
    keys = [row.employee_no.lower() for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("roster rows share an employee_no")
    current = {person.employee_no.lower(): person for person in list_people(db)}
    new, changed, unchanged = [], [], []
    for row, key in zip(rows, keys, strict=True):
        person = current.get(key)
        if person is None:
            new.append(
                Person(
                    row.employee_no,
                    row.name,
                    row.department,
                    row.role or Role.STAFF,
                    title=row.title or "",
                )
            )
            continue
        after = Person(
            person.employee_no,
            row.name,
            row.department,
            row.role or person.role,
            title=person.title if row.title is None else row.title,
        )
        changes = _changes(person, after)
        if changes:
            changed.append(UpdatedPerson(person.employee_no, row.name, changes, after))
        else:
            unchanged.append(person)
    listed = set(keys)
    missing = tuple(
        person
        for key, person in current.items()
        # The built-in first admin is never in the office's roster; listing it every
        # time would invite deactivating the way in.
        if key not in listed and person.active and key != FIRST_ADMIN_NO
    )
    return RosterPlan(tuple(new), tuple(changed), tuple(unchanged), missing)


def import_roster(
    db: sqlite_utils.Database,
    rows: Sequence[RosterRow],
    now: datetime,
    password_factory: Callable[[], str] = generate_password,
    *,
    deactivate_missing: bool = False,
    expected: RosterPlan | None = None,
) -> ImportReport:
    """Bring the accounts in line with a roster, in one write transaction.

    New people get an account with the roster's 初始密码, or one from
    ``password_factory``, that must be changed at first login. People already known get
    the roster's name, department and, where given, 职务 and role, and are reactivated if
    they had been deactivated; their password is left alone. Department moves are added
    to the department history. Nobody is deleted.

    Args:
        db: the app database.
        rows: the people, as :func:`read_roster` returns them.
        now: the current time, timezone-aware; the date of any department move.
        password_factory: makes initial passwords for new people without one.
        deactivate_missing: also deactivate the staff and heads the roster does not list
            (:meth:`RosterPlan.deactivatable`); their records are kept.
        expected: the plan the office confirmed; when given, the import is refused
            unless it would do exactly that.

    Returns:
        What was created (with initial passwords), updated, unchanged, not listed and
        deactivated.

    Raises:
        RosterChanged: the accounts changed since ``expected`` was made; nothing written.
        AccountError: the import would leave no active 创建办 account where there was
            one; nothing written.
        ValueError: two rows share a 工号 (read_roster never returns such rows).
    """
    rows = list(rows)
    by_key = {row.employee_no.lower(): row for row in rows}
    # Hash before taking the writer lock: 24 ms per new person must not hold up others.
    prepared = {
        person.employee_no.lower(): _new_password(
            by_key[person.employee_no.lower()], password_factory
        )
        for person in (expected or plan_roster(db, rows)).new
    }

    with write(db):
        # Planned again under the lock: someone may have changed an account since.
        plan = plan_roster(db, rows)
        had_admin = _has_active_admin(db)
        if expected is not None and plan._signature() != expected._signature():
            raise RosterChanged()
        created = []
        for person in plan.new:
            key = person.employee_no.lower()
            password, password_hash = prepared.get(key) or _new_password(
                by_key[key], password_factory
            )
            added = add_person(
                db,
                person.employee_no,
                person.name,
                person.department,
                person.role,
                password_hash,
                now,
                title=person.title,
            )
            created.append(NewAccount(added, password))
        for updated in plan.changed:
            after = updated.after
            assert after is not None
            update_person(
                db,
                after.employee_no,
                after.name,
                after.department,
                after.role,
                now,
                title=after.title,
            )
            if any(change.field == "active" for change in updated.changes):
                reactivate_account(db, after.employee_no, now)
        deactivated = plan.deactivatable() if deactivate_missing else ()
        for person in deactivated:
            deactivate_account(db, person.employee_no, now)
        if had_admin and not _has_active_admin(db):
            # A roster that lists every admin as 职工 would lock the office out.
            raise AccountError(
                "导入后将没有在用的创建办账号（名册把所有创建办人员的角色改掉了），"
                "未做任何修改；请在名册中保留至少一名创建办人员的角色"
            )
    return ImportReport(
        tuple(created),
        plan.changed,
        tuple(person.employee_no for person in plan.unchanged),
        plan.missing,
        deactivated,
    )


def _has_active_admin(db: sqlite_utils.Database) -> bool:
    return any(person.role is Role.ADMIN for person in list_people(db, active_only=True))


def _new_password(row: RosterRow, factory: Callable[[], str]) -> tuple[str, str]:
    password = row.initial_password or factory()
    return password, hash_password(password)


def _changes(person: Person, after: Person) -> tuple[Change, ...]:
    changes = []
    if person.name != after.name:
        changes.append(Change("name", person.name, after.name))
    if person.department != after.department:
        changes.append(Change("department", person.department, after.department))
    if person.title != after.title:
        changes.append(Change("title", person.title, after.title))
    if person.role is not after.role:
        changes.append(Change("role", person.role.label, after.role.label))
    if not person.active:
        changes.append(Change("active", "停用", "在用"))
    return tuple(changes)


PREVIEW_COLUMNS = ("类别", "工号", "姓名", "部门", "职务", "角色", "变化与处理")


def preview_rows(plan: RosterPlan, deactivate_missing: bool) -> Iterator[tuple[str, ...]]:
    """The preview as rows under :data:`PREVIEW_COLUMNS`: new, changed (each change as
    “部门：监测站 → 监察支队”), unchanged, then the people in the system the roster does not
    list, with what will happen to them."""
    deactivatable = {person.employee_no for person in plan.deactivatable()}

    def row(kind: str, person: Person, note: str) -> tuple[str, ...]:
        return (
            kind,
            person.employee_no,
            person.name,
            person.department,
            person.title,
            person.role.label,
            note,
        )

    for person in plan.new:
        yield row("新增", person, "新建账号，发初始密码（首次登录须修改）")
    for updated in plan.changed:
        assert updated.after is not None
        yield row("变更", updated.after, "；".join(str(change) for change in updated.changes))
    for person in plan.unchanged:
        yield row("未变", person, "")
    for person in plan.missing:
        if person.employee_no not in deactivatable:
            note = "不做改动（创建办账号不随名册停用）"
        elif deactivate_missing:
            note = "将停用（不能再登录，学习记录保留）"
        else:
            note = "不做改动（如已调离，可勾选停用或在“账号”中停用）"
        yield row("名册中没有", person, note)
