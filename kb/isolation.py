"""Parse untrusted office files, PDFs and images in a child process, with limits on time
and memory; OCR runs there too.

A hostile file (a PDF whose page tree loops, a decompression bomb the checks miss) can make
a parser spin or swell. In a child process it cannot hold the app's interpreter lock or
exhaust its memory: the child is killed when it falls silent past the time limit, and an
address-space limit stops it from growing, while the app keeps answering. LibreOffice,
which converts .doc/.wps/.rtf/.odt there (kb.office_convert), inherits the limit.

OCR (scanned pages, images) runs in the same child, at a lower CPU priority than page
runs. The child reports each recognised page as soon as it is done and its progress, as
JSON lines on its standard output; the parent keeps the pages (so an interrupted run
resumes) and passes progress on. The time limit applies between two messages, so a
200-page scan may take as long as it needs while a parser that hangs is still stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kb import errors
from kb.errors import DocumentError, NeedsOCR, UnreadableDocument
from kb.ocr import OcrPage, OcrRun
from kb.office_convert import CONVERT_TIMEOUT_S, CONVERTED_SUFFIXES, OLE_MAGIC
from kb.pdf_reader import IMAGE_SUFFIXES
from kb.readers import ReadResult, read_document

PARSE_TIMEOUT_S = 60.0
# Once OCR has started, each page may take this long (4-8 s here when the machine is
# idle; 50 s at a load of 15 on 2 cores).
OCR_PAGE_TIMEOUT_S = 300.0
# OCR needs more address space than parsing: onnxruntime failed with bad_alloc on a 300 dpi
# A4 page under 1.5 GB; under 2.5 GB it reads one (peak resident memory 0.8 GB).
PARSE_MEMORY_BYTES = 2560 * 1024 * 1024
ISOLATED_SUFFIXES = (".docx", ".pdf", *CONVERTED_SUFFIXES, *IMAGE_SUFFIXES)
OCR_NICE = 10
_ERRORS = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, DocumentError)
}


@dataclass
class OcrOptions:
    """What the parent gives an OCR run in the child, and how it hears back.

    Attributes:
        known: pages recognised by an earlier run (page index from 0), not done again.
        on_page: keeps a page as soon as the child has recognised it.
        on_progress: called with (pages done, pages to do).
        max_pages: the most pages of one file OCR will read (Settings.ocr_max_pages).
    """

    known: Mapping[int, OcrPage] = field(default_factory=dict)
    on_page: Callable[[int, OcrPage], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    max_pages: int = 300


def _limit_child() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (PARSE_MEMORY_BYTES, PARSE_MEMORY_BYTES))
    os.nice(OCR_NICE)


def read_untrusted(
    name: str, data: bytes, timeout: float | None = None, ocr: OcrOptions | None = None
) -> ReadResult:
    """Read a document; office files, PDFs and images are parsed (and OCR'd) in a child.

    ``timeout`` is how long the child may go without a word: PARSE_TIMEOUT_S, plus
    LibreOffice's own limit for a file that it converts first. Each page OCR reads is a
    word, so a long scan is not cut short.

    Raises the same errors as :func:`kb.readers.read_document`, plus UnreadableDocument
    when the parser falls silent for ``timeout`` seconds or runs out of memory.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ISOLATED_SUFFIXES:
        return read_document(Path(name), data, name=name)
    if timeout is None:
        converts = suffix in CONVERTED_SUFFIXES or data.startswith(OLE_MAGIC)
        # LibreOffice stops itself at its own limit, inside this one.
        timeout = PARSE_TIMEOUT_S + (CONVERT_TIMEOUT_S if converts else 0.0)
    ocr = ocr or OcrOptions()
    header = {
        "name": name,
        "max_pages": ocr.max_pages,
        "known": {str(k): v.to_json() for k, v in ocr.known.items()},
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "kb.isolation"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_child,
    )
    messages: queue.Queue[bytes | None] = queue.Queue()

    def feed() -> None:
        try:
            assert child.stdin is not None
            child.stdin.write(json.dumps(header).encode() + b"\n" + data)
            child.stdin.close()
        except OSError:
            pass  # the child died; its exit status tells

    def drain() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            messages.put(line)
        messages.put(None)

    ocr_started = False
    threading.Thread(target=feed, daemon=True).start()
    threading.Thread(target=drain, daemon=True).start()
    try:
        while True:
            try:
                raw = messages.get(timeout=OCR_PAGE_TIMEOUT_S if ocr_started else timeout)
            except queue.Empty:
                if ocr_started:
                    reason = f"文字识别一页超过 {OCR_PAGE_TIMEOUT_S:g} 秒仍未完成，已停止（已识别的页已保存）"
                else:
                    reason = f"解析超过 {timeout:g} 秒仍未完成，疑似损坏或恶意文件，已拒绝"
                raise UnreadableDocument(name, reason) from None
            if raw is None:
                break
            message = json.loads(raw)
            if "page" in message and ocr.on_page is not None:
                ocr.on_page(int(message["page"]), OcrPage.from_json(message["result"]))
            elif "progress" in message:
                ocr_started = True
                done, total = message["progress"]
                if done and ocr.on_progress is not None:
                    ocr.on_progress(done, total)
            elif "error" in message:
                error = message["error"]
                raise _ERRORS.get(error["kind"], UnreadableDocument)(name, error["reason"])
            elif "result" in message:
                fields = message["result"].items()
                return ReadResult(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields})
        raise UnreadableDocument(name, "解析时出错或占用内存过多，疑似损坏或恶意文件，已拒绝")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _main() -> None:  # pragma: no cover - runs in the child
    header = json.loads(sys.stdin.buffer.readline())
    data = sys.stdin.buffer.read()
    name = header["name"]

    def send(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def engine():
        from kb.ocr import RapidOcrEngine

        try:
            return RapidOcrEngine()
        except ImportError as exc:
            raise NeedsOCR(
                name, "需要文字识别（OCR），但未安装 rapidocr-onnxruntime（见 requirements.txt）"
            ) from exc

    run = OcrRun(
        engine=engine,
        known={int(k): OcrPage.from_json(v) for k, v in header["known"].items()},
        on_page=lambda index, page: send({"page": index, "result": page.to_json()}),
        on_progress=lambda done, total: send({"progress": [done, total]}),
        max_pages=header["max_pages"],
    )
    try:
        result = read_document(Path(name), data, name=name, ocr=run)
    except DocumentError as exc:
        send({"error": {"kind": type(exc).__name__, "reason": exc.reason}})
        return
    send({"result": dataclasses.asdict(result)})


if __name__ == "__main__":
    _main()
