"""`python -m quizzes`: the study core's command line (a thin layer over the Python API)."""

from __future__ import annotations

import click

from quizzes.cli_accounts import account_cli, roster_cli
from quizzes.cli_bank import bank, validate


@click.group()
def cli() -> None:
    """Quiz bank, roster, accounts and reports of the study platform."""


cli.add_command(roster_cli)
cli.add_command(account_cli)
cli.add_command(validate)
cli.add_command(bank)
