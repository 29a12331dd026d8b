"""deploy/nginx.conf: nginx accepts it, and it keeps each browser on one app server.

Run against Debian's nginx (``.ci/run`` installs it as root); skipped with the reason
where nginx is not installed.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from base.settings import PROJECT_ROOT

CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if shutil.os.path.exists("/usr/sbin/nginx") else None
)

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx-light; .ci/run does)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx(prefix, conf, *args: str) -> subprocess.CompletedProcess:
    (prefix / "logs").mkdir(exist_ok=True)
    globals_ = f"pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log;"
    return subprocess.run(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-g", globals_, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_nginx_accepts_the_configuration(tmp_path):
    result = nginx(tmp_path, CONF, "-t")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class Backend(BaseHTTPRequestHandler):
    """An app server stand-in: answers with its name and the headers it was sent."""

    def do_GET(self) -> None:
        body = (
            f"{self.server.name} upgrade={self.headers.get('Upgrade')} "
            f"connection={self.headers.get('Connection')}"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy(tmp_path):
    """nginx with the repository's configuration, its two upstream servers replaced by
    two local stand-ins; yields the port it listens on."""
    servers = []
    for name in ("app-1", "app-2"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    port = free_port()
    text = CONF.read_text(encoding="utf-8")
    upstreams = re.findall(r"server 10\.0\.0\.\d+:8501", text)
    assert len(upstreams) == 2, upstreams
    for line, server in zip(upstreams, servers, strict=True):
        text = text.replace(line, f"server 127.0.0.1:{server.server_address[1]}")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    process = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(tmp_path),
            "-c",
            str(conf),
            "-g",
            f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()) from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        for server in servers:
            server.shutdown()


def get(port: int, cookie: str | None = None, **headers: str) -> tuple[str, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if cookie is not None:
            headers["Cookie"] = f"kb_affinity={cookie}"
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        return response.read().decode(), response.getheader("Set-Cookie")
    finally:
        connection.close()


def test_a_browser_stays_on_the_app_server_its_cookie_names(proxy):
    body, set_cookie = get(proxy)
    match = re.fullmatch(r"kb_affinity=([0-9a-f]{32}); Path=/; HttpOnly; SameSite=Lax", set_cookie)
    assert match, set_cookie
    first = body.split()[0]
    # The same browser, again and again (a reload, the websocket, a reconnect): same
    # server, and no new cookie.
    again = [get(proxy, match.group(1)) for _ in range(10)]
    assert again == [(body, None)] * 10
    assert first in ("app-1", "app-2")
    # Browsers spread over both servers.
    seen = {get(proxy, f"browser-{i}")[0].split()[0] for i in range(20)}
    assert seen == {"app-1", "app-2"}


def test_the_websocket_upgrade_reaches_the_app_server(proxy):
    body, _ = get(proxy, "some-browser", Upgrade="websocket", Connection="Upgrade")
    assert body.split()[1:] == ["upgrade=websocket", "connection=upgrade"]
    plain, _ = get(proxy, "some-browser")
    assert plain.split()[1:] == ["upgrade=None", "connection=close"]
