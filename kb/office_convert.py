"""Old Word, WPS and OpenDocument files, converted to .docx by LibreOffice to be read as one.

A bureau's archive is mostly .doc and .wps (WPS Writer saves the Word 97 binary format);
LibreOffice (Debian ``libreoffice-writer-nogui``) reads those, .rtf and .odt, and writes
.docx that kb.word reads with numbering and headings. Conversion runs where
kb.isolation runs the parsers: in a child process with limits on time and memory, which
LibreOffice inherits. Each conversion gets a LibreOffice profile folder of its own, as
soffice locks its profile and a second conversion on a shared one would wait or fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from kb.errors import DocumentTooLarge, NeedsLibreOffice, UnreadableDocument

CONVERTED_SUFFIXES = (".doc", ".wps", ".rtf", ".odt")
LIBREOFFICE_INSTALL = "apt-get install libreoffice-writer-nogui"
CONVERT_TIMEOUT_S = 120.0
# A .docx written by LibreOffice past this size is not read (the .docx checks refuse
# anything that inflates past 100 MB anyway).
MAX_CONVERTED_BYTES = 100 * 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# LibreOffice's import filter for each format it is given. Named, not detected: left to
# detect, it imports a damaged file as plain text and "converts" the garbage.
_IMPORT_FILTERS = {".doc": "MS Word 97", ".rtf": "Rich Text Format", ".odt": "writer8"}


def source_format(data: bytes, label: str, suffix: str) -> str:
    """What a .doc/.wps/.rtf/.odt file really holds, by its first bytes: ``.doc`` (the
    Word 97 binary format, which WPS Writer's .wps is too), ``.rtf``, ``.odt``, or
    ``.docx`` (a .docx renamed, read without conversion).

    Raises:
        UnreadableDocument: it is none of these.
    """
    if data.startswith(OLE_MAGIC):
        return ".doc"
    if data.lstrip()[:5] == b"{\\rtf":
        return ".rtf"
    if data.startswith(b"PK\x03\x04"):
        if b"application/vnd.oasis.opendocument.text" in data[:200]:
            return ".odt"
        return ".docx"
    raise UnreadableDocument(
        label, f"不是有效的 {suffix} 文件：内容不是 Word、WPS、RTF 或 OpenDocument 格式"
    )


def soffice_path() -> str | None:
    """The LibreOffice command on PATH, or None where it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(
    data: bytes, label: str, suffix: str, timeout: float = CONVERT_TIMEOUT_S
) -> bytes:
    """Convert a .doc/.rtf/.odt file's bytes (``suffix``: what :func:`source_format`
    found) to .docx bytes with LibreOffice.

    Raises:
        NeedsLibreOffice: LibreOffice is not installed (the message gives the command).
        UnreadableDocument: LibreOffice could not convert it (damaged, encrypted) in time.
    """
    named = Path(label).suffix.lower() or suffix
    soffice = soffice_path()
    if soffice is None:
        raise NeedsLibreOffice(
            label,
            f"读取 {named} 文件需要 LibreOffice，本机未安装；安装命令：{LIBREOFFICE_INSTALL}",
        )
    with tempfile.TemporaryDirectory(prefix="kb-soffice-") as tmp:
        folder = Path(tmp)
        # A plain ASCII name: the file's own name may not be valid in any encoding.
        source = folder / f"source{suffix}"
        source.write_bytes(data)
        command = [
            soffice,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"--infilter={_IMPORT_FILTERS[suffix]}",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(folder / "out"),
            str(source),
        ]
        # Its own process group: soffice starts soffice.bin under it, and a stopped
        # conversion must take both down.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "HOME": tmp},
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise UnreadableDocument(
                label, f"LibreOffice 转换超过 {timeout:g} 秒仍未完成，已停止"
            ) from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        result = folder / "out" / "source.docx"
        if not result.is_file():
            detail = output.decode("utf-8", "replace").strip().splitlines()
            raise UnreadableDocument(
                label,
                f"LibreOffice 无法转换此 {named} 文件（可能已损坏或设有密码）"
                + (f"：{detail[-1][:200]}" if detail else ""),
            )
        if result.stat().st_size > MAX_CONVERTED_BYTES:
            raise DocumentTooLarge(label, "LibreOffice 转换出的 .docx 过大，已拒绝")
        return result.read_bytes()
