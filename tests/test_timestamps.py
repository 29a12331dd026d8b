"""Times as people read them: 北京时间, whatever zone they were stored or passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from base.clock import local_text, to_stamp


def test_a_utc_moment_reads_in_beijing_time():
    moment = datetime(2026, 12, 1, 19, 21, 7, tzinfo=UTC)
    assert local_text(moment) == "2026-12-02 03:21"
    assert local_text(moment, seconds=True) == "2026-12-02 03:21:07"
    # stored text, in the store's format or in plain ISO (documents.ingested_at)
    assert local_text(to_stamp(moment)) == "2026-12-02 03:21"
    assert local_text("2026-12-01T19:21:07+00:00") == "2026-12-02 03:21"
    assert local_text(moment.astimezone(timezone(timedelta(hours=-5)))) == "2026-12-02 03:21"
    assert local_text(None) == "—"


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        local_text(datetime(2026, 12, 1, 19, 21))
