"""`python -m quizzes`: the study core's command line (a thin layer over the Python API)."""

from __future__ import annotations

import click

from quizzes.cli_accounts import account_cli, roster_cli
from quizzes.cli_bank import bank, validate


@click.group()
def cli() -> None:
    """Quiz bank, roster and accounts of the study platform (the office's commands:
    ``python -m office``)."""


@cli.command()
def init() -> None:
    """Create or upgrade every table; on an empty install, create the first admin.

    The first admin's initial password is printed here, once (``make run`` calls this
    before starting the app).
    """
    from datetime import UTC, datetime

    from base.settings import Settings
    from kb.service import open_kb
    from quizzes.accounts import FIRST_ADMIN_NO, ensure_first_admin, first_admin_notice
    from quizzes.schemas import ensure_schemas

    db = open_kb(Settings.from_env())
    ensure_schemas(db)
    password = ensure_first_admin(db, datetime.now(UTC))
    if password:
        click.echo(first_admin_notice(FIRST_ADMIN_NO, password))


cli.add_command(roster_cli)
cli.add_command(account_cli)
cli.add_command(validate)
cli.add_command(bank)
