"""An uploaded document whose name holds a control character (a NUL) is refused by name,
with the reason, and nothing is written."""

from __future__ import annotations

from kb.ingest import ingest_uploads


def test_a_name_with_a_nul_or_control_character_is_refused_and_nothing_written(db, tmp_path):
    corpus = tmp_path / "corpus"
    report = ingest_uploads(
        db,
        corpus,
        [("report\x00.pdf", b"%PDF-1.4"), ("tab\there.txt", "正文".encode())],
        None,
        max_bytes=1_000_000,
    )
    reason = "文件名含有控制字符（如 NUL），未入库；请改名后再上传"
    assert [(r["文件"], r["说明"]) for r in report.table()] == [
        ("report\\x00.pdf", reason),
        ("tab\\x09here.txt", reason),
    ]
    assert report.failed and not corpus.exists()
