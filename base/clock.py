"""The clock: how moments are stored (fixed-width UTC text, so SQLite compares them as
strings) and the bureau's calendar (Beijing time, its days).

Every table of the app (attempts, answers, people, readings, notices) stores times this
way; the dashboard's SQL compares them across tables, so there is one format.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=8), "北京时间")
"""The bureau's calendar: China Standard Time; China keeps no daylight saving time."""

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def to_stamp(moment: datetime) -> str:
    """``moment`` as stored, e.g. ``2026-11-25T01:02:03.000004+00:00``.

    Raises:
        ValueError: ``moment`` is naive; Beijing time and UTC mixed would shift every
            deadline and lock by eight hours without a sound.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {moment!r}")
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def from_stamp(text: str | None) -> datetime | None:
    """A stored moment back as an aware datetime (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Beijing time (23:59:59.999999), as an aware datetime."""
    return datetime.combine(day, time.max, tzinfo=LOCAL_TZ)


def start_of_day(day: date) -> datetime:
    """The first moment of ``day`` in Beijing time, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def local_text(moment: datetime | str | None, seconds: bool = False) -> str:
    """``moment`` (aware, or stored text) as people read it: ``2026-12-02 03:21`` in 北京时间.

    ``None`` reads as "—". Raises ValueError for a naive moment, as :func:`to_stamp` does.
    """
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {moment!r}")
    return moment.astimezone(LOCAL_TZ).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def local_date_text(moment: datetime) -> str:
    """The Beijing date of ``moment`` (aware), e.g. ``2026-12-08``: when a day is what
    counts (a review card is due from the start of its day)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {moment!r}")
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d")
