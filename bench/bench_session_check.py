"""What the server-side login check costs a page run: ``quizzes.sessions.check_session``
against the one read it replaced (``quizzes.people.get_person``), in the same run.

Every page run and every widget callback checks the login. Before the login sessions, the
check read the person (``get_person``) and compared the session version kept in the
page session; now it reads the session joined with the person, and writes the session's
last activity at most once a minute (``TOUCH_INTERVAL``). This measures, on a real
SQLite file of ``--people`` accounts each logged in once:

* ``get_person``: the rival, the read a page run made before;
* ``check_session``: the read a page run makes now (no write due);
* ``check_session + touch``: a check that writes the last activity (once a minute per
  session at most), with the writer lock and ``synchronous=FULL``.

    .venv/bin/python bench/bench_session_check.py [--people 300] [--checks 3000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.store import open_db  # noqa: E402
from quizzes.accounts import add_person, ensure_schema  # noqa: E402
from quizzes.passwords import hash_password  # noqa: E402
from quizzes.people import Role, get_person  # noqa: E402
from quizzes.sessions import TOUCH_INTERVAL, check_session, start_session  # noqa: E402

IDLE = 30


def _median_us(timings: list[float]) -> str:
    return f"{statistics.median(timings) * 1e6:8.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "app.sqlite3")
        ensure_schema(db)
        password_hash = hash_password("Wenming2025x")
        sessions = []
        for n in range(args.people):
            person = add_person(
                db, f"{1000 + n}", f"职工{n}", f"科室{n % 12}", Role.STAFF, password_hash, now
            )
            sessions.append((person.employee_no, start_session(db, person, now, IDLE).id))
        picks = [rng.choice(sessions) for _ in range(args.checks)]
        timings: dict[str, list[float]] = {"get_person": [], "check_session": []}
        for employee_no, session_id in picks:
            start = time.perf_counter()
            get_person(db, employee_no)
            middle = time.perf_counter()
            check_session(db, now, IDLE, session_id=session_id)
            end = time.perf_counter()
            timings["get_person"].append(middle - start)
            timings["check_session"].append(end - middle)
        # Each session checked once more, a touch interval later: every check writes.
        later = now + TOUCH_INTERVAL
        touches = []
        for _, session_id in sessions:
            start = time.perf_counter()
            check_session(db, later, IDLE, session_id=session_id)
            touches.append(time.perf_counter() - start)
        timings["check_session + touch"] = touches
        db.close()
    print(f"{args.people} people logged in, {args.checks} checks, median µs per check")
    for name, values in timings.items():
        print(f"{name:24s}{_median_us(values)}  (n={len(values)})")


if __name__ == "__main__":
    main()
