"""The question-bank spreadsheet (.xlsx) used by Chinese exam platforms, and YAML writing.

Sheet 题目: one row a question, columns 题号, 题型 (单选/多选/判断/填空), 题干, 选项A…选项F,
答案 (B; ABD; 正确/错误; fill variants separated by ``|``), 解析, 分值, 出处 (``文件名：引文``),
停用 (why a question is retired; optional, blank for a question in service).
Sheet 测验信息: the quiz-level fields, one a row (字段, 值, 填写说明).

An imported sheet is converted to the YAML-shaped data and validated by the same code as
a bank file (:func:`quizzes.bank.quiz_from_data`), so the two formats accept the same
quizzes and a round trip YAML -> xlsx -> YAML gives an equal :class:`~quizzes.bank.Quiz`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import openpyxl
import yaml
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from quizzes.bank import (
    OPTION_KEYS,
    REPORTED,
    FieldPath,
    Locator,
    Question,
    Quiz,
    QuizFormatError,
    quiz_from_data,
)
from quizzes.export_cells import text_cells
from quizzes.workbooks import UnreadableWorkbook, open_untrusted_xlsx

QUESTION_SHEET = "题目"
INFO_SHEET = "测验信息"
OPTION_COLUMNS = tuple(f"选项{key}" for key in OPTION_KEYS)
HEADERS = ("题号", "题型", "题干", *OPTION_COLUMNS, "答案", "解析", "分值", "出处", "停用")
REQUIRED_HEADERS = ("题型", "题干", "答案", "出处")
MAX_ROWS = 5000

TYPE_LABELS = {"single": "单选", "multiple": "多选", "true_false": "判断", "fill": "填空"}
_TYPE_BY_LABEL = {
    **{label: qtype for qtype, label in TYPE_LABELS.items()},
    **{label + "题": qtype for qtype, label in TYPE_LABELS.items()},
    **{qtype: qtype for qtype in TYPE_LABELS},
}
_TRUE = {"正确", "对", "是", "√", "✓", "T", "TRUE", "Y"}
_FALSE = {"错误", "错", "否", "×", "✗", "F", "FALSE", "N"}
_YES = {"是", "TRUE", "Y", "YES", "1"}
_NO = {"否", "FALSE", "N", "NO", "0"}
# Separators people type between the keys of a multiple-choice answer: "ABD", "A,B,D", "A、B、D".
_KEY_SEPARATORS = re.compile(r"[\s,，、;；/]+")
_SOURCE_SPLIT = re.compile(r"[：:]")

# (field, label, hint) of the 测验信息 sheet, in row order.
INFO_FIELDS = (
    ("id", "测验编号", "小写字母、数字和连字符，即题库文件名"),
    ("title", "标题", ""),
    ("description", "说明", "可留空"),
    ("pass_mark", "及格分", "总分的百分比，1–100"),
    ("time_limit_minutes", "限时（分钟）", "留空表示不限时"),
    ("draw", "抽题数", "“全部”或不超过题目数的正整数"),
    ("attempts_allowed", "可作答次数", "至少 1"),
    ("shuffle_questions", "题目乱序", "是/否"),
    ("shuffle_options", "选项乱序", "是/否"),
)
_INFO_LABEL = {name: label for name, label, _ in INFO_FIELDS}
_COLUMN_FOR_FIELD = {
    "id": "题号",
    "type": "题型",
    "stem": "题干",
    "options": "选项",
    "answer": "答案",
    "explanation": "解析",
    "points": "分值",
    "source": "出处",
    "retired": "停用",
}


def export_quiz_xlsx(quiz: Quiz, path: Path | str) -> None:
    """Write ``quiz`` as a question-bank spreadsheet (sheets 题目 and 测验信息), atomically.

    Flagged questions are exported too, so the office can correct their sources.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = QUESTION_SHEET
    ws.append(list(HEADERS))
    for question in quiz.questions:
        ws.append(_question_row(question))
    _style(ws, widths={"A": 8, "B": 8, "C": 48, "M": 48, "N": 24})

    info = wb.create_sheet(INFO_SHEET)
    info.append(["字段", "值", "填写说明"])
    for name, label, hint in INFO_FIELDS:
        info.append([label, _info_value(quiz, name), hint])
    _style(info, widths={"A": 16, "B": 40, "C": 36})

    with _atomic(Path(path), "wb") as out:
        wb.save(out)


def _question_row(question: Question) -> list[Any]:
    options = dict(question.options)
    return [
        question.id,
        TYPE_LABELS[question.type],
        question.stem,
        *(options.get(key) for key in OPTION_KEYS),
        _answer_cell(question),
        question.explanation or None,
        _number(question.points),
        f"{question.source.document}：{question.source.quote}",
        question.retired,
    ]


def _answer_cell(question: Question) -> str:
    answer = question.answer
    if question.type == "true_false":
        return "正确" if answer else "错误"
    if question.type == "multiple":
        return "".join(answer)  # type: ignore[arg-type]
    if question.type == "fill":
        return "|".join(answer)  # type: ignore[arg-type]
    return str(answer)


def _info_value(quiz: Quiz, name: str) -> Any:
    if name == "draw":
        return "全部" if quiz.draw is None else quiz.draw
    if name in ("shuffle_questions", "shuffle_options"):
        return "是" if getattr(quiz, name) else "否"
    value = getattr(quiz, name)
    return value if value != "" else None


def _style(ws: Worksheet, widths: dict[str, int]) -> None:
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
    # A stem or an answer starting with "=" must never run in Excel.
    text_cells(ws)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def import_quiz_xlsx(path: Path | str, corpus: Mapping[str, str]) -> Quiz:
    """Read and validate a question-bank spreadsheet; nothing is written.

    The whole file is checked before anything is returned; every problem names the row
    as Excel shows it, e.g. ``bank.xlsx:第7行 答案: ...``. Rows left entirely blank are
    skipped. A blank 题号 becomes ``q`` and the question's position (``q07``).

    Args:
        path: the .xlsx file.
        corpus: document file name -> full text; every 出处 must be found in it.

    Returns:
        The quiz.

    Raises:
        QuizFormatError: with every problem found.
    """
    path = Path(path)
    name = path.name
    try:
        with open_untrusted_xlsx(path) as wb:
            return _import(wb, name, corpus)
    except UnreadableWorkbook as error:
        raise QuizFormatError([f"{name}: 无法读取 Excel 文件（{error}）"]) from None


def _import(wb: openpyxl.Workbook, name: str, corpus: Mapping[str, str]) -> Quiz:
    errors: list[str] = []
    sheets = {ws.title: ws for ws in wb.worksheets}
    questions_ws = sheets.get(QUESTION_SHEET) or next(
        (ws for title, ws in sheets.items() if title != INFO_SHEET), None
    )
    info_ws = sheets.get(INFO_SHEET)
    if questions_ws is None:
        errors.append(f"{name}: 缺少工作表 “{QUESTION_SHEET}”")
    if info_ws is None:
        errors.append(f"{name}: 缺少工作表 “{INFO_SHEET}”")
    if errors:
        raise QuizFormatError(errors)
    assert questions_ws is not None and info_ws is not None

    data: dict[str, Any] = {}
    info_rows = _read_info(info_ws, name, data, errors)
    question_rows: list[int] = []
    quiz = None
    if _read_questions(questions_ws, name, data, question_rows, errors):
        locate = _locator(name, question_rows, info_rows)
        quiz, problems = quiz_from_data(data, corpus, locate)
        errors.extend(problems)
    if errors:
        raise QuizFormatError(_by_row(errors, name))
    assert quiz is not None
    return quiz


def _cells(ws: Worksheet, max_row: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    # Numbered as Excel shows them; max_row bounds the work a hostile sheet can cause.
    return enumerate(ws.iter_rows(values_only=True, max_row=max_row), start=1)


def _read_info(ws: Worksheet, name: str, data: dict[str, Any], errors: list[str]) -> dict[str, int]:
    field_by_label = {label: name for name, label, _ in INFO_FIELDS}
    rows: dict[str, int] = {}
    for number, row in _cells(ws, max_row=200):
        if number == 1 or not row:
            continue
        label = _clean(row[0])
        if not isinstance(label, str) or label not in field_by_label:
            continue
        field = field_by_label[label]
        rows[field] = number
        value = _clean(row[1]) if len(row) > 1 else None
        if value is None:
            continue
        converted = _info_field(field, value)
        if converted is REPORTED:
            hint = "“是” 或 “否”" if field.startswith("shuffle") else "“全部” 或正整数"
            errors.append(
                f"{name}:{INFO_SHEET} 第{number}行 {label}: 应填 {hint}，实际是 “{value}”"
            )
        data[field] = converted
    return rows


def _info_field(field: str, value: Any) -> Any:
    if field in ("shuffle_questions", "shuffle_options"):
        if isinstance(value, bool):
            return value
        text = str(value).strip().upper()
        if text in _YES:
            return True
        if text in _NO:
            return False
        return REPORTED
    if field == "draw":
        if isinstance(value, str) and value.strip() in ("全部", "all"):
            return "all"
        number = _as_number(value)
        return number if isinstance(number, int) and not isinstance(number, bool) else REPORTED
    if field in ("pass_mark", "time_limit_minutes", "attempts_allowed"):
        return _as_number(value)
    return _text(value)


def _read_questions(
    ws: Worksheet,
    name: str,
    data: dict[str, Any],
    question_rows: list[int],
    errors: list[str],
) -> bool:
    columns: dict[str, int] = {}
    questions: list[dict[str, Any]] = []
    for number, row in _cells(ws, max_row=MAX_ROWS + 2):
        if number == 1:
            for index, header in enumerate(row):
                header = _clean(header)
                if isinstance(header, str) and header in HEADERS and header not in columns:
                    columns[header] = index
            missing = [h for h in REQUIRED_HEADERS if h not in columns]
            if missing:
                errors.append(f"{name}:第1行: 缺少列 {'、'.join(f'“{h}”' for h in missing)}")
                return False
            continue
        if number > MAX_ROWS + 1:
            errors.append(f"{name}: 题目超过 {MAX_ROWS} 行，请拆分为多个测验")
            return False

        def cell(header: str, row: tuple[Any, ...] = row) -> Any:
            index = columns.get(header)
            return _clean(row[index]) if index is not None and index < len(row) else None

        if all(cell(h) is None for h in HEADERS):
            continue
        question_rows.append(number)
        questions.append(_question_data(cell, len(questions), name, number, errors))
    data["questions"] = questions
    return True


def _question_data(
    cell: Callable[[str], Any], index: int, name: str, row: int, errors: list[str]
) -> dict[str, Any]:
    def fail(column: str, reason: str) -> Any:
        errors.append(f"{name}:第{row}行 {column}: {reason}")
        return REPORTED

    raw: dict[str, Any] = {}
    qid = cell("题号")
    raw["id"] = f"q{index + 1:02d}" if qid is None else _text(qid)

    label = cell("题型")
    qtype = None
    if label is not None:
        qtype = _TYPE_BY_LABEL.get(str(label).strip())
        if qtype is None:
            qtype = fail("题型", f"题型 “{label}” 无效，应为 单选、多选、判断 或 填空")
        raw["type"] = qtype

    if cell("题干") is not None:
        raw["stem"] = _text(cell("题干"))
    options = {
        key: _text(cell(f"选项{key}")) for key in OPTION_KEYS if cell(f"选项{key}") is not None
    }
    if options:
        raw["options"] = options

    answer = cell("答案")
    if answer is not None:
        raw["answer"] = _answer_value(qtype, answer, fail)

    if cell("解析") is not None:
        raw["explanation"] = _text(cell("解析"))
    points = cell("分值")
    if points is not None:
        raw["points"] = _as_number(points)

    source = cell("出处")
    if source is not None:
        parts = _SOURCE_SPLIT.split(_text(source), maxsplit=1)
        if len(parts) == 2 and parts[0].strip() and parts[1].strip():
            raw["source"] = {"document": parts[0].strip(), "quote": parts[1].strip()}
        else:
            raw["source"] = fail("出处", f"出处应写成 “文件名：引文”，实际是 “{source}”")
    if cell("停用") is not None:
        raw["retired"] = _text(cell("停用"))
    return raw


def _answer_value(qtype: Any, value: Any, fail: Callable[[str, str], Any]) -> Any:
    if qtype == "true_false":
        if isinstance(value, bool):
            return value
        text = _text(value).upper()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return fail("答案", f"判断题答案应为 “正确” 或 “错误”，实际是 “{value}”")
    if qtype == "multiple":
        return list(_KEY_SEPARATORS.sub("", _text(value)).upper())
    if qtype == "single":
        return _text(value).upper()
    if qtype == "fill":
        return [part.strip() for part in re.split(r"[|｜]", _text(value))]
    return value


def _locator(name: str, question_rows: list[int], info_rows: dict[str, int]) -> Locator:
    def locate(path: FieldPath) -> str:
        if not path:
            return name
        head = path[0]
        if head == "questions":
            if len(path) == 1:
                return f"{name}:{QUESTION_SHEET}"
            index = path[1]
            assert isinstance(index, int)
            where = f"{name}:第{question_rows[index]}行"
            if len(path) == 2:
                return where
            column = _COLUMN_FOR_FIELD.get(str(path[2]), str(path[2]))
            if path[2] == "options" and len(path) > 3:
                column = f"选项{path[3]}"
            return f"{where} {column}"
        label = _INFO_LABEL.get(str(head), str(head))
        row = info_rows.get(str(head))
        return f"{name}:{INFO_SHEET} 第{row}行 {label}" if row else f"{name}:{INFO_SHEET} {label}"

    return locate


def _by_row(errors: list[str], name: str) -> list[str]:
    # Quiz-level problems first, then the question rows top to bottom, left to right.
    columns = {header: i for i, header in enumerate(HEADERS)} | {"选项": HEADERS.index("选项A")}

    def key(message: str) -> tuple[int, int, int]:
        info = re.match(re.escape(f"{name}:{INFO_SHEET} 第") + r"(\d+)行", message)
        if info:
            return 0, int(info.group(1)), 0
        row = re.match(re.escape(name) + r":第(\d+)行 ?([^:]*):", message)
        if row is None:
            return 0, 0, 0
        return 1, int(row.group(1)), columns.get(row.group(2), -1)

    return sorted(errors, key=key)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value.strip() if isinstance(value, str) else str(value)


def _as_number(value: Any) -> Any:
    # Excel keeps every number as a float; typed text like "80" is accepted too.
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def write_quiz_yaml(quiz: Quiz, path: Path | str) -> None:
    """Write ``quiz`` in the bank's YAML format, atomically (temp file + ``os.replace``).

    Flags are not written (they come from the corpus at load time).

    Raises:
        ValueError: the file name does not match the quiz id (the bank would reject it).
    """
    path = Path(path)
    if path.stem != quiz.id or path.suffix != ".yaml":
        raise ValueError(f"题库文件名应为 {quiz.id}.yaml，而不是 {path.name}")
    text = yaml.dump(
        _quiz_document(quiz),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=4096,
        default_flow_style=False,
    )
    with _atomic(path, "w") as out:
        out.write(text)


class _Flow(list):  # type: ignore[type-arg]
    """A list written in flow style: [A, C]."""


class _Dumper(yaml.SafeDumper):
    # Indent list items under their key ("questions:\n  - id: q01"), as the bank is written.
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _quiz_document(quiz: Quiz) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": quiz.id, "title": quiz.title}
    if quiz.description:
        doc["description"] = quiz.description
    doc["pass_mark"] = quiz.pass_mark
    if quiz.time_limit_minutes is not None:
        doc["time_limit_minutes"] = quiz.time_limit_minutes
    doc["draw"] = "all" if quiz.draw is None else quiz.draw
    doc["attempts_allowed"] = quiz.attempts_allowed
    doc["shuffle_questions"] = quiz.shuffle_questions
    doc["shuffle_options"] = quiz.shuffle_options
    doc["questions"] = [_question_document(q) for q in quiz.questions]
    return doc


def _question_document(question: Question) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": question.id, "type": question.type, "stem": question.stem}
    if question.options:
        doc["options"] = dict(question.options)
    answer = question.answer
    doc["answer"] = _Flow(answer) if isinstance(answer, tuple) else answer
    if question.points != 1:
        doc["points"] = _number(question.points)
    if question.explanation:
        doc["explanation"] = question.explanation
    doc["source"] = {"document": question.source.document, "quote": question.source.quote}
    if question.retired:
        doc["retired"] = question.retired
    return doc


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    # Readers (the app loading the bank) see the old file or the new one, never half of
    # one. The temporary name is hidden and not *.yaml, so a bank scan never picks it up.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file private (0600); the app may run as another user.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
