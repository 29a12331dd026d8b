"""Quiz and question statistics for the office, over a :class:`office.scope.Scope`.

Rules decided here: quiz and question statistics count graded attempts (submitted or
expired) submitted within the date range and by ``as_of``, of the people counted,
whatever the plan. A question's share correct counts every stored answer row (a blank is
wrong; a partly right multiple choice is not correct); void rows (question removed from
the bank at grading) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from office.scope import Scope
from quizzes.attempt_stats import quiz_tallies
from quizzes.attempt_tallies import SCORE_BANDS, answer_counts, quiz_counts

"""Score bands of :func:`quiz_stats`, on the percentage of the maximum score."""


def quiz_stats(
    scope: Scope,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Per quiz: graded attempts, people, pass rates, mean score and the score distribution.

    The bank's quizzes are listed, in order, also without attempts; attempts submitted
    after the scope's moment are left out.

    Args:
        scope: the page's scope.
        quiz_ids: only these quizzes; None for every quiz of the bank.
        since, until: only attempts submitted in this range (inclusive).

    Returns:
        Columns: 测验编号, 测验, 作答人次, 作答人数, 通过人次, 通过人数, 通过率 (of the
        people who tried, the share who passed), 平均得分率, then one column per score band
        (:data:`SCORE_BANDS`) counting attempts.
    """
    bank = scope.bank
    ids = list(bank.quizzes) if quiz_ids is None else [q for q in quiz_ids if q in bank.quizzes]
    if since is None and until is None:
        # Every graded attempt by the moment: the tallies per quiz, department and day.
        rows = quiz_counts(scope.db, scope.as_of, scope.departments, ids)
    else:
        rows = quiz_tallies(
            scope.db,
            scope.who,
            scope.as_of,
            [(low, high) for _, low, high in SCORE_BANDS],
            quiz_ids=quiz_ids,
            since=since,
            until=until,
        )
    rows = rows.reindex(ids)
    count_columns = ["attempts", "people", "passed_attempts", "people_passed"] + [
        f"band{i}" for i in range(len(SCORE_BANDS))
    ]
    rows[count_columns] = rows[count_columns].fillna(0).astype(int)
    table = pd.DataFrame(
        {
            "测验编号": pd.Series(ids, dtype=object),
            "测验": pd.Series([bank.quizzes[q].title for q in ids], dtype=object),
            "作答人次": rows["attempts"].to_numpy(),
            "作答人数": rows["people"].to_numpy(),
            "通过人次": rows["passed_attempts"].to_numpy(),
            "通过人数": rows["people_passed"].to_numpy(),
            "通过率": (rows["people_passed"] / rows["people"].where(rows["people"] > 0)).to_numpy(
                dtype=float
            ),
            "平均得分率": pd.to_numeric(rows["mean"]).to_numpy(dtype=float),
        }
    )
    for i, (label, _, _) in enumerate(SCORE_BANDS):
        table[label] = rows[f"band{i}"].to_numpy()
    return table


def question_stats(
    scope: Scope,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Per question, the share answered correctly: most missed first.

    Only questions of the bank with at least one graded answer are listed.

    Returns:
        Columns: 测验编号, 测验, 题号, 题型, 题干, 作答次数, 答对次数, 答对率, 出处文件,
        出处引文 (the UI finds the passage with ``kb.documents.find_quote``). Sorted by
        答对率, then bank order.
    """
    bank = scope.bank
    ids = list(bank.quizzes) if quiz_ids is None else [q for q in quiz_ids if q in bank.quizzes]
    tallies = answer_counts(scope.db, scope.as_of, scope.departments, ids, since, until)
    type_labels = {"single": "单选", "multiple": "多选", "true_false": "判断", "fill": "填空"}
    rows = []
    counts = {
        (r.quiz_id, r.question_id): (int(r.answered), int(r.correct or 0))
        for r in tallies.itertuples()
    }
    for quiz_index, quiz_id in enumerate(ids):
        quiz = bank.quizzes[quiz_id]
        for position, question in enumerate(quiz.questions):
            answered, correct = counts.get((quiz_id, question.id), (0, 0))
            if not answered:
                continue
            rows.append(
                (
                    quiz_index,
                    position,
                    quiz_id,
                    quiz.title,
                    question.id,
                    type_labels.get(question.type, question.type),
                    question.stem,
                    answered,
                    correct,
                    correct / answered,
                    question.source.document,
                    question.source.quote,
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "_quiz",
            "_position",
            "测验编号",
            "测验",
            "题号",
            "题型",
            "题干",
            "作答次数",
            "答对次数",
            "答对率",
            "出处文件",
            "出处引文",
        ],
    )
    table = table.sort_values(["答对率", "_quiz", "_position"], kind="stable")
    return table.drop(columns=["_quiz", "_position"]).reset_index(drop=True)
