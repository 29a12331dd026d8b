"""Spaced review by department: does what was got wrong stick?

Rules decided here: the figures count the reviews of the people in scope (their
department at the scope's moment), everything by that moment; what a mistake and its
review are is :func:`quizzes.review.review_tallies`'s rule.
"""

from __future__ import annotations

import pandas as pd

from office.scope import Scope
from quizzes.review import review_tallies


def review_by_department(scope: Scope) -> pd.DataFrame:
    """Per department in scope: how many mistakes were reviewed and the share answered
    right at that review (the card's next due review after the mistake).

    Returns:
        Columns 部门, 复习人数 (people with a reviewed mistake), 已复习错题, 复习时答对,
        复习答对率 (a share from 0 to 1, None without a reviewed mistake), one row per
        department, departments in name order.
    """
    tallies = review_tallies(scope.db, scope.who, scope.as_of)
    reviewed = tallies["reviewed"].astype(int)
    right = tallies["right"].astype(int)
    return pd.DataFrame(
        {
            "部门": tallies["department"].astype(object),
            "复习人数": tallies["reviewers"].astype(int),
            "已复习错题": reviewed,
            "复习时答对": right,
            "复习答对率": (right / reviewed.where(reviewed > 0)).astype(float),
        }
    )
