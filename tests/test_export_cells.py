"""No export carries a live formula: text that starts like one is a string cell in .xlsx
and starts with an apostrophe in .csv (OWASP), in every export of the pages and the CLI."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import datetime

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from kb.documents import document_texts
from office.reports import csv_bytes, report_tables, workbook_bytes
from office.scope import Scope
from quizzes.bank import load_bank
from quizzes.cli_accounts import roster_cli
from quizzes.exemptions import add_exemption
from quizzes.export_cells import csv_cell, csv_rows_bytes, text_cells
from quizzes.roster import NewAccount, passwords_table
from quizzes.spreadsheet import export_quiz_xlsx
from tests.data.office.office_records import (
    BANK_DIR,
    RIGHT,
    at,
    office_plan,
    open_office_db,
    person,
    take,
)

NAME = '=HYPERLINK("http://evil.example","点我")'
DEPARTMENT = "+1+2 监测站"
REASON = "@SUM(1,1) 外派"
STEM = "-2+3 公众对城市环保的满意率目标是多少？"
HOSTILE = (NAME, DEPARTMENT, REASON, STEM)


@pytest.fixture
def hostile(tmp_path):
    """A bureau whose names, department, exemption reason and a question stem start like
    formulas: (database, bank)."""
    bank_dir = tmp_path / "bank"
    shutil.copytree(BANK_DIR, bank_dir)
    alpha = bank_dir / "alpha.yaml"
    alpha.write_text(
        alpha.read_text("utf-8").replace(
            "stem: 公众对城市环保的满意率目标是多少？", f'stem: "{STEM}"', 1
        ),
        "utf-8",
    )
    db = open_office_db(tmp_path / "app.sqlite3")
    bank = load_bank(bank_dir, document_texts(db))
    assert not bank.errors and bank.quiz("alpha").questions[0].stem == STEM
    person(db, "1001", NAME, DEPARTMENT)
    person(db, "1002", "李强", DEPARTMENT)
    take(db, bank, "alpha", "1001", at(5), RIGHT["alpha"])
    add_exemption(db, "1002", REASON, at(6), "admin")
    yield db, bank
    db.close()


def cells_of(data: bytes) -> dict[str, str]:
    """Each text value of a workbook with its cell's data type."""
    found = {}
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    found[cell.value] = cell.data_type
    return found


def test_csv_cells_that_start_like_a_formula_get_an_apostrophe():
    starts = ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "1-1", "王=", "", 3, -3.5, None]
    assert [csv_cell(v) for v in starts] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "'\rx",
        "1-1",
        "王=",
        "",
        3,
        -3.5,
        None,
    ]


def test_the_dashboard_workbook_writes_every_such_value_as_a_string_cell(hostile):
    db, bank = hostile
    tables = report_tables(Scope(db, office_plan(), bank, at(22)))
    cells = cells_of(workbook_bytes(tables))
    assert {value: cells.get(value) for value in HOSTILE} == dict.fromkeys(HOSTILE, "s")
    assert "f" not in cells.values()


def test_the_dashboard_csv_files_start_such_values_with_an_apostrophe(hostile):
    db, bank = hostile
    tables = report_tables(Scope(db, office_plan(), bank, at(22)))
    texts = set()
    for data in csv_bytes(tables, at(22)).values():
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
            texts.update(row)
    assert {f"'{value}" for value in HOSTILE} <= texts
    # Numbers stay numbers (汇总 has 距截止（天） -2); no text starts like a formula.
    assert not {v for v in texts if v.startswith(("=", "+", "-", "@")) and not is_number(v)}


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_the_page_csv_zip_holds_the_same_safe_files(hostile):
    from office.reports import csv_archive

    db, bank = hostile
    tables = report_tables(Scope(db, office_plan(), bank, at(22)))
    archive = zipfile.ZipFile(io.BytesIO(csv_archive(tables, at(22))))
    assert {name: archive.read(name) for name in archive.namelist()} == csv_bytes(tables, at(22))


def test_the_question_bank_export_writes_a_stem_as_a_string_cell(hostile, tmp_path):
    _, bank = hostile
    export_quiz_xlsx(bank.quiz("alpha"), tmp_path / "alpha.xlsx")
    cells = cells_of((tmp_path / "alpha.xlsx").read_bytes())
    assert cells[STEM] == "s"
    assert "f" not in cells.values()


def test_the_initial_password_sheet_is_safe_from_the_page_and_the_cli(tmp_path):
    from quizzes.people import Person, Role

    created = [
        NewAccount(Person("1001", NAME, DEPARTMENT, Role.STAFF, title="-科员"), "k7mp-x3fq-9hta")
    ]
    rows = list(
        csv.reader(io.StringIO(csv_rows_bytes(passwords_table(created)).decode("utf-8-sig")))
    )
    assert rows[1] == ["1001", f"'{NAME}", f"'{DEPARTMENT}", "'-科员", "职工", "k7mp-x3fq-9hta"]

    roster = tmp_path / "roster.csv"
    roster.write_text(f"工号,姓名,部门,角色\n2001,{csv_escape(NAME)},{DEPARTMENT},职工\n", "utf-8")
    out = tmp_path / "passwords.csv"
    runner = CliRunner(env={"KB_DATA_DIR": str(tmp_path / "data")})
    result = runner.invoke(roster_cli, ["import", str(roster), "--passwords-out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[1][:5] == ["2001", f"'{NAME}", f"'{DEPARTMENT}", "", "职工"]


def csv_escape(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_text_cells_turns_formulas_openpyxl_made_from_text_into_strings():
    sheet = Workbook().active
    sheet.append(["=1+1", "plain", 3, datetime(2026, 1, 1)])
    assert [c.data_type for c in sheet[1]] == ["f", "s", "n", "d"]
    text_cells(sheet)
    assert [c.data_type for c in sheet[1]] == ["s", "s", "n", "d"]
