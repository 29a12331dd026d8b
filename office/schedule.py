"""Signals against the deadline: when a department reads as behind schedule (进度落后),
and how the days to the deadline are worded.

Kept apart from the figures (:mod:`office.progress`, :mod:`office.dashboard`): these are
rules applied to counts already made, so they can change without touching how the counts
are computed.

The behind-schedule rule, as the page and the README state it (:data:`BEHIND_RULE`):

* **grace**: nobody is behind during the first :data:`GRACE_DAYS` days of the study
  period (or its first tenth, when the period is shorter than 30 days): three hours into a
  31-day period the linear expectation is 0.4 %, which no department can be said to miss;
* **a whole person short**: after the grace, a department is behind when fewer of its
  people completed on time than the linear expectation, the elapsed share of the period
  times its headcount, rounded to whole people (half up). Half way through, a department
  of 4 must have 2 done; a department of 1 is not behind at 49 % and is at 50 %;
* **after the deadline** the expectation is everyone: short of 100 % is behind.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from quizzes.plan import Phase

GRACE_DAYS = 3
"""Days from the start of the study period during which no department is behind."""

BEHIND_RULE = (
    f"进度落后：学习开始满 {GRACE_DAYS} 天后（学习期不足 30 天时为前十分之一），"
    "按期完成人数少于“预期进度 × 应学人数”（四舍五入到整人）；截止后未全部按期完成即为落后。"
    "预期进度按学习期内时间均匀推进计算。"
)
"""The rule in the words the page shows (caption and column help) and the README repeats."""


def grace_period(phase: Phase) -> timedelta:
    """How long after the phase's start nobody is behind: :data:`GRACE_DAYS` days, or a
    tenth of the period when that is shorter."""
    return min(timedelta(days=GRACE_DAYS), (phase.deadline - phase.start) / 10)


def expected_people(expected_share: float, headcount: int) -> int:
    """The on-time completions the linear expectation asks of ``headcount`` people,
    rounded to whole people, half up."""
    return math.floor(expected_share * headcount + 0.5)


def behind_schedule(
    phase: Phase, as_of: datetime, completed_on_time: pd.Series, headcount: pd.Series
) -> pd.Series:
    """Which departments are behind schedule at ``as_of`` (see the module docstring).

    Args:
        phase: the phase the figures are about.
        as_of: the moment, aware.
        completed_on_time: per department, people who completed by the deadline.
        headcount: per department, people counted (same index).

    Returns:
        A boolean Series on the same index; a department with nobody counted is never
        behind.
    """
    if as_of < phase.start + grace_period(phase):
        return pd.Series(False, index=headcount.index, dtype=bool)
    share = phase.elapsed_share(as_of)
    # Half up, as expected_people does, written once for the whole column.
    expected = np.floor(share * headcount.astype(float) + 0.5)
    # A float tolerance: at the deadline, 100 % done must not read as behind.
    return (completed_on_time.astype(float) < expected - 1e-9) & (headcount > 0)


def deadline_text(days_to_deadline: int, passed: bool) -> str:
    """The days to the deadline in words: 还剩 3 天, 今天截止, 今天已截止, 已截止 1 天.

    Args:
        days_to_deadline: calendar days (Beijing time) to the deadline, negative once past
            (:meth:`quizzes.plan.Phase.days_to_deadline`).
        passed: whether the deadline has passed (it can have on its own day).
    """
    if days_to_deadline > 0:
        return f"还剩 {days_to_deadline} 天"
    if days_to_deadline == 0:
        return "今天已截止" if passed else "今天截止"
    return f"已截止 {-days_to_deadline} 天"
