"""What a browser's messages may not do to the server process, and what its log may not show.

Streamlit acts on a few client messages that no page of this app needs and that anyone,
logged in or not, can send over the websocket:

* ``clear_cache`` empties every ``st.cache_resource`` and ``st.cache_data`` entry of the
  process, for every session. It is refused (the objects that matter are held outside
  that cache anyway, ``ui/services.py``).
* ``load_git_info`` answers with the repository's remote, branch and the script's path.
  It is refused.

Every session's first message (``new_session``) carried the script's full path on the
server and the Streamlit, Python and OS versions, to anyone who opened the page: the path
is cut to the file's name and the versions are left empty (the frontend only compares
the version with the previous session's, to reload after an upgrade).

A refused upload no longer breaks the page it was sent to (``ui/uploads.py``).

A session id is the only credential of a logged-in session, and Streamlit writes it into
its warnings when a browser reconnects: those ids are replaced by ``<session>``.

:func:`install` runs before the server starts when the app is started by ``ui/serve.py``
(``python -m ui.launch run app.py``); ``app.py`` calls it too, for a plain ``streamlit run``
(where the first session of the process is answered before it). It is idempotent.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from streamlit.runtime.app_session import AppSession

from ui import uploads

_LOGGER = logging.getLogger(__name__)

# Streamlit's session ids are UUID4 strings.
_SESSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# The loggers that name a session id in their messages (Streamlit 1.67).
_LOGGERS_WITH_IDS = (
    "streamlit.runtime.websocket_session_manager",
    "streamlit.runtime.runtime",
    "streamlit.runtime.app_session",
    "streamlit.web.server.starlette.starlette_websocket",
)


def _refuse_clear_cache(self: AppSession) -> None:
    _LOGGER.warning("refused a client's clear_cache message")


def _refuse_git_info(self: AppSession) -> None:
    _LOGGER.warning("refused a client's load_git_info message")


_create_new_session_message = AppSession._create_new_session_message


def _new_session_message_without_server_facts(self: AppSession, *args: Any, **kw: Any) -> Any:
    message = _create_new_session_message(self, *args, **kw)
    session = message.new_session
    session.main_script_path = os.path.basename(session.main_script_path)
    info = session.initialize.environment_info
    info.streamlit_version = ""
    info.python_version = ""
    info.server_os = ""
    return message


class RedactSessionIds(logging.Filter):
    """Replace session ids in a record's message and arguments with ``<session>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _SESSION_ID.sub("<session>", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SESSION_ID.sub("<session>", a) if isinstance(a, str) else a for a in record.args
            )
        return True


_FILTER = RedactSessionIds()


def install() -> None:
    """Refuse ``clear_cache`` and ``load_git_info``, keep server facts out of
    ``new_session``, refused uploads out of the way and session ids out of the log."""
    if getattr(AppSession, "_kb_guarded", False):
        return
    AppSession._kb_guarded = True  # type: ignore[attr-defined]
    AppSession._handle_clear_cache_request = _refuse_clear_cache  # type: ignore[method-assign]
    AppSession._handle_git_information_request = _refuse_git_info  # type: ignore[method-assign]
    AppSession._create_new_session_message = _new_session_message_without_server_facts  # type: ignore[method-assign]
    uploads.install()
    for name in _LOGGERS_WITH_IDS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
