"""The behind-schedule rule and the deadline wording (office.schedule), on their own."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from base.clock import LOCAL_TZ
from office.schedule import (
    GRACE_DAYS,
    behind_schedule,
    deadline_text,
    expected_people,
    grace_period,
)
from quizzes.plan import Phase

# A 31-day period, as the default plan makes (start of day to the end of day 30 later).
START = datetime(2026, 11, 10, 0, 0, tzinfo=LOCAL_TZ)
DEADLINE = datetime(2026, 12, 10, 23, 59, 59, tzinfo=LOCAL_TZ)
PHASE = Phase("启动阶段·全面学习", START, DEADLINE)
DEPARTMENTS = ["办公室", "监测站", "法规科", "信息中心"]
HEADCOUNT = pd.Series([40, 12, 1, 0], index=DEPARTMENTS)


def behind(moment: datetime, done: list[int]) -> dict[str, bool]:
    flags = behind_schedule(PHASE, moment, pd.Series(done, index=DEPARTMENTS), HEADCOUNT)
    return flags.to_dict()


def test_three_hours_into_a_31_day_period_nobody_is_behind():
    moment = START + timedelta(hours=3)
    assert PHASE.elapsed_share(moment) < 0.005  # what used to mark every department red
    assert behind(moment, [0, 0, 0, 0]) == dict.fromkeys(DEPARTMENTS, False)


def test_nobody_is_behind_during_the_grace_days_whatever_the_counts():
    assert grace_period(PHASE) == timedelta(days=GRACE_DAYS)
    last_moment = START + timedelta(days=GRACE_DAYS) - timedelta(seconds=1)
    assert behind(last_moment, [0, 0, 0, 0]) == dict.fromkeys(DEPARTMENTS, False)
    # At the end of the grace 3/31 of the period has passed: 40 people -> 4 expected,
    # 12 -> 1, 1 -> 0.
    end = START + timedelta(days=GRACE_DAYS)
    assert [expected_people(PHASE.elapsed_share(end), n) for n in HEADCOUNT] == [4, 1, 0, 0]
    assert behind(end, [3, 1, 0, 0]) == {
        "办公室": True,
        "监测站": False,
        "法规科": False,
        "信息中心": False,
    }
    assert behind(end, [4, 0, 0, 0]) == {
        "办公室": False,
        "监测站": True,
        "法规科": False,
        "信息中心": False,
    }


def test_a_short_period_has_a_grace_of_a_tenth():
    week = Phase("冲刺", START, START + timedelta(days=7))
    assert grace_period(week) == timedelta(days=0.7)


def test_behind_is_a_whole_person_short_rounded_half_up():
    half = START + (DEADLINE - START) / 2
    assert PHASE.elapsed_share(half) == 0.5
    # 40 -> 20 expected, 12 -> 6, 1 -> round(0.5) = 1.
    assert behind(half, [20, 6, 1, 0]) == dict.fromkeys(DEPARTMENTS, False)
    assert behind(half, [19, 5, 0, 0]) == {
        "办公室": True,
        "监测站": True,
        "法规科": True,
        "信息中心": False,  # nobody counted is never behind
    }


def test_after_the_deadline_anyone_short_of_everyone_is_behind():
    after = DEADLINE + timedelta(seconds=1)
    assert behind(after, [40, 12, 1, 0]) == dict.fromkeys(DEPARTMENTS, False)
    assert behind(after, [39, 12, 0, 0]) == {
        "办公室": True,
        "监测站": False,
        "法规科": True,
        "信息中心": False,
    }
    # Before the start too nobody is behind.
    assert behind(START - timedelta(days=1), [0, 0, 0, 0]) == dict.fromkeys(DEPARTMENTS, False)


def test_the_days_to_the_deadline_in_words():
    assert [deadline_text(d, passed) for d, passed in ((3, False), (0, False))] == [
        "还剩 3 天",
        "今天截止",
    ]
    assert [deadline_text(d, True) for d in (0, -1, -12)] == [
        "今天已截止",
        "已截止 1 天",
        "已截止 12 天",
    ]
    day_after = DEADLINE + timedelta(hours=12)
    assert deadline_text(PHASE.days_to_deadline(day_after), day_after > DEADLINE) == "已截止 1 天"
