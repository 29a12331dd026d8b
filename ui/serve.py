"""Serve the app on KB_HOST:KB_PORT with KB_WORKERS Streamlit processes behind a sticky proxy.

One Streamlit process runs every session's page runs on one interpreter: under the deadline
burst it uses one core of the server's two (bench/README_load.md). With ``KB_WORKERS=2``
this starts two ``streamlit run asgi.py`` processes (the app and its login cookie routes)
on free ports of 127.0.0.1 and forwards each browser to one of them. A Streamlit session lives in its process, so a browser must
keep talking to the same one: its first response sets a cookie naming the worker, and
every later request (the websocket included, and a reconnect after a network blip) goes
where the cookie says. Everything shared lives in SQLite, which both processes use through
the same writer discipline. A worker that exits is started again on its port (its own
sessions are lost; the other worker's carry on), unless workers keep exiting.

The proxy is also where the client's address comes from: it replaces whatever forwarding
headers a client sent with its own ``X-Forwarded-For`` and a secret made at each start
(``X-KB-Proxy``, given to the workers in ``KB_PROXY_TOKEN``), so the app trusts the
address only when it comes from this proxy (:func:`client_address`). Each connection
carries one request (``Connection: close`` on all but websockets), so every request's head
is the proxy's to rewrite. Responses get headers that forbid framing the app, and
Streamlit's ``/_stcore/metrics`` is not served to clients.

    python -m ui.serve [streamlit options...]     # what ``make run`` starts
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from http.cookies import CookieError, SimpleCookie

from base.settings import LOCAL_HOSTS, PROJECT_ROOT, Settings

COOKIE = "kb_worker"
HEAD_LIMIT = 64 * 1024  # request and response heads larger than this are refused
HEAD_TIMEOUT_S = 30.0  # a client that sends no complete request head in time is dropped
START_TIMEOUT_S = 120.0
# A worker that exits is started again on its port, unless workers keep exiting: more than
# this many restarts within the window is a crash loop, and everything stops.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0

PROXY_TOKEN_ENV = "KB_PROXY_TOKEN"
PROXY_HEADER = "X-KB-Proxy"
# Request headers a client may not set: the proxy's own, and other forwarding claims.
_CLIENT_MAY_NOT_SEND = {b"x-forwarded-for", b"x-real-ip", b"forwarded", b"x-kb-proxy"}
_HOP_BY_HOP = {b"connection", b"keep-alive"}
SECURITY_HEADERS = (
    b"X-Frame-Options: DENY",
    b"Content-Security-Policy: frame-ancestors 'none'",
    b"X-Content-Type-Options: nosniff",
    b"Referrer-Policy: same-origin",
)
BLOCKED_PATHS = (b"/_stcore/metrics",)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

Backend = tuple[str, int]


def _fields(head: bytes) -> tuple[bytes, list[bytes]]:
    first, *rest = head.rstrip(b"\r\n").split(b"\r\n")
    return first, rest


def _name(field: bytes) -> bytes:
    return field.partition(b":")[0].strip().lower()


def is_blocked(head: bytes) -> bool:
    """Whether the request asks for a path clients are not served (:data:`BLOCKED_PATHS`)."""
    parts = _fields(head)[0].split(b" ")
    path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
    return any(path == p or path.startswith(p + b"/") for p in BLOCKED_PATHS)


def forwarded_head(head: bytes, peer: str, token: str) -> bytes:
    """A request head as the proxy sends it on: the client's forwarding headers replaced by
    its address and the proxy's secret; one request per connection unless it upgrades."""
    first, fields = _fields(head)
    upgrade = any(_name(f) == b"upgrade" for f in fields)
    drop = _CLIENT_MAY_NOT_SEND | (set() if upgrade else _HOP_BY_HOP)
    kept = [f for f in fields if _name(f) not in drop]
    if not upgrade:
        kept.append(b"Connection: close")
    kept.append(b"X-Forwarded-For: " + peer.encode("ascii", "replace"))
    kept.append(PROXY_HEADER.encode() + b": " + token.encode())
    return b"\r\n".join([first, *kept]) + b"\r\n\r\n"


def secured_response(head: bytes, worker: int | None) -> bytes:
    """A response head with :data:`SECURITY_HEADERS` and, for a new browser, its cookie."""
    first, fields = _fields(head)
    names = {_name(f) for f in fields}
    added = [h for h in SECURITY_HEADERS if _name(h) not in names]
    out = b"\r\n".join([first, *fields, *added]) + b"\r\n\r\n"
    return out if worker is None else with_cookie(out, worker)


def client_address(headers: Mapping[str, str], peer: str | None, token: str | None) -> str:
    """The address a session's browser connects from, as far as it can be trusted.

    Args:
        headers: the session's request headers (``st.context.headers``).
        peer: the address of the TCP peer, None for this machine (``st.context.ip_address``).
        token: this launch's proxy secret (``KB_PROXY_TOKEN``), None when served without
            the proxy.

    Returns:
        ``X-Forwarded-For`` when the request came through this launch's proxy (it carries
        the secret), otherwise the peer's address (``127.0.0.1`` for this machine).
    """
    if token and hmac.compare_digest(headers.get(PROXY_HEADER, "").encode(), token.encode()):
        return headers.get("X-Forwarded-For", "").strip() or "unknown"
    return peer or "127.0.0.1"


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

    def __init__(self, backends: Sequence[Backend], token: str = "") -> None:
        self.backends = list(backends)
        self.token = token
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
            if is_blocked(head):
                client_w.write(NOT_FOUND)
                await client_w.drain()
                return
            peer = client_w.get_extra_info("peername")
            head = forwarded_head(head, str(peer[0]) if peer else "unknown", self.token)
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
    # One request per connection (or one upgrade): this is the only response head.
    client_w.write(secured_response(await backend_r.readuntil(b"\r\n\r\n"), worker))
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


def streamlit_command(
    host: str,
    port: int,
    options: Sequence[str],
    allowed_hosts: Sequence[str] = LOCAL_HOSTS,
    script: str = "asgi.py",
) -> list[str]:
    """``streamlit run asgi.py`` (the app and its login cookie routes) on ``host``:``port``
    with the extra ``options``, accepting websockets only for the host names
    ``allowed_hosts`` (``Settings.allowed_hosts``); a test serves another ``script``.

    Started through ``ui.launch``, so that ``ui.protocol_guard`` is in place before the
    first session (run it from the project folder)."""
    hosts = [part for name in allowed_hosts for part in ("--server.allowedHosts", name)]
    return [
        sys.executable,
        "-m",
        "ui.launch",
        "run",
        script,
        "--server.address",
        host,
        "--server.port",
        str(port),
        *hosts,
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


def start_worker(
    port: int, options: Sequence[str], token: str, allowed_hosts: Sequence[str] = LOCAL_HOSTS
) -> subprocess.Popen[bytes]:
    """One ``streamlit run asgi.py`` on 127.0.0.1:``port`` that trusts the proxy's ``token``."""
    return subprocess.Popen(
        streamlit_command("127.0.0.1", port, options, allowed_hosts),
        cwd=PROJECT_ROOT,
        env={**os.environ, PROXY_TOKEN_ENV: token},
    )


def run(settings: Settings, options: Sequence[str]) -> int:
    """Start the workers and the proxy; restart a worker that exits; stop everything on
    SIGTERM/SIGINT or when workers keep exiting."""
    if settings.host in ("0.0.0.0", "::") and settings.allowed_hosts == LOCAL_HOSTS:
        # Served to the network, but only this machine's names are accepted: say so.
        print(
            f"KB_HOST={settings.host}: browsers on other machines are refused until "
            "KB_ALLOWED_HOSTS names the address or host name they use "
            "(e.g. KB_ALLOWED_HOSTS=10.1.2.3,kb.bureau.local)",
            file=sys.stderr,
            flush=True,
        )
    if settings.workers <= 1:
        # One process needs no proxy: Streamlit serves KB_HOST:KB_PORT itself.
        os.chdir(PROJECT_ROOT)
        command = streamlit_command(settings.host, settings.port, options, settings.allowed_hosts)
        os.execv(command[0], command)
    ports = [free_port() for _ in range(settings.workers)]
    token = secrets.token_urlsafe(32)
    processes = [start_worker(port, options, token, settings.allowed_hosts) for port in ports]
    try:
        for port in ports:
            wait_healthy(port, processes)
        print(
            f"{settings.workers} workers behind http://{settings.host}:{settings.port}",
            flush=True,
        )
        asyncio.run(_serve_until_stopped(settings, ports, processes, options, token))
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
    token: str,
) -> None:
    # ``processes`` is updated in place, so that run() stops the workers running at the end.
    proxy = StickyProxy([("127.0.0.1", port) for port in ports], token)
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
                processes[index] = start_worker(
                    ports[index], options, token, settings.allowed_hosts
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    await proxy.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m ui.serve [streamlit options...]``."""
    return run(Settings.from_env(), list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
