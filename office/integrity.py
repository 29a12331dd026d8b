"""Integrity flags, for the office to look at, never a penalty.

*too fast*: a submitted attempt whose time from start to submission is under
``min_seconds_per_question`` (3 s) per drawn question;
*identical sheets*: attempts at the same quiz by different people with the same drawn
questions and the same answer to every one, at least ``min_questions`` (10) questions
with at least ``min_shared_wrong`` (4) of them wrong -- identical perfect sheets are
expected, identical mistakes are the tell. Four, not three: at 5,000 people with three
attempts at each of ten quizzes, three shared mistakes matched some 340 pairs by
coincidence (mostly across departments); four left 35, most within one department.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from office.scope import Scope, local_naive
from quizzes.attempt_stats import answer_sheets, too_fast_attempts, wrong_answer_keys
from quizzes.people import people_at, people_cte

MIN_SECONDS_PER_QUESTION = 3.0
MIN_IDENTICAL_QUESTIONS = 10
MIN_SHARED_WRONG = 4


def integrity_flags(
    scope: Scope,
    *,
    quiz_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_seconds_per_question: float = MIN_SECONDS_PER_QUESTION,
    min_questions: int = MIN_IDENTICAL_QUESTIONS,
    min_shared_wrong: int = MIN_SHARED_WRONG,
) -> pd.DataFrame:
    """Attempts for the office to look at: too fast, or identical to a colleague's sheet.

    Never a penalty; see the module docstring for the rules.

    Returns:
        Columns: 类型 (作答过快 / 答卷雷同), 雷同组 (a number shared by the attempts of one
        identical group; empty for 作答过快), 测验编号, 测验, 部门, 工号, 姓名, 作答ID,
        提交时间, 说明. Too-fast attempts first, then identical groups, each by 提交时间.
    """
    db, as_of = scope.db, scope.as_of
    titles = {q.id: q.title for q in scope.bank.quizzes.values()}
    window = {"quiz_ids": quiz_ids, "since": since, "until": until}
    fast = too_fast_attempts(db, scope.who, as_of, min_seconds_per_question, **window)
    rows: list[tuple] = [
        (
            "作答过快",
            None,
            r.quiz_id,
            titles.get(r.quiz_id, r.quiz_id),
            r.department,
            r.employee_no,
            r.name,
            int(r.id),
            r.submitted_at,
            f"用时 {r.seconds:.0f} 秒答 {r.questions} 题，平均每题 {r.seconds / r.questions:.1f} 秒"
            if r.questions
            else f"用时 {r.seconds:.0f} 秒",
        )
        for r in fast.itertuples()
    ]

    # Identical sheets. First a cheap key per attempt from its wrong answers: identical
    # sheets always share it, different sheets rarely do. Then the full sheets of the
    # attempts sharing a key are compared exactly.
    keyed = wrong_answer_keys(db, scope.who, as_of, min_shared_wrong, **window)
    group_number = 0
    if not keyed.empty:
        key = ["quiz_id", "wrong", "first_wrong", "last_wrong", "checksum"]
        keyed["checksum"] = keyed["checksum"].fillna(0)
        people_per_key = keyed.groupby(key)["employee_no"].transform("nunique")
        candidates = keyed[people_per_key >= 2]
        sheets = answer_sheets(db, [int(i) for i in candidates["attempt_id"]])
        names = _names(db, as_of, list(candidates["employee_no"].unique()))
        # Grouped in plain Python: a DataFrame group per key costs more than its rows.
        by_key: dict[tuple, list[dict]] = {}
        for detail in candidates.to_dict("records"):
            by_key.setdefault(tuple(detail[k] for k in key), []).append(detail)
        questions_of = {sheet: len(json.loads(sheet)) for sheet in set(sheets.values())}
        groups = []
        for group in by_key.values():
            by_sheet: dict[str, list[dict]] = {}
            for detail in group:
                sheet = sheets[int(detail["attempt_id"])]
                if questions_of[sheet] >= min_questions:
                    by_sheet.setdefault(sheet, []).append(detail)
            for sheet, details in by_sheet.items():
                if len({d["employee_no"] for d in details}) >= 2:
                    for d in details:
                        d["name"], d["department"] = names.get(d["employee_no"], ("", ""))
                    details.sort(key=lambda d: (d["submitted_at"], d["attempt_id"]))
                    groups.append((questions_of[sheet], details))
        groups.sort(key=lambda g: (g[1][0]["submitted_at"], g[1][0]["attempt_id"]))
        for questions, details in groups:
            group_number += 1
            everyone = sorted({d["employee_no"] for d in details})
            for d in details:
                mates = "、".join(e for e in everyone if e != d["employee_no"])
                rows.append(
                    (
                        "答卷雷同",
                        group_number,
                        d["quiz_id"],
                        titles.get(d["quiz_id"], d["quiz_id"]),
                        d["department"],
                        d["employee_no"],
                        d["name"],
                        int(d["attempt_id"]),
                        d["submitted_at"],
                        f"与 {mates} 的答卷完全相同（{questions} 题，其中 {d['wrong']} 题答错）",
                    )
                )
    table = pd.DataFrame(
        rows,
        columns=[
            "类型",
            "雷同组",
            "测验编号",
            "测验",
            "部门",
            "工号",
            "姓名",
            "作答ID",
            "提交时间",
            "说明",
        ],
    )
    table["雷同组"] = table["雷同组"].astype("Int64")
    table["提交时间"] = local_naive(pd.to_datetime(table["提交时间"], format="ISO8601", utc=True))
    return table


def _names(db, as_of: datetime, employee_nos: list[str]) -> dict[str, tuple[str, str]]:
    """Name and department at ``as_of`` of some people (thousands at 50,000 people)."""
    people = people_at(db, people_cte(as_of, employee_nos=employee_nos, counted_only=False))
    pairs = zip(people["name"], people["department"], strict=True)
    return dict(zip(people.index, pairs, strict=True))
