"""Parse untrusted office files and PDFs in a child process, with limits on time and memory.

A hostile file (a PDF whose page tree loops, a decompression bomb the checks miss) can make
a parser spin or swell. In a child process it cannot hold the app's interpreter lock or
exhaust its memory: the child is killed at the time limit, and an address-space limit
stops it from growing, while the app keeps answering. LibreOffice, which converts
.doc/.wps/.rtf/.odt there (kb.office_convert), inherits the limit.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
from pathlib import Path

from kb import errors
from kb.errors import DocumentError, UnreadableDocument
from kb.office_convert import CONVERT_TIMEOUT_S, CONVERTED_SUFFIXES, OLE_MAGIC
from kb.readers import ReadResult, read_document

PARSE_TIMEOUT_S = 60.0
PARSE_MEMORY_BYTES = 1536 * 1024 * 1024
ISOLATED_SUFFIXES = (".docx", ".pdf", *CONVERTED_SUFFIXES)
_ERRORS = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, DocumentError)
}


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (PARSE_MEMORY_BYTES, PARSE_MEMORY_BYTES))


def read_untrusted(name: str, data: bytes, timeout: float | None = None) -> ReadResult:
    """Read a document; office files and PDFs are parsed in a limited child process.

    ``timeout`` defaults to PARSE_TIMEOUT_S, plus LibreOffice's own limit for a file
    that it converts first.

    Raises the same errors as :func:`kb.readers.read_document`, plus UnreadableDocument
    when the parser runs out of time or memory.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ISOLATED_SUFFIXES:
        return read_document(Path(name), data, name=name)
    if timeout is None:
        converts = suffix in CONVERTED_SUFFIXES or data.startswith(OLE_MAGIC)
        # LibreOffice stops itself at its own limit, inside this one.
        timeout = PARSE_TIMEOUT_S + (CONVERT_TIMEOUT_S if converts else 0.0)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kb.isolation", name],
            input=data,
            capture_output=True,
            timeout=timeout,
            preexec_fn=_limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnreadableDocument(
            name, f"解析超过 {timeout:g} 秒仍未完成，疑似损坏或恶意文件，已拒绝"
        ) from None
    if done.returncode != 0:
        raise UnreadableDocument(name, "解析时出错或占用内存过多，疑似损坏或恶意文件，已拒绝")
    payload = json.loads(done.stdout)
    if "error" in payload:
        error = payload["error"]
        raise _ERRORS.get(error["kind"], UnreadableDocument)(name, error["reason"])
    return ReadResult(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in payload["result"].items()}
    )


def _main() -> None:  # pragma: no cover - runs in the child
    name = sys.argv[1]
    data = sys.stdin.buffer.read()
    try:
        result = read_document(Path(name), data, name=name)
    except DocumentError as exc:
        payload: dict[str, object] = {"error": {"kind": type(exc).__name__, "reason": exc.reason}}
    else:
        payload = {"result": dataclasses.asdict(result)}
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))


if __name__ == "__main__":
    _main()
