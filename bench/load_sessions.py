"""Load test of the real app over Streamlit's websocket: a deadline burst of quiz submissions.

Starts ``streamlit run app.py`` on a free port of 127.0.0.1 against a temporary data folder
(the shipped corpus indexed, lexical-only or with the builtin model; N staff accounts with
a known password), then drives browser-like sessions (bench/st_client.py):

1. ramp-up: ``--sessions`` quiz takers arrive spread over ``--ramp`` seconds; each opens
   the app, logs in (工号/密码 form), opens 学习测验, presses 开始测验 on ``plan-basics``
   (the attempt opens as ?attempt=ID) and answers ``--answers`` radio questions, each
   saved by its on_change as it is given. ``--searchers`` more sessions log in.
2. the burst: when every taker is ready (提交试卷 pressed, the confirmation shown), all
   press 确认提交 at the same instant while the searchers type questions into 政策检索 in a loop.
3. the books: attempts and answers stored in SQLite against the submits and saves the
   client saw succeed, the server's RSS before/after (psutil), errors in the server log.

Latency = from sending the BackMsg to the ``script_finished`` that ends the run chain
(a run ended by ``st.rerun()`` is followed by the next one, which is counted in).

    .venv/bin/python bench/load_sessions.py                       # 200 + 20, GC off (config)
    .venv/bin/python bench/load_sessions.py --gc on               # postScriptGC forced on
    .venv/bin/python bench/load_sessions.py --sessions 20 --searchers 4   # smoke run
    .venv/bin/python bench/load_sessions.py --model builtin       # hybrid search, e5 loaded

Everything is bounded: each request by ``--timeout``, the whole run by ``--max-seconds``;
the server is stopped and the temporary folder removed at the end (``--keep`` keeps it).
Targets (exit status 1 when missed): 0 failures, every submit stored, p99 submit < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

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
from bench.app_steps import StepFailed  # noqa: E402
from bench.st_client import RunResult, StreamlitSession, percentile  # noqa: E402

SUBMIT_P99_TARGET = 2.0


@dataclass
class Stats:
    """Everything the sessions observed (one event loop: no locking needed)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    frames: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    first_frames: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    submits_sent: int = 0
    submits_ok: int = 0
    submitted_attempts: set[int] = field(default_factory=set)
    saved: set[tuple[int, str]] = field(default_factory=set)  # (attempt, question) acked
    attempts: dict[str, int] = field(default_factory=dict)  # employee_no -> attempt id
    searches_ok: int = 0
    sessions: list[StreamlitSession] = field(default_factory=list)

    async def timed(self, step: str, coro) -> RunResult:
        started = time.perf_counter()
        result = await coro
        self.latencies[step].append(time.perf_counter() - started)
        self.frames[step].append(result.messages)
        self.first_frames[step].append(result.first_frame_seconds)
        return result


@dataclass
class Phase:
    """Shared signals: every taker ready (or failed), the submit instant, the end."""

    pending: int
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    takers_done: asyncio.Event = field(default_factory=asyncio.Event)
    takers_left: int = 0

    def one_ready(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.ready.set()


def _question_of(radio_id: str) -> str:
    # widget ids end with the user key, "ans-<attempt>-<question>"
    return radio_id.rsplit("-", 1)[-1]


async def taker(
    n: int, employee_no: str, args: argparse.Namespace, url: str, stats: Stats, phase: Phase
) -> None:
    """One person: log in, start the quiz, answer, then submit when everyone does."""
    rng = random.Random(n)
    session = StreamlitSession(url, timeout=args.timeout)
    stats.sessions.append(session)
    counted_ready = False
    try:
        await asyncio.sleep(n * args.ramp / max(1, args.sessions))
        await stats.timed("open", app_steps.open_app(session))
        await asyncio.sleep(args.think)
        await stats.timed("login", app_steps.login(session, employee_no, PASSWORD))
        await asyncio.sleep(args.think)
        quizzes = await stats.timed(
            "quiz list", app_steps.open_page(session, "quizzes", "学习测验")
        )
        await asyncio.sleep(args.think)
        attempt = await stats.timed("start", app_steps.start_quiz(session, quizzes))
        attempt_id = app_steps.attempt_id(session)
        stats.attempts[employee_no] = attempt_id
        radios = attempt.of_kind("radio")
        for index in rng.sample(range(len(radios)), min(args.answers, len(radios))):
            await asyncio.sleep(args.think)
            question = _question_of(attempt.of_kind("radio")[index].id)
            attempt = await stats.timed("answer", app_steps.answer(session, attempt, index, rng))
            stats.saved.add((attempt_id, question))
        await asyncio.sleep(args.think)
        attempt = await stats.timed("ask", app_steps.ask_to_submit(session, attempt))
        phase.one_ready()
        counted_ready = True
        await phase.go.wait()
        stats.submits_sent += 1
        await stats.timed("submit", app_steps.submit(session, attempt))
        stats.submits_ok += 1
        stats.submitted_attempts.add(attempt_id)
    except StepFailed as exc:
        stats.failures.append(f"{employee_no} {exc}")
    finally:
        if not counted_ready:
            phase.one_ready()
        phase.takers_left -= 1
        if phase.takers_left <= 0:
            phase.takers_done.set()


async def searcher(
    n: int, employee_no: str, args: argparse.Namespace, url: str, stats: Stats, phase: Phase
) -> None:
    """One person searching in a loop from the submit instant until the takers are done."""
    rng = random.Random(10_000 + n)
    session = StreamlitSession(url, timeout=args.timeout)
    stats.sessions.append(session)
    counted_ready = False
    try:
        await asyncio.sleep(n * args.ramp / max(1, args.searchers))
        await stats.timed("open", app_steps.open_app(session))
        await asyncio.sleep(args.think)
        page = await stats.timed("login", app_steps.login(session, employee_no, PASSWORD))
        phase.one_ready()
        counted_ready = True
        await phase.go.wait()
        for loop in range(args.search_loops):
            if phase.takers_done.is_set() and loop >= args.min_searches:
                break
            query = f"{rng.choice(app_steps.SEARCH_QUERIES)}{'？' * (loop % 2)}"
            page = await stats.timed("search", app_steps.search(session, page, query))
            stats.searches_ok += 1
            await asyncio.sleep(args.search_pause)
    except StepFailed as exc:
        stats.failures.append(f"{employee_no} {exc}")
    finally:
        if not counted_ready:
            phase.one_ready()


def start_profiler(args: argparse.Namespace, server: AppServer) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server during the burst (``--py-spy``), or None."""
    if args.py_spy is None:
        return None
    return subprocess.Popen(
        [
            str(args.py_spy),
            "record",
            "--pid",
            str(server.process.pid),
            "--rate",
            "250",
            "--gil",  # only the thread holding the interpreter lock: what the burst queues for
            "--format",
            "raw",  # collapsed stacks: one line per stack, its sample count at the end
            "--output",
            str(args.profile_out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        profiler.wait(timeout=30)


async def sample_peak(server: AppServer, peak: list[float], stop: asyncio.Event) -> None:
    """Keep the highest server RSS seen, every 0.25 s, until ``stop``."""
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], server.rss_mb())
        except psutil.Error:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)


async def scenario(args: argparse.Namespace, server: AppServer, report: dict[str, Any]) -> Stats:
    stats = Stats()
    takers = employee_numbers("T", args.sessions)
    searchers = employee_numbers("S", args.searchers)
    phase = Phase(pending=len(takers) + len(searchers), takers_left=len(takers))
    if not takers:
        phase.takers_done.set()

    # Warm-up: one session through every page, so first-use imports and caches are paid.
    warm = StreamlitSession(server.url, timeout=args.timeout)
    try:
        await app_steps.open_app(warm)
        page = await app_steps.login(warm, "W0000", PASSWORD)
        await app_steps.search(warm, page, "满意率")
        await app_steps.open_page(warm, "quizzes", "学习测验")
    finally:
        await warm.close()
    report["rss_mb_before"] = server.rss_mb()

    peak = [0.0]
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_peak(server, peak, stop_sampling))
    tasks = [
        asyncio.create_task(taker(n, e, args, server.url, stats, phase))
        for n, e in enumerate(takers)
    ] + [
        asyncio.create_task(searcher(n, e, args, server.url, stats, phase))
        for n, e in enumerate(searchers)
    ]
    ramp_started = time.perf_counter()
    try:
        await phase.ready.wait()
        report["ramp_seconds"] = time.perf_counter() - ramp_started
        report["rss_mb_ready"] = server.rss_mb()
        client = psutil.Process()
        profiler = start_profiler(args, server)
        client_cpu = sum(client.cpu_times()[:2])
        server_cpu = server.cpu_seconds()
        burst_started = time.perf_counter()
        phase.go.set()  # every taker presses 提交试卷 now
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - burst_started
        report["burst_seconds"] = wall
        report["server_cpu_share_in_burst"] = (server.cpu_seconds() - server_cpu) / wall
        report["client_cpu_share_in_burst"] = (sum(client.cpu_times()[:2]) - client_cpu) / wall
        stop_profiler(profiler)
        report["rss_mb_after"] = server.rss_mb()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stop_sampling.set()
        await sampler
        report["rss_mb_peak"] = peak[0]
        await asyncio.gather(*(s.close() for s in stats.sessions), return_exceptions=True)
    # Streamlit drops a disconnected session's state once its websocket is gone.
    await asyncio.sleep(3)
    report["rss_mb_after_close"] = server.rss_mb()
    return stats


def count_rows(db_path: Path, stats: Stats) -> dict[str, int]:
    """What SQLite holds for the takers' attempts (read-only, after the server is idle)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        ids = sorted(stats.attempts.values())
        marks = ",".join("?" * len(ids)) or "NULL"
        submitted = conn.execute(
            f"SELECT COUNT(*) FROM attempts WHERE id IN ({marks}) AND status = 'submitted'", ids
        ).fetchone()[0]
        graded = conn.execute(
            f"SELECT COUNT(*) FROM answers a JOIN attempts t ON t.id = a.attempt_id "
            f"WHERE t.id IN ({marks}) AND t.status = 'submitted' AND a.points IS NOT NULL",
            ids,
        ).fetchone()[0]
        drawn = conn.execute(
            f"SELECT COALESCE(SUM(json_array_length(question_ids)), 0) FROM attempts "
            f"WHERE id IN ({marks}) AND status = 'submitted'",
            ids,
        ).fetchone()[0]
        stored = {
            (a, q)
            for a, q in conn.execute(
                f"SELECT attempt_id, question_id FROM answers "
                f"WHERE attempt_id IN ({marks}) AND answer != 'null'",
                ids,
            )
        }
        integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()
    return {
        "attempts_started": len(ids),
        "attempts_submitted_in_db": submitted,
        "graded_answer_rows": graded,
        "graded_answer_rows_expected": drawn,
        "answers_acked": len(stats.saved),
        "answers_acked_and_stored": len(stats.saved & stored),
        "integrity_ok": int(integrity == "ok"),
    }


def log_problems(text: str) -> dict[str, int]:
    return {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "database_locked": len(re.findall(r"database is locked", text)),
    }


def summarize(stats: Stats) -> dict[str, dict[str, float]]:
    table = {}
    for step, values in stats.latencies.items():
        table[step] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p90": percentile(values, 90),
            "p99": percentile(values, 99),
            "max": max(values),
            "frames": sum(stats.frames[step]) / len(values),
            # until the server's first frame: how long the request waited for its run
            "began_p50": percentile(stats.first_frames[step], 50),
            "began_p99": percentile(stats.first_frames[step], 99),
            "seconds": sorted(round(v, 4) for v in values),
        }
    return table


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """Variables added to the server's environment by --malloc-arena-max and --env."""
    env = dict(item.split("=", 1) for item in args.env)
    if args.malloc_arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    return env


def print_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    print()
    print(
        f"sessions {args.sessions} takers + {args.searchers} searchers, answers {args.answers}, "
        f"ramp {args.ramp:g} s, think {args.think:g} s, model {args.model}, "
        f"postScriptGC {args.gc}"
        + "".join(f", {name}={value}" for name, value in server_env(args).items())
        + (f", {args.workers} workers" if args.workers > 1 else "")
        + ("" if args.project == ROOT else f", project {args.project}")
    )
    print(
        f"data prepared in {report['prepare_seconds']:.1f} s; ramp-up {report.get('ramp_seconds', 0):.1f} s; "
        f"burst {report.get('burst_seconds', 0):.2f} s"
    )
    print(
        f"{'step':<10} {'n':>5} {'p50 s':>8} {'p90 s':>8} {'p99 s':>8} {'max s':>8} {'frames':>7}"
        f" {'began p50/p99 s':>16}"
    )
    order = ["open", "login", "quiz list", "start", "answer", "ask", "submit", "search"]
    for step in sorted(report["latency"], key=lambda s: order.index(s) if s in order else 99):
        row = report["latency"][step]
        print(
            f"{step:<10} {row['n']:>5} {row['p50']:>8.3f} {row['p90']:>8.3f} "
            f"{row['p99']:>8.3f} {row['max']:>8.3f} {row['frames']:>7.0f}"
            f" {row['began_p50']:>8.3f}/{row['began_p99']:.3f}"
        )
    rows = report["rows"]
    print(
        f"submits: sent {report['submits_sent']}, confirmed {report['submits_ok']}, "
        f"stored as submitted {rows['attempts_submitted_in_db']} "
        f"(graded answer rows {rows['graded_answer_rows']}/{rows['graded_answer_rows_expected']})"
    )
    print(
        f"answers saved: acknowledged {rows['answers_acked']}, "
        f"stored {rows['answers_acked_and_stored']}; integrity {'ok' if rows['integrity_ok'] else 'BAD'}"
    )
    print(f"searches: {report['searches_ok']}")
    print(
        "server RSS MB: before {rss_mb_before:.0f}, ready {rss_mb_ready:.0f}, "
        "peak {rss_mb_peak:.0f}, after {rss_mb_after:.0f}, after close {rss_mb_after_close:.0f}".format(
            **{
                k: report.get(k, float("nan"))
                for k in (
                    "rss_mb_before",
                    "rss_mb_ready",
                    "rss_mb_peak",
                    "rss_mb_after",
                    "rss_mb_after_close",
                )
            }
        )
    )
    if "server_cpu_share_in_burst" in report:
        print(
            f"CPU during the burst: server {report['server_cpu_share_in_burst']:.2f} cores, "
            f"load generator {report['client_cpu_share_in_burst']:.2f} cores"
        )
    print(f"server log: {report['server_log']}")
    print(f"failures: {len(report['failures'])}")
    for line in report["failures"][:20]:
        print(f"  {line}")
    verdict = "PASS" if report["targets_met"] else "FAIL"
    print(
        f"targets (0 failures, every submit stored, p99 submit < {SUBMIT_P99_TARGET:g} s): {verdict}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="quiz takers (default 200)")
    parser.add_argument("--searchers", type=int, default=20, help="searching sessions (20)")
    parser.add_argument(
        "--answers", type=int, default=5, help="radio questions each taker answers (5; 20 = all)"
    )
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which takers arrive")
    parser.add_argument(
        "--think", type=float, default=1.0, help="pause between a taker's clicks, s"
    )
    parser.add_argument("--search-pause", type=float, default=0.2, help="pause between searches, s")
    parser.add_argument(
        "--min-searches", type=int, default=5, help="searches per searcher at least"
    )
    parser.add_argument(
        "--search-loops", type=int, default=200, help="searches per searcher at most"
    )
    parser.add_argument("--model", default="none", help="KB_EMBED_MODEL: none (default) or builtin")
    parser.add_argument("--gc", choices=("off", "on"), default="off", help="runner.postScriptGC")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request at most")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="whole run at most")
    parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="serve app.py from this checkout (default: this one; for A/B runs of a change)",
    )
    parser.add_argument(
        "--malloc-arena-max", type=int, help="set MALLOC_ARENA_MAX for the server (glibc)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add to the server's environment, e.g. KB_SEARCH_NICE=10 (repeatable)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Streamlit processes behind ui/serve.py (2, as make run; 1: streamlit alone)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="path of a py-spy binary: profile the server during the burst (not a dependency)",
    )
    parser.add_argument(
        "--profile-out",
        type=Path,
        default=Path("burst-profile.txt"),
        help="where --py-spy writes its collapsed stacks (burst-profile.txt)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.sessions < 0 or args.searchers < 0 or args.answers < 0:
        parser.error("counts must not be negative")
    for item in args.env:
        if "=" not in item:
            parser.error(f"--env {item!r}: expected NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="load-sessions-"))
    data_dir = folder / "data"
    people = [
        "W0000",
        *employee_numbers("T", args.sessions),
        *employee_numbers("S", args.searchers),
    ]
    report: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    server = None
    try:
        print(f"preparing {data_dir} ({len(people)} accounts, model {args.model}) ...", flush=True)
        report["prepare_seconds"] = prepare_data(data_dir, people, args.model)
        gc_flag = "true" if args.gc == "on" else "false"
        server = start_app(
            data_dir,
            folder / "server.log",
            args.model,
            ["--runner.postScriptGC", gc_flag],
            project=args.project,
            extra_env=server_env(args),
            workers=args.workers,
        )
        report["rss_mb_start"] = server.rss_mb()
        print(f"app on {server.url}, RSS {report['rss_mb_start']:.0f} MB; running ...", flush=True)
        try:
            stats = asyncio.run(asyncio.wait_for(scenario(args, server, report), args.max_seconds))
        except TimeoutError:
            print(f"the run exceeded --max-seconds {args.max_seconds:g}", file=sys.stderr)
            return 2
        report["latency"] = summarize(stats)
        report["failures"] = stats.failures
        report["submits_sent"] = stats.submits_sent
        report["submits_ok"] = stats.submits_ok
        report["searches_ok"] = stats.searches_ok
        # Requests the client gave up on may still be running: count once the server is idle.
        report["idle_wait_seconds"] = server.wait_idle()
        report["rows"] = count_rows(server.db_path, stats)
        report["server_log"] = log_problems(server.output(10**8))
        submit = report["latency"].get("submit", {"p99": float("inf")})
        rows = report["rows"]
        report["targets_met"] = bool(
            not stats.failures
            and stats.submits_ok == args.sessions
            and rows["attempts_submitted_in_db"] == args.sessions
            and rows["graded_answer_rows"] == rows["graded_answer_rows_expected"]
            and rows["answers_acked_and_stored"] == rows["answers_acked"]
            and rows["integrity_ok"]
            and report["server_log"]["tracebacks"] == 0
            and (args.sessions == 0 or submit["p99"] < SUBMIT_P99_TARGET)
        )
        print_report(args, report)
        if args.json:
            args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        return 0 if report["targets_met"] else 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
