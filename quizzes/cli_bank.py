"""Command-line commands for the quiz bank: ``validate``, ``bank export``, ``bank import``.

Attach them to the ``quizzes`` group with ``cli.add_command(validate)`` and
``cli.add_command(bank)``. They are a thin layer over :mod:`quizzes.bank` and
:mod:`quizzes.spreadsheet`.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from base.settings import Settings
from kb.ingest import extract_texts
from quizzes.bank import QuizFormatError, bank_files, load_quiz_file
from quizzes.spreadsheet import export_quiz_xlsx, import_quiz_xlsx, write_quiz_yaml


def corpus_texts(settings: Settings) -> dict[str, str]:
    """The corpus as the bank checks it: document path -> text as the knowledge base
    extracts it (the same text the app checks quotes against)."""
    texts, _ = extract_texts(settings.corpus_dir)
    return texts


def _shown(path: Path) -> Path:
    # Messages name files the way a person in the project folder would type them.
    try:
        relative = Path(os.path.relpath(path))
    except ValueError:
        return path
    return path if relative.parts[:1] == ("..",) else relative


def _bank_dir(bank_dir: Path | None, settings: Settings) -> Path:
    return bank_dir if bank_dir is not None else _shown(settings.quiz_dir)


@click.command("validate")
@click.argument(
    "quiz_dir", required=False, type=click.Path(file_okay=False, path_type=Path), metavar="[DIR]"
)
def validate(quiz_dir: Path | None) -> None:
    """Check every quiz file in DIR (default: the bank folder) against the corpus.

    Prints each problem as ``file:line: field: message`` and exits with status 1 if there
    is any; a question whose quote is no longer in the corpus counts as a problem here.
    """
    settings = Settings.from_env()
    folder = _bank_dir(quiz_dir, settings)
    if not folder.is_dir():
        raise click.ClickException(f"题库目录不存在：{folder}")
    corpus = corpus_texts(settings)
    problems: list[str] = []
    quizzes = questions = retired = 0
    for path in bank_files(folder):
        quiz, errors = load_quiz_file(path, corpus)
        problems.extend(errors)
        if quiz is not None:
            quizzes += 1
            questions += len(quiz.questions)
            retired += sum(1 for q in quiz.questions if q.retired is not None)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"共发现 {len(problems)} 处问题。", err=True)
        click.get_current_context().exit(1)
    note = f"（其中 {retired} 道已停用，不再抽取）" if retired else ""
    click.echo(f"校验通过：{quizzes} 个测验，共 {questions} 道题{note}。")


@click.group("bank")
def bank() -> None:
    """Export a quiz to the question-bank spreadsheet (.xlsx) or import one."""


@bank.command("export")
@click.argument("quiz_id")
@click.argument("xlsx_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.xlsx")
@click.option(
    "--bank-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bank folder (default: KB_QUIZ_DIR or quizzes/data/bank).",
)
def export_command(quiz_id: str, xlsx_file: Path, bank_dir: Path | None) -> None:
    """Write quiz QUIZ_ID of the bank to FILE.xlsx."""
    settings = Settings.from_env()
    path = _bank_dir(bank_dir, settings) / f"{quiz_id}.yaml"
    if not path.is_file():
        raise click.ClickException(f"题库中没有测验 “{quiz_id}”（{path} 不存在）")
    quiz, errors = load_quiz_file(path, corpus_texts(settings))
    if quiz is None:
        for error in errors:
            click.echo(error, err=True)
        raise click.ClickException(f"{path} 有错误，未导出")
    export_quiz_xlsx(quiz, xlsx_file)
    click.echo(f"已导出 {quiz.id}（{len(quiz.questions)} 道题）到 {xlsx_file}")
    for error in errors:
        click.echo(f"注意：{error}", err=True)


@bank.command("import")
@click.argument(
    "xlsx_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE.xlsx",
)
@click.option(
    "--bank-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bank folder (default: KB_QUIZ_DIR or quizzes/data/bank).",
)
def import_command(xlsx_file: Path, bank_dir: Path | None) -> None:
    """Check FILE.xlsx and write it to the bank as <quiz id>.yaml.

    Nothing is written unless the whole spreadsheet is valid; an existing file of the
    same quiz is replaced in one step.
    """
    settings = Settings.from_env()
    try:
        quiz = import_quiz_xlsx(xlsx_file, corpus_texts(settings))
    except QuizFormatError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        raise click.ClickException(
            f"{xlsx_file.name} 有 {len(exc.errors)} 处问题，未导入"
        ) from None
    target = _bank_dir(bank_dir, settings) / f"{quiz.id}.yaml"
    existed = target.exists()
    write_quiz_yaml(quiz, target)
    verb = "已更新" if existed else "已创建"
    click.echo(f"{verb} {target}（{len(quiz.questions)} 道题）")
