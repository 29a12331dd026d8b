"""What an ingest did, file by file: the report `kb ingest` prints and the 管理 page shows."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUS_LABELS = {
    "added": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "removed": "移除",
    "failed": "失败",
    "duplicate": "重复",
    "skipped": "跳过",
}
KIND_LABELS = {
    "unsupported": "不支持的类型",
    "needs_libreoffice": "需要 LibreOffice",
    "encrypted": "已加密",
    "too_large": "过大",
    "empty": "没有文字",
    "symlink": "符号链接",
    "bad_name": "文件名无法识别",
    "unreadable": "无法读取",
    "needs_ocr": "需要文字识别",
    "duplicate": "内容重复",
    "rule": "按规则跳过",
}


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file. ``path`` is relative to the corpus folder.

    Attributes:
        status: added, updated, unchanged, removed, failed (not indexed: the run fails),
            duplicate (its text is indexed under another file) or skipped (by rule:
            Word lock files, hidden and system files).
        kind: for failed and skipped files, the condition (see KIND_LABELS).
        reason: the message, in Chinese.
        passages, chars, pages, ocr_pages: for indexed files; pages is None where the
            format has none (or the file was not read in this run).
        gaps: for a document numbered by article, the articles not found.
        warnings: what was read despite a problem.
        vectors: the vectors computed for its passages in this run.
    """

    path: str
    status: str
    kind: str = ""
    reason: str = ""
    passages: int = 0
    chars: int = 0
    pages: int | None = None
    ocr_pages: int = 0
    gaps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    vectors: int = 0


@dataclass
class IngestReport:
    """What a sync did, file by file."""

    files: list[FileOutcome] = field(default_factory=list)
    passages_embedded: int = 0
    seconds: float = 0.0

    def _paths(self, status: str) -> list[str]:
        return [f.path for f in self.files if f.status == status]

    @property
    def added(self) -> list[str]:
        return self._paths("added")

    @property
    def updated(self) -> list[str]:
        return self._paths("updated")

    @property
    def unchanged(self) -> list[str]:
        return self._paths("unchanged")

    @property
    def removed(self) -> list[str]:
        return self._paths("removed")

    @property
    def duplicates(self) -> list[str]:
        return self._paths("duplicate")

    @property
    def skipped(self) -> list[str]:
        return self._paths("skipped")

    @property
    def failed(self) -> list[FileOutcome]:
        """Files that were meant to be indexed and are not: these fail the run."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def errors(self) -> list[str]:
        """``path: reason`` of each failed file."""
        return [f"{f.path}: {f.reason}" for f in self.failed]

    def summary(self) -> str:
        """One line in Chinese for the CLI and the admin page."""
        return (
            f"新增 {len(self.added)}，更新 {len(self.updated)}，未变 {len(self.unchanged)}，"
            f"移除 {len(self.removed)}，失败 {len(self.failed)}；"
            f"重复 {len(self.duplicates)}，跳过 {len(self.skipped)}；"
            f"计算向量 {self.passages_embedded} 段，用时 {self.seconds:.1f} 秒"
        )

    def lines(self) -> list[str]:
        """Every file except the unchanged ones, a line each (with its gaps and warnings
        indented below), in Chinese, for the CLI."""
        out = []
        for f in self.files:
            if f.status == "unchanged":
                continue
            label = STATUS_LABELS[f.status]
            if f.status in ("added", "updated"):
                out.append(f"{label}  {f.path}：{_figures(f)}")
            elif f.status == "removed":
                out.append(f"{label}  {f.path}")
            else:
                out.append(f"{label}  {f.path}：{f.reason}")
            out.extend(f"    {note}" for note in (*f.gaps, *f.warnings))
        return out

    def table(self) -> list[dict[str, object]]:
        """Every file as a row for a table: 文件, 结果, 段落, 字数, 页数, 识别页数, 说明."""
        rows = []
        for f in self.files:
            indexed = f.status in ("added", "updated", "unchanged")
            notes = [f.reason] if f.reason else []
            rows.append(
                {
                    "文件": f.path,
                    "结果": STATUS_LABELS[f.status]
                    + (f"（{KIND_LABELS.get(f.kind, f.kind)}）" if f.status == "failed" else ""),
                    "段落": f.passages if indexed else None,
                    "字数": f.chars if indexed else None,
                    "页数": f.pages,
                    "识别页数": f.ocr_pages if indexed else None,
                    "说明": "；".join([*notes, *f.gaps, *f.warnings]),
                }
            )
        return rows


def _figures(f: FileOutcome) -> str:
    parts = [f"{f.passages} 段", f"{f.chars:,} 字"]
    if f.pages is not None:
        parts.append(f"{f.pages} 页")
    if f.ocr_pages:
        parts.append(f"文字识别 {f.ocr_pages} 页")
    return "，".join(parts)
