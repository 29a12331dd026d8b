"""`python -m office`: the office's commands ``report``, ``demo`` (and ``demo remove``),
``plan show``, ``notice freeze``, ``notice export`` and ``notice list``; a thin layer over the plan, the
office's views, the reports and the demo.

They were ``python -m quizzes report`` etc. before the office had its own package; that
spelling stays as an alias (``quizzes/__main__.py`` attaches :data:`OFFICE_COMMANDS`).

The database is ``Settings.from_env().db_path``; the bank is loaded from
``settings.quiz_dir`` against the indexed documents. Commands that need a plan store the
default plan first if none was ever saved (as the app does at start).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

import click
import sqlite_utils

from base.clock import LOCAL_TZ, end_of_day
from base.settings import Settings
from base.store import open_db
from kb.documents import document_texts, list_documents
from office.notice_export import notice_html, notice_workbook
from office.notices import NoticeError, freeze_notice, get_notice, list_notices
from office.reports import (
    REPORT_KIND,
    csv_bytes,
    report_filename,
    report_tables,
    workbook_bytes,
)
from office.scope import Scope
from quizzes import demo as demo_module
from quizzes.attempts import expire_overdue_attempts
from quizzes.bank import Bank, load_bank
from quizzes.plan import StudyPlan, StudyPlanError, ensure_default_plan
from quizzes.schemas import ensure_schemas

CLI_AUTHOR = "命令行"
"""Recorded as who froze a notice from the command line."""


@contextmanager
def _database() -> Iterator[sqlite_utils.Database]:
    db = open_db(Settings.from_env().db_path)
    try:
        ensure_schemas(db)
        yield db
    finally:
        db.close()


def _bank(db: sqlite_utils.Database) -> Bank:
    return load_bank(Settings.from_env().quiz_dir, document_texts(db))


def _plan(db: sqlite_utils.Database, bank: Bank, now: datetime) -> StudyPlan:
    plan = ensure_default_plan(db, bank, list_documents(db), now)
    if plan is None:
        _fail("还没有学习计划，且题库与文件库都为空：请先运行 `python -m kb ingest` 并检查题库")
    return plan


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise SystemExit(1)


def parse_as_of(text: str | None, now: datetime) -> datetime:
    """Read ``--as-of``: an ISO date (the end of that day) or date and time; Beijing time
    unless an offset is given; None for ``now``.

    Raises:
        click.BadParameter: not a date, or after ``now``.
    """
    if text is None:
        return now
    raw = text.strip()
    try:
        if len(raw) == 10:
            moment = end_of_day(date.fromisoformat(raw))
        else:
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise click.BadParameter(
            f"“{text}” 不是日期或时间（例：2026-11-25 或 2026-11-25T18:00）", param_hint="--as-of"
        ) from None
    return min(moment, now)


def _when(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


# -- report ---------------------------------------------------------------------------------


@click.command("report")
@click.option(
    "--xlsx",
    "xlsx",
    type=click.Path(path_type=Path),
    help="写出 Excel 工作簿到此文件（若是已有文件夹，则以“参与情况_日期.xlsx”存于其中）。",
)
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="另把各表写成 CSV（UTF-8 带 BOM）存入此文件夹。",
)
@click.option(
    "--as-of", "as_of", help="统计时点：日期（当天结束时）或日期时间，北京时间；默认现在。"
)
@click.option("--department", "departments", multiple=True, help="只统计这个部门（可重复）。")
@click.option("--phase", help="学习阶段名称；默认统计时点所在阶段。")
def report_command(
    xlsx: Path | None,
    csv_dir: Path | None,
    as_of: str | None,
    departments: tuple[str, ...],
    phase: str | None,
) -> None:
    """导出参与情况（汇总、按部门、逾期名单、免学名单、每日完成、测验统计、题目统计）。"""
    if xlsx is None and csv_dir is None:
        _fail("请用 --xlsx 文件 或 --csv 文件夹 指定导出到哪里")
    now = _now()
    moment = parse_as_of(as_of, now)
    with _database() as db:
        bank = _bank(db)
        plan = _plan(db, bank, now)
        # Timed attempts left open past their limit are graded first: figures are final.
        expire_overdue_attempts(db, now, bank)
        try:
            # One computation for every file and the summary below: they cannot disagree.
            scope = Scope(db, plan, bank, moment, departments or None, phase)
            tables = report_tables(scope)
        except StudyPlanError as error:
            _fail(str(error))
    if xlsx is not None:
        target = xlsx / report_filename(REPORT_KIND, moment) if xlsx.is_dir() else xlsx
        target.write_bytes(workbook_bytes(tables))
        click.echo(f"已导出 {target}")
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        for name, data in csv_bytes(tables, moment).items():
            (csv_dir / name).write_bytes(data)
        click.echo(f"已导出 CSV 到 {csv_dir}")
    summary = tables["汇总"]
    for name, value in summary.itertuples(index=False):
        if name != "说明":
            click.echo(f"  {name}：{value}")


# -- demo -----------------------------------------------------------------------------------


@click.group("demo", invoke_without_command=True)
@click.option("--people", default=300, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--seed", default=None, type=int, help="随机种子（相同种子生成相同数据）。")
@click.pass_context
def demo_command(ctx: click.Context, people: int, seed: int | None) -> None:
    """生成演示数据（工号以 DEMO- 开头，可用 `demo remove` 全部删除）。"""
    if ctx.invoked_subcommand is not None:
        return
    now = _now()
    with _database() as db:
        bank = _bank(db)
        if not bank.quizzes:
            _fail("题库中没有可用的测验，无法生成演示数据")
        in_force = _plan(db, bank, now)
        plan = demo_module.plan_for_demo(db, in_force, bank, now)
        report = demo_module.generate_demo(
            db, bank, list_documents(db), random.Random(seed), now, people=people, plan=plan
        )
    if plan is not in_force:
        click.echo(
            f"默认学习计划刚开始，尚无可演示的进度：已保存一个演示用的计划版本"
            f"（{_when(report.phase.start)} 至 {_when(report.phase.deadline)}），"
            "删除演示数据时一并删除。"
        )
    click.echo(
        f"已生成演示数据（第 {report.run_id} 批）：{report.people} 人、"
        f"{len(report.departments)} 个部门、作答 {report.attempts} 次、"
        f"答题记录 {report.answers} 条、文件学习确认 {report.readings} 条，"
        f"用时 {report.seconds:.1f} 秒。"
    )
    click.echo(
        f"演示账号工号形如 DEMO-{report.run_id}-00001，初始密码均为 {report.password}"
        "（首次登录须修改）。"
    )
    click.echo("删除全部演示数据：python -m office demo remove")


@demo_command.command("remove")
def demo_remove_command() -> None:
    """删除全部演示数据（只删演示生成的记录，其余不动）。"""
    with _database() as db:
        removed = demo_module.remove_demo(db)
    click.echo(
        f"已删除演示数据：{removed.runs} 批、{removed.people} 人、作答 {removed.attempts} 次、"
        f"答题记录 {removed.answers} 条、文件学习确认 {removed.readings} 条、"
        f"免学记录 {removed.exemptions} 条、通报 {removed.notices} 份、"
        f"演示用学习计划版本 {removed.plans} 个、错题复习卡 {removed.review_cards} 张。"
    )


# -- plan -----------------------------------------------------------------------------------


@click.group("plan")
def plan_cli() -> None:
    """学习计划：各阶段须通过的测验、须学习的文件和起止时间。"""


@plan_cli.command("show")
def plan_show_command() -> None:
    """显示现行学习计划（从未保存过时写入默认计划）。"""
    now = _now()
    with _database() as db:
        bank = _bank(db)
        plan = _plan(db, bank, now)
        titles = {d.path: d.title for d in list_documents(db)}
    saved = (
        f"第 {plan.version} 版，{_when(plan.saved_at)} 由 {plan.saved_by} 保存"
        if plan.saved_at
        else ""
    )
    click.echo(f"学习计划（{saved}）")
    for phase in plan.phases:
        click.echo(f"\n{phase.name}：{_when(phase.start)} 至 {_when(phase.deadline)}")
        click.echo("  须通过的测验：")
        for quiz_id in phase.quiz_ids:
            title = bank.quizzes[quiz_id].title if quiz_id in bank.quizzes else "（题库中暂缺）"
            click.echo(f"    {quiz_id}  {title}")
        click.echo("  须学习的文件：")
        for path in phase.documents:
            click.echo(f"    {path}  {titles.get(path, '（文件库中暂缺）')}")


# -- notice ---------------------------------------------------------------------------------


@click.group("notice")
def notice_cli() -> None:
    """通报：把某一时点的逾期名单固定下来（之后的作答不会改变它）。"""


@notice_cli.command("freeze")
@click.argument("title")
@click.option(
    "--as-of", "as_of", help="统计时点：日期（当天结束时）或日期时间，北京时间；默认现在。"
)
@click.option("--phase", help="学习阶段名称；默认统计时点所在阶段。")
def notice_freeze_command(title: str, as_of: str | None, phase: str | None) -> None:
    """以 TITLE 为标题固定一份逾期名单通报。"""
    now = _now()
    moment = parse_as_of(as_of, now)
    with _database() as db:
        bank = _bank(db)
        plan = _plan(db, bank, now)
        try:
            notice = freeze_notice(db, title, moment, plan, bank, now, CLI_AUTHOR, phase=phase)
        except (NoticeError, StudyPlanError) as error:
            _fail(str(error))
    click.echo(
        f"已固定通报 #{notice.id}《{notice.title}》（{notice.phase}，统计至 {_when(notice.as_of)}）"
    )
    click.echo(f"未按期完成的部门 {len(notice.named_departments)} 个：")
    for department in notice.named_departments:
        rate = department.on_time_rate
        shown = "—" if rate is None else f"{rate:.1%}"
        click.echo(
            f"  {department.department}：应学 {department.headcount} 人，按期完成率 {shown}，"
            f"逾期完成 {department.completed_late} 人，逾期未完成 {department.overdue} 人"
        )
    click.echo(f"逾期未完成 {len(notice.people)} 人：")
    for person in notice.people:
        missing = "、".join(item.title for item in person.missing)
        click.echo(f"  {person.department}  {person.employee_no}  {person.name}：{missing}")


@notice_cli.command("export")
@click.argument("notice_id", type=int)
@click.option("--xlsx", "xlsx", type=click.Path(path_type=Path), help="写出 Excel 工作簿。")
@click.option("--html", "html", type=click.Path(path_type=Path), help="写出可打印的网页。")
def notice_export_command(notice_id: int, xlsx: Path | None, html: Path | None) -> None:
    """把第 NOTICE_ID 号通报按固定时的内容导出（Excel 或可打印的网页）。"""
    if xlsx is None and html is None:
        _fail("请用 --xlsx 文件 或 --html 文件 指定导出到哪里")
    with _database() as db:
        notice = get_notice(db, notice_id)
    if notice is None:
        _fail(f"没有第 {notice_id} 号通报（python -m office notice list 列出已有的通报）")
    if xlsx is not None:
        xlsx.write_bytes(notice_workbook(notice))
        click.echo(f"已导出 {xlsx}")
    if html is not None:
        html.write_text(notice_html(notice), encoding="utf-8")
        click.echo(f"已导出 {html}")


@notice_cli.command("list")
def notice_list_command() -> None:
    """列出已固定的通报。"""
    with _database() as db:
        notices = list_notices(db)
    for info in notices:
        click.echo(
            f"#{info.id}  {_when(info.as_of)}  《{info.title}》  {info.phase}  "
            f"逾期 {info.people} 人，点名部门 {info.named_departments} 个"
        )
    click.echo(f"共 {len(notices)} 份。")


OFFICE_COMMANDS: tuple[click.Command, ...] = (report_command, demo_command, plan_cli, notice_cli)
"""The office's commands (also attached to ``python -m quizzes`` as the old spelling)."""


@click.group()
def cli() -> None:
    """The office's reports, notices, plan and demo data (创建办)."""


for _command in OFFICE_COMMANDS:
    cli.add_command(_command)
