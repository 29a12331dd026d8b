"""The command lines: kb ingest/search/eval/backup, quizzes init/validate, and the README
documenting every command."""

from __future__ import annotations

import json
import os
import sqlite3

import click
import pytest
from click.testing import CliRunner

from base.settings import PROJECT_ROOT
from kb.cli import cli as kb_cli
from office.cli import cli as office_cli
from quizzes.cli import cli as quizzes_cli


@pytest.fixture
def env(tmp_path, tiny_corpus, monkeypatch):
    values = {
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_CORPUS_DIR": str(tiny_corpus),
        "KB_EMBED_MODEL": "none",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(cli, *args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_ingest_then_search_as_json(env):
    first = run(kb_cli, "ingest")
    assert first.exit_code == 0
    *files, summary = first.stdout.splitlines()
    assert files == ["新增  tiny_law.md：4 段，90 字", "新增  tiny_plan.txt：5 段，161 字"]
    assert summary.startswith(
        "新增 2，更新 0，未变 0，移除 0，失败 0；重复 0，跳过 0；计算向量 0 段"
    )
    again = run(kb_cli, "ingest")
    assert again.stdout.startswith("新增 0，更新 0，未变 2，")
    result = run(kb_cli, "search", "满意率", "--k", "1", "--json")
    payload = json.loads(result.stdout)
    assert payload["method"] == "lexical"
    assert [(h["document"], h["heading_path"], h["text"]) for h in payload["hits"]] == [
        ("tiny_plan.txt", "一、主要目标", "1、公众对城市环保的满意率70%;")
    ]


def test_search_with_nothing_searchable_exits_2_with_the_message(env):
    run(kb_cli, "ingest")
    result = CliRunner().invoke(kb_cli, ["search", "！！！"])
    assert result.exit_code == 2
    assert "查询中没有可检索的文字" in result.output


def test_eval_prints_one_json_line(env, tmp_path):
    run(kb_cli, "ingest")
    questions = tmp_path / "q.tsv"
    questions.write_text(
        "满意率目标是多少\t满意率70%\n居民区能排油烟吗\t不得在居民区附近排放油烟\n"
        "一个不存在的问题\t不存在的答案文字\n",
        encoding="utf-8",
    )
    result = run(kb_cli, "eval", str(questions), "--json")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["dense"] is None
    assert (
        report["lexical"]
        == report["hybrid"]
        == {"recall@1": 0.6667, "recall@5": 0.6667, "mrr@10": 0.6667}
    )
    assert [m["question"] for m in report["misses"]] == ["一个不存在的问题"]


def test_eval_counts_any_expected_string_and_off_topic_lines(env, tmp_path):
    run(kb_cli, "ingest")
    questions = tmp_path / "q.tsv"
    questions.write_text(
        "满意率目标是多少\t别处的说法\t满意率70%\n"  # the second string is the one found
        "居民区能排油烟吗\t不得在居民区附近排放油烟\n"
        "一个不存在的问题\t不存在的答案文字\t也不存在\n"
        "明天天气怎么样\t-\n",
        encoding="utf-8",
    )
    report = json.loads(run(kb_cli, "eval", str(questions), "--json").stdout)
    assert report["hybrid"] == {"recall@1": 0.6667, "recall@5": 0.6667, "mrr@10": 0.6667}
    assert report["misses"] == [
        {
            "question": "一个不存在的问题",
            "expected": "不存在的答案文字 | 也不存在",
            "top": report["misses"][0]["top"],
        }
    ]
    # The off-topic line is answered "no good match" (none of its words is in the top
    # passages); no answerable line is (the third one's 一个 stands in 每一个同志).
    assert (report["answerable"], report["off_topic"]) == (3, 1)
    assert (report["off_topic_flagged"], report["answerable_flagged"]) == (1.0, 0.0)
    text = run(kb_cli, "eval", str(questions)).stdout
    assert "no good match: 100% of 1 off-topic questions, 0.0% of 3 answerable" in text


def test_eval_refuses_a_line_that_mixes_off_topic_and_answers(env, tmp_path):
    questions = tmp_path / "bad.tsv"
    questions.write_text("好问题\t满意率\n坏问题\t-\t满意率\n", encoding="utf-8")
    result = CliRunner().invoke(kb_cli, ["eval", str(questions)])
    assert result.exit_code == 2
    assert f"{questions}:2: “-”表示没有答案，不能与答案文字同列" in result.output


def test_eval_names_the_bad_line(env, tmp_path):
    questions = tmp_path / "bad.tsv"
    questions.write_text("只有问题没有答案\n", encoding="utf-8")
    result = CliRunner().invoke(kb_cli, ["eval", str(questions)])
    assert result.exit_code == 2
    assert f"{questions}:1: 每行应为" in result.output


def test_backup_is_a_whole_database(env, tmp_path):
    run(kb_cli, "ingest")
    target = tmp_path / "backup" / "copy.sqlite3"
    assert run(kb_cli, "backup", str(target)).exit_code == 0
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2


def test_init_creates_the_first_admin_once(env):
    first = run(quizzes_cli, "init")
    assert "工号：admin" in first.output and "初始密码：" in first.output
    assert run(quizzes_cli, "init").output == ""


def command_names(group: click.Group, prefix: str) -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names.extend(command_names(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    commands = (
        command_names(kb_cli, "python -m kb")
        + command_names(quizzes_cli, "python -m quizzes")
        + command_names(office_cli, "python -m office")
    )
    assert [c for c in commands if c not in readme and not _grouped_in_readme(c, readme)] == []


def _grouped_in_readme(command: str, readme: str) -> bool:
    # "python -m quizzes account create|reset|unlock" documents several subcommands at once
    group, name = command.rsplit(" ", 1)
    return any(
        line.strip().startswith(group + " ")
        and name in line.split(group, 1)[1].split()[0].split("|")
        for line in readme.splitlines()
        if group in line
    )


def test_the_office_commands_keep_their_old_spelling(tmp_path):
    # `python -m quizzes report` (and demo, plan, notice) still works after the move to
    # `python -m office`: the same commands, attached by quizzes' entry point.
    import subprocess
    import sys

    env = {**os.environ, "KB_DATA_DIR": str(tmp_path)}
    old, new = (
        subprocess.run(
            [sys.executable, "-m", package, "notice", "list"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
            timeout=120,
        )
        for package in ("quizzes", "office")
    )
    assert (old.returncode, old.stdout) == (new.returncode, new.stdout) == (0, "共 0 份。\n")
