"""The quiz bank: one YAML file per quiz, validated into frozen dataclasses.

Every problem is reported in the machine form ``file:line: field.path: reason`` with the
line taken from YAML's composed node tree, so the office can jump to it in an editor.

Two kinds of problem are kept apart:

* structural errors (a missing field, an answer that is not an option, ...) make the whole
  file fail: a quiz that cannot be graded correctly must not be served;
* a question may be retired (``retired: why``): it stays in the file and in the quiz,
  so attempts and statistics that hold its id still show it, but it is never drawn
  again. Removing a question from the file would leave an attempt in progress that
  drew it unable to show it; a retired id is never reused for another question.

* a source that no longer matches the corpus (the document is gone, or its quote is no
  longer in it) only *flags* that question: the quiz still loads, the flagged question is
  kept out of graded attempts and listed in :attr:`Bank.flagged` for the office to revise.
  A document edited after the bank was written must not take the quiz down. The command
  line ``validate`` still treats such a question as an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from base.text import fold
from quizzes.grading import normalize_fill

QuestionType = Literal["single", "multiple", "true_false", "fill"]
QUESTION_TYPES: tuple[str, ...] = ("single", "multiple", "true_false", "fill")
CHOICE_TYPES: tuple[str, ...] = ("single", "multiple")
OPTION_KEYS = "ABCDEF"
_OPTION_KEY_SET = frozenset(OPTION_KEYS)  # membership in the string would accept "AB" or ""
MIN_OPTIONS = 2
MAX_OPTIONS = 6
MAX_POINTS = 100

QUIZ_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Question ids end up in the database and in widget keys: keep them to plain ASCII.
QUESTION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
BLANK_RE = re.compile(r"_{4,}")
# "|" separates fill variants in the spreadsheet; forbidding it here keeps every quiz
# expressible in both formats, so a round trip is lossless.
FILL_SEPARATOR = "|"

# A path into the quiz data: ("questions", 3, "answer") is questions[3].answer.
FieldPath = tuple[str | int, ...]
# Turns a field path into the location prefix of a message, e.g. "x.yaml:12: id".
Locator = Callable[[FieldPath], str]

AnswerKey = str | bool | tuple[str, ...]

_QUIZ_FIELDS = (
    "id",
    "title",
    "description",
    "pass_mark",
    "time_limit_minutes",
    "draw",
    "attempts_allowed",
    "shuffle_questions",
    "shuffle_options",
    "questions",
)
_QUESTION_FIELDS = (
    "id",
    "type",
    "stem",
    "options",
    "answer",
    "points",
    "explanation",
    "source",
    "retired",
)
_SOURCE_FIELDS = ("document", "quote")


class QuizFormatError(ValueError):
    """A quiz file (YAML or spreadsheet) that cannot be used; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(errors)


class UnknownQuiz(KeyError):
    """No quiz with this id is in the bank (never written, or its file failed to load)."""

    def __init__(self, quiz_id: str) -> None:
        super().__init__(quiz_id)
        self.quiz_id = quiz_id

    def __str__(self) -> str:
        return f"题库中没有可用的测验 “{self.quiz_id}”"


@dataclass(frozen=True)
class Source:
    """Where in the corpus a question's answer is written.

    Attributes:
        document: file name in the corpus, e.g. ``chuangjian_wenming_danwei_shishi_fangan.txt``.
        quote: text of that document (matched after NFKC and without whitespace).
    """

    document: str
    quote: str


@dataclass(frozen=True)
class Question:
    """One question of a quiz.

    Attributes:
        id: stable id, unique within the quiz.
        type: ``single``, ``multiple``, ``true_false`` or ``fill``.
        stem: the question text; a fill question holds one blank ``____``.
        options: ``(key, text)`` pairs in key order A, B, ...; empty unless single/multiple.
        answer: single: a key; multiple: keys in order; true_false: a bool;
            fill: the accepted variants.
        points: a positive multiple of 0.5.
        explanation: shown after grading; may be empty.
        source: the passage that answers the question.
        flag: why the question is flagged (its source no longer matches the corpus) in the
            machine message form, or ``None``. Flagged questions are never drawn.
        retired: why the question was taken out of service (e.g. it repeated another),
            or ``None``. Retired questions are never drawn.
    """

    id: str
    type: QuestionType
    stem: str
    options: tuple[tuple[str, str], ...]
    answer: AnswerKey
    points: float
    explanation: str
    source: Source
    flag: str | None = None
    retired: str | None = None

    @property
    def option_keys(self) -> tuple[str, ...]:
        """The option keys in order, e.g. ``("A", "B", "C", "D")``."""
        return tuple(key for key, _ in self.options)

    def option_text(self, key: str) -> str:
        """The text of option ``key``; KeyError if there is no such option."""
        return dict(self.options)[key]


@dataclass(frozen=True)
class Quiz:
    """A quiz as loaded from the bank.

    Attributes:
        draw: how many questions an attempt draws at random, or ``None`` for all.
        questions: every question of the file in file order, flagged and retired ones
            included.
    """

    id: str
    title: str
    description: str
    pass_mark: int
    time_limit_minutes: int | None
    draw: int | None
    attempts_allowed: int
    shuffle_questions: bool
    shuffle_options: bool
    questions: tuple[Question, ...]

    @property
    def active_questions(self) -> tuple[Question, ...]:
        """The questions that may be drawn into an attempt (neither flagged nor retired)."""
        return tuple(q for q in self.questions if q.flag is None and q.retired is None)

    @property
    def draw_count(self) -> int:
        """How many questions an attempt gets: ``draw``, at most the active questions."""
        active = len(self.active_questions)
        return active if self.draw is None else min(self.draw, active)

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


@dataclass(frozen=True)
class FlaggedQuestion:
    """A question kept out of attempts because its source does not match the corpus."""

    quiz_id: str
    question_id: str
    message: str


@dataclass(frozen=True)
class Bank:
    """The quizzes that loaded, the files that did not, and the flagged questions.

    Attributes:
        quizzes: quiz id -> quiz, in id order.
        errors: file (as given) -> its error messages, for each file that failed to load.
        flagged: questions of loaded quizzes that are kept out of attempts.
    """

    quizzes: dict[str, Quiz] = field(default_factory=dict)
    errors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    flagged: tuple[FlaggedQuestion, ...] = ()

    def quiz(self, quiz_id: str) -> Quiz:
        """The quiz with this id.

        Raises:
            UnknownQuiz: no such quiz loaded.
        """
        try:
            return self.quizzes[quiz_id]
        except KeyError:
            raise UnknownQuiz(quiz_id) from None


def normalize_quote(text: str) -> str:
    """Fold ``text`` for quote matching: NFKC, then every whitespace character removed.

    Whitespace is removed rather than collapsed because Chinese puts no spaces between
    words and extracted text (PDF, docx) breaks lines in mid-sentence.
    """
    return fold(text, case=False, spaces=False)


class CorpusIndex:
    """The corpus with each document folded once for quote lookups."""

    def __init__(self, corpus: Mapping[str, str]) -> None:
        self._corpus = corpus
        self._folded: dict[str, str] = {}

    def has_document(self, name: str) -> bool:
        """Whether the corpus holds a document of this file name."""
        return name in self._corpus

    def contains(self, name: str, quote: str) -> bool:
        """Whether document ``name`` holds ``quote`` (after :func:`normalize_quote`)."""
        if name not in self._folded:
            self._folded[name] = normalize_quote(self._corpus[name])
        return normalize_quote(quote) in self._folded[name]


def load_quiz_file(
    path: Path | str, corpus: Mapping[str, str] | CorpusIndex
) -> tuple[Quiz | None, list[str]]:
    """Load and validate one quiz file.

    Args:
        path: the YAML file; messages name it as given here.
        corpus: document file name -> full text, used to check each question's source
            (or a :class:`CorpusIndex`, to fold each document once for many files).

    Returns:
        ``(quiz, errors)``. With a structural error ``quiz`` is ``None`` and ``errors``
        holds every problem found. Otherwise ``quiz`` is loaded and ``errors`` lists only
        the flagged questions' source problems (empty for a clean file).
    """
    path = Path(path)
    index = corpus if isinstance(corpus, CorpusIndex) else CorpusIndex(corpus)
    shown = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return None, [f"{shown}:1: 无法读取文件：{exc.strerror or exc}"]
    except UnicodeDecodeError:
        return None, [f"{shown}:1: 文件不是 UTF-8 编码"]

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_error(shown, exc)]
    except yaml.YAMLError as exc:
        return None, [f"{shown}:1: YAML 语法错误：{exc}"]
    finally:
        loader.dispose()
    if node is None:
        return None, [f"{shown}:1: 文件为空"]

    lines: dict[FieldPath, int] = {}
    duplicates: list[tuple[FieldPath, int]] = []
    _index_lines(node, (), lines, duplicates, set())

    def locate(field_path: FieldPath) -> str:
        line = 1
        for end in range(len(field_path), 0, -1):
            if field_path[:end] in lines:
                line = lines[field_path[:end]]
                break
        if not field_path:
            return f"{shown}:{line}"
        return f"{shown}:{line}: {format_path(field_path)}"

    report = _Report(locate)
    for dup_path, line in duplicates:
        report.errors.append(f"{shown}:{line}: {format_path(dup_path)}: 字段重复")
        report.failed = True
    quiz = _build_quiz(data, report, index, expected_id=path.stem)
    # Checks run field by field; a reader fixes the file top to bottom.
    prefix = len(shown) + 1
    errors = sorted(report.errors, key=lambda m: int(m[prefix:].split(":", 1)[0]))
    return (None if report.failed else quiz), errors


def _syntax_error(shown: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = exc.problem or exc.context or "无法解析"
    message = f"{shown}:{line}: YAML 语法错误：{problem}"
    # An unclosed bracket is noticed lines later; name where the construct began.
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        message += f"（{exc.context}，始于第 {exc.context_mark.line + 1} 行）"
    return message


def load_bank(quiz_dir: Path | str, corpus: Mapping[str, str]) -> Bank:
    """Load every ``*.yaml`` quiz in ``quiz_dir``; a bad file never stops the others.

    Args:
        quiz_dir: the bank folder; messages name files under it as given here.
        corpus: document file name -> full text.

    Returns:
        The quizzes that loaded (flagged questions inside them), the errors of each file
        that did not, and the flagged questions.
    """
    quiz_dir = Path(quiz_dir)
    index = CorpusIndex(corpus)
    quizzes: dict[str, Quiz] = {}
    errors: dict[str, tuple[str, ...]] = {}
    flagged: list[FlaggedQuestion] = []
    if not quiz_dir.is_dir():
        return Bank(errors={str(quiz_dir): (f"{quiz_dir}: 题库目录不存在",)})
    for path in bank_files(quiz_dir):
        quiz, messages = load_quiz_file(path, index)
        if quiz is None:
            errors[str(path)] = tuple(messages)
            continue
        quizzes[quiz.id] = quiz
        flagged.extend(
            FlaggedQuestion(quiz.id, q.id, q.flag) for q in quiz.questions if q.flag is not None
        )
    return Bank(quizzes=quizzes, errors=errors, flagged=tuple(flagged))


def bank_files(quiz_dir: Path) -> list[Path]:
    """The quiz files of a bank folder, in name order (hidden and temporary files skipped)."""
    return sorted(p for p in quiz_dir.glob("*.yaml") if not p.name.startswith("."))


def format_path(field_path: FieldPath) -> str:
    """``("questions", 3, "answer")`` -> ``questions[3].answer``."""
    out = ""
    for part in field_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def quiz_from_data(
    data: Any,
    corpus: Mapping[str, str] | CorpusIndex,
    locate: Locator,
    *,
    expected_id: str | None = None,
) -> tuple[Quiz | None, list[str]]:
    """Validate quiz data shaped like the YAML format (the spreadsheet importer uses this).

    Args:
        data: the parsed fields. A value of :data:`REPORTED` stands for a field whose
            problem the caller has already reported.
        corpus: document file name -> full text.
        locate: turns a field path into the prefix of a message.
        expected_id: the id the quiz must have (the file stem), if any.

    Returns:
        ``(quiz, errors)`` as :func:`load_quiz_file`.
    """
    index = corpus if isinstance(corpus, CorpusIndex) else CorpusIndex(corpus)
    report = _Report(locate)
    quiz = _build_quiz(data, report, index, expected_id=expected_id)
    return (None if report.failed else quiz), report.errors


class _Reported:
    def __repr__(self) -> str:
        return "REPORTED"


REPORTED: Any = _Reported()
"""Placeholder for a field whose problem a caller already reported (see quiz_from_data)."""

_MISSING: Any = object()


class _Report:
    def __init__(self, locate: Locator) -> None:
        self.locate = locate
        self.errors: list[str] = []
        self.failed = False

    def message(self, path: FieldPath, reason: str) -> str:
        return f"{self.locate(path)}: {reason}"

    def error(self, path: FieldPath, reason: str) -> None:
        self.failed = True
        self.errors.append(self.message(path, reason))

    def flag(self, path: FieldPath, reason: str) -> str:
        text = self.message(path, reason)
        self.errors.append(text)
        return text


def _index_lines(
    node: yaml.Node,
    path: FieldPath,
    lines: dict[FieldPath, int],
    duplicates: list[tuple[FieldPath, int]],
    visited: set[int],
) -> None:
    # A mapping entry is located at its key (the line that reads "answer:"), a sequence
    # item at the item itself. An aliased node is walked once: nested aliases ("billion
    # laughs") would otherwise take exponential time; its other paths fall back to the
    # line of the nearest indexed ancestor.
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, duplicates, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, duplicates, visited)


def _kind(value: Any) -> str:
    # The reader is an office clerk editing YAML: name the type the way YAML wrote it.
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, int):
        return "整数"
    if isinstance(value, float):
        return "小数"
    if isinstance(value, str):
        return "字符串"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "映射"
    if isinstance(value, date | datetime):
        return "日期"
    return type(value).__name__


def _get(raw: dict[Any, Any], key: str) -> Any:
    return raw.get(key, _MISSING)


def _check_unknown(
    raw: dict[Any, Any], known: Sequence[str], path: FieldPath, rep: _Report
) -> None:
    for key in raw:
        if key not in known:
            rep.error((*path, str(key)), f"未知字段（可用字段：{'、'.join(known)}）")


def _text(
    raw: dict[Any, Any],
    key: str,
    path: FieldPath,
    rep: _Report,
    *,
    required: bool,
    allow_empty: bool = False,
) -> str | None:
    value = _get(raw, key)
    where = (*path, key)
    if value is REPORTED:
        rep.failed = True
        return None
    if value is _MISSING or value is None:
        if required:
            rep.error(where, "缺少必填字段")
            return None
        return ""
    if not isinstance(value, str):
        rep.error(where, f"应为字符串，实际是{_kind(value)}")
        return None
    value = value.strip()
    if not value and not allow_empty:
        rep.error(where, "不能为空")
        return None
    return value


def _integer(
    raw: dict[Any, Any], key: str, path: FieldPath, rep: _Report, *, required: bool
) -> int | None:
    value = _get(raw, key)
    where = (*path, key)
    if value is REPORTED:
        rep.failed = True
        return None
    if value is _MISSING or value is None:
        if required:
            rep.error(where, "缺少必填字段")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        rep.error(where, f"应为整数，实际是{_kind(value)}")
        return None
    return value


def _flag_field(raw: dict[Any, Any], key: str, path: FieldPath, rep: _Report) -> bool:
    value = _get(raw, key)
    if value is REPORTED:
        rep.failed = True
        return False
    if value is _MISSING or value is None:
        return False
    if not isinstance(value, bool):
        rep.error((*path, key), f"应为 true 或 false，实际是{_kind(value)}")
        return False
    return value


def _build_quiz(
    data: Any, rep: _Report, corpus: CorpusIndex, *, expected_id: str | None
) -> Quiz | None:
    if not isinstance(data, dict):
        rep.error((), f"文件内容应为映射（id、title、questions 等字段），实际是{_kind(data)}")
        return None
    _check_unknown(data, _QUIZ_FIELDS, (), rep)

    quiz_id = _text(data, "id", (), rep, required=True)
    if quiz_id is not None:
        if not QUIZ_ID_RE.fullmatch(quiz_id):
            rep.error(("id",), f"测验编号 “{quiz_id}” 只能由小写字母、数字和连字符组成")
        elif expected_id is not None and quiz_id != expected_id:
            rep.error(("id",), f"测验编号 “{quiz_id}” 应与文件名 “{expected_id}” 一致")
    title = _text(data, "title", (), rep, required=True)
    description = _text(data, "description", (), rep, required=False, allow_empty=True)

    pass_mark = _integer(data, "pass_mark", (), rep, required=True)
    if pass_mark is not None and not 1 <= pass_mark <= 100:
        rep.error(("pass_mark",), f"及格分 {pass_mark} 应在 1–100 之间（总分的百分比）")
    time_limit = _integer(data, "time_limit_minutes", (), rep, required=False)
    if time_limit is not None and time_limit <= 0:
        rep.error(("time_limit_minutes",), f"限时 {time_limit} 分钟应大于 0（不限时则删去此字段）")
    attempts_allowed = _integer(data, "attempts_allowed", (), rep, required=True)
    if attempts_allowed is not None and attempts_allowed < 1:
        rep.error(("attempts_allowed",), f"可作答次数 {attempts_allowed} 应至少为 1")
    shuffle_questions = _flag_field(data, "shuffle_questions", (), rep)
    shuffle_options = _flag_field(data, "shuffle_options", (), rep)

    questions: list[Question] = []
    raw_questions = _get(data, "questions")
    if raw_questions is REPORTED:
        rep.failed = True
    elif raw_questions is _MISSING or raw_questions is None:
        rep.error(("questions",), "缺少必填字段")
    elif not isinstance(raw_questions, list):
        rep.error(("questions",), f"应为题目列表，实际是{_kind(raw_questions)}")
    elif not raw_questions:
        rep.error(("questions",), "至少要有一道题")
    else:
        first_seen: dict[str, int] = {}
        for i, raw in enumerate(raw_questions):
            question = _build_question(raw, ("questions", i), rep, corpus)
            qid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(qid, str) and qid.strip():
                qid = qid.strip()
                if qid in first_seen:
                    rep.error(
                        ("questions", i, "id"),
                        f"题号 “{qid}” 重复（第 {first_seen[qid] + 1} 道题已用过）",
                    )
                else:
                    first_seen[qid] = i
            if question is not None:
                questions.append(question)

    draw = _draw(data, rep, len(raw_questions) if isinstance(raw_questions, list) else None)

    if rep.failed:
        return None
    assert quiz_id is not None and title is not None and description is not None
    assert pass_mark is not None and attempts_allowed is not None
    return Quiz(
        id=quiz_id,
        title=title,
        description=description,
        pass_mark=pass_mark,
        time_limit_minutes=time_limit,
        draw=draw,
        attempts_allowed=attempts_allowed,
        shuffle_questions=shuffle_questions,
        shuffle_options=shuffle_options,
        questions=tuple(questions),
    )


def _draw(data: dict[Any, Any], rep: _Report, question_count: int | None) -> int | None:
    value = _get(data, "draw")
    if value is REPORTED:
        rep.failed = True
        return None
    if value is _MISSING or value is None or value == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        rep.error(("draw",), f"抽题数应为 all 或正整数，实际是 “{value}”")
        return None
    if question_count is not None and not 1 <= value <= question_count:
        rep.error(
            ("draw",), f"抽题数 {value} 应在 1–{question_count} 之间（题目共 {question_count} 道）"
        )
        return None
    if question_count is None and value < 1:
        rep.error(("draw",), f"抽题数 {value} 应至少为 1")
        return None
    return value


def _build_question(
    raw: Any, path: FieldPath, rep: _Report, corpus: CorpusIndex
) -> Question | None:
    if not isinstance(raw, dict):
        rep.error(path, f"每道题应为映射（id、type、stem 等字段），实际是{_kind(raw)}")
        return None
    # Track this question's own failure: a question with an error is left out entirely.
    failed_before = rep.failed
    rep.failed = False
    _check_unknown(raw, _QUESTION_FIELDS, path, rep)

    qid = _text(raw, "id", path, rep, required=True)
    if qid is not None and not QUESTION_ID_RE.fullmatch(qid):
        rep.error((*path, "id"), f"题号 “{qid}” 只能由字母、数字、下划线和连字符组成（至多 64 个）")

    qtype: str | None = None
    raw_type = _get(raw, "type")
    if raw_type is REPORTED:
        rep.failed = True
    elif raw_type is _MISSING or raw_type is None:
        rep.error((*path, "type"), "缺少必填字段")
    elif raw_type not in QUESTION_TYPES:
        rep.error(
            (*path, "type"), f"题型 “{raw_type}” 无效，应为 single、multiple、true_false 或 fill"
        )
    else:
        qtype = raw_type

    stem = _text(raw, "stem", path, rep, required=True)
    if stem is not None and qtype == "fill":
        blanks = len(BLANK_RE.findall(stem))
        if blanks != 1:
            rep.error((*path, "stem"), f"填空题题干应恰有一处空格 ____，实际有 {blanks} 处")

    options = _options(raw, path, rep, qtype)
    answer = _answer(raw, path, rep, qtype, options)
    points = _points(raw, path, rep)
    explanation = _text(raw, "explanation", path, rep, required=False, allow_empty=True)
    source, flag = _source(raw, path, rep, corpus)
    retired = _text(raw, "retired", path, rep, required=False)

    question_failed = rep.failed
    rep.failed = failed_before or question_failed
    if question_failed:
        return None
    assert qid is not None and qtype is not None and stem is not None
    assert answer is not None and points is not None and explanation is not None
    assert source is not None and retired is not None
    return Question(
        id=qid,
        type=qtype,  # type: ignore[arg-type]
        stem=stem,
        options=options or (),
        answer=answer,
        points=points,
        explanation=explanation,
        source=source,
        flag=flag,
        retired=retired or None,
    )


def _option_text(value: Any) -> str | None:
    # Numbers are accepted as option text ({A: 2008, B: 2010} reads naturally); a YAML
    # bool (yes/no/on/off) or a float would not survive as the author wrote it.
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _options(
    raw: dict[Any, Any], path: FieldPath, rep: _Report, qtype: str | None
) -> tuple[tuple[str, str], ...] | None:
    value = _get(raw, "options")
    where = (*path, "options")
    if value is REPORTED:
        rep.failed = True
        return None
    if qtype not in CHOICE_TYPES:
        if value is not _MISSING and value is not None and qtype is not None:
            label = "判断题" if qtype == "true_false" else "填空题"
            rep.error(where, f"{label}不设选项")
        return None
    if value is _MISSING or value is None:
        rep.error(where, "缺少必填字段（单选、多选题需要选项）")
        return None
    if not isinstance(value, dict):
        rep.error(where, f"应为映射，如 {{A: 选项一, B: 选项二}}，实际是{_kind(value)}")
        return None
    ok = True
    texts: dict[str, str] = {}
    for key, text in value.items():
        if text is REPORTED:
            rep.failed = True
            ok = False
            continue
        if not isinstance(key, str) or key not in _OPTION_KEY_SET:
            rep.error((*where, str(key)), f"选项键 “{key}” 无效，应为 A–F 之一")
            ok = False
            continue
        option = _option_text(text)
        if option is None:
            rep.error((*where, key), f"选项文字应为字符串（请加引号），实际是{_kind(text)}")
            ok = False
        elif not option:
            rep.error((*where, key), "选项文字不能为空")
            ok = False
        else:
            texts[key] = option
    if not ok:
        return None
    keys = sorted(texts)
    if not MIN_OPTIONS <= len(keys) <= MAX_OPTIONS:
        rep.error(where, f"选项应有 {MIN_OPTIONS}–{MAX_OPTIONS} 个，实际有 {len(keys)} 个")
        return None
    expected = list(OPTION_KEYS[: len(keys)])
    if keys != expected:
        rep.error(
            where,
            f"选项键应从 A 起连续（{'、'.join(expected)}），实际是 {'、'.join(keys)}",
        )
        return None
    seen: dict[str, str] = {}
    for key in keys:
        folded = normalize_quote(texts[key])
        if folded in seen:
            rep.error((*where, key), f"选项 {key} 与选项 {seen[folded]} 内容相同")
            return None
        seen[folded] = key
    return tuple((key, texts[key]) for key in keys)


def _key_range(options: tuple[tuple[str, str], ...]) -> str:
    return f"{options[0][0]}–{options[-1][0]}"


def _answer(
    raw: dict[Any, Any],
    path: FieldPath,
    rep: _Report,
    qtype: str | None,
    options: tuple[tuple[str, str], ...] | None,
) -> AnswerKey | None:
    value = _get(raw, "answer")
    where = (*path, "answer")
    if value is REPORTED:
        rep.failed = True
        return None
    if value is _MISSING or value is None:
        rep.error(where, "缺少必填字段")
        return None
    if qtype is None:
        return None
    keys = {key for key, _ in options} if options else None

    if qtype == "single":
        if not isinstance(value, str):
            rep.error(where, f"单选题答案应为一个选项键，如 B，实际是{_kind(value)}")
            return None
        if keys is not None and value not in keys:
            rep.error(where, f"答案 “{value}” 不在选项 {_key_range(options or ())} 中")
            return None
        return value

    if qtype == "multiple":
        if not isinstance(value, list):
            rep.error(where, f"多选题答案应为选项键列表，如 [A, C]，实际是{_kind(value)}")
            return None
        if not value:
            rep.error(where, "多选题答案至少要有一个选项")
            return None
        seen: set[str] = set()
        ok = True
        for item in value:
            if not isinstance(item, str):
                rep.error(where, f"多选题答案应为选项键列表，其中 “{item}” 是{_kind(item)}")
                ok = False
            elif item in seen:
                rep.error(where, f"答案中 “{item}” 重复")
                ok = False
            elif keys is not None and item not in keys:
                rep.error(where, f"答案 “{item}” 不在选项 {_key_range(options or ())} 中")
                ok = False
            if isinstance(item, str):
                seen.add(item)
        if not ok:
            return None
        return tuple(sorted(value))

    if qtype == "true_false":
        if not isinstance(value, bool):
            rep.error(where, f"判断题答案应为 true 或 false，实际是 “{value}”")
            return None
        return value

    # fill
    if not isinstance(value, list):
        rep.error(
            where, f"填空题答案应为可接受写法的列表，如 [70%, 百分之七十]，实际是{_kind(value)}"
        )
        return None
    if not value:
        rep.error(where, "填空题答案至少要有一种写法")
        return None
    variants: list[str] = []
    seen_fill: dict[str, str] = {}
    ok = True
    for item in value:
        text = _option_text(item)
        if text is None:
            rep.error(where, f"填空题答案应为字符串，其中 “{item}” 是{_kind(item)}")
            ok = False
            continue
        # Grading folds punctuation, traditional characters and numerals too (七 and 7
        # grade alike), but listing both spellings is no mistake: only a variant spelled
        # the same (up to width, spaces and case) is reported as repeated.
        folded = normalize_quote(text).casefold()
        if not normalize_fill(text):
            rep.error(where, "填空题答案不能为空")
            ok = False
        elif FILL_SEPARATOR in text:
            rep.error(where, f"填空题答案 “{text}” 不能包含 “{FILL_SEPARATOR}”")
            ok = False
        elif folded in seen_fill:
            rep.error(where, f"填空题答案 “{text}” 与 “{seen_fill[folded]}” 重复")
            ok = False
        else:
            seen_fill[folded] = text
            variants.append(text)
    return tuple(variants) if ok else None


def _points(raw: dict[Any, Any], path: FieldPath, rep: _Report) -> float | None:
    value = _get(raw, "points")
    where = (*path, "points")
    if value is REPORTED:
        rep.failed = True
        return None
    if value is _MISSING or value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        rep.error(where, f"分值应为数字，实际是{_kind(value)}")
        return None
    # Multiples of 0.5 are exact in binary floating point, so sums of scores stay exact
    # and the half-points rule for multiple choice never needs rounding beyond 0.5.
    if not 0 < value <= MAX_POINTS or not float(value * 2).is_integer():
        rep.error(where, f"分值 {value} 应为 0.5 的正整数倍（至多 {MAX_POINTS}）")
        return None
    return float(value)


def _source(
    raw: dict[Any, Any], path: FieldPath, rep: _Report, corpus: CorpusIndex
) -> tuple[Source | None, str | None]:
    value = _get(raw, "source")
    where = (*path, "source")
    if value is REPORTED:
        rep.failed = True
        return None, None
    if value is _MISSING or value is None:
        rep.error(where, "缺少必填字段（document 与 quote）")
        return None, None
    if not isinstance(value, dict):
        rep.error(where, f"应为映射（document 与 quote），实际是{_kind(value)}")
        return None, None
    _check_unknown(value, _SOURCE_FIELDS, where, rep)
    document = _text(value, "document", where, rep, required=True)
    quote = _text(value, "quote", where, rep, required=True)
    if document is None or quote is None:
        return None, None
    if not normalize_quote(quote):
        rep.error((*where, "quote"), "不能为空")
        return None, None
    flag = None
    if not corpus.has_document(document):
        flag = rep.flag((*where, "document"), f"出处文件 “{document}” 不在语料库中")
    elif not corpus.contains(document, quote):
        flag = rep.flag((*where, "quote"), f"引文在 “{document}” 中未找到：“{_shorten(quote)}”")
    return Source(document=document, quote=quote), flag


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
