"""Serve the app on KB_HOST:KB_PORT with KB_WORKERS Streamlit processes behind a sticky proxy.

One Streamlit process runs every session's page runs on one interpreter: under the deadline
burst it uses one core of the server's two (bench/README_load.md). With ``KB_WORKERS=2``
this starts two ``streamlit run app.py`` processes on free ports of 127.0.0.1 and forwards
each browser to one of them. A Streamlit session lives in its process, so a browser must
keep talking to the same one: its first response sets a cookie naming the worker, and
every later request (the websocket included, and a reconnect after a network blip) goes
where the cookie says. Everything shared lives in SQLite, which both processes use through
the same writer discipline. A worker that exits is started again on its port (its own
sessions are lost; the other worker's carry on), unless workers keep exiting.

    python -m ui.serve [streamlit options...]     # what ``make run`` starts
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

from kb.settings import PROJECT_ROOT, Settings

COOKIE = "kb_worker"
HEAD_LIMIT = 64 * 1024  # request and response heads larger than this are refused
HEAD_TIMEOUT_S = 30.0  # a client that sends no complete request head in time is dropped
START_TIMEOUT_S = 120.0
# A worker that exits is started again on its port, unless workers keep exiting: more than
# this many restarts within the window is a crash loop, and everything stops.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0

Backend = tuple[str, int]


def pinned_worker(head: bytes, workers: int) -> int | None:
    """The worker a request's ``kb_worker`` cookie names, or None (absent or not valid)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"cookie":
            continue
        cookies = SimpleCookie()
        with contextlib.suppress(CookieError, UnicodeDecodeError):
            cookies.load(value.decode("latin-1"))
        morsel = cookies.get(COOKIE)
        if morsel is not None and morsel.value.isdigit() and int(morsel.value) < workers:
            return int(morsel.value)
    return None


def with_cookie(head: bytes, worker: int) -> bytes:
    """A response head with the cookie that pins the browser to ``worker`` added."""
    line = f"Set-Cookie: {COOKIE}={worker}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
    return head[:-2] + line + b"\r\n"


class StickyProxy:
    """Forward each connection to a backend: the one its cookie names, else the next in turn."""

    def __init__(self, backends: Sequence[Backend]) -> None:
        self.backends = list(backends)
        self._turn = itertools.cycle(range(len(self.backends)))
        self._connections: set[asyncio.Task[None]] = set()

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        """Serve one client connection (keep-alive requests included) until either side ends."""
        me = asyncio.current_task()
        if me is not None:
            self._connections.add(me)
        backend_w = None
        try:
            head = await asyncio.wait_for(client_r.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            worker = pinned_worker(head, len(self.backends))
            set_cookie = worker is None
            if worker is None:
                worker = next(self._turn)
            backend_r, backend_w = await asyncio.open_connection(*self.backends[worker])
            backend_w.write(head)
            tasks = [
                asyncio.create_task(_pipe(client_r, backend_w)),
                asyncio.create_task(_respond(backend_r, client_w, worker if set_cookie else None)),
            ]
            # An end of input is passed on (half-close); an error on either side ends both.
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for task in tasks:
                    task.cancel()
                # Both pipes end before this connection does: none is left pending when
                # the loop stops. Their errors are seen here, so asyncio need not log them.
                await asyncio.gather(*tasks, return_exceptions=True)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass
        finally:
            for writer in (client_w, backend_w):
                if writer is not None:
                    writer.close()
            self._connections.discard(me)  # type: ignore[arg-type]

    async def close(self) -> None:
        """End every open connection and wait until each has."""
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Listen on ``host``:``port``."""
        return await asyncio.start_server(self.handle, host, port, limit=HEAD_LIMIT)


async def _respond(
    backend_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, worker: int | None
) -> None:
    if worker is not None:
        client_w.write(with_cookie(await backend_r.readuntil(b"\r\n\r\n"), worker))
    await _pipe(backend_r, client_w)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    # The other side may still answer a request it has (HTTP half-close).
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(host: str, port: int, options: Sequence[str]) -> list[str]:
    """``streamlit run app.py`` on ``host``:``port`` with the extra ``options``."""
    streamlit = Path(sys.executable).with_name("streamlit")
    return [
        str(streamlit),
        "run",
        "app.py",
        "--server.address",
        host,
        "--server.port",
        str(port),
        *options,
    ]


def wait_healthy(port: int, processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Wait for a worker's health check; raise if any worker exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a Streamlit worker exited while starting")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Streamlit worker on port {port} did not start")


class RestartBudget:
    """Allows at most ``limit`` restarts within any ``window`` seconds."""

    def __init__(self, limit: int = MAX_RESTARTS, window: float = RESTART_WINDOW_S) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Count a restart at ``now``; False once the window holds more than the limit."""
        self._times.append(now)
        while now - self._times[0] > self.window:
            self._times.popleft()
        return len(self._times) <= self.limit


def start_worker(port: int, options: Sequence[str]) -> subprocess.Popen[bytes]:
    """One ``streamlit run app.py`` on 127.0.0.1:``port``."""
    return subprocess.Popen(streamlit_command("127.0.0.1", port, options), cwd=PROJECT_ROOT)


def run(settings: Settings, options: Sequence[str]) -> int:
    """Start the workers and the proxy; restart a worker that exits; stop everything on
    SIGTERM/SIGINT or when workers keep exiting."""
    if settings.workers <= 1:
        # One process needs no proxy: Streamlit serves KB_HOST:KB_PORT itself.
        os.chdir(PROJECT_ROOT)
        command = streamlit_command(settings.host, settings.port, options)
        os.execv(command[0], command)
    ports = [free_port() for _ in range(settings.workers)]
    processes = [start_worker(port, options) for port in ports]
    try:
        for port in ports:
            wait_healthy(port, processes)
        print(
            f"{settings.workers} workers behind http://{settings.host}:{settings.port}",
            flush=True,
        )
        asyncio.run(_serve_until_stopped(settings, ports, processes, options))
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


async def _serve_until_stopped(
    settings: Settings,
    ports: Sequence[int],
    processes: list[subprocess.Popen[bytes]],
    options: Sequence[str],
) -> None:
    # ``processes`` is updated in place, so that run() stops the workers running at the end.
    proxy = StickyProxy([("127.0.0.1", port) for port in ports])
    server = await proxy.serve(settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    budget = RestartBudget()
    async with server:
        while not stop.is_set():
            for index, process in enumerate(processes):
                if process.poll() is None:
                    continue
                # Its sessions are gone (they lived in it); its browsers reconnect to the
                # new process on the same port and log in again. The other worker's are kept.
                if not budget.allow(time.monotonic()):
                    print("Streamlit workers keep exiting; stopping", file=sys.stderr, flush=True)
                    stop.set()
                    break
                print(
                    f"the Streamlit worker on port {ports[index]} exited with "
                    f"{process.returncode}; starting it again",
                    file=sys.stderr,
                    flush=True,
                )
                processes[index] = start_worker(ports[index], options)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    await proxy.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m ui.serve [streamlit options...]``."""
    return run(Settings.from_env(), list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
