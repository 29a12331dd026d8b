"""Server CPU per page run, one click at a time: what decides how many submits a burst can take.

Under a burst every script run shares one interpreter lock, so 200 simultaneous submits
finish after roughly 200 x the CPU of one (bench/README_load.md). The burst's p99 is noisy
(collections, searches landing in it); the CPU of one run is not. This starts the real
app (bench/app_server.py), drives ``--people`` sessions one click after another over the
websocket (bench/st_client.py), and reads the server's CPU time (user + system, psutil)
around each click:

    login → 学习测验 → 开始测验 → 5 answers → 提交试卷, then one search per person

It prints, per step, the median and mean server CPU in ms and the ForwardMsgs received.

    .venv/bin/python bench/run_cost.py                   # 40 people, lexical-only
    .venv/bin/python bench/run_cost.py --project /tmp/b  # the same against a modified copy
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import app_steps  # noqa: E402
from bench.app_server import (  # noqa: E402
    PASSWORD,
    AppServer,
    employee_numbers,
    prepare_data,
    start_app,
)
from bench.st_client import RunResult, StreamlitSession  # noqa: E402


class Meter:
    """Server CPU (ms) and frames per step, each click measured alone."""

    def __init__(self, server: AppServer) -> None:
        self.server = server
        self.cpu_ms: dict[str, list[float]] = defaultdict(list)
        self.frames: dict[str, list[int]] = defaultdict(list)

    async def measure(self, step: str, coro) -> RunResult:
        # Wait for the previous run's tail (the event loop sending its last frames).
        await asyncio.sleep(0.05)
        before = self.server.cpu_seconds()
        result = await coro
        await asyncio.sleep(0.05)
        self.cpu_ms[step].append((self.server.cpu_seconds() - before) * 1000)
        self.frames[step].append(result.messages)
        return result


async def drive(server: AppServer, people: list[str], answers: int, seed: int) -> Meter:
    meter = Meter(server)
    rng = random.Random(seed)
    for employee_no in people:
        session = StreamlitSession(server.url)
        try:
            await app_steps.open_app(session)
            await meter.measure("login", app_steps.login(session, employee_no, PASSWORD))
            quizzes = await meter.measure(
                "quiz list", app_steps.open_page(session, "quizzes", "学习测验")
            )
            attempt = await meter.measure("start", app_steps.start_quiz(session, quizzes))
            for index in range(answers):
                attempt = await meter.measure(
                    "answer", app_steps.answer(session, attempt, index, rng)
                )
            attempt = await meter.measure("ask", app_steps.ask_to_submit(session, attempt))
            await meter.measure("submit", app_steps.submit(session, attempt))
            page = await app_steps.open_page(session, "", "政策检索")
            await meter.measure(
                "search", app_steps.search(session, page, rng.choice(app_steps.SEARCH_QUERIES))
            )
        finally:
            await session.close()
    return meter


def idle_cpu_ms(server: AppServer, seconds: float = 2.0) -> float:
    """What the idle server burns per 100 ms (file watcher, timers): the noise floor."""
    before = server.cpu_seconds()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) * 1000 / (seconds * 10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40, help="sessions, one after another")
    parser.add_argument("--answers", type=int, default=5, help="radio answers before submit")
    parser.add_argument("--model", default="none", help="KB_EMBED_MODEL: none or builtin")
    parser.add_argument("--project", type=Path, default=ROOT, help="serve this checkout")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="run-cost-"))
    server = None
    try:
        people = employee_numbers("T", args.people + 1)
        prepare_data(folder / "data", people, args.model)
        server = start_app(
            folder / "data",
            folder / "server.log",
            args.model,
            ["--runner.postScriptGC", "false"],
            project=args.project,
        )
        # The first person pays first-use imports and caches; not counted.
        asyncio.run(drive(server, people[:1], args.answers, args.seed))
        floor = idle_cpu_ms(server)
        meter = asyncio.run(drive(server, people[1:], args.answers, args.seed))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{args.people} people, model {args.model}"
        + ("" if args.project == ROOT else f", project {args.project}")
    )
    print(f"idle server: {floor:.2f} ms CPU per 100 ms (included in each figure below)")
    print(f"{'step':<10} {'n':>5} {'median ms':>10} {'mean ms':>8} {'frames':>7}")
    for step, values in meter.cpu_ms.items():
        print(
            f"{step:<10} {len(values):>5} {statistics.median(values):>10.1f} "
            f"{statistics.fmean(values):>8.1f} {statistics.fmean(meter.frames[step]):>7.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
