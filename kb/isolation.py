"""Parse untrusted .docx and .pdf files in a child process, with limits on time and memory.

A hostile file (a PDF whose page tree loops, a decompression bomb the checks miss) can make
a parser spin or swell. In a child process it cannot hold the app's interpreter lock or
exhaust its memory: the child is killed at the time limit, and an address-space limit
stops it from growing, while the app keeps answering.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from kb.errors import DocumentError, NeedsOCR, UnreadableDocument, UnsupportedDocument
from kb.readers import ReadResult, read_document

PARSE_TIMEOUT_S = 60.0
PARSE_MEMORY_BYTES = 1536 * 1024 * 1024
ISOLATED_SUFFIXES = (".docx", ".pdf")
_ERRORS = {cls.__name__: cls for cls in (NeedsOCR, UnreadableDocument, UnsupportedDocument)}


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (PARSE_MEMORY_BYTES, PARSE_MEMORY_BYTES))


def read_untrusted(name: str, data: bytes, timeout: float = PARSE_TIMEOUT_S) -> ReadResult:
    """Read a document; .docx and .pdf are parsed in a limited child process.

    Raises the same errors as :func:`kb.readers.read_document`, plus UnreadableDocument
    when the parser runs out of time or memory.
    """
    if Path(name).suffix.lower() not in ISOLATED_SUFFIXES:
        return read_document(Path(name), data, name=name)
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
        tuple(payload["lines"]), payload["format"], payload["encoding"], payload["markdown"]
    )


def _main() -> None:  # pragma: no cover - runs in the child
    name = sys.argv[1]
    data = sys.stdin.buffer.read()
    try:
        result = read_document(Path(name), data, name=name)
    except DocumentError as exc:
        payload: dict[str, object] = {"error": {"kind": type(exc).__name__, "reason": exc.reason}}
    else:
        payload = {
            "lines": list(result.lines),
            "format": result.format,
            "encoding": result.encoding,
            "markdown": result.markdown,
        }
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))


if __name__ == "__main__":
    _main()
