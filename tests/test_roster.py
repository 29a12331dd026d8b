"""The staff roster: reading the office's files, and importing them into accounts."""

from __future__ import annotations

import csv
import itertools
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from base.store import open_db
from quizzes.accounts import deactivate_account, ensure_first_admin, ensure_schema
from quizzes.cli_accounts import roster_cli
from quizzes.initial_passwords import ReissueReport, awaiting_first_login, reissue_initial_passwords
from quizzes.login import LoginStatus, authenticate, change_password
from quizzes.people import Person, Role, department_at, department_history, get_person, list_people
from quizzes.roster import (
    Change,
    ImportReport,
    NewAccount,
    RosterChanged,
    RosterError,
    RosterFile,
    RosterPlan,
    RosterRow,
    UpdatedPerson,
    import_roster,
    plan_roster,
    preview_rows,
    read_roster,
    read_roster_file,
)

ROSTERS = Path(__file__).parent / "data" / "roster"
BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=BEIJING)
LATER = NOW + timedelta(days=30)


def passwords(prefix: str = "pw"):
    """A password factory that hands out pw-1, pw-2, ... so results can be compared whole."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def snapshot(accounts_db) -> dict[str, list[dict]]:
    """Every row of every table, to show that nothing changed."""
    return {name: list(accounts_db[name].rows) for name in sorted(accounts_db.table_names())}


def rows_of(accounts_db, sql: str) -> list[tuple]:
    return [tuple(row) for row in accounts_db.execute(sql).fetchall()]


HEADER = ["工号", "姓名", "部门", "角色"]


# -- reading good files ---------------------------------------------------------------------


def test_reads_excel_csv_utf8_with_bom_and_initial_passwords():
    assert read_roster(ROSTERS / "staff-utf8-bom.csv") == [
        RosterRow(2, "1001", "张伟", "办公室", Role.STAFF),
        RosterRow(3, "1002", "王芳", "监测站", Role.HEAD),
        RosterRow(4, "1003", "李娜", "监察支队", Role.STAFF, "Jiancha2024"),
        RosterRow(5, "A-07", "刘洋", "创建办", Role.ADMIN),
    ]


def test_reads_gb18030_csv_including_characters_outside_gbk():
    assert read_roster(ROSTERS / "staff-gb18030.csv") == [
        RosterRow(2, "2001", "陈𠮷", "监测站", Role.STAFF),
        RosterRow(3, "2002", "赵敏", "监察支队", Role.STAFF),
    ]


def test_reads_xlsx_numbers_extra_columns_blank_rows_and_english_roles():
    # 3002 is stored as the number 3002.0; 序号 and 备注 are not roster columns; row 4 is blank.
    assert read_roster(ROSTERS / "staff.xlsx") == [
        RosterRow(2, "3001", "孙丽", "办公室", Role.STAFF),
        RosterRow(3, "3002", "周强", "监测站", Role.HEAD),
        RosterRow(5, "3003", "吴敏", "监察支队", Role.ADMIN),
    ]


def test_plain_utf8_csv_with_quoted_values_and_blank_lines(tmp_path):
    path = tmp_path / "名册.csv"
    path.write_text(
        '工号,姓名,部门,角色\n\n" 1001 ",张伟,"办公室",职工\n,,,\n1002,王芳,监测站,负责人\n',
        encoding="utf-8",
    )
    assert read_roster(path) == [
        RosterRow(3, "1001", "张伟", "办公室", Role.STAFF),
        RosterRow(5, "1002", "王芳", "监测站", Role.HEAD),
    ]


def test_gbk_csv_written_by_a_chinese_excel(tmp_path):
    path = write_csv(tmp_path / "r.csv", [HEADER, ["1001", "张伟", "办公室", "干部"]], "gbk")
    assert read_roster(path) == [RosterRow(2, "1001", "张伟", "办公室", Role.STAFF)]


# -- reading bad files ----------------------------------------------------------------------


def test_every_problem_is_reported_with_the_row_number_the_spreadsheet_shows(tmp_path):
    path = write_xlsx(
        tmp_path / "roster.xlsx",
        [
            [*HEADER, "初始密码"],
            ["1001", "张伟", "办公室", "职工", None],
            ["1002", None, "监测站", "负责人", None],
            ["1003", "李娜", "监察支队", "经理", None],
            [None, "刘洋", " ", None, None],
            ["1001", "王芳", "办公室", "职工", None],
            ["10 05", "赵敏", "办公室", "职工", "123456"],
            [None, None, None, None, None],
            ["hb-9", "钱进", "监测站", "职工", "hb-9"],
            ["HB-9", "孙丽", "监测站", "职工", None],
        ],
    )
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [
        "roster.xlsx:第3行: 姓名 为空",
        "roster.xlsx:第4行: 角色 “经理” 无法识别（可用：职工、负责人、创建办）",
        "roster.xlsx:第5行: 工号 为空",
        "roster.xlsx:第5行: 部门 为空",
        "roster.xlsx:第6行: 工号 “1001” 与第2行重复",
        "roster.xlsx:第7行: 工号 “10 05” 只能包含英文字母、数字和 . _ -",
        "roster.xlsx:第7行: 初始密码 不符合要求：至少 8 个字符；须包含英文字母",
        "roster.xlsx:第9行: 初始密码 不符合要求：至少 8 个字符；不能与工号相同",
        "roster.xlsx:第10行: 工号 “HB-9” 与第9行重复",
    ]
    assert str(caught.value) == "\n".join(caught.value.errors)


WANTED = (
    "前 10 行中没有找到表头行，表头须有这几列：工号（或 人员编号、职工编号、员工编号、职工号、编号）、"
    "姓名（或 职工姓名、人员姓名）、部门（或 科室、处室、站、队、所在科室、所在部门、单位）"
)


def test_missing_columns_are_named(tmp_path):
    path = write_csv(tmp_path / "r.csv", [["工号", "名字", "部门"], ["1001", "张伟", "办公室"]])
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [f"r.csv: {WANTED}；第 1 行最接近，缺少 姓名"]


def test_the_closest_row_counts_blank_rows_above_it_and_the_sheet_is_named(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [[None], ["工号", "姓名"], ["1001", "张伟"]])
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [f"r.xlsx（工作表“Sheet”）: {WANTED}；第 2 行最接近，缺少 部门"]


def test_a_column_given_twice(tmp_path):
    path = write_csv(
        tmp_path / "r.csv", [[*HEADER, "部门"], ["1001", "张伟", "办公室", "职工", "x"]]
    )
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == ["r.csv:第1行: 列“部门”出现了不止一次"]


def test_a_comma_inside_a_value_shows_as_values_without_a_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("工号,姓名,部门,角色\n1001,张伟,办公室,职工\n1002,王,芳,监测站,负责人\n")
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [
        "r.csv:第3行: 角色 “监测站” 无法识别（可用：职工、负责人、创建办）",
        "r.csv:第3行: 有 1 个值不在任何表头之下（某个值里是否有逗号？）",
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "r.csv: 文件是空的"),
        (b"\r\n,,,\r\n", "r.csv: 文件是空的"),
        ("工号,姓名,部门,角色\n\n".encode(), "r.csv:第1行: 表头之后没有人员"),
        (
            "工号,姓名,部门,角色\n".encode("utf-16"),
            "r.csv: 文件是 UTF-16 编码（Excel 的“Unicode 文本”），请另存为“CSV UTF-8（逗号分隔）”",
        ),
        (
            b"\x81\x30\xff\xfe\x00\x01binary",
            "r.csv: 无法识别文件编码，请保存为 UTF-8 或 GB18030（GBK）编码的 CSV 文件",
        ),
    ],
    ids=["empty", "only-blank-rows", "header-only", "utf-16", "undecodable"],
)
def test_unreadable_or_empty_csv(tmp_path, content, error):
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [error]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "名册.xls",
            "名册.xls: 这是旧版表格格式，无法读取；请在 Excel 或 WPS 中另存为 .xlsx 或 .csv",
        ),
        ("名册.txt", "名册.txt: 不支持的文件类型“.txt”；请使用 .csv 或 .xlsx"),
        ("名册", "名册: 不支持的文件类型“（无扩展名）”；请使用 .csv 或 .xlsx"),
        ("坏.xlsx", "坏.xlsx: 无法作为 Excel（.xlsx）文件打开，文件可能已损坏"),
    ],
)
def test_files_that_are_not_a_csv_or_xlsx(tmp_path, name, error):
    path = tmp_path / name
    path.write_text("工号,姓名,部门,角色\n1001,张伟,办公室,职工\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert caught.value.errors == [error]


def test_a_zip_bomb_roster_is_refused_before_it_is_inflated(tmp_path):
    # The roster is read through the same guarded reader as the question-bank sheet.
    with zipfile.ZipFile(tmp_path / "名册.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 60_000_000)
    with pytest.raises(RosterError) as caught:
        read_roster(tmp_path / "名册.xlsx")
    assert caught.value.errors == [
        "名册.xlsx: 无法作为 Excel（.xlsx）文件打开，解压后体积异常，疑似损坏或恶意文件"
    ]


def test_a_file_that_does_not_exist(tmp_path):
    with pytest.raises(RosterError) as caught:
        read_roster(tmp_path / "无.csv")
    assert caught.value.errors == ["无.csv: 文件不存在"]


# -- importing ------------------------------------------------------------------------------


def test_import_creates_accounts_that_must_change_their_initial_password(accounts_db):
    report = import_roster(
        accounts_db, read_roster(ROSTERS / "staff-utf8-bom.csv"), NOW, passwords()
    )
    assert report == ImportReport(
        created=(
            NewAccount(Person("1001", "张伟", "办公室", Role.STAFF), "pw-1"),
            NewAccount(Person("1002", "王芳", "监测站", Role.HEAD), "pw-2"),
            NewAccount(Person("1003", "李娜", "监察支队", Role.STAFF), "Jiancha2024"),
            NewAccount(Person("A-07", "刘洋", "创建办", Role.ADMIN), "pw-3"),
        ),
    )
    assert report.summary() == "新增 4 人，更新 0 人，未变 0 人，不在本名册中 0 人"
    # By department (in code point order), then 工号.
    assert list_people(accounts_db) == [
        Person("A-07", "刘洋", "创建办", Role.ADMIN),
        Person("1001", "张伟", "办公室", Role.STAFF),
        Person("1003", "李娜", "监察支队", Role.STAFF),
        Person("1002", "王芳", "监测站", Role.HEAD),
    ]
    assert rows_of(
        accounts_db, "SELECT employee_no, department, since FROM department_history"
    ) == [
        ("1001", "办公室", "2025-03-03T01:00:00.000000+00:00"),
        ("1002", "监测站", "2025-03-03T01:00:00.000000+00:00"),
        ("1003", "监察支队", "2025-03-03T01:00:00.000000+00:00"),
        ("A-07", "创建办", "2025-03-03T01:00:00.000000+00:00"),
    ]
    assert (
        authenticate(accounts_db, "1003", "Jiancha2024", NOW).status
        is LoginStatus.MUST_CHANGE_PASSWORD
    )
    assert authenticate(accounts_db, "a-07", "pw-3", NOW).status is LoginStatus.MUST_CHANGE_PASSWORD


def test_reimport_updates_people_and_never_duplicates_them(accounts_db, tmp_path):
    first = write_csv(
        tmp_path / "一月.csv",
        [
            HEADER,
            ["1001", "张伟", "办公室", "职工"],
            ["1002", "王芳", "监测站", "职工"],
            ["1003", "李娜", "监察支队", "职工"],
            ["1004", "刘洋", "监测站", "职工"],
        ],
    )
    import_roster(accounts_db, read_roster(first), NOW, passwords("jan"))
    hashes_before = rows_of(accounts_db, "SELECT employee_no, password_hash FROM people")
    second = write_xlsx(
        tmp_path / "三月.xlsx",
        [
            HEADER,
            ["1001", "张伟", "办公室", "职工"],
            ["1002", "王芳", "监察支队", "负责人"],
            ["1003", "李 娜", "监察支队", "职工"],
            ["1005", "赵敏", "办公室", "职工"],
        ],
    )

    report = import_roster(accounts_db, read_roster(second), LATER, passwords("mar"))

    assert report == ImportReport(
        created=(NewAccount(Person("1005", "赵敏", "办公室", Role.STAFF), "mar-1"),),
        updated=(
            UpdatedPerson(
                "1002",
                "王芳",
                (Change("department", "监测站", "监察支队"), Change("role", "职工", "负责人")),
            ),
            UpdatedPerson("1003", "李 娜", (Change("name", "李娜", "李 娜"),)),
        ),
        unchanged=("1001",),
        missing=(Person("1004", "刘洋", "监测站", Role.STAFF),),
    )
    assert [str(change) for change in report.updated[0].changes] == [
        "部门：监测站 → 监察支队",
        "角色：职工 → 负责人",
    ]
    assert rows_of(accounts_db, "SELECT employee_no, name, department, role FROM people") == [
        ("1001", "张伟", "办公室", "staff"),
        ("1002", "王芳", "监察支队", "head"),
        ("1003", "李 娜", "监察支队", "staff"),
        ("1004", "刘洋", "监测站", "staff"),
        ("1005", "赵敏", "办公室", "staff"),
    ]
    # Existing people keep their passwords; the roster only adds new ones.
    assert (
        rows_of(accounts_db, "SELECT employee_no, password_hash FROM people")[:4] == hashes_before
    )


def test_department_moves_are_kept_so_figures_can_use_where_people_were(accounts_db, tmp_path):
    import_roster(
        accounts_db, [RosterRow(2, "1002", "王芳", "监测站", Role.STAFF)], NOW, passwords()
    )
    moved = [RosterRow(2, "1002", "王芳", "监察支队", Role.STAFF)]
    import_roster(accounts_db, moved, LATER, passwords())
    import_roster(accounts_db, moved, LATER + timedelta(days=1), passwords())  # no move, no entry

    assert [(s.department, s.since) for s in department_history(accounts_db, "1002")] == [
        ("监测站", NOW),
        ("监察支队", LATER),
    ]
    assert department_at(accounts_db, "1002", NOW - timedelta(seconds=1)) is None
    assert department_at(accounts_db, "1002", NOW) == "监测站"
    assert department_at(accounts_db, "1002", LATER - timedelta(seconds=1)) == "监测站"
    assert department_at(accounts_db, "1002", LATER + timedelta(days=9)) == "监察支队"


def test_same_roster_twice_changes_nothing(accounts_db):
    rows = read_roster(ROSTERS / "staff.xlsx")
    import_roster(accounts_db, rows, NOW, passwords())
    before = snapshot(accounts_db)

    report = import_roster(accounts_db, rows, LATER, passwords())

    assert report == ImportReport(unchanged=("3001", "3002", "3003"))
    assert snapshot(accounts_db) == before


def test_matching_is_by_employee_no_in_any_letter_case(accounts_db):
    import_roster(
        accounts_db, [RosterRow(2, "HB-1", "张伟", "办公室", Role.STAFF)], NOW, passwords()
    )
    report = import_roster(
        accounts_db, [RosterRow(2, "hb-1", "张伟", "监测站", Role.STAFF)], LATER, passwords()
    )
    assert report == ImportReport(
        updated=(UpdatedPerson("HB-1", "张伟", (Change("department", "办公室", "监测站"),)),)
    )
    assert [p.employee_no for p in list_people(accounts_db)] == ["HB-1"]


def test_a_deactivated_person_listed_again_is_reactivated(accounts_db):
    rows = [
        RosterRow(2, "1001", "张伟", "办公室", Role.STAFF),
        RosterRow(3, "1002", "王芳", "办公室", Role.STAFF),
    ]
    import_roster(accounts_db, rows, NOW, passwords())
    deactivate_account(accounts_db, "1002", NOW)
    report = import_roster(accounts_db, rows[:1], LATER, passwords())
    # A deactivated person is not "missing": the office has dealt with them already.
    assert report == ImportReport(unchanged=("1001",))

    report = import_roster(accounts_db, rows, LATER, passwords())
    assert report == ImportReport(
        updated=(UpdatedPerson("1002", "王芳", (Change("active", "停用", "在用"),)),),
        unchanged=("1001",),
    )
    assert get_person(accounts_db, "1002").active is True


def test_the_built_in_admin_is_not_reported_missing(accounts_db):
    ensure_first_admin(accounts_db, NOW)
    report = import_roster(
        accounts_db, [RosterRow(2, "1001", "张伟", "办公室", Role.STAFF)], NOW, passwords()
    )
    assert report.missing == ()


def test_an_import_that_fails_part_way_leaves_the_database_as_it_was(accounts_db):
    import_roster(
        accounts_db, [RosterRow(2, "1001", "张伟", "办公室", Role.STAFF)], NOW, passwords()
    )
    before = snapshot(accounts_db)
    rows = [
        RosterRow(2, "1001", "张伟", "监测站", Role.HEAD),
        RosterRow(3, "1002", "王芳", "办公室", Role.STAFF),
        # Not from read_roster: an empty department, which the table itself refuses.
        RosterRow(4, "1003", "李娜", "", Role.STAFF),
    ]
    with pytest.raises(Exception, match="CHECK constraint failed"):
        import_roster(accounts_db, rows, LATER, passwords())
    assert snapshot(accounts_db) == before


def test_rows_sharing_an_employee_no_are_refused(accounts_db):
    rows = [
        RosterRow(2, "hb-1", "张伟", "办公室", Role.STAFF),
        RosterRow(3, "HB-1", "王芳", "办公室", Role.STAFF),
    ]
    with pytest.raises(ValueError, match="share an employee_no"):
        import_roster(accounts_db, rows, NOW, passwords())


# -- command line ---------------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path):
    return CliRunner(env={"KB_DATA_DIR": str(tmp_path / "data")})


def app_db(tmp_path):
    database = open_db(tmp_path / "data" / "app.sqlite3")
    ensure_schema(database)
    return database


def test_cli_import_writes_initial_passwords_to_a_csv_for_handing_out(runner, tmp_path):
    out = tmp_path / "初始密码.csv"
    result = runner.invoke(
        roster_cli, ["import", str(ROSTERS / "staff-gb18030.csv"), "--passwords-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "名册 staff-gb18030.csv 已导入：新增 2 人，更新 0 人，未变 0 人，不在本名册中 0 人。\n"
        f"\n新增账号（初始密码已写入 {out}，首次登录须修改）：\n"
        "  2001  陈𠮷  监测站  职工\n"
        "  2002  赵敏  监察支队  职工\n"
    )
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # so Excel shows the Chinese
    with open(out, encoding="utf-8-sig", newline="") as f:
        sheet = list(csv.reader(f))
    assert [row[:5] for row in sheet] == [
        ["工号", "姓名", "部门", "职务", "角色"],
        ["2001", "陈𠮷", "监测站", "", "职工"],
        ["2002", "赵敏", "监察支队", "", "职工"],
    ]
    assert sheet[0][5] == "初始密码"
    assert out.stat().st_mode & 0o777 == 0o600
    accounts_db = app_db(tmp_path)
    for employee_no, _, _, _, _, password in sheet[1:]:
        assert authenticate(accounts_db, employee_no, password, NOW).status is (
            LoginStatus.MUST_CHANGE_PASSWORD
        )


def test_cli_import_prints_passwords_updates_and_missing_people(runner, tmp_path):
    first = write_csv(
        tmp_path / "a.csv",
        [HEADER, ["1001", "张伟", "办公室", "职工"], ["1003", "李娜", "办公室", "职工"]],
    )
    second = write_csv(
        tmp_path / "b.csv",
        [HEADER, ["1002", "王芳", "监测站", "职工"], ["1003", "李娜", "监测站", "负责人"]],
    )
    assert runner.invoke(roster_cli, ["import", str(first)]).exit_code == 0
    result = runner.invoke(roster_cli, ["import", str(second)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "名册 b.csv 已导入：新增 1 人，更新 1 人，未变 0 人，不在本名册中 1 人。",
        "",
        "新增账号及初始密码（请妥善分发，首次登录须修改）：",
    ]
    password = lines[3].removeprefix("  1002  王芳  监测站  职工  初始密码 ")
    assert authenticate(app_db(tmp_path), "1002", password, NOW).status is (
        LoginStatus.MUST_CHANGE_PASSWORD
    )
    assert lines[4:] == [
        "",
        "已更新：",
        "  1003  李娜：部门：办公室 → 监测站；角色：职工 → 负责人",
        "",
        "系统中有、但不在本名册中，未做改动（如已调离，可用 --deactivate-missing 或 `account deactivate 工号` 停用）：",
        "  1001  张伟  办公室  职工",
    ]


def test_cli_bad_file_exits_1_with_every_error_and_changes_nothing(runner, tmp_path):
    good = write_csv(tmp_path / "good.csv", [HEADER, ["1001", "张伟", "办公室", "职工"]])
    assert runner.invoke(roster_cli, ["import", str(good)]).exit_code == 0
    before = snapshot(app_db(tmp_path))
    bad = write_csv(
        tmp_path / "bad.csv",
        [HEADER, ["1001", "张伟", "监测站", "职工"], ["1002", "", "监测站", "经理"]],
    )
    out = tmp_path / "pw.csv"

    result = runner.invoke(roster_cli, ["import", str(bad), "--passwords-out", str(out)])

    assert result.exit_code == 1
    assert result.output == (
        "名册有 2 处问题，未导入任何内容：\n"
        "  bad.csv:第3行: 姓名 为空\n"
        "  bad.csv:第3行: 角色 “经理” 无法识别（可用：职工、负责人、创建办）\n"
    )
    assert snapshot(app_db(tmp_path)) == before
    assert not out.exists()


def test_cli_never_overwrites_an_earlier_passwords_file(runner, tmp_path):
    out = tmp_path / "pw.csv"
    out.write_text("工号,初始密码\n1001,earlier-secret\n", encoding="utf-8")
    roster = write_csv(tmp_path / "r.csv", [HEADER, ["1001", "张伟", "办公室", "职工"]])

    result = runner.invoke(roster_cli, ["import", str(roster), "--passwords-out", str(out)])

    assert result.exit_code == 1
    assert result.output == (
        f"{out} 已存在：为免覆盖之前发出的初始密码，请换一个文件名或先删除它\n"
    )
    assert out.read_text(encoding="utf-8") == "工号,初始密码\n1001,earlier-secret\n"
    assert list_people(app_db(tmp_path)) == []


# -- the sheets offices really have ---------------------------------------------------------


def write_sheets(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """An .xlsx with these sheets, in order; the first row of a one-cell title is merged
    across the table, as offices lay out a 花名册."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if rows and len(rows[0]) == 1 and len(rows) > 1:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    workbook.save(path)
    return path


TITLE_ROW_ROSTER = [
    ["XX市生态环境局职工花名册"],
    ["填报科室：办公室", None, None, "填报日期：2026年11月30日"],
    [],
    ["序号", "科室", "姓  名", "工号", "职务", "联系电话"],
    [1, "办公室", "张伟", "0101", "科员", "13800000001"],
    [2, "办公室", "王芳", "0102", "副科长", None],
    [3, "监测站", "李娜", "0201", "站长", "13800000003"],
    [4, "监测站", "刘洋", "0202", None, None],
]


def test_a_title_row_roster_with_keshi_and_zhiwu_imports(accounts_db, tmp_path):
    path = write_sheets(tmp_path / "花名册.xlsx", {"花名册": TITLE_ROW_ROSTER})

    roster = read_roster_file(path)

    assert roster == RosterFile(
        rows=[
            RosterRow(5, "0101", "张伟", "办公室", None, None, "科员"),
            RosterRow(6, "0102", "王芳", "办公室", None, None, "副科长"),
            RosterRow(7, "0201", "李娜", "监测站", None, None, "站长"),
            RosterRow(8, "0202", "刘洋", "监测站", None, None, ""),
        ],
        sheet="花名册",
        header_line=4,
        columns={"工号": "工号", "姓名": "姓  名", "部门": "科室", "职务": "职务"},
    )
    assert roster.description() == (
        "读取工作表“花名册”，表头在第 4 行；列：工号、姓名（“姓  名”列）、部门（“科室”列）、职务"
    )
    report = import_roster(accounts_db, roster.rows, NOW, passwords())
    assert [account.person for account in report.created] == [
        Person("0101", "张伟", "办公室", Role.STAFF, title="科员"),
        Person("0102", "王芳", "办公室", Role.STAFF, title="副科长"),
        Person("0201", "李娜", "监测站", Role.STAFF, title="站长"),
        Person("0202", "刘洋", "监测站", Role.STAFF, title=""),
    ]
    assert list_people(accounts_db) == [account.person for account in report.created]
    assert authenticate(accounts_db, "0201", "pw-3", NOW).status is LoginStatus.MUST_CHANGE_PASSWORD


def test_the_first_sheet_with_a_header_is_read_and_sheets_without_one_are_named(tmp_path):
    good = write_sheets(
        tmp_path / "名册.xlsx",
        {"说明": [["请在“名册”工作表中填写"]], "名册": TITLE_ROW_ROSTER[3:5]},
    )
    assert read_roster_file(good) == RosterFile(
        [RosterRow(2, "0101", "张伟", "办公室", None, None, "科员")],
        "名册",
        1,
        {"工号": "工号", "姓名": "姓  名", "部门": "科室", "职务": "职务"},
    )

    # Eleven rows of title and notes: the header is below where it is looked for.
    bad = write_sheets(
        tmp_path / "坏.xlsx",
        {"说明": [["说明"]], "空": [], "名册": [[f"第{i}行说明"] for i in range(10)] + [HEADER]},
    )
    with pytest.raises(RosterError) as caught:
        read_roster(bad)
    assert caught.value.errors == [
        f"坏.xlsx（工作表“说明”）: {WANTED}",
        "坏.xlsx（工作表“空”）: 是空的",
        f"坏.xlsx（工作表“名册”）: {WANTED}",
    ]


@pytest.mark.parametrize(
    ("header", "read_as"),
    [
        (["人员编号", "姓名", "处室"], {"工号": "人员编号", "姓名": "姓名", "部门": "处室"}),
        (["职工编号", "姓名", "站"], {"工号": "职工编号", "姓名": "姓名", "部门": "站"}),
        (["编号", "姓名", "队"], {"工号": "编号", "姓名": "姓名", "部门": "队"}),
        (["工号*", "姓名", "单位"], {"工号": "工号*", "姓名": "姓名", "部门": "单位"}),
        (
            ["工号", "姓\u3000名", "科室（站、队）", "系统角色"],
            {"工号": "工号", "姓名": "姓\u3000名", "部门": "科室（站、队）", "角色": "系统角色"},
        ),
        # The bureau's name in 单位, the department in 科室: 科室 is read.
        (["单位", "工号", "姓名", "科室"], {"工号": "工号", "姓名": "姓名", "部门": "科室"}),
        (
            ["部门", "工号", "姓名", "职位"],
            {"工号": "工号", "姓名": "姓名", "部门": "部门", "职务": "职位"},
        ),
    ],
)
def test_header_synonyms(tmp_path, header, read_as):
    values = {"工号": "1001", "姓名": "张伟", "部门": "办公室", "角色": "负责人", "职务": "科长"}
    fields = {name: label for label, name in read_as.items()}
    row = [values.get(fields.get(title), "XX市生态环境局") for title in header]
    path = write_csv(tmp_path / "r.csv", [header, row])

    roster = read_roster_file(path)

    assert roster.columns == read_as
    assert roster.rows == [
        RosterRow(
            2,
            "1001",
            "张伟",
            "办公室",
            Role.HEAD if "角色" in read_as else None,
            None,
            "科长" if "职务" in read_as else None,
        )
    ]


def test_a_zhiwu_in_the_role_column_is_told_apart_with_its_row(tmp_path):
    path = write_sheets(
        tmp_path / "名册.xlsx",
        {
            "Sheet1": [
                ["职工名册"],
                ["工号", "姓名", "科室", "角色"],
                ["1001", "张伟", "办公室", "科员"],
                ["1002", "王芳", "办公室", "副科长"],
                ["1003", "李娜", "监测站", "负责人"],
                ["1004", "刘洋", "监测站", "一级主任科员"],
                ["1005", "赵敏", "监测站", "经理"],
                ["1006", "钱进", "监测站", None],
            ]
        },
    )
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    told = (
        "是职务，不是系统角色：职务请填在“职务”列，角色列只填 职工、负责人、创建办（不填即为 职工）"
    )
    assert caught.value.errors == [
        "名册.xlsx:第2行: “角色”列有 3 行填的是职务：如这一列就是职务，"
        "请把表头改为“职务”（角色可不填，默认 职工）",
        f"名册.xlsx:第3行: 角色 “科员” {told}",
        f"名册.xlsx:第4行: 角色 “副科长” {told}",
        f"名册.xlsx:第6行: 角色 “一级主任科员” {told}",
        "名册.xlsx:第7行: 角色 “经理” 无法识别（可用：职工、负责人、创建办）",
    ]


def test_a_role_the_sheet_does_not_give_is_staff_for_new_people_and_kept_for_known_ones(
    accounts_db,
):
    import_roster(
        accounts_db, [RosterRow(2, "1001", "王芳", "办公室", Role.HEAD, title="科长")], NOW
    )
    rows = [
        RosterRow(2, "1001", "王芳", "办公室", None),
        RosterRow(3, "1002", "张伟", "办公室", None),
    ]
    plan = plan_roster(accounts_db, rows)
    assert plan == RosterPlan(
        new=(Person("1002", "张伟", "办公室", Role.STAFF),),
        unchanged=(get_person(accounts_db, "1001"),),
    )


def preview_db(accounts_db) -> None:
    """Five people and an admin, one of them deactivated, before the new roster."""
    import_roster(
        accounts_db,
        [
            RosterRow(2, "1001", "张伟", "办公室", Role.STAFF, title="科员"),
            RosterRow(3, "1002", "王芳", "监测站", Role.STAFF, title="科员"),
            RosterRow(4, "1003", "李娜", "监测站", Role.HEAD, title="站长"),
            RosterRow(5, "1004", "刘洋", "监察支队", Role.STAFF),
            RosterRow(6, "1005", "赵敏", "办公室", Role.STAFF),
            RosterRow(7, "9001", "钱进", "创建办", Role.ADMIN),
        ],
        NOW,
        passwords(),
    )
    deactivate_account(accounts_db, "1005", NOW)


NEW_ROSTER = [
    RosterRow(2, "1001", "张伟", "办公室", None, None, "科员"),
    RosterRow(3, "1002", "王芳", "监察支队", Role.HEAD, None, "副科长"),
    RosterRow(4, "1005", "赵敏", "办公室", None, None, ""),
    RosterRow(5, "1006", "孙丽", "监测站", None, None, "科员"),
]


def test_the_preview_lists_new_changed_unchanged_and_missing_exactly(accounts_db):
    preview_db(accounts_db)

    plan = plan_roster(accounts_db, NEW_ROSTER)

    assert plan == RosterPlan(
        new=(Person("1006", "孙丽", "监测站", Role.STAFF, title="科员"),),
        changed=(
            UpdatedPerson(
                "1002",
                "王芳",
                (
                    Change("department", "监测站", "监察支队"),
                    Change("title", "科员", "副科长"),
                    Change("role", "职工", "负责人"),
                ),
            ),
            UpdatedPerson("1005", "赵敏", (Change("active", "停用", "在用"),)),
        ),
        unchanged=(get_person(accounts_db, "1001"),),
        missing=(
            get_person(accounts_db, "9001"),
            get_person(accounts_db, "1004"),
            get_person(accounts_db, "1003"),
        ),
    )
    assert plan.summary() == "新增 1 人，变更 2 人，未变 1 人，系统中有但名册中没有 3 人"
    assert list(preview_rows(plan, deactivate_missing=False)) == [
        (
            "新增",
            "1006",
            "孙丽",
            "监测站",
            "科员",
            "职工",
            "新建账号，发初始密码（首次登录须修改）",
        ),
        (
            "变更",
            "1002",
            "王芳",
            "监察支队",
            "副科长",
            "负责人",
            "部门：监测站 → 监察支队；职务：科员 → 副科长；角色：职工 → 负责人",
        ),
        ("变更", "1005", "赵敏", "办公室", "", "职工", "状态：停用 → 在用"),
        ("未变", "1001", "张伟", "办公室", "科员", "职工", ""),
        (
            "名册中没有",
            "9001",
            "钱进",
            "创建办",
            "",
            "创建办",
            "不做改动（创建办账号不随名册停用）",
        ),
        (
            "名册中没有",
            "1004",
            "刘洋",
            "监察支队",
            "",
            "职工",
            "不做改动（如已调离，可勾选停用或在“账号”中停用）",
        ),
        (
            "名册中没有",
            "1003",
            "李娜",
            "监测站",
            "站长",
            "负责人",
            "不做改动（如已调离，可勾选停用或在“账号”中停用）",
        ),
    ]
    notes = [row[-1] for row in preview_rows(plan, deactivate_missing=True)][-3:]
    assert notes == [
        "不做改动（创建办账号不随名册停用）",
        "将停用（不能再登录，学习记录保留）",
        "将停用（不能再登录，学习记录保留）",
    ]


def test_applying_the_preview_does_what_it_said_and_deactivates_only_when_asked(accounts_db):
    preview_db(accounts_db)
    plan = plan_roster(accounts_db, NEW_ROSTER)

    report = import_roster(
        accounts_db, NEW_ROSTER, LATER, passwords("new"), deactivate_missing=True, expected=plan
    )

    assert report == ImportReport(
        created=(NewAccount(Person("1006", "孙丽", "监测站", Role.STAFF, title="科员"), "new-1"),),
        updated=plan.changed,
        unchanged=("1001",),
        missing=plan.missing,
        # as they were when deactivated
        deactivated=plan.missing[1:],
    )
    assert (
        report.summary() == "新增 1 人，更新 2 人，未变 1 人，不在本名册中 3 人（已停用其中 2 人）"
    )
    assert rows_of(
        accounts_db,
        "SELECT employee_no, department, title, role, active FROM people ORDER BY employee_no",
    ) == [
        ("1001", "办公室", "科员", "staff", 1),
        ("1002", "监察支队", "副科长", "head", 1),
        ("1003", "监测站", "站长", "head", 0),
        ("1004", "监察支队", "", "staff", 0),
        ("1005", "办公室", "", "staff", 1),
        ("1006", "监测站", "科员", "staff", 1),
        ("9001", "创建办", "", "admin", 1),
    ]
    assert plan_roster(accounts_db, NEW_ROSTER) == RosterPlan(
        unchanged=tuple(get_person(accounts_db, e) for e in ("1001", "1002", "1005", "1006")),
        missing=(get_person(accounts_db, "9001"),),
    )


def test_without_asking_nobody_is_deactivated(accounts_db):
    preview_db(accounts_db)
    report = import_roster(accounts_db, NEW_ROSTER, LATER, passwords("new"))
    assert report.deactivated == ()
    assert sorted(p.employee_no for p in list_people(accounts_db, active_only=True)) == [
        "1001",
        "1002",
        "1003",
        "1004",
        "1005",
        "1006",
        "9001",
    ]


def test_an_import_is_refused_whole_when_the_accounts_changed_since_the_preview(accounts_db):
    preview_db(accounts_db)
    plan = plan_roster(accounts_db, NEW_ROSTER)
    # Another admin moves 王芳 between the preview and the confirmation.
    import_roster(accounts_db, [RosterRow(2, "1002", "王芳", "办公室", None)], NOW, passwords())
    before = snapshot(accounts_db)

    with pytest.raises(RosterChanged) as caught:
        import_roster(
            accounts_db, NEW_ROSTER, LATER, passwords(), deactivate_missing=True, expected=plan
        )

    assert str(caught.value) == (
        "预览之后账号已有变化（有人同时修改了账号），未做任何修改；请重新检查名册"
    )
    assert snapshot(accounts_db) == before


def test_an_import_failing_after_it_deactivated_people_leaves_everything_as_it_was(
    accounts_db, monkeypatch
):
    preview_db(accounts_db)
    before = snapshot(accounts_db)
    calls = []

    def failing(database, employee_no, now):
        calls.append(employee_no)
        deactivate_account(database, employee_no, now)
        if len(calls) == 2:
            raise OSError("disk full")

    monkeypatch.setattr("quizzes.roster.deactivate_account", failing)
    with pytest.raises(OSError, match="disk full"):
        import_roster(accounts_db, NEW_ROSTER, LATER, passwords(), deactivate_missing=True)
    assert calls == ["1004", "1003"]
    assert snapshot(accounts_db) == before


# -- initial passwords ----------------------------------------------------------------------


def test_reissue_invalidates_the_old_initial_password_only_for_people_never_logged_in(accounts_db):
    import_roster(
        accounts_db,
        [
            RosterRow(2, "1001", "张伟", "办公室", None),
            RosterRow(3, "1002", "王芳", "办公室", None),
            RosterRow(4, "1003", "李娜", "办公室", None),
            RosterRow(5, "1004", "刘洋", "办公室", None),
            RosterRow(6, "1005", "赵敏", "办公室", None),
        ],
        NOW,
        passwords("old"),
    )
    # 1002 logged in with the initial password and has not changed it yet; 1003 changed
    # it; 1004 was deactivated; 1001 and 1005 never logged in.
    assert (
        authenticate(accounts_db, "1002", "old-2", NOW).status is LoginStatus.MUST_CHANGE_PASSWORD
    )
    change_password(accounts_db, "1003", "old-3", "green2026river", NOW)
    deactivate_account(accounts_db, "1004", NOW)
    assert [p.employee_no for p in awaiting_first_login(accounts_db)] == ["1001", "1005"]
    before = {row["employee_no"]: row["session_version"] for row in accounts_db["people"].rows}

    report = reissue_initial_passwords(
        accounts_db, ["1001", "1002", "1003", "1004", "9999", "1001"], LATER, passwords("new")
    )

    assert report == ReissueReport(
        issued=(NewAccount(get_person(accounts_db, "1001"), "new-1"),),
        refused=(
            ("1002", "已登录过，初始密码已不再使用（如忘记密码，请在“账号”中重置密码）"),
            ("1003", "已登录过，初始密码已不再使用（如忘记密码，请在“账号”中重置密码）"),
            ("1004", "账号已停用"),
            ("9999", "没有这个账号"),
        ),
    )
    status = {
        (employee_no, password): authenticate(accounts_db, employee_no, password, LATER).status
        for employee_no, password in [
            ("1001", "old-1"),
            ("1001", "new-1"),
            ("1002", "old-2"),
            ("1003", "green2026river"),
            ("1005", "old-5"),
        ]
    }
    assert status == {
        ("1001", "old-1"): LoginStatus.WRONG_CREDENTIALS,
        ("1001", "new-1"): LoginStatus.MUST_CHANGE_PASSWORD,
        ("1002", "old-2"): LoginStatus.MUST_CHANGE_PASSWORD,
        ("1003", "green2026river"): LoginStatus.OK,
        ("1005", "old-5"): LoginStatus.MUST_CHANGE_PASSWORD,
    }
    # Only the re-issued account's sessions end.
    after = {row["employee_no"]: row["session_version"] for row in accounts_db["people"].rows}
    assert {e for e in after if after[e] != before[e]} == {"1001"}


def test_the_cli_previews_with_dry_run_and_writes_nothing(runner, tmp_path):
    first = write_csv(tmp_path / "a.csv", [HEADER, ["1001", "张伟", "办公室", "职工"]])
    assert runner.invoke(roster_cli, ["import", str(first)]).exit_code == 0
    before = snapshot(app_db(tmp_path))
    path = write_sheets(tmp_path / "花名册.xlsx", {"花名册": TITLE_ROW_ROSTER})

    result = runner.invoke(roster_cli, ["import", str(path), "--dry-run", "--deactivate-missing"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "名册 花名册.xlsx 预览（未写入）：新增 4 人，变更 0 人，未变 0 人，系统中有但名册中没有 1 人。",
        "读取工作表“花名册”，表头在第 4 行；列：工号、姓名（“姓  名”列）、部门（“科室”列）、职务",
        "  新增  0101  张伟  办公室  科员  职工  新建账号，发初始密码（首次登录须修改）",
        "  新增  0102  王芳  办公室  副科长  职工  新建账号，发初始密码（首次登录须修改）",
        "  新增  0201  李娜  监测站  站长  职工  新建账号，发初始密码（首次登录须修改）",
        "  新增  0202  刘洋  监测站  -  职工  新建账号，发初始密码（首次登录须修改）",
        "  名册中没有  1001  张伟  办公室  -  职工  将停用（不能再登录，学习记录保留）",
    ]
    assert snapshot(app_db(tmp_path)) == before

    result = runner.invoke(roster_cli, ["import", str(path), "--deactivate-missing"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "名册 花名册.xlsx 已导入：新增 4 人，更新 0 人，未变 0 人，不在本名册中 1 人（已停用其中 1 人）。"
    )
    assert sorted((p.employee_no, p.active) for p in list_people(app_db(tmp_path))) == [
        ("0101", True),
        ("0102", True),
        ("0201", True),
        ("0202", True),
        ("1001", False),
    ]


def test_the_template_is_itself_a_roster_with_a_title_row_and_an_example(runner, tmp_path):
    out = tmp_path / "模板.xlsx"
    result = runner.invoke(roster_cli, ["template", str(out)])
    assert result.exit_code == 0, result.output
    assert read_roster_file(out) == RosterFile(
        [RosterRow(3, "0101", "张三", "办公室", Role.STAFF, None, "科员")],
        "名册",
        2,
        {
            "工号": "工号",
            "姓名": "姓名",
            "部门": "科室",
            "职务": "职务",
            "角色": "角色",
            "初始密码": "初始密码",
        },
    )
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["名册", "说明"]
    assert workbook["名册"]["A1"].value == "职工名册（第 3 行为示例，导入前请改为本单位人员或删除）"
    assert workbook["名册"]["A3"].number_format == "@"
    assert [
        row[0] for row in workbook["说明"].iter_rows(min_row=2, max_row=7, values_only=True)
    ] == [
        "工号",
        "姓名",
        "科室",
        "职务",
        "角色",
        "初始密码",
    ]
    result = runner.invoke(roster_cli, ["template", str(out)])
    assert (result.exit_code, result.output) == (1, f"{out} 已存在，请换一个文件名\n")


def test_the_cli_lists_who_awaits_a_first_login_and_reissues_to_a_file(runner, tmp_path):
    roster = write_csv(
        tmp_path / "r.csv",
        [
            ["工号", "姓名", "科室", "职务"],
            ["1001", "=1+2", "办公室", "科员"],
            ["1002", "王芳", "办公室", ""],
        ],
    )
    assert runner.invoke(roster_cli, ["import", str(roster)]).exit_code == 0
    result = runner.invoke(roster_cli, ["pending"])
    assert result.output.splitlines() == [
        "1001  =1+2  办公室  科员  职工",
        "1002  王芳  办公室  职工",
        "共 2 人尚未首次登录。",
    ]
    out = tmp_path / "新密码.csv"

    result = runner.invoke(roster_cli, ["reissue", "--all", "--passwords-out", str(out)])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"已为 2 人重新生成初始密码（已写入 {out}），原初始密码已作废：",
        "  1001  =1+2  办公室  科员  职工",
        "  1002  王芳  办公室  职工",
    ]
    with open(out, encoding="utf-8-sig", newline="") as f:
        sheet = list(csv.reader(f))
    # The name that starts a formula is written as text.
    assert [row[:5] for row in sheet] == [
        ["工号", "姓名", "部门", "职务", "角色"],
        ["1001", "'=1+2", "办公室", "科员", "职工"],
        ["1002", "王芳", "办公室", "", "职工"],
    ]
    assert authenticate(app_db(tmp_path), "1002", sheet[2][5], NOW).status is (
        LoginStatus.MUST_CHANGE_PASSWORD
    )
    result = runner.invoke(roster_cli, ["reissue"])
    assert (result.exit_code, result.output) == (
        1,
        "请给出工号，或用 --all 表示所有尚未首次登录的人员（二者选一）\n",
    )


def test_an_account_made_on_the_command_line_carries_its_zhiwu(runner, tmp_path):
    from quizzes.cli_accounts import account_cli

    result = runner.invoke(
        account_cli,
        ["create", "1001", "--name", "张伟", "--department", "办公室", "--title", "副科长"],
    )
    assert result.exit_code == 0, result.output
    assert get_person(app_db(tmp_path), "1001") == Person(
        "1001", "张伟", "办公室", Role.STAFF, title="副科长"
    )
    result = runner.invoke(account_cli, ["list"])
    assert result.output.splitlines() == [
        "1001  张伟  办公室  副科长  职工  在用（待改初始密码）",
        "共 1 人。",
    ]


def test_with_a_zhiwu_column_beside_it_the_role_column_gets_no_rename_hint(tmp_path):
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["工号", "姓名", "科室", "职务", "角色"],
            ["1001", "张伟", "办公室", "科员", "科员"],
            ["1002", "王芳", "办公室", "科长", "科长"],
        ],
    )
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    told = (
        "是职务，不是系统角色：职务请填在“职务”列，角色列只填 职工、负责人、创建办（不填即为 职工）"
    )
    assert caught.value.errors == [
        f"r.csv:第2行: 角色 “科员” {told}",
        f"r.csv:第3行: 角色 “科长” {told}",
    ]


def test_lines_under_the_table_without_a_person_are_named_not_read(runner, tmp_path):
    path = write_sheets(
        tmp_path / "花名册.xlsx",
        {
            "花名册": [
                *TITLE_ROW_ROSTER[:6],
                [],
                ["合计", None, None, None, None, "2 人"],
                [None, "制表人：王五", None, None, "审核人：赵六"],
            ]
        },
    )
    roster = read_roster_file(path)
    assert [row.employee_no for row in roster.rows] == ["0101", "0102"]
    assert roster.skipped == ("第8行：合计 2 人", "第9行：制表人：王五 审核人：赵六")
    assert roster.skipped_note() == (
        "以下行没有工号和姓名，未作为人员读取：第8行：合计 2 人；第9行：制表人：王五 审核人：赵六"
    )
    assert read_roster_file(ROSTERS / "staff.xlsx").skipped_note() is None
    result = runner.invoke(roster_cli, ["import", str(path), "--dry-run"])
    assert result.output.splitlines()[2] == roster.skipped_note()


def test_a_roster_that_would_leave_no_active_admin_is_refused_whole(runner, tmp_path):
    accounts_db = app_db(tmp_path)
    import_roster(
        accounts_db,
        [
            RosterRow(2, "9001", "钱进", "创建办", Role.ADMIN),
            RosterRow(3, "1001", "张伟", "办公室", Role.STAFF),
        ],
        NOW,
        passwords(),
    )
    before = snapshot(accounts_db)
    roster = write_csv(
        tmp_path / "r.csv",
        [HEADER, ["9001", "钱进", "创建办", "职工"], ["1002", "王芳", "办公室", "职工"]],
    )
    out = tmp_path / "pw.csv"

    result = runner.invoke(roster_cli, ["import", str(roster), "--passwords-out", str(out)])

    assert (result.exit_code, result.output) == (
        1,
        "导入后将没有在用的创建办账号（名册把所有创建办人员的角色改掉了），"
        "未做任何修改；请在名册中保留至少一名创建办人员的角色\n",
    )
    assert snapshot(app_db(tmp_path)) == before
    assert not out.exists()
