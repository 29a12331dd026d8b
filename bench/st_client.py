"""A small browser stand-in for Streamlit 1.67: one session over ``/_stcore/stream``.

It does what the frontend does, as far as a load test needs: an HTTP GET of the page
(cookies, the XSRF token), a websocket speaking Streamlit's protobuf protocol, and for
every interaction one ``BackMsg(rerun_script=ClientState(...))`` carrying the query
string, the current page and the widget values. It then reads ``ForwardMsg`` frames until
the run chain ends (``script_finished`` with a final status; a run cut short by
``st.rerun()`` reports ``FINISHED_EARLY_FOR_RERUN`` and the next run follows).

What it keeps between runs, like the browser:

* the query string (``page_info_changed`` updates it, as the address bar would be);
* the current page (``navigation.page_script_hash``) and the app's pages by url path;
* the values of the widgets still on screen (a value is sent with every rerun until its
  widget disappears); triggers (buttons) are sent once, with the rerun they cause.

Widget values follow the 1.67 wire format read from Streamlit's own serde classes:
``st.radio`` and ``st.selectbox`` send the *formatted option* as ``string_value`` (not an
index), ``st.multiselect`` a ``string_array_value`` of formatted options, text inputs a
``string_value``, buttons ``trigger_value=True``. Widget ids come from the element protos.

Only 127.0.0.1 is spoken to; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

XSRF_COOKIE = "_streamlit_xsrf"
FINAL_STATUSES = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}
WIDGET_TYPES = {
    "button",
    "file_uploader",
    "checkbox",
    "multiselect",
    "number_input",
    "radio",
    "selectbox",
    "text_area",
    "text_input",
    "download_button",
}


class ClientError(Exception):
    """The session could not do what was asked (closed, timed out, protocol trouble)."""


@dataclass(frozen=True)
class Element:
    """One element of a run: its oneof name (``radio``, ``alert``, ...) and its proto."""

    kind: str
    proto: Any

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "")

    @property
    def id(self) -> str:
        return getattr(self.proto, "id", "")


@dataclass
class RunResult:
    """What one interaction produced: the elements of the last run and how long it took."""

    seconds: float
    elements: list[Element] = field(default_factory=list)
    query_string: str = ""
    runs: int = 0
    status: int = ForwardMsg.FINISHED_SUCCESSFULLY
    page_not_found: bool = False
    compile_error: str = ""
    first_frame_seconds: float = 0.0  # until the first ForwardMsg: the server began the run
    messages: int = 0  # ForwardMsg frames received for this interaction
    received_bytes: int = 0

    def of_kind(self, kind: str) -> list[Element]:
        return [e for e in self.elements if e.kind == kind]

    def widget(self, kind: str, label: str | None = None, key: str | None = None) -> Element:
        """The first widget of ``kind`` with that label, or whose id ends with ``key``."""
        for element in self.of_kind(kind):
            if label is not None and element.label != label:
                continue
            if key is not None and not element.id.endswith(f"-{key}"):
                continue
            return element
        wanted = f"label={label!r}" if label is not None else f"key={key!r}"
        seen = [(e.kind, e.label) for e in self.elements if e.kind in WIDGET_TYPES]
        raise ClientError(f"no {kind} with {wanted} in this run (widgets: {seen[:12]})")

    def alerts(self, fmt: int) -> list[str]:
        return [e.proto.body for e in self.of_kind("alert") if e.proto.format == fmt]

    @property
    def errors(self) -> list[str]:
        """What a person would read as a failure: st.error boxes and exception elements."""
        found = self.alerts(Alert.ERROR)
        found += [f"exception {e.proto.type}: {e.proto.message}" for e in self.of_kind("exception")]
        if self.compile_error:
            found.append(f"compile error: {self.compile_error}")
        return found

    @property
    def headings(self) -> list[str]:
        return [e.proto.body for e in self.of_kind("heading")]


def widget_value(element: Element, value: Any) -> WidgetState:
    """The WidgetState a browser sends for ``value`` put into ``element``.

    Radio and multiselect values may be given as option indexes (ints); they are sent as
    the formatted option strings, which is what the 1.67 frontend sends.
    """
    state = WidgetState(id=element.id)
    if element.kind in ("radio", "selectbox"):
        options = list(element.proto.options)
        state.string_value = options[value] if isinstance(value, int) else str(value)
    elif element.kind == "multiselect":
        options = list(element.proto.options)
        picked = [options[v] if isinstance(v, int) else str(v) for v in value]
        state.string_array_value.data.extend(picked)
    elif element.kind in ("text_input", "text_area"):
        state.string_value = str(value)
    elif element.kind == "checkbox":
        state.bool_value = bool(value)
    elif element.kind == "number_input":
        state.double_value = float(value)
    else:
        raise ClientError(f"no value format for {element.kind}")
    return state


def trigger(element: Element) -> WidgetState:
    """The WidgetState of a click on a button (or a form's submit button)."""
    return WidgetState(id=element.id, trigger_value=True)


def _http_get(
    host: str,
    port: int,
    path: str,
    cookie: str,
    timeout: float,
    source: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """GET ``path`` on 127.0.0.1 and return the cookies it sets (name -> value)."""
    conn = http.client.HTTPConnection(
        host, port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        headers = {**(extra or {}), **({"Cookie": cookie} if cookie else {})}
        conn.request("GET", path, headers=headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise ClientError(f"GET {path}: HTTP {reply.status}")
        cookies = {}
        for header in reply.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return cookies
    finally:
        conn.close()


class StreamlitSession:
    """One browser tab of the app: ``await open()``, then ``await rerun(...)`` per click."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 60.0,
        source: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """``source``: a loopback address to connect from (127.0.0.2 ...), so that tests
        can be several clients; ``headers``: extra request headers (a forged
        ``X-Forwarded-For``, a ``Host``)."""
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("this client only talks to the local machine")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        self.source = source
        self.headers = dict(headers or {})
        self.query_string = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path or title -> page script hash
        self.cookies: dict[str, str] = {}
        self._values: dict[str, WidgetState] = {}
        self._ws: ClientConnection | None = None
        self.last: RunResult | None = None
        self.session_id = ""
        self.new_session: Any = None  # the last NewSession message, as the server sent it
        self.favicon = ""  # the page icon's URL, as st.set_page_config sent it

    # -- connection ---------------------------------------------------------------------

    async def open(
        self, page: str = "", query_string: str = "", resume_session_id: str = ""
    ) -> RunResult:
        """Load the page as a browser does: GET it, open the websocket, run the script.

        ``resume_session_id``: reconnect to that session, as a browser does after a
        network blip (the id goes in the websocket's subprotocols)."""
        cookie = ""
        for path in ("/", "/_stcore/health", "/_stcore/host-config"):
            got = await asyncio.to_thread(
                _http_get,
                self.host,
                self.port,
                path,
                cookie,
                self.timeout,
                self.source,
                self.headers,
            )
            self.cookies.update(got)
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        subprotocols = ["streamlit"]
        if XSRF_COOKIE in self.cookies:
            subprotocols.append(self.cookies[XSRF_COOKIE])
        if resume_session_id:
            subprotocols.append(resume_session_id)
        url = f"ws://{self.host}:{self.port}/_stcore/stream"
        extra = {k: v for k, v in self.headers.items() if k.lower() != "origin"}
        extra.update({"Cookie": cookie} if cookie else {})
        try:
            self._ws = await connect(
                url,
                origin=self.headers.get("Origin", self.base_url),
                subprotocols=subprotocols,
                additional_headers=extra or None,
                local_addr=(self.source, 0) if self.source else None,
                proxy=None,  # never through a proxy: the server is on this machine
                open_timeout=self.timeout,
                ping_interval=None,  # the browser sends no pings; a busy server must not drop us
                close_timeout=2,
                max_size=None,
                max_queue=4096,
            )
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise ClientError(f"websocket did not open: {type(exc).__name__}: {exc}") from exc
        self.query_string = query_string
        return await self.rerun(page_name=page)

    async def close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(TimeoutError, OSError, WebSocketException):
                await asyncio.wait_for(ws.close(), timeout=5)

    async def __aenter__(self) -> StreamlitSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- interactions -------------------------------------------------------------------

    async def send(self, message: BackMsg) -> None:
        """Send one BackMsg that starts no run (``clear_cache``, ``stop_script`` ...)."""
        if self._ws is None:
            raise ClientError("session is not open")
        try:
            await self._ws.send(message.SerializeToString())
        except (OSError, WebSocketException) as exc:
            raise ClientError(f"send failed: {type(exc).__name__}: {exc}") from exc

    async def deferred_file(self, file_id: str, request_id: str = "1") -> Any:
        """Ask for a deferred download as a click on its button does; returns the
        ``backend_operation_response`` (``deferred_file.url`` or ``error_msg``)."""
        message = BackMsg()
        message.backend_operation_request.request_id = request_id
        message.backend_operation_request.session_id = self.session_id
        message.backend_operation_request.deferred_file.file_id = file_id
        await self.send(message)
        async for data in self._messages(time.perf_counter() + self.timeout):
            msg = ForwardMsg.FromString(data)
            if (
                msg.WhichOneof("type") == "backend_operation_response"
                and msg.backend_operation_response.request_id == request_id
            ):
                return msg.backend_operation_response
        raise ClientError("no backend_operation_response")

    async def upload(self, uploader: Element, name: str, data: bytes) -> RunResult:
        """Put a file into a file uploader as the browser does (ask for an upload URL,
        PUT the file with the XSRF token, rerun with the uploader's new state); a client
        may send any name and type, whatever the uploader accepts."""
        message = BackMsg()
        message.file_urls_request.request_id = "upload"
        message.file_urls_request.file_names.append(name)
        message.file_urls_request.session_id = self.session_id
        await self.send(message)
        urls = None
        async for frame in self._messages(time.perf_counter() + self.timeout):
            msg = ForwardMsg.FromString(frame)
            if msg.WhichOneof("type") == "file_urls_response":
                urls = msg.file_urls_response.file_urls[0]
                break
        assert urls is not None
        await asyncio.to_thread(self._put_file, urls.upload_url, name, data)
        state = WidgetState(id=uploader.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        return await self.rerun([state])

    def _put_file(self, url: str, name: str, data: bytes) -> None:
        boundary = "kbboundary7d3f"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode("utf-8", "surrogateescape")
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {
            "Cookie": cookie,
            "X-Xsrftoken": self.cookies.get(XSRF_COOKIE, ""),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("PUT", urlsplit(url).path, body=body, headers=headers)
            reply = conn.getresponse()
            reply.read()
            if reply.status not in (200, 204):
                raise ClientError(f"PUT {url}: HTTP {reply.status}")
        finally:
            conn.close()

    def get(self, path: str) -> bytes:
        """GET ``path`` with this session's cookies (a media file's URL)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request("GET", path, headers={"Cookie": cookie})
            reply = conn.getresponse()
            body = reply.read()
            if reply.status != 200:
                raise ClientError(f"GET {path}: HTTP {reply.status}")
            return body
        finally:
            conn.close()

    async def rerun(
        self,
        widgets: Iterable[WidgetState] = (),
        *,
        page: str | None = None,
        page_name: str = "",
        query_string: str | None = None,
        timeout: float | None = None,
    ) -> RunResult:
        """Send one rerun request and wait for its run chain to finish.

        Args:
            widgets: values or triggers that changed with this interaction.
            page: switch to the page with this url path or title (a click in the navigation).
            page_name: the url path of a first load (only for ``open``).
            query_string: replace the query string (as following a link would).
            timeout: seconds to wait for the run to finish (default: the session's).
        """
        if self._ws is None:
            raise ClientError("session is not open")
        triggers: list[WidgetState] = []
        for state in widgets:
            if state.WhichOneof("value") in ("trigger_value", "string_trigger_value"):
                triggers.append(state)
            else:
                self._values[state.id] = state
        if page is not None:
            if page not in self.pages:
                raise ClientError(f"no page {page!r} (pages: {sorted(self.pages)})")
            self.page_hash = self.pages[page]
            self.query_string = ""  # following a navigation link drops the query
        if query_string is not None:
            self.query_string = query_string

        message = BackMsg()
        client_state = message.rerun_script
        client_state.query_string = self.query_string
        client_state.page_script_hash = self.page_hash
        client_state.page_name = page_name
        client_state.widget_states.widgets.extend([*self._values.values(), *triggers])

        started = time.perf_counter()
        deadline = started + (timeout if timeout is not None else self.timeout)
        try:
            await self._ws.send(message.SerializeToString())
        except (OSError, WebSocketException) as exc:
            raise ClientError(f"send failed: {type(exc).__name__}: {exc}") from exc
        result = RunResult(seconds=0.0)
        async for data in self._messages(deadline):
            if not result.messages:
                result.first_frame_seconds = time.perf_counter() - started
            result.messages += 1
            result.received_bytes += len(data)
            msg = ForwardMsg.FromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
                self.new_session = msg.new_session
                result.runs += 1
                result.elements = []
            elif kind == "delta":
                if msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    which = element.WhichOneof("type")
                    if which is not None:
                        result.elements.append(Element(which, getattr(element, which)))
            elif kind == "page_config_changed":
                self.favicon = msg.page_config_changed.favicon
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "navigation":
                # by url path (the default page's is ""), and by title
                self.pages = {p.page_name: p.page_script_hash for p in msg.navigation.app_pages}
                self.pages.update(
                    {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                )
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_not_found":
                result.page_not_found = True
            elif kind == "session_event":
                event = msg.session_event
                if event.WhichOneof("type") == "script_compilation_exception":
                    result.compile_error = event.script_compilation_exception.message
            elif kind == "script_finished" and msg.script_finished in FINAL_STATUSES:
                result.status = msg.script_finished
                break
        result.seconds = time.perf_counter() - started
        result.query_string = self.query_string
        # The browser forgets the values of widgets that are no longer on screen.
        present = {e.id for e in result.elements if e.kind in WIDGET_TYPES}
        self._values = {k: v for k, v in self._values.items() if k in present}
        self.last = result
        return result

    async def _messages(self, deadline: float) -> Any:
        assert self._ws is not None
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise ClientError("timed out waiting for script_finished")
            try:
                data = await asyncio.wait_for(self._ws.recv(), timeout=left)
            except TimeoutError as exc:
                raise ClientError("timed out waiting for script_finished") from exc
            except (OSError, WebSocketException) as exc:
                raise ClientError(f"connection lost: {type(exc).__name__}: {exc}") from exc
            if isinstance(data, str):
                raise ClientError("text frame from the server")
            yield data

    # -- the app's own steps --------------------------------------------------------------

    async def login(self, employee_no: str, password: str) -> RunResult:
        """Fill the 工号/密码 form and press 登录 (one rerun: form values + the trigger)."""
        page = self.last if self.last is not None else await self.open()
        form = [
            widget_value(page.widget("text_input", label="工号"), employee_no),
            widget_value(page.widget("text_input", label="密码"), password),
            trigger(page.widget("button", label="登录")),
        ]
        return await self.rerun(form)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
