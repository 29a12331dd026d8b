"""`python -m kb`: ingest, search, evaluate, inspect the model, back up (thin over kb.*)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from base.settings import Settings
from kb.embedding import Embedder, LazyEmbedder, ModelStatus, load_embedder, model_id_for
from kb.errors import QueryError
from kb.evaluate import QuestionFileError, evaluate, load_questions
from kb.ingest import sync_corpus
from kb.ingest_report import STATUS_LABELS
from kb.search import METHODS, search
from kb.service import backup_database, open_kb


def _model(settings: Settings, enabled: bool = True, serving: bool = True) -> ModelStatus:
    if not enabled:
        return load_embedder("none", settings.model_cache_dir)
    # Ingest runs alone, before the app: it may use every core (twice as fast here).
    threads = settings.torch_threads if serving else None
    status = load_embedder(settings.embed_model, settings.model_cache_dir, threads)
    if status.message:
        click.echo(status.message, err=True)
    return status


def _ingest_model(settings: Settings) -> Embedder | None:
    # The model loads only when some passage has no vector of it yet: an unchanged
    # corpus does not import torch (README, "An unchanged corpus costs nothing").
    try:
        model_id = model_id_for(settings.embed_model, settings.model_cache_dir)
    except Exception:  # its files are missing: loading says why, in Chinese
        return _model(settings, serving=False).embedder
    if model_id is None:
        return None
    return LazyEmbedder(model_id, lambda: _model(settings, serving=False))


@click.group()
def cli() -> None:
    """Knowledge base of the study platform: documents, search and the model."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--no-model", is_flag=True, help="Index for lexical search only.")
def ingest(paths: tuple[Path, ...], no_model: bool) -> None:
    """Index the corpus folder (KB_CORPUS_DIR), or only PATHS (files and folders).

    Unchanged files cost nothing; changed files are replaced; files gone from the
    folder leave the index (only when no PATHS are given). Every file that was not
    indexed is listed with the reason; the exit status is 1 when a file failed (a
    duplicate, a Word lock file or a hidden file does not fail the run).
    """
    settings = Settings.from_env()
    db = open_kb(settings)
    embedder = None if no_model else _ingest_model(settings)
    report = sync_corpus(
        db,
        settings.corpus_dir,
        embedder,
        list(paths) if paths else None,
        progress=_print_ocr_progress,
        ocr_max_pages=settings.ocr_max_pages,
    )
    for line in report.lines():
        click.echo(line, err=line.startswith(STATUS_LABELS["failed"]))
    click.echo(report.summary())
    if report.failed:
        sys.exit(1)


def _print_ocr_progress(document: str, done: int, total: int) -> None:
    click.echo(f"文字识别 {document}：第 {done}/{total} 页", err=True)


@cli.command("search")
@click.argument("query")
@click.option("--k", default=5, show_default=True, help="How many passages.")
@click.option("--method", type=click.Choice(METHODS), default="hybrid", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def search_command(query: str, k: int, method: str, as_json: bool) -> None:
    """Search the indexed documents for QUERY."""
    settings = Settings.from_env()
    db = open_kb(settings)
    status = _model(settings, method != "lexical")
    try:
        result = search(db, query, embedder=status.embedder, k=k, method=method)
    except QueryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if as_json:
        hits = [
            {
                "document": h.doc_path,
                "title": h.doc_title,
                "heading_path": h.heading_path,
                "text": h.text,
                "score": round(h.score, 6),
                "chunk_id": h.chunk_id,
                "also": [{"document": a.doc_path, "title": a.doc_title} for a in h.also],
            }
            for h in result.hits
        ]
        payload = {
            "method": result.method,
            "notices": list(result.notices),
            "weak": result.weak,
            "hits": hits,
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    for notice in result.notices:
        click.echo(notice, err=True)
    if result.weak and result.hits:
        click.echo("没有找到可靠的答案；以下是最接近的段落（弱匹配）。")
    for rank, h in enumerate(result.hits, start=1):
        where = " › ".join(p for p in (h.doc_title, h.heading_path) if p)
        click.echo(f"{rank}. [{h.score:.4f}] {where}\n   {h.text}")
        if h.also:
            click.echo("   另见：" + "、".join(f"《{a.doc_title}》" for a in h.also))
    if not result.hits:
        click.echo("没有找到相关内容。")


@cli.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", default=5, show_default=True, help="A miss is an answer not in the top K.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on one line.")
@click.option("--no-model", is_flag=True, help="Lexical ranker only.")
def eval_command(file: Path, k: int, as_json: bool, no_model: bool) -> None:
    """Score search on FILE: lines of `question<TAB>expected[<TAB>expected...]`.

    Each expected string is text a right passage contains (any one counts); a line whose
    only expected string is `-` is off-topic: the right answer is "no good match".
    """
    settings = Settings.from_env()
    db = open_kb(settings)
    try:
        questions = load_questions(file)
    except QuestionFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    status = _model(settings, not no_model)
    report = evaluate(db, questions, status.embedder, k=k)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{len(questions)} questions, k={k}")
    for name, scores in (
        ("lexical", report.lexical),
        ("dense", report.dense),
        ("hybrid", report.hybrid),
    ):
        if scores is None:
            click.echo(f"{name:8} (no model)")
        else:
            click.echo(
                f"{name:8} R@1 {scores.recall_at_1:.3f}  R@5 {scores.recall_at_5:.3f}"
                f"  MRR@10 {scores.mrr_at_10:.3f}"
            )
    click.echo(f"mean passage length: {report.mean_passage_chars:.1f} chars")
    if report.off_topic_flagged is not None:
        click.echo(
            f"no good match: {report.off_topic_flagged:.0%} of {report.off_topic} off-topic"
            f" questions, {report.answerable_flagged:.1%} of {report.answerable} answerable"
        )
    elif report.answerable_flagged:
        click.echo(f"answered no good match: {report.answerable_flagged:.1%} of the questions")
    for miss in report.misses:
        click.echo(f"miss: {miss['question']}  (expected: {miss['expected']})")


@cli.command()
def model() -> None:
    """Show which embedding model is in use, where it lives, and its figures."""
    settings = Settings.from_env()
    status = load_embedder(settings.embed_model, settings.model_cache_dir, settings.torch_threads)
    click.echo(f"KB_EMBED_MODEL: {status.setting}")
    if status.embedder is None:
        click.echo(status.message)
        sys.exit(1)
    from kb.model_info import describe

    for line in describe(status):
        click.echo(line)


@cli.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write a consistent copy of the database to TARGET while the app keeps running."""
    settings = Settings.from_env()
    db = open_kb(settings)
    backup_database(db, target)
    click.echo(f"已备份到 {target}")
