"""KB_WORKERS: the sticky proxy in front of several Streamlit processes (ui/serve.py)."""

from __future__ import annotations

import asyncio

import pytest

from base.settings import Settings, SettingsError
from ui.serve import (
    COOKIE,
    RestartBudget,
    StickyProxy,
    client_address,
    forwarded_head,
    is_blocked,
    pinned_worker,
    secured_response,
    wait_healthy,
    with_cookie,
)


def test_two_workers_unless_kb_workers_says_otherwise():
    assert Settings.from_env({}).workers == 2
    assert Settings.from_env({"KB_WORKERS": "1"}).workers == 1
    with pytest.raises(SettingsError, match="KB_WORKERS='two': expected a whole number"):
        Settings.from_env({"KB_WORKERS": "two"})


@pytest.mark.parametrize(
    ("cookie_line", "expected"),
    [
        (b"Cookie: kb_worker=1", 1),
        (b"cookie: _streamlit_xsrf=2|abc; kb_worker=0; other=x", 0),
        (b"Cookie: kb_worker=2", None),  # no such worker: assigned afresh
        (b"Cookie: kb_worker=-1", None),
        (b"Cookie: kb_worker=one", None),
        (b"Cookie: other=1", None),
        (b"X-Cookie: kb_worker=1", None),
    ],
)
def test_the_cookie_names_the_worker(cookie_line, expected):
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + cookie_line + b"\r\n\r\n"
    assert pinned_worker(head, workers=2) == expected


def test_the_first_response_sets_the_cookie():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    assert with_cookie(head, 1) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        b"Set-Cookie: kb_worker=1; Path=/; HttpOnly; SameSite=Lax\r\n\r\n"
    )


async def _backend(name: bytes) -> asyncio.Server:
    """A worker stand-in: answers a request head, then echoes (like an upgraded socket)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nX-Worker: " + name + b"\r\n\r\n")
        while data := await reader.read(1024):
            writer.write(name + b":" + data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def _exchange(port: int, cookie: str | None) -> tuple[bytes, bytes]:
    """Send a head (with ``cookie``), read the answer's head, then one echoed message."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\n"
    if cookie is not None:
        head += f"Cookie: {cookie}\r\n".encode()
    writer.write(head + b"\r\n")
    answer = await reader.readuntil(b"\r\n\r\n")
    writer.write(b"ping")
    echoed = await reader.readexactly(len(b"w0:ping"))
    writer.close()
    return answer, echoed


def test_the_proxy_pins_each_browser_to_one_worker_both_ways():
    async def scenario():
        backends = [await _backend(b"w0"), await _backend(b"w1")]
        proxy = StickyProxy([("127.0.0.1", b.sockets[0].getsockname()[1]) for b in backends])
        server = await proxy.serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            first = await _exchange(port, None)  # new browsers are dealt in turn
            second = await _exchange(port, None)
            pinned = await _exchange(port, f"other=1; {COOKIE}=1")  # a known browser
        finally:
            server.close()
            for backend in backends:
                backend.close()
        return first, second, pinned

    first, second, pinned = asyncio.run(scenario())
    assert b"X-Worker: w0" in first[0] and f"Set-Cookie: {COOKIE}=0".encode() in first[0]
    assert b"X-Worker: w1" in second[0] and f"Set-Cookie: {COOKIE}=1".encode() in second[0]
    assert b"X-Worker: w1" in pinned[0] and b"Set-Cookie" not in pinned[0]
    assert (first[1], second[1], pinned[1]) == (b"w0:ping", b"w1:ping", b"w1:ping")


@pytest.mark.slow
def test_the_app_served_by_two_workers_keeps_each_login_on_its_worker(tmp_path):
    pytest.importorskip("websockets")
    from bench import app_steps
    from bench.app_server import PASSWORD, AppDidNotStart, prepare_data, start_app
    from bench.st_client import StreamlitSession

    prepare_data(tmp_path / "data", ["T0000", "T0001", "T0002"])
    try:
        server = start_app(tmp_path / "data", tmp_path / "server.log", workers=2)
    except AppDidNotStart as exc:
        pytest.skip(f"the app could not start here: {exc}")

    async def session(employee_no: str) -> tuple[str, list[str]]:
        tab = StreamlitSession(server.url)
        try:
            await app_steps.open_app(tab)
            page = await app_steps.login(tab, employee_no, PASSWORD)
            page = await app_steps.search(tab, page, "满意率")
            quizzes = await app_steps.open_page(tab, "quizzes", "学习测验")
            return tab.cookies[COOKIE], [*page.headings[:1], *quizzes.headings[:1]]
        finally:
            await tab.close()

    async def three():
        return [await session(e) for e in ("T0000", "T0001", "T0002")]

    try:
        results = asyncio.run(three())
    finally:
        server.stop()
    # Dealt in turn (the start-up health check took a turn too), and each stayed logged in
    # on its worker through every click.
    workers = [worker for worker, _ in results]
    assert sorted(set(workers)) == ["0", "1"] and workers[0] != workers[1] != workers[2]
    assert [pages for _, pages in results] == [["政策检索", "学习测验"]] * 3


def test_a_browser_that_vanishes_closes_its_worker_connection():
    async def scenario() -> bool:
        closed = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            while await reader.read(1024):
                pass
            closed.set()  # the proxy let go of the worker's connection
            writer.close()

        backend = await asyncio.start_server(handle, "127.0.0.1", 0)
        proxy = StickyProxy([("127.0.0.1", backend.sockets[0].getsockname()[1])])
        server = await proxy.serve("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", server.sockets[0].getsockname()[1]
            )
            writer.write(b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            writer.transport.abort()  # a reset, not a polite close
            await asyncio.wait_for(closed.wait(), timeout=5)
            return closed.is_set()
        finally:
            server.close()
            backend.close()

    assert asyncio.run(scenario())


def test_closing_the_proxy_ends_open_connections_and_leaves_no_task_pending():
    async def scenario() -> tuple[bytes, int]:
        backend = await _backend(b"w0")
        proxy = StickyProxy([("127.0.0.1", backend.sockets[0].getsockname()[1])])
        server = await proxy.serve("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        writer.write(b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")  # a websocket, open through the proxy
        server.close()
        await proxy.close()
        after_close = await asyncio.wait_for(reader.read(), 5)  # the end of the stream
        left = len(asyncio.all_tasks()) - 1  # this one
        writer.close()
        backend.close()
        return after_close, left

    assert asyncio.run(scenario()) == (b"", 0)


def test_the_restart_budget_allows_a_few_restarts_per_window_not_a_crash_loop():
    budget = RestartBudget(limit=2, window=60.0)
    assert [budget.allow(t) for t in (0.0, 10.0, 20.0)] == [True, True, False]
    assert budget.allow(75.0)  # 0.0 and 10.0 have left the window


@pytest.mark.slow
def test_a_worker_that_dies_is_started_again_and_the_other_keeps_its_sessions(tmp_path):
    pytest.importorskip("websockets")
    import os
    import signal
    import time

    import psutil

    from bench import app_steps
    from bench.app_server import PASSWORD, AppDidNotStart, prepare_data, start_app
    from bench.st_client import StreamlitSession

    prepare_data(tmp_path / "data", ["T0000", "T0001", "T0002", "T0003"])
    try:
        server = start_app(tmp_path / "data", tmp_path / "server.log", workers=2)
    except AppDidNotStart as exc:
        pytest.skip(f"the app could not start here: {exc}")

    def workers() -> list[psutil.Process]:
        children = psutil.Process(server.process.pid).children()
        return sorted(children, key=lambda p: p.create_time())  # worker 0 started first

    async def scenario() -> tuple[str, list[str], list[str]]:
        kept = StreamlitSession(server.url)
        try:
            await app_steps.open_app(kept)
            page = await app_steps.login(kept, "T0000", PASSWORD)
            kept_worker = kept.cookies[COOKIE]
            victim = workers()[1 - int(kept_worker)]
            command = victim.cmdline()
            port = int(command[command.index("--server.port") + 1])
            os.kill(victim.pid, signal.SIGKILL)
            deadline = time.monotonic() + 120
            while victim.pid in [p.pid for p in workers()] or len(workers()) < 2:
                assert time.monotonic() < deadline, "the worker was not started again"
                await asyncio.sleep(0.2)
            # Started again is not serving yet: new browsers are dealt to it once it is.
            await asyncio.to_thread(wait_healthy, port, [])
            # The surviving worker's session is still logged in and searches.
            page = await app_steps.search(kept, page, "满意率")
            # New browsers are dealt to both workers again, the restarted one included.
            dealt = []
            for employee_no in ("T0001", "T0002", "T0003"):
                tab = StreamlitSession(server.url)
                try:
                    for _ in range(240):  # the new worker answers once it has started
                        try:
                            await app_steps.open_app(tab)
                            break
                        except (OSError, app_steps.StepFailed, ConnectionError):
                            await tab.close()
                            await asyncio.sleep(0.5)
                            tab = StreamlitSession(server.url)
                    await app_steps.login(tab, employee_no, PASSWORD)
                    dealt.append(tab.cookies[COOKIE])
                finally:
                    await tab.close()
            return kept_worker, page.headings[:1], dealt
        finally:
            await kept.close()

    try:
        kept_worker, headings, dealt = asyncio.run(scenario())
    finally:
        server.stop()
    assert headings == ["政策检索"]
    assert sorted(set(dealt)) == ["0", "1"]
    restarted = str(1 - int(kept_worker))
    assert "exited with -9; starting it again" in server.output()
    assert restarted in dealt


def test_the_proxy_replaces_forwarding_headers_and_closes_after_one_request():
    head = (
        b"GET /?x=1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.6.6.6\r\nx-kb-proxy: guess\r\n"
        b"Forwarded: for=1.2.3.4\r\nX-Real-IP: 1.2.3.4\r\nConnection: keep-alive\r\n\r\n"
    )
    assert forwarded_head(head, "192.168.1.20", "s3cret") == (
        b"GET /?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
        b"X-Forwarded-For: 192.168.1.20\r\nX-KB-Proxy: s3cret\r\n\r\n"
    )
    upgrade = (
        b"GET /_stcore/stream HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nX-Forwarded-For: 10.6.6.6\r\n\r\n"
    )
    assert forwarded_head(upgrade, "192.168.1.20", "s3cret") == (
        b"GET /_stcore/stream HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nX-Forwarded-For: 192.168.1.20\r\nX-KB-Proxy: s3cret\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("headers", "peer", "token", "expected"),
    [
        (
            {"X-Forwarded-For": "192.168.1.20", "X-KB-Proxy": "s3cret"},
            None,
            "s3cret",
            "192.168.1.20",
        ),
        ({"X-Forwarded-For": "192.168.1.20", "X-KB-Proxy": "guess"}, None, "s3cret", "127.0.0.1"),
        ({"X-Forwarded-For": "192.168.1.20"}, "192.168.1.7", None, "192.168.1.7"),
        ({"X-Forwarded-For": "192.168.1.20", "X-KB-Proxy": ""}, "192.168.1.7", "", "192.168.1.7"),
    ],
)
def test_the_app_trusts_a_forwarded_address_only_from_its_own_proxy(headers, peer, token, expected):
    assert client_address(headers, peer, token) == expected


def test_metrics_are_not_served_and_responses_forbid_framing():
    assert is_blocked(b"GET /_stcore/metrics HTTP/1.1\r\n\r\n")
    assert is_blocked(b"GET /_stcore/metrics?x HTTP/1.1\r\n\r\n")
    assert not is_blocked(b"GET /_stcore/health HTTP/1.1\r\n\r\n")
    assert secured_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", None) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Frame-Options: DENY\r\n"
        b"Content-Security-Policy: frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\n"
        b"Referrer-Policy: same-origin\r\n\r\n"
    )


def test_allowed_hosts_are_this_machine_and_kb_host_unless_given():
    assert Settings.from_env({}).allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert Settings.from_env({"KB_HOST": "10.1.2.3"}).allowed_hosts == (
        "localhost",
        "127.0.0.1",
        "::1",
        "10.1.2.3",
    )
    assert Settings.from_env({"KB_HOST": "0.0.0.0"}).allowed_hosts == (
        "localhost",
        "127.0.0.1",
        "::1",
    )
    given = {"KB_HOST": "0.0.0.0", "KB_ALLOWED_HOSTS": " kb.bureau.local, 10.1.2.3 ,"}
    assert Settings.from_env(given).allowed_hosts == ("kb.bureau.local", "10.1.2.3")
