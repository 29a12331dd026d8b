"""File uploaders whose refused upload leaves the page working and nothing behind.

The browser only offers files of the accepted types, but a client can send any file to
Streamlit's upload endpoint. Streamlit refuses it (a wrong extension, a NUL in the name)
by raising while it reads the widget's state, before the page runs, on every run for as
long as the file sits in the widget: the page stayed broken, with a redacted error, until
the file was removed by hand. :func:`install` (called by ``ui.protocol_guard``) turns the
refusal into an empty uploader: the file is removed from the session's uploads and the
refusal remembered; :func:`file_uploader` then says why in Chinese and shows fresh
uploaders in place of the old ones.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st
from streamlit.elements.widgets.file_uploader import FileUploaderSerde
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

_lock = threading.Lock()
# session id -> (how many uploads were refused, the reason of the last one)
_refusals: dict[str, tuple[int, str]] = {}
_SHOWN = "_upload_refusal_shown"


def _refusal_reason(error: StreamlitAPIException, allowed: Sequence[str] | None) -> str:
    if "null bytes" in str(error):
        return "文件名含有空字符（NUL）"
    kinds = " ".join(t if t.startswith(".") else f".{t}" for t in allowed or ())
    return f"文件类型不被接受（只接受 {kinds}）"


_deserialize = FileUploaderSerde.deserialize


def _deserialize_refusing_quietly(self: FileUploaderSerde, ui_value: Any) -> Any:
    try:
        return _deserialize(self, ui_value)
    except StreamlitAPIException as error:
        ctx = get_script_run_ctx()
        if ctx is None:
            raise
        for info in ui_value.uploaded_file_info if ui_value is not None else ():
            ctx.uploaded_file_mgr.remove_file(ctx.session_id, info.file_id)
        with _lock:
            count, _ = _refusals.get(ctx.session_id, (0, ""))
            _refusals[ctx.session_id] = (count + 1, _refusal_reason(error, self.allowed_types))
        multiple = self.accept_multiple_files is True or self.accept_multiple_files == "directory"
        return [] if multiple else None


def install() -> None:
    """Make a refused upload an empty uploader instead of an error on every run."""
    FileUploaderSerde.deserialize = _deserialize_refusing_quietly  # type: ignore[method-assign]


def file_uploader(label: str, types: Sequence[str] | None, key: str, **options: Any) -> Any:
    """``st.file_uploader(label, type=types, key=...)``, shown afresh after a refusal.

    ``types`` None accepts any file (the core then names what it refuses and why)."""
    ctx = get_script_run_ctx()
    session = ctx.session_id if ctx is not None else ""
    with _lock:
        count, reason = _refusals.get(session, (0, ""))
    if count and st.session_state.get(_SHOWN) != count:
        st.session_state[_SHOWN] = count
        st.error(f"上传的文件未被接受：{reason}。文件已移除，未做任何修改，请重新选择。")
    # A new key after each refusal: the old uploader still lists the refused file.
    kinds = None if types is None else list(types)
    return st.file_uploader(label, type=kinds, key=f"{key}-{count}", **options)
