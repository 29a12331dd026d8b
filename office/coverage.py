"""Coverage: which sections of each document the bank tests, and how each department
answers them, over a :class:`office.scope.Scope`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from kb.documents import find_quote, section_passages
from office.scope import Scope
from quizzes.attempt_tallies import answer_counts

FRONT_SECTION = "（标题与前言）"
"""How the passages before a document's first heading are named as a section."""


@dataclass(frozen=True)
class Coverage:
    """How well the quiz bank covers the documents, and how each department does there.

    Attributes:
        documents: per document: 文件, 标题, 小节数, 有题小节数, 覆盖率, 题目数.
        sections: per section (heading path holding passages): 文件, 标题, 小节, 段落数,
            题目数, 作答次数, 答对次数, 答对率.
        by_department: per section with answers and department: 文件, 小节, 部门, 作答次数,
            答对次数, 答对率.
    """

    documents: pd.DataFrame
    sections: pd.DataFrame
    by_department: pd.DataFrame


def coverage(
    scope: Scope,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Coverage:
    """Which sections of each document the bank tests, and each department's share correct.

    A section is a distinct heading path that holds passages (the ``chunks`` table); a
    question tests the section its source quote stands in (``kb.documents.find_quote``).
    Questions whose quote is no longer found test nothing. Answers count as in
    :func:`question_stats`.
    """
    db, bank = scope.db, scope.bank
    sections = section_passages(db)
    tested: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for quiz in bank.quizzes.values():
        for question in quiz.questions:
            passage = find_quote(db, question.source.document, question.source.quote)
            if passage is not None:
                key = (passage.doc_path, passage.heading_path)
                tested.setdefault(key, []).append((quiz.id, question.id))
    tallies = answer_counts(
        db, scope.as_of, scope.departments, list(bank.quizzes), since, until, True
    )
    section_of = {q: key for key, questions in tested.items() for q in questions}
    tallies["section"] = [section_of.get((r.quiz_id, r.question_id)) for r in tallies.itertuples()]
    tallies = tallies[tallies["section"].notna()]
    tallies = tallies.assign(
        path=[s[0] for s in tallies["section"]],
        heading=[s[1] for s in tallies["section"]],
        correct=pd.to_numeric(tallies["correct"]).fillna(0).astype(int),
        answered=pd.to_numeric(tallies["answered"]).astype(int),
    )
    per_section = tallies.groupby(["path", "heading"])[["answered", "correct"]].sum()
    per_department = tallies.groupby(["path", "heading", "department"])[
        ["answered", "correct"]
    ].sum()

    def label(heading: str) -> str:
        return heading or FRONT_SECTION

    section_rows = []
    for r in sections.itertuples():
        key = (r.path, r.heading_path)
        answered = int(per_section["answered"].get(key, 0))
        correct = int(per_section["correct"].get(key, 0))
        section_rows.append(
            (
                r.path,
                r.title,
                label(r.heading_path),
                int(r.passages),
                len(tested.get(key, [])),
                answered,
                correct,
                correct / answered if answered else np.nan,
            )
        )
    section_table = pd.DataFrame(
        section_rows,
        columns=["文件", "标题", "小节", "段落数", "题目数", "作答次数", "答对次数", "答对率"],
    )
    documents = (
        section_table.assign(_tested=section_table["题目数"] > 0)
        .groupby(["文件", "标题"], sort=False)
        .agg(小节数=("小节", "size"), 有题小节数=("_tested", "sum"), 题目数=("题目数", "sum"))
        .reset_index()
    )
    documents["有题小节数"] = documents["有题小节数"].astype(int)
    documents.insert(4, "覆盖率", documents["有题小节数"] / documents["小节数"])
    department_rows = [
        (
            path,
            label(heading),
            department,
            int(r.answered),
            int(r.correct),
            r.correct / r.answered if r.answered else np.nan,
        )
        for (path, heading, department), r in per_department.iterrows()
    ]
    by_department_table = pd.DataFrame(
        department_rows, columns=["文件", "小节", "部门", "作答次数", "答对次数", "答对率"]
    )
    return Coverage(documents, section_table, by_department_table)
