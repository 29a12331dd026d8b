"""Security findings checked where they live: the running app, over its websocket.

Each test starts the real app (``bench/app_server.py``) on a free port of 127.0.0.1 and
speaks Streamlit's protocol to it as a browser does (``bench/st_client.py``).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from base.settings import SHIPPED_BANK
from base.store import open_db, write
from bench import app_steps
from bench.app_server import (
    PASSWORD,
    ROOT,
    AppDidNotStart,
    AppServer,
    prepare_data,
    start_app,
)
from bench.st_client import ClientError, StreamlitSession, trigger, widget_value
from quizzes.accounts import add_person
from quizzes.passwords import hash_password
from quizzes.people import Role

pytestmark = pytest.mark.slow

ADMIN = "A0001"
STAFF = ["T0000", "T0001", "T0002"]


def prepare(data_dir: Path, model: str = "none") -> None:
    """The shipped corpus indexed, three staff and one admin who log in with PASSWORD."""
    prepare_data(data_dir, STAFF, model=model)
    db = open_db(data_dir / "app.sqlite3")
    try:
        with write(db):
            add_person(
                db,
                ADMIN,
                "管理员",
                "创建办",
                Role.ADMIN,
                hash_password(PASSWORD),
                datetime.now(UTC),
            )
            db.execute("UPDATE people SET must_change_password = 0 WHERE employee_no = ?", [ADMIN])
    finally:
        db.close()


def serve(tmp_path: Path, model: str = "none", workers: int = 1) -> AppServer:
    try:
        return start_app(tmp_path / "data", tmp_path / "server.log", model=model, workers=workers)
    except AppDidNotStart as exc:
        pytest.skip(f"the app could not start here: {exc}")


def clear_cache() -> BackMsg:
    message = BackMsg()
    message.clear_cache = True
    return message


def model_loads(server: AppServer) -> list[int]:
    """The numbers of the model loads the server logged: [1] after a start."""
    found = re.findall(r"embedding model .*: load (\d+) in this process", server.output(200_000))
    return [int(n) for n in found]


async def _clear_cache_as_anyone_and_as_admin(server: AppServer) -> list[float]:
    """Send clear_cache four times (twice before login, twice as admin), a run after each."""
    rss = [server.rss_mb()]
    tab = StreamlitSession(server.url)
    try:
        await app_steps.open_app(tab)
        for _ in range(2):
            await tab.send(clear_cache())
            page = await tab.rerun()
            assert [e.label for e in page.of_kind("text_input")] == ["工号", "密码"]
            server.wait_idle()
            rss.append(server.rss_mb())
        page = await app_steps.login(tab, ADMIN, PASSWORD)
        for _ in range(2):
            await tab.send(clear_cache())
            # Still logged in (the session state is kept) and searching works.
            page = await app_steps.search(tab, page, "满意率")
            server.wait_idle()
            rss.append(server.rss_mb())
    finally:
        await tab.close()
    return rss


@pytest.mark.parametrize("model", ["none", pytest.param("builtin", marks=pytest.mark.model)])
def test_clear_cache_from_a_client_reloads_nothing_and_memory_stays(tmp_path, model):
    # Served by one process without the proxy (KB_WORKERS=1): the refusal is in-process.
    prepare(tmp_path / "data", model=model)
    server = serve(tmp_path, model=model)
    try:
        # Warm up: the first page run starts loading the model, the first search after
        # it has loaded reads the vectors into memory (about 90 MB with the model).
        asyncio.run(_open_and_close(server))
        _wait_for(lambda: model_loads(server) == [1])
        asyncio.run(_search_once(server))
        server.wait_idle()
        rss = asyncio.run(_clear_cache_as_anyone_and_as_admin(server))
        print(f"model {model}: server RSS (MB) before and after each clear_cache: {rss}")
    finally:
        server.stop()
    log = server.output(200_000)
    assert model_loads(server) == [1]
    assert log.count("refused a client's clear_cache message") == 4
    if model != "none":
        # Before: 927 -> 1,304 -> 1,638 -> 1,948 -> 2,257 MB (a model per message).
        assert max(rss) - rss[0] < 60, rss


async def _search_once(server: AppServer) -> None:
    tab = StreamlitSession(server.url)
    try:
        await app_steps.open_app(tab)
        page = await app_steps.login(tab, STAFF[0], PASSWORD)
        await app_steps.search(tab, page, "满意率")
    finally:
        await tab.close()


async def _open_and_close(server: AppServer) -> None:
    tab = StreamlitSession(server.url)
    try:
        await app_steps.open_app(tab)
    finally:
        await tab.close()


def _wait_for(condition, seconds: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.25)


async def _login_from(server: AppServer, source: str, employee_no: str, password: str, **kw):
    tab = StreamlitSession(server.url, source=source, **kw)
    try:
        await app_steps.open_app(tab)
        return await tab.login(employee_no, password)
    finally:
        await tab.close()


def test_a_third_party_cannot_lock_the_admin_out_through_the_proxy(tmp_path):
    # make run's setup: two workers behind ui/serve.py. Each client is its own loopback
    # address; every attacker also claims to be the owner in its own X-Forwarded-For.
    prepare(tmp_path / "data")
    server = serve(tmp_path, workers=2)
    owner = "127.0.0.5"
    forged = {"X-Forwarded-For": owner, "X-KB-Proxy": "guess"}

    async def scenario():
        wrong = [
            await _login_from(server, f"127.0.0.{10 + n}", ADMIN, "Cuowu-12345", headers=forged)
            for n in range(10)
        ]
        attacker = await _login_from(server, "127.0.0.10", ADMIN, PASSWORD, headers=forged)
        started = asyncio.get_running_loop().time()
        mine = await _login_from(server, owner, ADMIN, PASSWORD)
        return wrong, attacker, mine, asyncio.get_running_loop().time() - started

    try:
        wrong, attacker, mine, seconds = asyncio.run(scenario())
    finally:
        server.stop()
    assert [r.errors for r in wrong] == [["工号或密码错误"]] * 10
    assert len(attacker.errors) == 1 and attacker.errors[0].startswith("此账号近期密码错误次数过多")
    assert mine.errors == [] and "政策检索" in mine.headings
    assert seconds >= 3.0  # the pause under guard


def _db_rows(server: AppServer, sql: str, params: list) -> list[tuple]:
    db = open_db(server.db_path)
    try:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]
    finally:
        db.close()


def _on_login_form(page) -> bool:
    return [e.label for e in page.of_kind("text_input")][:2] == ["工号", "密码"]


def test_a_reset_password_change_or_deactivation_ends_sessions_at_once(tmp_path):
    import random

    from quizzes.accounts import deactivate_account, reset_password
    from quizzes.login import change_password

    prepare(tmp_path / "data")
    server = serve(tmp_path)
    now = datetime.now(UTC)

    async def scenario():
        tabs = [StreamlitSession(server.url) for _ in range(4)]
        try:
            for tab, who in zip(tabs, [STAFF[0], STAFF[1], STAFF[1], STAFF[2]], strict=True):
                await app_steps.open_app(tab)
                await app_steps.login(tab, who, PASSWORD)
            revived, mine, other, quiz_tab = tabs
            # 1. A reset, then the real owner logs in with it and sets a new password:
            #    the old session does not come back.
            db = open_db(server.db_path)
            try:
                initial = reset_password(db, STAFF[0], now)
                change_password(db, STAFF[0], initial, "Kaiyuan-Lanhu-7", now)
            finally:
                db.close()
            after_reset = await revived.rerun(page="quizzes")
            # 2. Changing one's own password ends one's other sessions, not this one.
            account = await mine.rerun(page="account")
            form = [
                widget_value(account.widget("text_input", label=label), value)
                for label, value in (
                    ("当前密码", PASSWORD),
                    ("新密码", "Kaiyuan-Lanhu-8"),
                    ("再次输入新密码", "Kaiyuan-Lanhu-8"),
                )
            ]
            changed = await mine.rerun([*form, trigger(account.widget("button", label="修改密码"))])
            after_change = await other.rerun(page="quizzes")
            still_mine = await mine.rerun(page="quizzes")
            # 3. A deactivated session's callbacks neither save answers nor submit.
            quizzes = await app_steps.open_page(quiz_tab, "quizzes", "学习测验")
            attempt = await app_steps.start_quiz(quiz_tab, quizzes)
            attempt = await app_steps.answer(quiz_tab, attempt, 0, random.Random(1))
            attempt_id = app_steps.attempt_id(quiz_tab)
            # Asked to confirm while still active: 确认提交 is the button whose callback submits.
            asked = await app_steps.ask_to_submit(quiz_tab, attempt)
            db = open_db(server.db_path)
            try:
                deactivate_account(db, STAFF[2], now)
            finally:
                db.close()
            # One rerun carries both callbacks (an answer and the confirmed submit), as a
            # quick click after an answer does: neither may write.
            radio = asked.of_kind("radio")[1]
            confirm = asked.widget("button", label="确认提交")
            clicked = await quiz_tab.rerun([widget_value(radio, 0), trigger(confirm)])
            return after_reset, changed, after_change, still_mine, clicked, attempt_id
        finally:
            for tab in tabs:
                await tab.close()

    try:
        after_reset, changed, after_change, still_mine, clicked, attempt_id = asyncio.run(
            scenario()
        )
        saved = _db_rows(server, "SELECT count(*) FROM answers WHERE attempt_id = ?", [attempt_id])
        status = _db_rows(server, "SELECT status FROM attempts WHERE id = ?", [attempt_id])
    finally:
        server.stop()
    assert _on_login_form(after_reset)
    assert "登录已失效（密码或账号已变更），请重新登录。" in [
        e.proto.body for e in after_reset.of_kind("alert")
    ]
    assert changed.errors == []
    assert _on_login_form(after_change)
    assert "学习测验" in still_mine.headings
    assert _on_login_form(clicked)
    assert (saved, status) == ([(1,)], [("in_progress",)])


def test_exports_are_made_at_the_click_and_only_for_a_session_still_allowed(tmp_path):
    from quizzes.accounts import reset_password

    prepare(tmp_path / "data")
    server = serve(tmp_path)

    async def scenario():
        tab = StreamlitSession(server.url)
        try:
            await app_steps.open_app(tab)
            await app_steps.login(tab, ADMIN, PASSWORD)
            dashboard = await app_steps.open_page(tab, "dashboard", "参与情况")
            buttons = [e.proto for e in dashboard.of_kind("download_button")]
            xlsx = next(b for b in buttons if b.label.startswith("导出 Excel"))
            made = await tab.deferred_file(xlsx.deferred_file_id, "1")
            data = await asyncio.to_thread(tab.get, made.deferred_file.url)
            # Gone after Streamlit's next two sweeps (the end of the next two runs).
            for _ in range(2):
                await tab.rerun()
            try:
                await asyncio.to_thread(tab.get, made.deferred_file.url)
                kept = True
            except ClientError:
                kept = False
            db = open_db(server.db_path)
            try:
                reset_password(db, ADMIN, datetime.now(UTC))  # this session has ended
            finally:
                db.close()
            refused = await tab.deferred_file(xlsx.deferred_file_id, "2")
            return buttons, made, data, kept, refused
        finally:
            await tab.close()

    try:
        buttons, made, data, kept, refused = asyncio.run(scenario())
    finally:
        server.stop()
    # Nothing is made before a click: no URL, a deferred id.
    assert [(b.url, bool(b.deferred_file_id)) for b in buttons] == [("", True), ("", True)]
    assert made.error_msg == "" and data[:2] == b"PK"
    assert not kept
    assert (refused.error_msg, refused.deferred_file.url) == (
        "Failed to generate file for download",
        "",
    )


def test_passage_practice_shows_no_answer_before_a_graded_attempt(tmp_path):
    from kb.documents import document_texts
    from quizzes.bank import load_bank
    from quizzes.practice import questions_by_passage
    from ui.render import md_text

    prepare(tmp_path / "data")
    db = open_db(tmp_path / "data" / "app.sqlite3")
    try:
        bank = load_bank(SHIPPED_BANK, document_texts(db))
        cited = questions_by_passage(db, bank)
    finally:
        db.close()
    chunk, questions = next(
        (chunk, qs) for chunk, qs in cited.items() if {q.quiz_id for q in qs} == {app_steps.QUIZ_ID}
    )
    server = serve(tmp_path)

    async def practice(tab: StreamlitSession):
        page = await tab.rerun(page="practice", query_string=f"chunk={chunk}")
        checks = [e for e in page.of_kind("button") if e.label == "检查答案"]
        checked = await tab.rerun([trigger(checks[0])]) if checks else None
        return page, checks, checked

    async def scenario():
        tab = StreamlitSession(server.url)
        try:
            await app_steps.open_app(tab)
            await app_steps.login(tab, STAFF[0], PASSWORD)
            before = await practice(tab)
            quizzes = await app_steps.open_page(tab, "quizzes", "学习测验")
            attempt = await app_steps.start_quiz(tab, quizzes)
            asked = await app_steps.ask_to_submit(tab, attempt)
            await app_steps.submit(tab, asked)
            after = await practice(tab)
            return before, after
        finally:
            await tab.close()

    try:
        (page, checks, _), (_, checks_after, checked) = asyncio.run(scenario())
    finally:
        server.stop()
    shown = [e.proto.body for e in page.of_kind("markdown")]
    assert checks == [] and not any("正确答案" in text for text in shown)
    assert not any(md_text(q.question.stem) in "".join(shown) for q in questions)
    notice = [e.proto.body for e in page.of_kind("alert")]
    assert any(f"另有 {len(questions)} 道题属于你还没有提交过的测验" in text for text in notice)
    assert len(checks_after) == len(questions)
    assert any("正确答案" in e.proto.body for e in checked.of_kind("markdown"))


def _raw_request(port: int, head: str) -> bytes:
    """Send one request head to 127.0.0.1:``port``; return the response head."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[0]


def _websocket_head(host: str, origin: str) -> str:
    return (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_host_check_frame_headers_metrics_and_no_server_facts(tmp_path, workers):
    prepare(tmp_path / "data")
    server = serve(tmp_path, workers=workers)
    port = server.port
    try:
        page = _raw_request(port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
        metrics = _raw_request(
            port, f"GET /_stcore/metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        )
        rebound = _raw_request(port, _websocket_head("evil.example", "http://evil.example"))
        local = _raw_request(port, _websocket_head(f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"))

        async def first_message():
            tab = StreamlitSession(server.url)
            try:
                await app_steps.open_app(tab)
                icon = await asyncio.to_thread(tab.get, tab.favicon)
                return tab.new_session, tab.favicon, icon
            finally:
                await tab.close()

        new_session, favicon, icon = asyncio.run(first_message())
    finally:
        server.stop()
    # DNS rebinding: a websocket for another host name is refused, this machine's opens.
    assert rebound.split(b"\r\n")[0] == b"HTTP/1.1 403 Forbidden"
    assert local.split(b"\r\n")[0] == b"HTTP/1.1 101 Switching Protocols"
    # Nothing about the server before a login: no path, no versions.
    info = new_session.initialize.environment_info
    assert (new_session.main_script_path, info.streamlit_version, info.python_version) == (
        "app.py",
        "",
        "",
    )
    assert info.server_os == ""
    # The page icon is served by the app itself (it was fetched from a font host).
    assert favicon.startswith("/media/") and icon == (ROOT / "ui" / "favicon.png").read_bytes()
    if workers == 2:
        # Served by the proxy: framing forbidden, metrics not served.
        assert b"\r\nX-Frame-Options: DENY" in page
        assert b"\r\nContent-Security-Policy: frame-ancestors 'none'" in page
        assert metrics.split(b"\r\n")[0] == b"HTTP/1.1 404 Not Found"


def test_session_ids_stay_out_of_the_log_on_reconnect(tmp_path):
    prepare(tmp_path / "data")
    server = serve(tmp_path)

    async def reconnect():
        first, second = StreamlitSession(server.url), StreamlitSession(server.url)
        try:
            await app_steps.open_app(first)
            await app_steps.login(first, STAFF[0], PASSWORD)
            # A second tab reconnects to the first's session (the id is the credential).
            await second.open(resume_session_id=first.session_id)
            return first.session_id
        finally:
            await first.close()
            await second.close()

    try:
        session_id = asyncio.run(reconnect())
    finally:
        server.stop()
    log = server.output(200_000)
    assert "Session with id <session> is already connected!" in log
    assert session_id not in log


@pytest.mark.parametrize(
    ("uploader", "name", "shown"),
    [
        # The roster's uploader takes .csv and .xlsx: Streamlit refuses anything else.
        ("上传名册", "evil.py", "文件类型不被接受（只接受 .csv .xlsx）"),
        ("上传名册", "roster\x00.csv", "文件名含有空字符（NUL）"),
        # The documents' uploader takes any file; the core names what it refuses.
        ("上传文件", "evil.py", "失败 1"),
        ("上传文件", "report\x00.pdf", "失败 1"),
    ],
)
def test_a_refused_upload_leaves_the_admin_page_working_and_nothing_behind(
    tmp_path, uploader, name, shown
):
    prepare(tmp_path / "data")
    server = serve(tmp_path)
    before = sorted(p.name for p in (ROOT / "corpus").iterdir())

    async def scenario():
        tab = StreamlitSession(server.url)
        try:
            await app_steps.open_app(tab)
            await app_steps.login(tab, ADMIN, PASSWORD)
            admin = await app_steps.open_page(tab, "admin", "管理")
            widget = next(e for e in admin.of_kind("file_uploader") if uploader in e.label)
            refused = await tab.upload(widget, name, b"print('x')\n")
            buttons = [e for e in refused.of_kind("button") if e.label == "检查并入库"]
            if buttons:
                refused = await tab.rerun([trigger(buttons[0])])
            again = await tab.rerun()
            return refused, again
        finally:
            await tab.close()

    try:
        refused, again = asyncio.run(scenario())
    finally:
        server.stop()
    assert refused.of_kind("exception") == []
    said = [e.proto.body for e in refused.of_kind("alert")]
    if uploader == "上传名册":
        assert refused.errors == [
            f"上传的文件未被接受：{shown}。文件已移除，未做任何修改，请重新选择。"
        ]
    else:
        assert any(shown in text for text in said), said
    # The next run is the admin page as before, and nothing was written.
    assert again.of_kind("exception") == [] and "管理" in again.headings
    assert sorted(p.name for p in (ROOT / "corpus").iterdir()) == before
