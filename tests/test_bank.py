"""The quiz bank: loading, every kind of validation error with file and line, flagging."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from base.settings import Settings
from quizzes.bank import (
    Bank,
    FlaggedQuestion,
    Question,
    Quiz,
    Source,
    UnknownQuiz,
    load_bank,
    load_quiz_file,
    normalize_quote,
)
from quizzes.cli_bank import corpus_texts, validate

ROOT = Path(__file__).resolve().parent.parent
# Relative on purpose: messages name files as they were given.
DATA = Path("tests/data/bank")
CORPUS = {p.name: p.read_text("utf-8") for p in (ROOT / DATA / "corpus").glob("*.txt")}


@pytest.fixture(autouse=True)
def _in_project_root(monkeypatch):
    monkeypatch.chdir(ROOT)


PLAN_BASICS = Quiz(
    id="plan-basics",
    title="创建文明单位实施方案学习测验",
    description="检验对实施方案主要目标和实施步骤的掌握。",
    pass_mark=80,
    time_limit_minutes=20,
    draw=None,
    attempts_allowed=3,
    shuffle_questions=True,
    shuffle_options=True,
    questions=(
        Question(
            id="q01",
            type="single",
            stem="根据实施方案，公众对城市环保的满意率目标是多少？",
            options=(("A", "60%"), ("B", "70%"), ("C", "80%"), ("D", "90%")),
            answer="B",
            points=1.0,
            explanation="主要目标第2条：公众对城市环保的满意率70%。",
            source=Source("plan.txt", "公众对城市环保的满意率７０％"),
        ),
        Question(
            id="q02",
            type="multiple",
            stem="启动阶段包括下列哪些工作？",
            options=(("A", "全面学习"), ("B", "健全机构"), ("C", "组织调研"), ("D", "迎接验收")),
            answer=("A", "B", "C"),
            points=2.0,
            explanation="迎接验收属于第三阶段。",
            source=Source("plan.txt", "全面学习。进一步领会国家相关文件和规定"),
        ),
        Question(
            id="q03",
            type="true_false",
            stem="实施方案要求精神文明建设与业务工作同时部署、同时检查、同时考核、同时落实。",
            options=(),
            answer=True,
            points=1.0,
            explanation="",
            source=Source("plan.txt", "同时部署、同时检查、同时考核、同时落实"),
        ),
        Question(
            id="q04",
            type="fill",
            stem="所有的环保行政许可事项一律实行____办理。",
            options=(),
            answer=("集中",),
            points=1.0,
            explanation="推行“一次性告知”、“一站式”服务、“一个窗口”办结。",
            source=Source("plan.txt", "所有的环保行政许可事项一律实行集中办理"),
        ),
        Question(
            id="q05",
            type="fill",
            stem="实施方案要求开展“环保____进”活动。",
            options=(),
            answer=("七", "7"),
            points=1.0,
            explanation="",
            source=Source("plan.txt", "开展“环保七进”活动"),
        ),
        Question(
            id="q06",
            type="multiple",
            stem="下列哪些属于“六个确保”？",
            options=(
                ("A", "确保污染减排目标完成"),
                ("B", "确保不发生重大污染和辐射事件"),
                ("C", "确保我市环保工作在全省位次前移"),
                ("D", "确保年度财政收入增长"),
            ),
            answer=("A", "B", "C"),
            points=3.0,
            explanation="",
            source=Source("plan.txt", "确保污染减排目标完成;确保环境质量任务完成"),
        ),
        Question(
            id="q07",
            type="single",
            stem="公民基本道德规范中，与“明礼诚信”并列的是？",
            options=(("A", "团结友善"), ("B", "独善其身")),
            answer="A",
            points=1.5,
            explanation="",
            source=Source("ethics.txt", "爱国守法、明礼诚信、团结友善"),
        ),
    ),
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# A valid quiz with one question, to vary one field at a time.
MINIMAL = """\
id: mini
title: 最小测验
pass_mark: 60
attempts_allowed: 1
questions:
  - id: q01
    type: true_false
    stem: 满意率目标是70%。
    answer: true
    source: {document: plan.txt, quote: 公众对城市环保的满意率70%}
"""


def test_good_quiz_loads_whole():
    assert load_quiz_file(DATA / "plan-basics.yaml", CORPUS) == (PLAN_BASICS, [])


def test_defaults_of_optional_fields(tmp_path):
    quiz, errors = load_quiz_file(write(tmp_path, "mini.yaml", MINIMAL), CORPUS)
    assert errors == []
    assert quiz == Quiz(
        id="mini",
        title="最小测验",
        description="",
        pass_mark=60,
        time_limit_minutes=None,
        draw=None,
        attempts_allowed=1,
        shuffle_questions=False,
        shuffle_options=False,
        questions=(
            Question(
                id="q01",
                type="true_false",
                stem="满意率目标是70%。",
                options=(),
                answer=True,
                points=1.0,
                explanation="",
                source=Source("plan.txt", "公众对城市环保的满意率70%"),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("quote", "document"),
    [
        ("公众对城市环保的满意率７０％", "2、公众对城市环保的满意率70%;"),  # width
        ("一律实行集中办理", "一律实行\n集中办理"),  # a line break in the document
        ("满意率 70 %", "满意率70%"),  # spaces in the quote
        ("（一）启动阶段", "(一)启动阶段"),  # full-width brackets
    ],
)
def test_quotes_match_after_nfkc_and_without_whitespace(quote, document):
    assert normalize_quote(quote) in normalize_quote(document)


def test_quiz_level_errors_name_file_line_and_field():
    assert load_quiz_file(DATA / "bad-fields.yaml", CORPUS) == (
        None,
        [
            "tests/data/bank/bad-fields.yaml:1: id: "
            "测验编号 “Bad_Fields” 只能由小写字母、数字和连字符组成",
            "tests/data/bank/bad-fields.yaml:3: title: 字段重复",
            "tests/data/bank/bad-fields.yaml:4: pass_mark: 及格分 0 应在 1–100 之间（总分的百分比）",
            "tests/data/bank/bad-fields.yaml:5: time_limit_minutes: "
            "限时 -5 分钟应大于 0（不限时则删去此字段）",
            "tests/data/bank/bad-fields.yaml:6: draw: 抽题数 3 应在 1–2 之间（题目共 2 道）",
            "tests/data/bank/bad-fields.yaml:7: attempts_allowed: 可作答次数 0 应至少为 1",
            "tests/data/bank/bad-fields.yaml:8: shuffle_questions: 应为 true 或 false，实际是字符串",
            "tests/data/bank/bad-fields.yaml:9: passmark: 未知字段（可用字段：id、title、description、"
            "pass_mark、time_limit_minutes、draw、attempts_allowed、shuffle_questions、"
            "shuffle_options、questions）",
        ],
    )


def test_question_errors_name_file_line_and_field():
    assert load_quiz_file(DATA / "bad-questions.yaml", CORPUS) == (
        None,
        [
            "tests/data/bank/bad-questions.yaml:10: questions[0].answer: 答案 “E” 不在选项 A–D 中",
            "tests/data/bank/bad-questions.yaml:12: questions[1].id: 题号 “q01” 重复（第 1 道题已用过）",
            "tests/data/bank/bad-questions.yaml:15: questions[1].options: "
            "选项键应从 A 起连续（A、B、C），实际是 A、B、D",
            "tests/data/bank/bad-questions.yaml:16: questions[1].answer: 答案中 “A” 重复",
            "tests/data/bank/bad-questions.yaml:22: questions[2].answer: 多选题答案至少要有一个选项",
            "tests/data/bank/bad-questions.yaml:27: questions[3].options: 判断题不设选项",
            "tests/data/bank/bad-questions.yaml:28: questions[3].answer: "
            "判断题答案应为 true 或 false，实际是 “正确”",
            "tests/data/bank/bad-questions.yaml:32: questions[4].stem: "
            "填空题题干应恰有一处空格 ____，实际有 0 处",
            "tests/data/bank/bad-questions.yaml:33: questions[4].answer: "
            "填空题答案应为可接受写法的列表，如 [70%, 百分之七十]，实际是字符串",
            "tests/data/bank/bad-questions.yaml:34: questions[4].points: "
            "分值 0 应为 0.5 的正整数倍（至多 100）",
            "tests/data/bank/bad-questions.yaml:37: questions[5].type: "
            "题型 “essay” 无效，应为 single、multiple、true_false 或 fill",
            "tests/data/bank/bad-questions.yaml:41: questions[6].stem: 缺少必填字段",
            "tests/data/bank/bad-questions.yaml:43: questions[6].options: 选项应有 2–6 个，实际有 1 个",
            "tests/data/bank/bad-questions.yaml:45: questions[6].source.document: "
            "出处文件 “missing.txt” 不在语料库中",
            "tests/data/bank/bad-questions.yaml:49: questions[7].answer: "
            "填空题答案 “７０％” 与 “70%” 重复",
            "tests/data/bank/bad-questions.yaml:49: questions[7].answer: "
            "填空题答案 “a|b” 不能包含 “|”",
            "tests/data/bank/bad-questions.yaml:50: questions[7].source.quote: "
            "引文在 “plan.txt” 中未找到：“满意率80%”",
        ],
    )


def test_invalid_yaml_gives_its_line():
    assert load_quiz_file(DATA / "bad-syntax.yaml", CORPUS) == (
        None,
        [
            "tests/data/bank/bad-syntax.yaml:6: YAML 语法错误：expected ',' or '}', but got ':'"
            "（while parsing a flow mapping，始于第 5 行）"
        ],
    )


def test_empty_file():
    assert load_quiz_file(DATA / "empty.yaml", CORPUS) == (
        None,
        ["tests/data/bank/empty.yaml:1: 文件为空"],
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("id: mini", "id: other", "mini.yaml:1: id: 测验编号 “other” 应与文件名 “mini” 一致"),
        ("title: 最小测验\n", "", "mini.yaml:1: title: 缺少必填字段"),
        ("pass_mark: 60", "pass_mark: 101", "mini.yaml:3: pass_mark: 及格分 101 应在 1–100 之间（总分的百分比）"),
        ("pass_mark: 60", "pass_mark: 八十", "mini.yaml:3: pass_mark: 应为整数，实际是字符串"),
        ("attempts_allowed: 1", "attempts_allowed: true", "mini.yaml:4: attempts_allowed: 应为整数，实际是布尔值"),
        ("attempts_allowed: 1", "attempts_allowed: 1\ndraw: some", "mini.yaml:5: draw: 抽题数应为 all 或正整数，实际是 “some”"),
        ("answer: true", "answer: true\n    points: 0.3", "mini.yaml:10: questions[0].points: 分值 0.3 应为 0.5 的正整数倍（至多 100）"),
        ("    answer: true\n", "", "mini.yaml:6: questions[0].answer: 缺少必填字段"),
        ("id: q01", "id: 第一题", "mini.yaml:6: questions[0].id: 题号 “第一题” 只能由字母、数字、下划线和连字符组成（至多 64 个）"),
        ("stem: 满意率目标是70%。", "stem: ''", "mini.yaml:8: questions[0].stem: 不能为空"),
        ("    source: {document: plan.txt, quote: 公众对城市环保的满意率70%}\n", "", "mini.yaml:6: questions[0].source: 缺少必填字段（document 与 quote）"),
        ("quote: 公众对城市环保的满意率70%", "quote: ' '", "mini.yaml:10: questions[0].source.quote: 不能为空"),
        ("document: plan.txt, ", "file: plan.txt, ", "mini.yaml:10: questions[0].source.file: 未知字段（可用字段：document、quote）"),
        ("questions:\n", "questions: []\nx:\n", "mini.yaml:5: questions: 至少要有一道题"),
        ("type: true_false", "type: single\n    options: {A: 一, AB: 二}", "mini.yaml:8: questions[0].options.AB: 选项键 “AB” 无效，应为 A–F 之一"),
    ],
)  # fmt: skip
def test_each_field_error(tmp_path, old, new, message):
    assert old in MINIMAL
    path = write(tmp_path, "mini.yaml", MINIMAL.replace(old, new))
    quiz, errors = load_quiz_file(path, CORPUS)
    assert quiz is None
    assert message in [e.removeprefix(f"{tmp_path}/") for e in errors]


def test_choice_errors(tmp_path):
    text = """\
id: choice
title: 选择题
pass_mark: 60
attempts_allowed: 1
questions:
  - id: q01
    type: single
    stem: 选项键无效
    options: {A: 一, G: 七}
    answer: [A]
    source: {document: plan.txt, quote: 满意率70%}
  - id: q02
    type: multiple
    stem: 选项文字
    options: {A: yes, B: 二, C: 二}
    answer: A
    source: {document: plan.txt, quote: 满意率70%}
  - id: q03
    type: multiple
    stem: 答案不在选项中
    options: {A: 一, B: 二}
    answer: [A, C]
    source: {document: plan.txt, quote: 满意率70%}
  - id: q04
    type: fill
    stem: 两处____和____
    options: {A: 一, B: 二}
    answer: ["", 3]
    source: {document: plan.txt, quote: 满意率70%}
"""
    quiz, errors = load_quiz_file(write(tmp_path, "choice.yaml", text), CORPUS)
    assert quiz is None
    assert [e.removeprefix(f"{tmp_path}/") for e in errors] == [
        "choice.yaml:9: questions[0].options.G: 选项键 “G” 无效，应为 A–F 之一",
        "choice.yaml:10: questions[0].answer: 单选题答案应为一个选项键，如 B，实际是列表",
        "choice.yaml:15: questions[1].options.A: 选项文字应为字符串（请加引号），实际是布尔值",
        "choice.yaml:16: questions[1].answer: 多选题答案应为选项键列表，如 [A, C]，实际是字符串",
        "choice.yaml:22: questions[2].answer: 答案 “C” 不在选项 A–B 中",
        "choice.yaml:26: questions[3].stem: 填空题题干应恰有一处空格 ____，实际有 2 处",
        "choice.yaml:27: questions[3].options: 填空题不设选项",
        "choice.yaml:28: questions[3].answer: 填空题答案不能为空",
    ]


def test_duplicate_option_text(tmp_path):
    text = MINIMAL.replace(
        "type: true_false", "type: single\n    options: {A: 七十, B: 七十 }"
    ).replace("answer: true", "answer: A")
    quiz, errors = load_quiz_file(write(tmp_path, "mini.yaml", text), CORPUS)
    assert quiz is None
    assert [e.removeprefix(f"{tmp_path}/") for e in errors] == [
        "mini.yaml:8: questions[0].options.B: 选项 B 与选项 A 内容相同"
    ]


def test_nested_aliases_fail_fast(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, "laughs.yaml", "\n".join([*lines, "questions: *a8", ""]))
    started = time.monotonic()
    quiz, errors = load_quiz_file(path, CORPUS)
    assert time.monotonic() - started < 2
    assert quiz is None
    assert f"{path}:10: questions[0]: 每道题应为映射（id、type、stem 等字段），实际是列表" in errors


def test_not_a_mapping_and_not_utf8(tmp_path):
    listed = write(tmp_path, "listed.yaml", "- id: x\n")
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("title: 测验\n".encode("gbk"))
    assert load_quiz_file(listed, CORPUS) == (
        None,
        [f"{listed}:1: 文件内容应为映射（id、title、questions 等字段），实际是列表"],
    )
    assert load_quiz_file(gbk, CORPUS) == (None, [f"{gbk}:1: 文件不是 UTF-8 编码"])


def test_a_stale_quote_flags_the_question_but_the_quiz_still_loads():
    quiz, errors = load_quiz_file(DATA / "plan-flagged.yaml", CORPUS)
    stale = "tests/data/bank/plan-flagged.yaml:20: questions[1].source.quote: " + (
        "引文在 “plan.txt” 中未找到：“公众对城市环保的满意率90%”"
    )
    gone = "tests/data/bank/plan-flagged.yaml:26: questions[2].source.document: " + (
        "出处文件 “old-plan.txt” 不在语料库中"
    )
    assert errors == [stale, gone]  # what `validate` reports
    assert quiz is not None
    assert [(q.id, q.flag) for q in quiz.questions] == [
        ("kept", None),
        ("stale-quote", stale),
        ("gone-document", gone),
    ]
    assert [q.id for q in quiz.active_questions] == ["kept"]
    assert quiz.draw == 2
    assert quiz.draw_count == 1  # never more than the unflagged questions


def test_a_retired_question_stays_in_the_quiz_but_is_never_drawn(tmp_path):
    # Attempts and statistics hold question ids: a retired question must still be found
    # by its id (an attempt in progress that drew it shows it), only never drawn again.
    text = MINIMAL.replace("questions:\n", "draw: 2\nquestions:\n") + (
        "  - id: q02\n"
        "    type: true_false\n"
        "    stem: 满意率目标是七成。\n"
        "    answer: true\n"
        "    source: {document: plan.txt, quote: 公众对城市环保的满意率70%}\n"
        "    retired: 与 q01 重复\n"
    )
    quiz, errors = load_quiz_file(write(tmp_path, "mini.yaml", text), CORPUS)
    assert errors == []
    assert quiz is not None
    assert [(q.id, q.retired) for q in quiz.questions] == [("q01", None), ("q02", "与 q01 重复")]
    assert [q.id for q in quiz.active_questions] == ["q01"]
    assert quiz.question("q02").stem == "满意率目标是七成。"
    assert quiz.draw_count == 1


def test_a_retired_reason_must_be_text(tmp_path):
    text = MINIMAL + "    retired: true\n"
    quiz, errors = load_quiz_file(write(tmp_path, "mini.yaml", text), CORPUS)
    assert (quiz, errors) == (
        None,
        [f"{tmp_path}/mini.yaml:11: questions[0].retired: 应为字符串，实际是布尔值"],
    )


def test_a_document_edited_after_the_bank_was_written_does_not_take_the_quiz_down():
    edited = {**CORPUS, "plan.txt": CORPUS["plan.txt"].replace("满意率70%", "满意率75%")}
    quiz, errors = load_quiz_file(DATA / "plan-basics.yaml", edited)
    flag = (
        "tests/data/bank/plan-basics.yaml:19: questions[0].source.quote: "
        "引文在 “plan.txt” 中未找到：“公众对城市环保的满意率７０％”"
    )
    assert errors == [flag]
    assert quiz == dataclasses.replace(
        PLAN_BASICS,
        questions=(
            dataclasses.replace(PLAN_BASICS.questions[0], flag=flag),
            *PLAN_BASICS.questions[1:],
        ),
    )


def test_a_bank_with_bad_files_still_serves_the_good_ones():
    bank = load_bank(DATA, CORPUS)
    assert list(bank.quizzes) == ["plan-basics", "plan-flagged"]
    assert bank.quiz("plan-basics") == PLAN_BASICS
    assert list(bank.errors) == [
        "tests/data/bank/bad-fields.yaml",
        "tests/data/bank/bad-questions.yaml",
        "tests/data/bank/bad-syntax.yaml",
        "tests/data/bank/empty.yaml",
    ]
    assert bank.errors["tests/data/bank/empty.yaml"] == ("tests/data/bank/empty.yaml:1: 文件为空",)
    assert bank.flagged == (
        FlaggedQuestion(
            "plan-flagged",
            "stale-quote",
            "tests/data/bank/plan-flagged.yaml:20: questions[1].source.quote: "
            "引文在 “plan.txt” 中未找到：“公众对城市环保的满意率90%”",
        ),
        FlaggedQuestion(
            "plan-flagged",
            "gone-document",
            "tests/data/bank/plan-flagged.yaml:26: questions[2].source.document: "
            "出处文件 “old-plan.txt” 不在语料库中",
        ),
    )
    with pytest.raises(UnknownQuiz):
        bank.quiz("bad-fields")


def test_missing_bank_folder(tmp_path):
    assert load_bank(tmp_path / "nope", CORPUS) == Bank(
        errors={str(tmp_path / "nope"): (f"{tmp_path / 'nope'}: 题库目录不存在",)}
    )


def test_validate_prints_every_error_and_fails():
    result = CliRunner().invoke(
        validate, ["tests/data/bank"], env={"KB_CORPUS_DIR": str(DATA / "corpus")}
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 29
    assert lines[0] == (
        "tests/data/bank/bad-fields.yaml:1: id: 测验编号 “Bad_Fields” 只能由小写字母、数字和连字符组成"
    )
    assert lines[-1] == (
        "tests/data/bank/plan-flagged.yaml:26: questions[2].source.document: "
        "出处文件 “old-plan.txt” 不在语料库中"
    )
    assert result.stderr == "共发现 29 处问题。\n"


def test_validate_summarises_a_clean_bank(tmp_path):
    (tmp_path / "plan-basics.yaml").write_bytes((DATA / "plan-basics.yaml").read_bytes())
    result = CliRunner().invoke(
        validate, [str(tmp_path)], env={"KB_CORPUS_DIR": str(DATA / "corpus")}
    )
    assert (result.exit_code, result.output) == (0, "校验通过：1 个测验，共 7 道题。\n")


def test_validate_counts_retired_questions_apart(tmp_path):
    text = MINIMAL + (
        "  - id: q02\n"
        "    type: true_false\n"
        "    stem: 满意率目标是七成。\n"
        "    answer: true\n"
        "    source: {document: plan.txt, quote: 公众对城市环保的满意率70%}\n"
        "    retired: 与 q01 重复\n"
    )
    write(tmp_path, "mini.yaml", text)
    result = CliRunner().invoke(
        validate, [str(tmp_path)], env={"KB_CORPUS_DIR": str(DATA / "corpus")}
    )
    assert (result.exit_code, result.output) == (
        0,
        "校验通过：1 个测验，共 2 道题（其中 1 道已停用，不再抽取）。\n",
    )


def test_corpus_texts_are_the_texts_the_knowledge_base_extracts(tmp_path):
    (tmp_path / "a.txt").write_text("甲文件\n第一条 内容。\n", encoding="utf-8")
    (tmp_path / "b.md").write_bytes("# 乙文件\n\n**正文**。\n".encode("gb18030"))
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")  # unreadable: left out
    settings = Settings.from_env({"KB_CORPUS_DIR": str(tmp_path)})
    assert corpus_texts(settings) == {"a.txt": "甲文件\n第一条\n内容。", "b.md": "乙文件\n正文。"}


def test_the_shipped_bank_validates_against_the_shipped_corpus():
    settings = Settings.from_env({})
    if not any(settings.quiz_dir.glob("*.yaml")):
        pytest.skip("no quiz files in the bank yet")
    bank = load_bank(settings.quiz_dir, corpus_texts(settings))
    assert (bank.errors, bank.flagged) == ({}, ())


def test_every_shipped_source_quote_stands_in_one_indexed_passage(tmp_path):
    # A quote that runs from a heading into its paragraph is in the text but in no passage:
    # the result page could then not show or link its source (plan-basics q13 once did).
    from kb.documents import find_quote
    from kb.ingest import sync_corpus
    from kb.service import open_kb

    settings = Settings.from_env({"KB_DATA_DIR": str(tmp_path), "KB_EMBED_MODEL": "none"})
    db = open_kb(settings)
    sync_corpus(db, settings.corpus_dir, None)
    bank = load_bank(settings.quiz_dir, corpus_texts(settings))
    unplaced = [
        (quiz.id, question.id)
        for quiz in bank.quizzes.values()
        for question in quiz.questions
        if find_quote(db, question.source.document, question.source.quote) is None
    ]
    assert unplaced == []
