"""The question-bank spreadsheet: lossless round trip, hand-made sheets, bad rows."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from quizzes.bank import Question, Quiz, QuizFormatError, Source, load_quiz_file
from quizzes.cli_bank import bank
from quizzes.spreadsheet import export_quiz_xlsx, import_quiz_xlsx, write_quiz_yaml

DATA = Path(__file__).resolve().parent / "data" / "bank"
CORPUS = {p.name: p.read_text("utf-8") for p in (DATA / "corpus").glob("*.txt")}
PLAN, _ = load_quiz_file(DATA / "plan-basics.yaml", CORPUS)
ENV = {"KB_CORPUS_DIR": str(DATA / "corpus")}


def make_workbook(path: Path, questions: list[list], info: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "题目"
    for row in questions:
        ws.append(row)
    sheet = wb.create_sheet("测验信息")
    for row in info:
        sheet.append(row)
    wb.save(path)
    return path


def sheet_rows(path: Path, sheet: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    return list(wb[sheet].iter_rows(values_only=True))


INFO = [
    ["字段", "值"],
    ["测验编号", "hand-made"],
    ["标题", "手工题库"],
    ["及格分", 60],
    ["可作答次数", 2],
    ["抽题数", "全部"],
    ["题目乱序", "否"],
    ["选项乱序", "是"],
]


def test_round_trip_yaml_to_xlsx_to_yaml_is_lossless(tmp_path):
    export_quiz_xlsx(PLAN, tmp_path / "bank.xlsx")
    imported = import_quiz_xlsx(tmp_path / "bank.xlsx", CORPUS)
    assert imported == PLAN
    write_quiz_yaml(imported, tmp_path / "plan-basics.yaml")
    assert load_quiz_file(tmp_path / "plan-basics.yaml", CORPUS) == (PLAN, [])


def test_a_retired_question_survives_the_round_trip(tmp_path):
    retired = dataclasses.replace(PLAN.questions[2], retired="与 q02 重复，2026-12 停用")
    quiz = dataclasses.replace(PLAN, questions=(*PLAN.questions[:2], retired, *PLAN.questions[3:]))
    export_quiz_xlsx(quiz, tmp_path / "bank.xlsx")
    assert [row[13] for row in sheet_rows(tmp_path / "bank.xlsx", "题目")] == [
        "停用",
        None,
        None,
        "与 q02 重复，2026-12 停用",
        None,
        None,
        None,
        None,
    ]
    assert import_quiz_xlsx(tmp_path / "bank.xlsx", CORPUS) == quiz
    write_quiz_yaml(quiz, tmp_path / "plan-basics.yaml")
    assert load_quiz_file(tmp_path / "plan-basics.yaml", CORPUS) == (quiz, [])


def test_the_exported_sheet_is_the_usual_exam_platform_layout(tmp_path):
    export_quiz_xlsx(PLAN, tmp_path / "bank.xlsx")
    rows = sheet_rows(tmp_path / "bank.xlsx", "题目")
    assert rows[0] == (
        "题号", "题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F",
        "答案", "解析", "分值", "出处", "停用",
    )  # fmt: skip
    assert rows[2] == (
        "q02", "多选", "启动阶段包括下列哪些工作？", "全面学习", "健全机构", "组织调研",
        "迎接验收", None, None, "ABC", "迎接验收属于第三阶段。", 2,
        "plan.txt：全面学习。进一步领会国家相关文件和规定", None,
    )  # fmt: skip
    assert [row[9] for row in rows[1:]] == ["B", "ABC", "正确", "集中", "七|7", "ABC", "A"]
    assert [row[11] for row in rows[1:]] == [1, 2, 1, 1, 1, 3, 1.5]
    assert sheet_rows(tmp_path / "bank.xlsx", "测验信息") == [
        ("字段", "值", "填写说明"),
        ("测验编号", "plan-basics", "小写字母、数字和连字符，即题库文件名"),
        ("标题", "创建文明单位实施方案学习测验", None),
        ("说明", "检验对实施方案主要目标和实施步骤的掌握。", "可留空"),
        ("及格分", 80, "总分的百分比，1–100"),
        ("限时（分钟）", 20, "留空表示不限时"),
        ("抽题数", "全部", "“全部”或不超过题目数的正整数"),
        ("可作答次数", 3, "至少 1"),
        ("题目乱序", "是", "是/否"),
        ("选项乱序", "是", "是/否"),
    ]


def test_a_sheet_made_by_hand_imports(tmp_path):
    # No 题号 column, an extra 难度 column, 题型 with 题, answers typed the usual ways.
    path = make_workbook(
        tmp_path / "hand.xlsx",
        [
            ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "分值", "出处", "难度"],
            ["单选题", "满意率目标是多少？", "60%", "70%", "80%", None, "b", None, None,
             "plan.txt：公众对城市环保的满意率70%", "易"],
            ["多选", "启动阶段包括哪些工作？", "全面学习", "健全机构", "组织调研", "迎接验收",
             "A、B, C", "迎接验收属于第三阶段。", 2, "plan.txt:全面学习", "中"],
            [],
            ["判断", "四项工作同时部署。", None, None, None, None, "对", None, 1,
             "plan.txt：同时部署、同时检查", None],
            ["填空", "满意率目标为____。", None, None, None, None, "70%｜七十 | 百分之七十", None,
             1.5, "plan.txt：满意率70%", None],
        ],
        INFO,
    )  # fmt: skip
    source = Source("plan.txt", "公众对城市环保的满意率70%")
    assert import_quiz_xlsx(path, CORPUS) == Quiz(
        id="hand-made",
        title="手工题库",
        description="",
        pass_mark=60,
        time_limit_minutes=None,
        draw=None,
        attempts_allowed=2,
        shuffle_questions=False,
        shuffle_options=True,
        questions=(
            Question("q01", "single", "满意率目标是多少？",
                     (("A", "60%"), ("B", "70%"), ("C", "80%")), "B", 1.0, "", source),
            Question("q02", "multiple", "启动阶段包括哪些工作？",
                     (("A", "全面学习"), ("B", "健全机构"), ("C", "组织调研"), ("D", "迎接验收")),
                     ("A", "B", "C"), 2.0, "迎接验收属于第三阶段。", Source("plan.txt", "全面学习")),
            Question("q03", "true_false", "四项工作同时部署。", (), True, 1.0, "",
                     Source("plan.txt", "同时部署、同时检查")),
            Question("q04", "fill", "满意率目标为____。", (), ("70%", "七十", "百分之七十"), 1.5,
                     "", Source("plan.txt", "满意率70%")),
        ),
    )  # fmt: skip


BAD_QUESTIONS = [
    ["题号", "题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "分值", "出处"],
    ["q01", "单选", "正确的一题", "一", "二", None, None, "A", 1, "plan.txt：满意率70%"],
    ["q02", "问答", "题型无效", None, None, None, None, "随便", 1, "plan.txt：满意率70%"],
    ["q03", "单选", "答案不在选项中", "一", "二", "三", "四", "E", 1, "plan.txt：满意率70%"],
    [],
    ["q05", "判断", "判断题", None, None, None, None, "可能", 1, "plan.txt：满意率70%"],
    ["q06", "多选", "选项不连续", "一", "二", None, "四", "AB", 1, "plan.txt：满意率70%"],
    ["q07", "单选", "出处没有引文", "一", "二", None, None, "A", 1, "plan.txt"],
    ["q08", "单选", "引文不在文件中", "一", "二", None, None, "A", 1, "plan.txt：不存在的话"],
    ["q01", "填空", "题号重复，没有空格", None, None, None, None, "七", "两分", "plan.txt：七进"],
]
BAD_INFO = [
    ["字段", "值"],
    ["测验编号", "bad-sheet"],
    ["标题", "有错的题库"],
    ["及格分", "八十"],
    ["可作答次数", 1],
    ["抽题数", "全部"],
    ["题目乱序", "也许"],
]
BAD_SHEET_ERRORS = [
    "bad.xlsx:测验信息 第4行 及格分: 应为整数，实际是字符串",
    "bad.xlsx:测验信息 第7行 题目乱序: 应填 “是” 或 “否”，实际是 “也许”",
    "bad.xlsx:第3行 题型: 题型 “问答” 无效，应为 单选、多选、判断 或 填空",
    "bad.xlsx:第4行 答案: 答案 “E” 不在选项 A–D 中",
    "bad.xlsx:第6行 答案: 判断题答案应为 “正确” 或 “错误”，实际是 “可能”",
    "bad.xlsx:第7行 选项: 选项键应从 A 起连续（A、B、C），实际是 A、B、D",
    "bad.xlsx:第8行 出处: 出处应写成 “文件名：引文”，实际是 “plan.txt”",
    "bad.xlsx:第9行 出处: 引文在 “plan.txt” 中未找到：“不存在的话”",
    "bad.xlsx:第10行 题号: 题号 “q01” 重复（第 1 道题已用过）",
    "bad.xlsx:第10行 题干: 填空题题干应恰有一处空格 ____，实际有 0 处",
    "bad.xlsx:第10行 分值: 分值应为数字，实际是字符串",
]


def test_bad_rows_are_all_reported_with_excel_row_numbers(tmp_path):
    path = make_workbook(tmp_path / "bad.xlsx", BAD_QUESTIONS, BAD_INFO)
    with pytest.raises(QuizFormatError) as error:
        import_quiz_xlsx(path, CORPUS)
    assert list(error.value.errors) == BAD_SHEET_ERRORS


def test_importing_a_bad_sheet_writes_nothing(tmp_path):
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    path = make_workbook(tmp_path / "bad.xlsx", BAD_QUESTIONS, BAD_INFO)
    result = CliRunner().invoke(bank, ["import", str(path), "--bank-dir", str(bank_dir)], env=ENV)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [*BAD_SHEET_ERRORS, "Error: bad.xlsx 有 11 处问题，未导入"]
    assert list(bank_dir.iterdir()) == []


def test_export_and_import_from_the_command_line(tmp_path):
    source_bank = tmp_path / "source"
    source_bank.mkdir()
    (source_bank / "plan-basics.yaml").write_bytes((DATA / "plan-basics.yaml").read_bytes())
    target_bank = tmp_path / "target"
    xlsx = tmp_path / "plan.xlsx"
    runner = CliRunner()

    exported = runner.invoke(
        bank, ["export", "plan-basics", str(xlsx), "--bank-dir", str(source_bank)], env=ENV
    )
    assert (exported.exit_code, exported.output) == (
        0,
        f"已导出 plan-basics（7 道题）到 {xlsx}\n",
    )
    imported = runner.invoke(bank, ["import", str(xlsx), "--bank-dir", str(target_bank)], env=ENV)
    assert (imported.exit_code, imported.output) == (
        0,
        f"已创建 {target_bank / 'plan-basics.yaml'}（7 道题）\n",
    )
    assert load_quiz_file(target_bank / "plan-basics.yaml", CORPUS) == (PLAN, [])
    again = runner.invoke(bank, ["import", str(xlsx), "--bank-dir", str(target_bank)], env=ENV)
    assert again.output == f"已更新 {target_bank / 'plan-basics.yaml'}（7 道题）\n"

    missing = runner.invoke(bank, ["export", "nope", str(xlsx), "--bank-dir", str(source_bank)])
    assert missing.exit_code == 1
    assert "题库中没有测验 “nope”" in missing.stderr


def test_missing_sheet_and_columns(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "题目"
    wb.active.append(["题号", "题型", "题干"])
    wb.save(tmp_path / "cols.xlsx")
    with pytest.raises(QuizFormatError) as error:
        import_quiz_xlsx(tmp_path / "cols.xlsx", CORPUS)
    assert error.value.errors == ("cols.xlsx: 缺少工作表 “测验信息”",)

    path = make_workbook(tmp_path / "cols.xlsx", [["题号", "题型", "题干"]], INFO)
    with pytest.raises(QuizFormatError) as error:
        import_quiz_xlsx(path, CORPUS)
    assert error.value.errors == ("cols.xlsx:第1行: 缺少列 “答案”、“出处”",)


def test_a_file_that_is_not_a_spreadsheet(tmp_path):
    (tmp_path / "fake.xlsx").write_text("not a spreadsheet", encoding="utf-8")
    with pytest.raises(QuizFormatError) as error:
        import_quiz_xlsx(tmp_path / "fake.xlsx", CORPUS)
    assert len(error.value.errors) == 1
    assert error.value.errors[0].startswith("fake.xlsx: 无法读取 Excel 文件")


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 60_000_000)
    with pytest.raises(QuizFormatError) as error:
        import_quiz_xlsx(tmp_path / "bomb.xlsx", CORPUS)
    assert error.value.errors == (
        "bomb.xlsx: 无法读取 Excel 文件（解压后体积异常，疑似损坏或恶意文件）",
    )


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    formula = Question(
        "q01", "fill", "=SUM(A1)____", (), ("=1+1",), 1.0, "", Source("plan.txt", "满意率70%")
    )
    quiz = dataclasses.replace(PLAN, questions=(formula,))
    export_quiz_xlsx(quiz, tmp_path / "f.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "f.xlsx")["题目"]["C2"]
    assert (cell.value, cell.data_type) == ("=SUM(A1)____", "s")
    assert import_quiz_xlsx(tmp_path / "f.xlsx", CORPUS) == quiz


def test_write_quiz_yaml_is_atomic_and_named_after_the_quiz(tmp_path):
    target = tmp_path / "plan-basics.yaml"
    target.write_text("old", encoding="utf-8")
    write_quiz_yaml(PLAN, target)
    assert load_quiz_file(target, CORPUS) == (PLAN, [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan-basics.yaml"]  # no temp left
    with pytest.raises(ValueError, match=r"题库文件名应为 plan-basics\.yaml"):
        write_quiz_yaml(PLAN, tmp_path / "other.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan-basics.yaml"]
