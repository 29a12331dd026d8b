"""Exports: the workbook and the CSV files hold exactly what the dashboard shows; the
office's commands."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from base.store import open_db
from office import cli as cli_office
from office.dashboard import (
    by_department,
    completions_per_day,
    exempt_list,
    headline,
    headline_table,
    overdue_list,
)
from office.notices import list_notices
from office.reports import (
    SHEETS,
    dashboard_csvs,
    dashboard_workbook,
    report_filename,
    report_tables,
)
from office.scope import PERCENT_COLUMNS, Scope
from office.statistics import question_stats, quiz_stats
from quizzes.plan import get_plan, save_plan
from tests.data.office.office_records import (
    BANK_DIR,
    CORPUS,
    STATION,
    at,
    build_bureau,
    office_bank,
    office_plan,
    open_office_db,
)

AFTER = at(22)


def screen(db, bank, as_of, departments=None) -> dict[str, pd.DataFrame]:
    """What the dashboard functions return, called one by one as a page would."""
    plan = office_plan()
    return {
        "汇总": headline_table(headline(Scope(db, plan, bank, as_of, departments))),
        "按部门": by_department(Scope(db, plan, bank, as_of, departments)),
        "逾期名单": overdue_list(Scope(db, plan, bank, as_of, departments)),
        "免学名单": exempt_list(Scope(db, plan, bank, as_of, departments)),
        "每日完成": completions_per_day(Scope(db, plan, bank, as_of, departments)),
        "测验统计": quiz_stats(Scope(db, office_plan(), bank, as_of, departments)),
        "题目统计": question_stats(Scope(db, office_plan(), bank, as_of, departments)),
    }


def cell(value: Any) -> Any:
    """A table value as a workbook gives it back (a date cell reads as midnight)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if hasattr(value, "item"):
        value = value.item()
    return stored(value)


def stored(value: Any) -> Any:
    # A workbook keeps 15-16 significant digits of a float; an empty text is no value.
    if isinstance(value, float):
        return float(f"{value:.14g}")
    return None if value == "" else value


def test_the_workbook_holds_exactly_what_the_dashboard_shows(bureau, bank):
    book = load_workbook(io.BytesIO(dashboard_workbook(Scope(bureau, office_plan(), bank, AFTER))))
    assert book.sheetnames == list(SHEETS)
    tables = screen(bureau, bank, AFTER)
    for name, table in tables.items():
        rows = list(book[name].iter_rows(values_only=True))
        assert rows[0] == tuple(table.columns), name
        exported = [[stored(v) for v in row] for row in rows[1:]]
        assert exported == [[cell(v) for v in row] for row in table.itertuples(index=False)], name
    # Not vacuous: the overdue list and the question table have rows.
    assert len(tables["逾期名单"]) == 4
    assert len(tables["题目统计"]) == 6
    # Shares are numbers shown as percentages, times as times.
    departments = book["按部门"]
    assert (departments["D1"].value, departments["D2"].number_format) == ("参与率", "0.0%")
    assert book["逾期名单"]["H4"].number_format == "yyyy-mm-dd hh:mm"
    assert book["每日完成"]["A2"].number_format == "yyyy-mm-dd"


def test_a_heads_export_holds_their_department_only(bureau, bank):
    book = load_workbook(
        io.BytesIO(dashboard_workbook(Scope(bureau, office_plan(), bank, AFTER, [STATION])))
    )
    assert [row[0] for row in book["按部门"].iter_rows(min_row=2, values_only=True)] == [STATION]
    assert {row[0] for row in book["逾期名单"].iter_rows(min_row=2, values_only=True)} == {STATION}
    summary = dict(book["汇总"].iter_rows(min_row=2, values_only=True))
    assert (summary["统计范围"], summary["应学人数"]) == (STATION, 4)


def test_report_tables_are_the_dashboard_functions_results(bureau, bank):
    tables = report_tables(Scope(bureau, office_plan(), bank, MID := at(15)))
    for name, table in screen(bureau, bank, MID).items():
        pd.testing.assert_frame_equal(tables[name], table, obj=name)


def test_csv_files_carry_the_date_a_bom_and_the_same_figures(bureau, bank):
    files = dashboard_csvs(Scope(bureau, office_plan(), bank, AFTER))
    assert sorted(files) == sorted(f"{name}_2026-11-22.csv" for name in SHEETS)
    tables = screen(bureau, bank, AFTER)
    for name, table in tables.items():
        data = files[f"{name}_2026-11-22.csv"]
        assert data.startswith(codecs.BOM_UTF8)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))

        def shown(column: str, value: Any, label: Any) -> str:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                return ""
            if column in PERCENT_COLUMNS or (label in PERCENT_COLUMNS and column != "指标"):
                return f"{value:.1%}"
            if isinstance(value, pd.Timestamp):
                return value.strftime("%Y-%m-%d %H:%M:%S")
            return str(value)

        assert rows[0] == list(table.columns)
        assert rows[1:] == [
            [shown(c, v, row[0]) for c, v in zip(table.columns, row, strict=True)]
            for row in table.itertuples(index=False)
        ], name
    by_dept = list(csv.reader(io.StringIO(files["按部门_2026-11-22.csv"].decode("utf-8-sig"))))
    assert by_dept[1][:4] == ["法规科", "1", "0", "0.0%"]
    summary = list(csv.reader(io.StringIO(files["汇总_2026-11-22.csv"].decode("utf-8-sig"))))
    rates = {row[0]: row[1] for row in summary if row[0] in PERCENT_COLUMNS}
    assert rates == {"参与率": "77.8%", "按期完成率": "44.4%", "预期进度": "100.0%"}
    assert ["截止", "已截止 2 天"] in summary


def test_the_summary_sheet_holds_rates_as_numbers_in_a_percent_format(bureau, bank):
    scope = Scope(bureau, office_plan(), bank, AFTER)
    book = load_workbook(io.BytesIO(dashboard_workbook(scope)))
    cells = {row[0].value: row[1] for row in book["汇总"].iter_rows(min_row=2)}
    summary = headline(scope)
    assert {
        name: (cells[name].value, cells[name].number_format)
        for name in ("参与率", "按期完成率", "预期进度", "应学人数", "截止")
    } == {
        "参与率": (pytest.approx(summary.participation_rate), "0.0%"),
        "按期完成率": (pytest.approx(summary.completion_rate), "0.0%"),
        "预期进度": (1.0, "0.0%"),
        "应学人数": (9, "General"),
        "截止": ("已截止 2 天", "General"),
    }
    assert summary.participation_rate == 7 / 9


def test_report_file_names_carry_the_beijing_date():
    evening_utc = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 04:00 on the 25th in Beijing
    assert report_filename("参与情况", evening_utc) == "参与情况_2026-11-25.xlsx"
    assert report_filename("按部门", evening_utc, "csv") == "按部门_2026-11-25.csv"


# -- the office's commands ------------------------------------------------------------------


@pytest.fixture
def office_cli(tmp_path, monkeypatch):
    """A CLI group with the office commands over a prepared bureau, at noon on Nov 22."""
    data = tmp_path / "data"
    env = {
        "KB_DATA_DIR": str(data),
        "KB_CORPUS_DIR": str(CORPUS),
        "KB_QUIZ_DIR": str(BANK_DIR),
        "KB_EMBED_MODEL": "none",
    }
    database = open_office_db(data / "app.sqlite3")
    bank = office_bank(database)
    build_bureau(database, bank)
    save_plan(database, office_plan(), bank, at(1), "A1")
    database.close()
    monkeypatch.setattr(cli_office, "_now", lambda: at(22, 12))

    @click.group()
    def group() -> None:
        pass

    for command in cli_office.OFFICE_COMMANDS:
        group.add_command(command)

    def run(*args: str):
        return CliRunner(env=env).invoke(group, list(args), catch_exceptions=False)

    run.db_path = data / "app.sqlite3"
    return run


def test_report_command_writes_the_workbook_and_csvs(office_cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = office_cli(
        "report", "--xlsx", str(out), "--csv", str(out / "csv"), "--as-of", "2026-11-22"
    )
    assert result.exit_code == 0, result.output
    workbook = out / "参与情况_2026-11-22.xlsx"
    assert load_workbook(workbook).sheetnames == list(SHEETS)
    assert sorted(p.name for p in (out / "csv").iterdir()) == sorted(
        f"{name}_2026-11-22.csv" for name in SHEETS
    )
    assert "  应学人数：9\n" in result.output
    assert "  逾期未完成：4\n" in result.output
    scoped = office_cli("report", "--xlsx", str(tmp_path / "m.xlsx"), "--department", STATION)
    assert scoped.exit_code == 0, scoped.output
    assert "  应学人数：4\n" in scoped.output


def test_report_command_needs_a_destination_and_a_date(office_cli):
    nothing = office_cli("report")
    assert (nothing.exit_code, "请用 --xlsx" in nothing.output) == (1, True)
    bad = office_cli("report", "--xlsx", "x.xlsx", "--as-of", "下周一")
    assert bad.exit_code == 2
    assert "不是日期或时间" in bad.output


def test_plan_show_lists_phases_quizzes_and_documents(office_cli):
    result = office_cli("plan", "show")
    assert result.exit_code == 0, result.output
    assert "启动阶段·全面学习：2026-11-02 00:00 至 2026-11-20 23:59" in result.output
    assert "    alpha  实施方案测验\n" in result.output
    assert "    plan.txt  创建市级文明单位实施方案\n" in result.output


def test_notice_freeze_and_list(office_cli):
    early = office_cli("notice", "freeze", "进度通报", "--as-of", "2026-11-15")
    assert early.exit_code == 1
    assert "尚未过，暂不能通报" in early.output
    frozen = office_cli("notice", "freeze", "第一次通报", "--as-of", "2026-11-22T08:00")
    assert frozen.exit_code == 0, frozen.output
    assert "未按期完成的部门 3 个：" in frozen.output
    assert "逾期未完成 4 人：" in frozen.output
    assert "  监测站  M1  杨磊：实施方案测验、道德规范测验\n" in frozen.output
    listed = office_cli("notice", "list")
    assert "《第一次通报》" in listed.output and "共 1 份。" in listed.output
    database = open_db(office_cli.db_path)
    assert [(n.title, n.created_by) for n in list_notices(database)] == [("第一次通报", "命令行")]
    assert get_plan(database).version == 1  # the office's plan, not a default
    database.close()
