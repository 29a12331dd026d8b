"""Coverage: which sections of each document the bank tests, and how each department
answers them, over a :class:`office.scope.Scope`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from kb.documents import find_quotes, section_passages
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
    questions = [(quiz.id, q) for quiz in bank.quizzes.values() for q in quiz.questions]
    passages = find_quotes(db, [(q.source.document, q.source.quote) for _, q in questions])
    for (quiz_id, question), passage in zip(questions, passages, strict=True):
        if passage is not None:
            key = (passage.doc_path, passage.heading_path)
            tested.setdefault(key, []).append((quiz_id, question.id))
    tallies = answer_counts(
        db, scope.as_of, scope.departments, list(bank.quizzes), since, until, True
    )
    section_of = pd.DataFrame(
        [
            (quiz_id, question_id, path, heading)
            for (path, heading), questions in tested.items()
            for quiz_id, question_id in questions
        ],
        columns=["quiz_id", "question_id", "path", "heading"],
    )
    tallies = tallies.merge(section_of, on=["quiz_id", "question_id"])
    tallies = tallies.assign(
        correct=pd.to_numeric(tallies["correct"]).fillna(0).astype(int),
        answered=pd.to_numeric(tallies["answered"]).astype(int),
    )
    per_section = tallies.groupby(["path", "heading"])[["answered", "correct"]].sum()
    per_section_of = dict(
        zip(
            per_section.index,
            zip(per_section["answered"], per_section["correct"], strict=True),
            strict=True,
        )
    )
    per_department = (
        tallies.groupby(["path", "heading", "department"])[["answered", "correct"]]
        .sum()
        .reset_index()
    )

    def label(heading: str) -> str:
        return heading or FRONT_SECTION

    section_rows = []
    for r in sections.itertuples():
        key = (r.path, r.heading_path)
        answered, correct = (int(n) for n in per_section_of.get(key, (0, 0)))
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
    answered = per_department["answered"].to_numpy()
    correct = per_department["correct"].to_numpy()
    rate = np.divide(correct, answered, out=np.full(len(answered), np.nan), where=answered > 0)
    department_rows = list(
        zip(
            per_department["path"],
            map(label, per_department["heading"]),
            per_department["department"],
            answered.tolist(),
            correct.tolist(),
            rate.tolist(),
            strict=True,
        )
    )
    by_department_table = pd.DataFrame(
        department_rows, columns=["文件", "小节", "部门", "作答次数", "答对次数", "答对率"]
    )
    return Coverage(documents, section_table, by_department_table)
