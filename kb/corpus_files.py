"""The files of a corpus folder: which are read, which are skipped by rule and which are
refused (symbolic links), and how each is named in the index."""

from __future__ import annotations

import os
from pathlib import Path

from kb.readers import SUPPORTED_SUFFIXES

# Files that are never documents: left by Windows in folders and zips.
SYSTEM_FILES = ("thumbs.db", "desktop.ini")


def skip_rule(name: str) -> str | None:
    """Why a file of this name is skipped by rule (not a document), or None."""
    if name.startswith("~$"):
        return "Word/WPS 打开文件时留下的临时锁文件，按规则跳过"
    if name.startswith("."):
        return "隐藏文件，按规则跳过"
    if name.lower() in SYSTEM_FILES:
        return "系统文件，按规则跳过"
    return None


def scan_folder(folder: Path) -> tuple[list[Path], list[tuple[Path, str, str, str]]]:
    """The files under ``folder`` to read, and the entries that will not be read.

    Symbolic links are never followed (a link in the corpus to /etc/passwd must not
    become searchable); hidden folders are not entered.

    Returns:
        ``(files, others)``: files in path order; others as ``(path, status, kind,
        reason)`` with status ``skipped`` (by rule) or ``failed``.
    """
    files: list[Path] = []
    others: list[tuple[Path, str, str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for name in list(dirnames):
            path = here / name
            if path.is_symlink():
                others.append(
                    (path, "failed", "symlink", "是指向文件夹的符号链接，为安全起见不跟随")
                )
                dirnames.remove(name)
            elif name.startswith("."):
                others.append((path, "skipped", "rule", "隐藏文件夹，按规则跳过"))
                dirnames.remove(name)
        for name in sorted(filenames):
            path = here / name
            rule = skip_rule(name)
            if rule:
                others.append((path, "skipped", "rule", rule))
            elif path.is_symlink():
                others.append((path, "failed", "symlink", "是符号链接，为安全起见不跟随，未索引"))
            elif not path.is_file():
                others.append((path, "failed", "unreadable", "不是普通文件，未索引"))
            else:
                files.append(path)
    return files, others


def list_corpus(corpus_dir: Path) -> list[Path]:
    """The supported documents under ``corpus_dir`` that a sync would read."""
    files, _ = scan_folder(corpus_dir)
    return [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]


def document_key(path: Path, corpus_dir: Path) -> str:
    """How a document is named in the index and in quiz sources: its path in the corpus.

    Symbolic links are not resolved. A name whose bytes are not UTF-8 (a zip made on
    Windows) is read as GB18030; one that is neither keeps its bytes as ``\\xNN``.
    """
    return corpus_name(path, corpus_dir)[0]


def corpus_name(path: Path, corpus_dir: Path) -> tuple[str, str | None, str | None]:
    """``(key, warning, failure)``: the name, and what is wrong with its encoding."""
    absolute, root = Path(os.path.abspath(path)), Path(os.path.abspath(corpus_dir))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        rel = Path(absolute.name)
    parts = [_decode_name(part) for part in rel.parts]
    key = "/".join(text for text, _ in parts)
    encodings = {encoding for _, encoding in parts}
    if None in encodings:
        return key, None, "文件名既不是 UTF-8 也不是 GBK/GB18030 编码，无法识别；请改名后再放入"
    if "gb18030" in encodings:
        return key, "文件名不是 UTF-8 编码，已按 GBK/GB18030 识别", None
    return key, None, None


def _decode_name(part: str) -> tuple[str, str | None]:
    # Undecodable bytes of a file name arrive as lone surrogates (surrogateescape); they
    # cannot be printed or stored, so the bytes are decoded again, as Windows would have.
    try:
        part.encode("utf-8")
        return part, "utf-8"
    except UnicodeEncodeError:
        raw = os.fsencode(part)
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace"), None


def read_file(path: Path) -> bytes:
    # O_NOFOLLOW: a file swapped for a symbolic link after the scan is still not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read()
