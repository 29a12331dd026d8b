"""`python -m quizzes`: the study core's command line (a thin layer over the Python API)."""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """Quiz bank, roster and reports of the study platform."""
