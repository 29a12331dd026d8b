"""The Scope: what every view of the office is about, and the progress computed once.

A page (or an export, or a command) builds one :class:`Scope` -- the database, the plan,
the bank, the moment, the departments, the phase -- and hands it to every view. The
plan's progress is computed the first time a view asks for it and then shared, so the
views of one page can never disagree about the figures they were computed from, and a
page that shows only statistics never computes it at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import pandas as pd
import sqlite_utils

from base.clock import LOCAL_TZ
from office.progress import Progress, compute_progress, department_counts
from quizzes.bank import Bank
from quizzes.people import people_cte
from quizzes.plan import StudyPlan


@dataclass(frozen=True, eq=False)
class Scope:
    """The office's views' common arguments.

    Attributes:
        db: the app database.
        plan: the study plan; its requirements now apply.
        bank: the quiz bank.
        as_of: the moment the figures are about, aware.
        departments: only people in these departments at ``as_of``; None for the bureau.
        phase: the phase's name; None for the plan's current phase at ``as_of``.
    """

    db: sqlite_utils.Database
    plan: StudyPlan
    bank: Bank
    as_of: datetime
    departments: tuple[str, ...] | None = None
    phase: str | None = None

    def __post_init__(self) -> None:
        if self.departments is not None and not isinstance(self.departments, tuple):
            object.__setattr__(self, "departments", tuple(self.departments))

    @cached_property
    def progress(self) -> Progress:
        """Everyone's progress in scope (:func:`office.progress.compute_progress`), computed
        on first use and kept."""
        return compute_progress(
            self.db,
            self.plan,
            self.bank,
            self.as_of,
            phase=self.phase,
            departments=self.departments,
        )

    @cached_property
    def department_counts(self) -> pd.DataFrame:
        """:func:`office.progress.department_counts` of this scope's progress, kept."""
        return department_counts(self.progress)

    @property
    def who(self) -> tuple[str, dict]:
        """The people counted in scope, as the SQL ``who`` CTE the study core's queries join."""
        return people_cte(self.as_of, self.departments)

    def within(self, departments: Sequence[str]) -> Scope:
        """The same scope narrowed to some departments; it shares this scope's progress
        when that was already computed, and computes only theirs otherwise."""
        key = tuple(d for d in departments if self.departments is None or d in self.departments)
        narrowed = Scope(self.db, self.plan, self.bank, self.as_of, key, self.phase)
        if "progress" in self.__dict__:
            narrowed.__dict__["progress"] = _narrow(self.progress, key)
        return narrowed


def _narrow(progress: Progress, departments: tuple[str, ...]) -> Progress:
    people = progress.people[progress.people["department"].isin(departments)]
    return dataclasses.replace(progress, people=people)


def local_naive(series: pd.Series) -> pd.Series:
    """UTC times as naive Beijing times to the second, as the office's tables carry them."""
    # Excel has no time zones: tables carry naive Beijing times (stated on the 汇总 sheet),
    # to the second, which a workbook stores exactly.
    values = pd.to_datetime(series, utc=True, format="ISO8601")
    return values.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.floor("s")


PERCENT_COLUMNS = frozenset(
    {
        "参与率",
        "按期完成率",
        "预期进度",
        "累计完成率",
        "通过率",
        "平均得分率",
        "得分率",
        "答对率",
        "覆盖率",
        "最高得分率",
        "复习答对率",
    }
)
"""Columns holding shares from 0 to 1: shown and exported as percentages."""
