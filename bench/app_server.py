"""The real app for load and soak runs: a prepared data folder and ``streamlit run``.

``prepare_data`` indexes the shipped corpus (lexical-only, or with the builtin model in a
child process so that torch never loads into the load generator) and creates staff
accounts that can log in straight away with a known password. ``start_app`` serves
``app.py`` on a free port of 127.0.0.1 with the project's ``.streamlit/config.toml``
(cwd is the project), in its own process group, and ``AppServer.stop`` ends that group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from base.settings import SHIPPED_BANK, Settings  # noqa: E402
from base.store import open_db, write  # noqa: E402
from kb.service import open_kb  # noqa: E402
from quizzes.accounts import add_person  # noqa: E402
from quizzes.accounts import ensure_schema as ensure_accounts_schema  # noqa: E402
from quizzes.attempts import ensure_schema as ensure_attempts_schema  # noqa: E402
from quizzes.passwords import hash_password  # noqa: E402
from quizzes.people import Role  # noqa: E402
from ui.serve import free_port, streamlit_command  # noqa: E402

PASSWORD = "load2026ok"
START_SECONDS = 90
# urllib must never go through a proxy: everything here is on 127.0.0.1.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def app_environment(data_dir: Path, model: str) -> dict[str, str]:
    """The KB_* variables that point the app at ``data_dir`` and the shipped corpus."""
    return {
        "KB_DATA_DIR": str(data_dir),
        "KB_CORPUS_DIR": str(ROOT / "corpus"),
        "KB_QUIZ_DIR": str(SHIPPED_BANK),
        "KB_EMBED_MODEL": model,
        "KB_TORCH_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }


def _child_env(data_dir: Path, model: str) -> dict[str, str]:
    # A developer's own KB_* setup must not leak into the app under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(app_environment(data_dir, model))
    return env


def employee_numbers(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:04d}" for n in range(count)]


def prepare_data(data_dir: Path, people: list[str], model: str = "none") -> float:
    """Index the corpus into ``data_dir`` and create ``people`` as staff; returns seconds.

    Every account gets the same password, hashed once with the app's own argon2
    parameters, and is marked as having changed it, so a login goes straight in.
    """
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(app_environment(data_dir, model))
    db = open_kb(settings)
    try:
        ensure_accounts_schema(db)
        ensure_attempts_schema(db)
    finally:
        db.close()
    command = [sys.executable, "-m", "kb", "ingest"]
    if model == "none":
        command.append("--no-model")
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=_child_env(data_dir, model),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kb ingest failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    password_hash = hash_password(PASSWORD)
    now = datetime.now(UTC)
    db = open_db(settings.db_path)
    try:
        with write(db):
            for n, employee_no in enumerate(people):
                add_person(
                    db,
                    employee_no,
                    f"测试{n:04d}",
                    f"测试科{n % 12:02d}",
                    Role.STAFF,
                    password_hash,
                    now,
                )
            db.execute(
                "UPDATE people SET must_change_password = 0 WHERE employee_no IN "
                f"({','.join('?' * len(people))})",
                people,
            )
    finally:
        db.close()
    return time.perf_counter() - started


class AppDidNotStart(RuntimeError):
    """``streamlit run`` exited or never answered its health check."""


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    db_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _processes(self) -> list[psutil.Process]:
        # The server and its children: KB_WORKERS > 1 runs workers under ui/serve.py.
        process = psutil.Process(self.process.pid)
        return [process, *process.children(recursive=True)]

    def rss_mb(self) -> float:
        """The server processes' resident memory, MB (summed over workers)."""
        return sum(p.memory_info().rss for p in self._processes()) / 2**20

    def cpu_seconds(self) -> float:
        """CPU used so far by the server processes (those alive now)."""
        return sum(sum(p.cpu_times()[:2]) for p in self._processes())

    def wait_idle(self, seconds: float = 120.0, busy_share: float = 0.1) -> float:
        """Wait until the server uses under ``busy_share`` of a core for 0.5 s; returns waited."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < seconds:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < busy_share * 0.5:
                break
            before = now
        return time.monotonic() - started

    def output(self, last_chars: int = 4000) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text[-last_chars:]

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            pgid = os.getpgid(self.process.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_app(
    data_dir: Path,
    log_path: Path,
    model: str = "none",
    extra_args: list[str] | None = None,
    project: Path = ROOT,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    script: str = "asgi.py",
) -> AppServer:
    """Serve ``project``/app.py on a free local port and wait for ``/_stcore/health``.

    ``project`` is this checkout unless a benchmark compares a modified copy of it;
    ``extra_env`` adds variables (e.g. ``MALLOC_ARENA_MAX``) to the server's environment;
    ``workers`` > 1 serves through ui/serve.py's sticky proxy, as ``make run`` does;
    ``script`` (one worker) serves another page of the project, as a test does.
    """
    port = free_port()
    if workers > 1:
        command = [sys.executable, "-m", "ui.serve", *(extra_args or [])]
        extra_env = {
            **(extra_env or {}),
            "KB_HOST": "127.0.0.1",
            "KB_PORT": str(port),
            "KB_WORKERS": str(workers),
        }
    else:
        command = streamlit_command("127.0.0.1", port, extra_args or [], script=script)
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(
                command,
                cwd=project,  # so the project's .streamlit/config.toml applies
                env=_child_env(data_dir, model) | (extra_env or {}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise AppDidNotStart(f"cannot run {command[0]}: {exc}") from exc
    settings = Settings.from_env(app_environment(data_dir, model))
    server = AppServer(process, port, log_path, settings.db_path)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            raise AppDidNotStart(f"streamlit exited with {process.returncode}:\n{server.output()}")
        try:
            with _LOCAL.open(f"{server.url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AppDidNotStart(f"no health answer within {START_SECONDS} s:\n{server.output()}")
        time.sleep(0.25)
