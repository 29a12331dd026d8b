"""Memory soak of the real app: many sessions rerunning pages, the server's RSS sampled.

``drive`` opens ``sessions`` browser-like sessions (bench/st_client.py), logs each in and
has each make ``warmup`` page runs; the server's RSS is then sampled (first-use imports,
caches and per-session state are paid by then). Each session then makes ``reruns`` more
page runs and RSS is sampled after each of ``rounds`` rounds. The runs cycle through a
search, the quiz list, the session's open attempt of plan-basics (开始测验, then 继续作答),
an answer (saved by its on_change), and 错题练习 or 我的账号. Sessions stay open throughout,
so what grows between the samples is what page runs leave behind.

    .venv/bin/python bench/soak_sessions.py                  # 30 sessions x 20 reruns
    .venv/bin/python bench/soak_sessions.py --reruns 60 --gc on

tests/test_soak.py runs it under pytest with a bound on the growth.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
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


@dataclass
class SoakResult:
    rss_start_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_samples_mb: list[float] = field(default_factory=list)  # after each round
    page_runs: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_warm_mb

    @property
    def growth_share(self) -> float:
        return self.growth_mb / self.rss_warm_mb if self.rss_warm_mb else 0.0

    def summary(self) -> str:
        return (
            f"RSS start {self.rss_start_mb:.0f} MB, after warm-up {self.rss_warm_mb:.0f} MB, "
            f"end {self.rss_end_mb:.0f} MB: growth {self.growth_mb:+.1f} MB "
            f"({self.growth_share:+.1%}) over {self.page_runs} page runs in "
            f"{self.seconds:.0f} s; failures {len(self.failures)}"
        )


async def _one_run(session: StreamlitSession, page: RunResult, n: int, who: str) -> RunResult:
    """The n-th page run of a session, in a cycle of five: a search, the quiz list, the
    attempt (开始测验, then 继续作答), an answer (saved by its on_change), then 错题练习 or
    我的账号."""
    step = n % 5
    if step == 0:
        if "政策检索" not in page.headings:
            page = await app_steps.open_page(session, "", "政策检索")
        number = n // 5 + int(who[1:])
        return await app_steps.search(
            session, page, app_steps.SEARCH_QUERIES[number % len(app_steps.SEARCH_QUERIES)]
        )
    if step == 1:
        return await app_steps.open_page(session, "quizzes", "学习测验")
    if step == 2:
        return await app_steps.start_quiz(session, page)
    if step == 3:
        radios = len(page.of_kind("radio"))
        return await app_steps.answer(session, page, n % radios, random.Random(n))
    if (n // 5) % 2:
        return await app_steps.open_page(session, "practice", "错题练习")
    return await app_steps.open_page(session, "account", "我的账号")


async def _session_runs(
    session: StreamlitSession, state: dict[str, RunResult], who: str, first: int, count: int
) -> int:
    page = state[who]
    for n in range(first, first + count):
        page = await _one_run(session, page, n, who)
    state[who] = page
    return count


async def drive(
    server: AppServer, sessions: int, warmup: int, reruns: int, rounds: int, timeout: float
) -> SoakResult:
    result = SoakResult(rss_start_mb=server.rss_mb())
    people = employee_numbers("K", sessions)
    clients = {who: StreamlitSession(server.url, timeout=timeout) for who in people}
    pages: dict[str, RunResult] = {}
    started = time.perf_counter()
    try:

        async def log_in(who: str) -> None:
            await app_steps.open_app(clients[who])
            pages[who] = await app_steps.login(clients[who], who, PASSWORD)

        await asyncio.gather(*(log_in(who) for who in people))
        await asyncio.gather(*(_session_runs(clients[w], pages, w, 0, warmup) for w in people))
        result.rss_warm_mb = server.rss_mb()
        done = warmup
        per_round = [reruns // rounds + (1 if i < reruns % rounds else 0) for i in range(rounds)]
        for count in per_round:
            await asyncio.gather(
                *(_session_runs(clients[w], pages, w, done, count) for w in people)
            )
            done += count
            result.rss_samples_mb.append(server.rss_mb())
        result.rss_end_mb = result.rss_samples_mb[-1] if per_round else result.rss_warm_mb
        result.page_runs = sessions * (2 + warmup + reruns)
    except app_steps.StepFailed as exc:
        result.failures.append(str(exc))
    finally:
        result.seconds = time.perf_counter() - started
        await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)
    return result


def run_soak(
    folder: Path,
    sessions: int = 30,
    warmup: int = 10,
    reruns: int = 20,
    rounds: int = 4,
    gc: str | None = None,
    timeout: float = 60.0,
    max_seconds: float = 600.0,
    project: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> SoakResult:
    """Prepare data in ``folder``, serve the app (config.toml, or postScriptGC ``gc``), soak."""
    data_dir = folder / "data"
    prepare_data(data_dir, employee_numbers("K", sessions))
    extra = [] if gc is None else ["--runner.postScriptGC", "true" if gc == "on" else "false"]
    server = start_app(
        data_dir, folder / "server.log", extra_args=extra, project=project, extra_env=extra_env
    )
    try:
        return asyncio.run(
            asyncio.wait_for(drive(server, sessions, warmup, reruns, rounds, timeout), max_seconds)
        )
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10, help="page runs per session before")
    parser.add_argument("--reruns", type=int, default=20, help="page runs per session measured")
    parser.add_argument("--rounds", type=int, default=4, help="RSS samples during the reruns")
    parser.add_argument("--gc", choices=("on", "off"), help="override runner.postScriptGC")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--project", type=Path, default=ROOT, help="serve this checkout's app.py")
    parser.add_argument(
        "--malloc-arena-max", type=int, help="set MALLOC_ARENA_MAX for the server (glibc)"
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="soak-sessions-"))
    try:
        result = run_soak(
            folder,
            args.sessions,
            args.warmup,
            args.reruns,
            max(1, args.rounds),
            args.gc,
            max_seconds=args.max_seconds,
            project=args.project,
            extra_env=(
                {"MALLOC_ARENA_MAX": str(args.malloc_arena_max)} if args.malloc_arena_max else None
            ),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(result.summary())
    print("RSS after each round, MB:", " ".join(f"{v:.0f}" for v in result.rss_samples_mb))
    for line in result.failures:
        print(f"  {line}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
