"""`roster` and `account` commands: a thin layer over quizzes.roster and quizzes.accounts.

Attach them to the `quizzes` group with ``cli.add_command(roster_cli)`` and
``cli.add_command(account_cli)``. The database is ``Settings.from_env().db_path``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

import click
import sqlite_utils

from base.settings import Settings
from base.store import open_db
from quizzes.accounts import (
    create_account,
    deactivate_account,
    ensure_schema,
    reactivate_account,
    reset_password,
)
from quizzes.export_cells import csv_rows_bytes
from quizzes.initial_passwords import (
    NewAccount,
    awaiting_first_login,
    passwords_table,
    reissue_initial_passwords,
)
from quizzes.login import unlock_account
from quizzes.people import AccountError, Person, list_people
from quizzes.roster import (
    ImportReport,
    RosterError,
    import_roster,
    plan_roster,
    preview_rows,
    read_roster_file,
)
from quizzes.roster_template import roster_template_xlsx


@contextmanager
def _database() -> Iterator[sqlite_utils.Database]:
    db = open_db(Settings.from_env().db_path)
    try:
        ensure_schema(db)
        yield db
    finally:
        db.close()


def _now() -> datetime:
    # Local time with its offset: messages show local clock times, storage converts to UTC.
    return datetime.now().astimezone()


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise SystemExit(1)


def _describe(person: Person) -> str:
    title = f"  {person.title}" if person.title else ""
    return f"{person.employee_no}  {person.name}  {person.department}{title}  {person.role.label}"


# -- roster ---------------------------------------------------------------------------------


@click.group("roster")
def roster_cli() -> None:
    """职工名册：预览并导入 .csv 或 .xlsx 名册，下载模板，重新生成未登录人员的初始密码。

    名册列：工号、姓名、部门（或 科室、处室、站、队、单位），可选 职务、角色、初始密码；
    表头上方可以有标题行。"""


def _open_passwords_file(path: Path) -> BinaryIO:
    # Opened before writing to the database, and never over an existing file: a failure
    # after the import would leave new accounts whose passwords nobody has.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _fail(f"{path} 已存在：为免覆盖之前发出的初始密码，请换一个文件名或先删除它")
    except OSError as error:
        _fail(f"无法创建 {path}：{error.strerror}")
    return open(fd, "wb")


@contextmanager
def _passwords_out(path: Path | None) -> Iterator[Callable[[list[NewAccount]], None]]:
    """A writer of the initial-password sheet to ``path`` (None: nothing), removed again
    if the block fails."""
    out = _open_passwords_file(path) if path is not None else None
    try:
        yield (
            lambda accounts: (
                out.write(csv_rows_bytes(passwords_table(accounts))) if out is not None else None
            )
        )
    except BaseException:
        if out is not None:
            out.close()
            assert path is not None
            path.unlink()
        raise
    if out is not None:
        out.close()


@roster_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="只预览将做的改动（新增、变更、未变、名册中没有的人），不写入。"
)
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="同时停用名册中没有的职工和负责人（学习记录保留；创建办账号不受影响）。",
)
@click.option(
    "--passwords-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="把新账号的初始密码写入这个 CSV 文件（不在屏幕上显示）；文件不能已存在。",
)
def import_command(
    file: Path, dry_run: bool, deactivate_missing: bool, passwords_out: Path | None
) -> None:
    """导入名册 FILE：新增的人建账号，已有的人更新姓名、部门、职务、角色，不删除任何人。

    整个文件先检查一遍，有任何问题就逐条列出（带行号）并退出，数据库不做任何改动。
    先用 --dry-run 看一遍预览。
    """
    try:
        roster = read_roster_file(file)
    except RosterError as error:
        click.echo(f"名册有 {len(error.errors)} 处问题，未导入任何内容：", err=True)
        for line in error.errors:
            click.echo(f"  {line}", err=True)
        raise SystemExit(1) from None

    if dry_run:
        with _database() as db:
            plan = plan_roster(db, roster.rows)
        click.echo(f"名册 {file.name} 预览（未写入）：{plan.summary()}。")
        click.echo(roster.description())
        if roster.skipped_note():
            click.echo(roster.skipped_note())
        for kind, *fields, note in preview_rows(plan, deactivate_missing):
            employee_no, name, department, title, role = fields
            click.echo(
                f"  {kind}  {employee_no}  {name}  {department}  {title or '-'}  {role}"
                + (f"  {note}" if note else "")
            )
        return

    try:
        with _passwords_out(passwords_out) as write_passwords, _database() as db:
            report = import_roster(db, roster.rows, _now(), deactivate_missing=deactivate_missing)
            write_passwords(list(report.created))
    except AccountError as error:
        _fail(str(error))
    _print_report(file.name, report, passwords_out)
    if roster.skipped_note():
        click.echo(f"\n{roster.skipped_note()}")


def _print_report(name: str, report: ImportReport, passwords_out: Path | None) -> None:
    click.echo(f"名册 {name} 已导入：{report.summary()}。")
    if passwords_out is not None and not report.created:
        click.echo(f"没有新增账号，{passwords_out} 中只有表头。")
    if report.created:
        if passwords_out is not None:
            click.echo(f"\n新增账号（初始密码已写入 {passwords_out}，首次登录须修改）：")
            for account in report.created:
                click.echo(f"  {_describe(account.person)}")
        else:
            click.echo("\n新增账号及初始密码（请妥善分发，首次登录须修改）：")
            for account in report.created:
                click.echo(f"  {_describe(account.person)}  初始密码 {account.initial_password}")
    if report.updated:
        click.echo("\n已更新：")
        for person in report.updated:
            changes = "；".join(str(change) for change in person.changes)
            click.echo(f"  {person.employee_no}  {person.name}：{changes}")
    if report.deactivated:
        click.echo("\n已停用（不在本名册中）：")
        for person in report.deactivated:
            click.echo(f"  {_describe(person)}")
    left = [p for p in report.missing if p not in report.deactivated]
    if left:
        click.echo(
            "\n系统中有、但不在本名册中，未做改动"
            "（如已调离，可用 --deactivate-missing 或 `account deactivate 工号` 停用）："
        )
        for person in left:
            click.echo(f"  {_describe(person)}")


@roster_cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def template_command(file: Path) -> None:
    """把名册模板（.xlsx：标题行、表头、一行示例，另附“说明”工作表）写入 FILE。"""
    try:
        with file.open("xb") as out:
            out.write(roster_template_xlsx())
    except FileExistsError:
        _fail(f"{file} 已存在，请换一个文件名")
    click.echo(f"已写入名册模板 {file}。")


@roster_cli.command("pending")
def pending_command() -> None:
    """列出尚未首次登录的人员（可为他们重新生成初始密码）。"""
    with _database() as db:
        people = awaiting_first_login(db)
    for person in people:
        click.echo(_describe(person))
    click.echo(f"共 {len(people)} 人尚未首次登录。")


@roster_cli.command("reissue")
@click.argument("employee_nos", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="所有尚未首次登录的人员。")
@click.option(
    "--passwords-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="把新的初始密码写入这个 CSV 文件（不在屏幕上显示）；文件不能已存在。",
)
def reissue_command(
    employee_nos: tuple[str, ...], everyone: bool, passwords_out: Path | None
) -> None:
    """为尚未首次登录的人员重新生成初始密码（原初始密码随即作废）。"""
    if everyone == bool(employee_nos):
        _fail("请给出工号，或用 --all 表示所有尚未首次登录的人员（二者选一）")
    with _passwords_out(passwords_out) as write_passwords, _database() as db:
        wanted = [p.employee_no for p in awaiting_first_login(db)] if everyone else employee_nos
        report = reissue_initial_passwords(db, list(wanted), _now())
        write_passwords(list(report.issued))
    where = f"（已写入 {passwords_out}）" if passwords_out is not None else ""
    click.echo(f"已为 {len(report.issued)} 人重新生成初始密码{where}，原初始密码已作废：")
    for account in report.issued:
        password = "" if passwords_out is not None else f"  初始密码 {account.initial_password}"
        click.echo(f"  {_describe(account.person)}{password}")
    for employee_no, reason in report.refused:
        click.echo(f"未重新生成 {employee_no}：{reason}", err=True)
    if report.refused:
        raise SystemExit(1)


# -- account --------------------------------------------------------------------------------


@click.group("account")
def account_cli() -> None:
    """账号管理：新建、重置密码、解锁、停用、启用、列出。"""


@account_cli.command("create")
@click.argument("employee_no")
@click.option("--name", required=True, help="姓名")
@click.option("--department", required=True, help="部门（科室/站/队）")
@click.option("--role", default="职工", show_default=True, help="角色：职工、负责人 或 创建办")
@click.option("--title", default="", help="职务（如 科员、副科长），只作显示")
def create_command(employee_no: str, name: str, department: str, role: str, title: str) -> None:
    """新建账号 EMPLOYEE_NO，并显示初始密码（首次登录须修改）。"""
    with _database() as db:
        try:
            password = create_account(db, employee_no, name, department, role, _now(), title=title)
        except AccountError as error:
            _fail(str(error))
    click.echo(f"已新建账号 {employee_no.strip()}（{name.strip()}），初始密码：{password}")
    click.echo("首次登录时须修改密码。")


@account_cli.command("reset")
@click.argument("employee_no")
def reset_command(employee_no: str) -> None:
    """重置 EMPLOYEE_NO 的密码（同时解锁），并显示新密码；下次登录须修改。"""
    with _database() as db:
        try:
            password = reset_password(db, employee_no, _now())
        except AccountError as error:
            _fail(str(error))
    click.echo(f"已重置 {employee_no.strip()} 的密码，新密码：{password}")
    click.echo("下次登录时须修改密码。")


@account_cli.command("unlock")
@click.argument("employee_no")
def unlock_command(employee_no: str) -> None:
    """解除 EMPLOYEE_NO 因密码错误次数过多而加的锁定。"""
    with _database() as db:
        try:
            unlock_account(db, employee_no)
        except AccountError as error:
            _fail(str(error))
    click.echo(f"已解锁 {employee_no.strip()}。")


@account_cli.command("deactivate")
@click.argument("employee_no")
def deactivate_command(employee_no: str) -> None:
    """停用 EMPLOYEE_NO（不能再登录；学习记录保留）。"""
    with _database() as db:
        try:
            deactivate_account(db, employee_no, _now())
        except AccountError as error:
            _fail(str(error))
    click.echo(f"已停用 {employee_no.strip()}。")


@account_cli.command("activate")
@click.argument("employee_no")
def activate_command(employee_no: str) -> None:
    """重新启用已停用的 EMPLOYEE_NO。"""
    with _database() as db:
        try:
            reactivate_account(db, employee_no, _now())
        except AccountError as error:
            _fail(str(error))
    click.echo(f"已启用 {employee_no.strip()}。")


@account_cli.command("list")
@click.option("--department", help="只列出这个部门")
def list_command(department: str | None) -> None:
    """列出账号（工号、姓名、部门、角色、状态）。"""
    with _database() as db:
        people = list_people(db, department)
    for person in people:
        status = "在用" if person.active else "停用"
        if person.active and person.must_change_password:
            status += "（待改初始密码）"
        click.echo(f"{_describe(person)}  {status}")
    click.echo(f"共 {len(people)} 人。")
