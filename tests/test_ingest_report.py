"""Every file accounted for: a folder of the files a bureau's share really holds (a Word
lock file, hidden and system files, a symlink out of the corpus, names in GBK, UTF-16
text, damaged UTF-8, a spreadsheet, an encrypted .docx, the same law as .txt and .docx)
gives one report that names each file with what happened to it and why."""

from __future__ import annotations

import io
import os
from pathlib import Path

import docx
import openpyxl
from click.testing import CliRunner
from msoffcrypto.format.ooxml import OOXMLFile

from kb.cli import cli as kb_cli
from kb.ingest import ingest_uploads, sync_corpus
from kb.readers import read_document

LAW_LINES = [
    "某县环境卫生管理办法",
    "第一条 为了加强环境卫生管理，制定本办法。",
    "第二条 本办法适用于本县城区。",
    "第四条 任何单位不得随意倾倒垃圾。",
    "第五条 本办法自发布之日起施行。",
]
NOT_READ = (0, 0, None, (), ())
DAMAGED_WARNING = "有 1 个字节不是有效的 UTF-8（第 3 行），已替换为 “\ufffd”"
NOTICE = "学习通知\n请各科室于月底前完成学习。\n"


def law_docx() -> bytes:
    document = docx.Document()
    for line in LAW_LINES:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def damaged_utf8(bad_every: int | None) -> bytes:
    lines = [f"第{i}行：各科室要认真组织学习，按期完成测验任务。" for i in range(1, 41)]
    data = bytearray("\n".join(lines).encode("utf-8"))
    if bad_every is None:
        # One byte of line 3 overwritten: a character there can no longer be decoded.
        data[data.index("第3行".encode()) + 3] = 0xFF
    else:
        for i in range(0, len(data), bad_every):
            data[i] = 0xFF
    return bytes(data)


def make_share(root: Path) -> Path:
    corpus = root / "corpus"
    (corpus / ".git").mkdir(parents=True)
    (corpus / ".git" / "config").write_text("[core]\n")
    (corpus / "~$方案.docx").write_bytes(b"\x04owner" + b"\x00" * 150)
    (corpus / ".备忘.txt").write_text("隐藏文件。\n", encoding="utf-8")
    (corpus / "Thumbs.db").write_bytes(b"\x00" * 64)
    outside = root / "outside.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (corpus / "口令.txt").symlink_to(outside)
    # Names as a zip made on Windows leaves them: GBK bytes, and bytes of no encoding.
    with open(os.fsencode(corpus) + b"/" + "环境保护".encode("gbk") + b".txt", "wb") as f:
        f.write(NOTICE.encode("utf-8"))
    with open(os.fsencode(corpus) + b"/bad\xff\xff.txt", "wb") as f:
        f.write(NOTICE.encode("utf-8"))
    (corpus / "记事本.txt").write_bytes("记事本通知\n请按时参加学习。\n".encode("utf-16"))
    (corpus / "受损.txt").write_bytes(damaged_utf8(None))
    (corpus / "乱码.txt").write_bytes(damaged_utf8(40))
    (corpus / "空白.txt").write_bytes(b"\n \r\n\t\n")
    (corpus / "大文件.txt").write_bytes(("大" * 20_000).encode("utf-8"))
    book = openpyxl.Workbook()
    book.active["A1"] = "名单"
    book.save(corpus / "名单.xlsx")
    (corpus / "办法.docx").write_bytes(law_docx())
    (corpus / "办法.txt").write_text("\n".join(LAW_LINES) + "\n", encoding="utf-8")
    locked = io.BytesIO()
    OOXMLFile(io.BytesIO(law_docx())).encrypt("secret", locked)
    (corpus / "加密.docx").write_bytes(locked.getvalue())
    return corpus


def test_every_file_in_a_real_share_is_accounted_for(db, tmp_path):
    corpus = make_share(tmp_path)
    report = sync_corpus(db, corpus, None, max_bytes=50_000)
    rows = [
        (f.path, f.status, f.kind, f.reason, f.passages, f.chars, f.pages, f.gaps, f.warnings)
        for f in report.files
    ]
    assert rows == [
        (".git", "skipped", "rule", "隐藏文件夹，按规则跳过", 0, 0, None, (), ()),
        (".备忘.txt", "skipped", "rule", "隐藏文件，按规则跳过", 0, 0, None, (), ()),
        ("Thumbs.db", "skipped", "rule", "系统文件，按规则跳过", 0, 0, None, (), ()),
        (
            "bad\\xff\\xff.txt",
            "failed",
            "bad_name",
            "文件名既不是 UTF-8 也不是 GBK/GB18030 编码，无法识别；请改名后再放入",
            *NOT_READ,
        ),
        (
            "~$方案.docx",
            "skipped",
            "rule",
            "Word/WPS 打开文件时留下的临时锁文件，按规则跳过",
            *NOT_READ,
        ),
        (
            "乱码.txt",
            "failed",
            "unreadable",
            "无法识别文字编码：按 UTF-8 有 216 个无效字节（占 7.53%，超过可替换的上限 0.1%），"
            "也不是 GBK/GB18030；或不是文本文件",
            *NOT_READ,
        ),
        ("办法.docx", "added", "", "", 4, 75, None, ("第三条 未找到",), ()),
        ("办法.txt", "duplicate", "duplicate", "与 “办法.docx” 内容相同，只索引一次", *NOT_READ),
        (
            "加密.docx",
            "failed",
            "encrypted",
            "文件已加密（设有打开密码），无法读取：请去掉密码后再放入",
            *NOT_READ,
        ),
        ("受损.txt", "added", "", "", 40, 991, None, (), (DAMAGED_WARNING,)),
        ("口令.txt", "failed", "symlink", "是符号链接，为安全起见不跟随，未索引", *NOT_READ),
        (
            "名单.xlsx",
            "failed",
            "unsupported",
            "不支持的文件类型 “.xlsx”（支持 .txt .md .docx .doc .wps .rtf .odt .pdf .png .jpg .jpeg .tif .tiff）",
            *NOT_READ,
        ),
        ("大文件.txt", "failed", "too_large", "文件大小 58.6 KB 超过上限 48.8 KB", *NOT_READ),
        (
            "环境保护.txt",
            "added",
            "",
            "",
            1,
            17,
            None,
            (),
            ("文件名不是 UTF-8 编码，已按 GBK/GB18030 识别",),
        ),
        ("空白.txt", "failed", "empty", "文件中没有可索引的文字", *NOT_READ),
        ("记事本.txt", "added", "", "", 1, 13, None, (), ()),
    ]
    assert db.execute("SELECT path, encoding FROM documents ORDER BY path").fetchall() == [
        ("办法.docx", None),
        ("受损.txt", "utf-8"),
        ("环境保护.txt", "utf-8"),
        ("记事本.txt", "utf-16"),
    ]
    # Nothing outside the corpus reached the index.
    assert db.execute("SELECT COUNT(*) FROM chunks WHERE text LIKE '%root%'").fetchone()[0] == 0


def test_the_cli_lists_every_file_and_fails_only_on_a_failed_file(tmp_path, monkeypatch):
    corpus = make_share(tmp_path)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("KB_EMBED_MODEL", "none")
    result = CliRunner().invoke(kb_cli, ["ingest"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].startswith(
        "新增 5，更新 0，未变 0，移除 0，失败 6；重复 1，跳过 4；"
    )
    assert "失败  口令.txt：是符号链接，为安全起见不跟随，未索引" in result.stderr.splitlines()
    assert result.stdout.splitlines()[:3] == [
        "跳过  .git：隐藏文件夹，按规则跳过",
        "跳过  .备忘.txt：隐藏文件，按规则跳过",
        "跳过  Thumbs.db：系统文件，按规则跳过",
    ]
    assert "新增  办法.docx：4 段，75 字" in result.stdout.splitlines()
    assert "    第三条 未找到" in result.stdout.splitlines()
    # Only skipped files and a duplicate left: the run succeeds.
    for path in corpus.iterdir():
        if path.is_symlink() or path.suffix in (".xlsx", ".db") or path.name[0] in "~.":
            continue
        if path.name not in ("办法.docx", "办法.txt"):
            path.unlink()
    again = CliRunner().invoke(kb_cli, ["ingest"])
    assert again.exit_code == 1  # the symlink and the spreadsheet are still there
    assert again.stdout.splitlines()[-1].startswith(
        "新增 0，更新 0，未变 1，移除 4，失败 2；重复 1，跳过 4；"
    )
    (corpus / "口令.txt").unlink()
    (corpus / "名单.xlsx").unlink()
    last = CliRunner().invoke(kb_cli, ["ingest"])
    *lines, summary = last.stdout.splitlines()
    assert (last.exit_code, lines) == (
        0,
        [
            "跳过  .git：隐藏文件夹，按规则跳过",
            "跳过  .备忘.txt：隐藏文件，按规则跳过",
            "跳过  Thumbs.db：系统文件，按规则跳过",
            "跳过  ~$方案.docx：Word/WPS 打开文件时留下的临时锁文件，按规则跳过",
            "重复  办法.txt：与 “办法.docx” 内容相同，只索引一次",
        ],
    )
    assert summary.startswith(
        "新增 0，更新 0，未变 1，移除 0，失败 0；重复 1，跳过 4；计算向量 0 段"
    )


def test_uploads_of_many_files_give_one_report(db, tmp_path):
    corpus = tmp_path / "corpus"
    report = ingest_uploads(
        db,
        corpus,
        [
            ("办法.docx", law_docx()),
            ("办法.txt", ("\n".join(LAW_LINES) + "\n").encode()),
            ("~$办法.docx", b"\x04owner"),
            ("名单.xlsx", b"PK\x03\x04"),
            ("通知.txt", NOTICE.encode("utf-16")),
        ],
        None,
        max_bytes=1_000_000,
    )
    assert [(r["文件"], r["结果"], r["段落"], r["说明"]) for r in report.table()] == [
        ("办法.docx", "新增", 4, "第三条 未找到"),
        ("办法.txt", "重复", None, "与 “办法.docx” 内容相同，只索引一次"),
        ("~$办法.docx", "跳过", None, "Word/WPS 打开文件时留下的临时锁文件，按规则跳过"),
        (
            "名单.xlsx",
            "失败（不支持的类型）",
            None,
            "不支持的文件类型 “.xlsx”（支持 .txt .md .docx .doc .wps .rtf .odt .pdf .png .jpg .jpeg .tif .tiff）",
        ),
        ("通知.txt", "新增", 1, ""),
    ]
    # Only what was indexed was written into the corpus folder.
    assert sorted(p.name for p in corpus.iterdir()) == ["办法.docx", "通知.txt"]


def test_utf32_and_utf16_big_endian_text_is_read(tmp_path):
    for codec in ("utf-32", "utf-16-be"):
        path = tmp_path / f"{codec}.txt"
        bom = "\ufeff" if codec.endswith("-be") else ""
        path.write_bytes((bom + NOTICE).encode(codec))
        result = read_document(path)
        assert (result.lines, result.encoding) == (
            ("学习通知", "请各科室于月底前完成学习。"),
            codec[:6],
        )


def test_a_document_replaced_by_a_symlink_leaves_the_index(db, tmp_path, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    secret = tmp_path / "secret.txt"
    secret.write_text("口令：root\n", encoding="utf-8")
    (tiny_corpus / "tiny_plan.txt").unlink()
    (tiny_corpus / "tiny_plan.txt").symlink_to(secret)
    (tiny_corpus / "linked").symlink_to(tmp_path, target_is_directory=True)
    report = sync_corpus(db, tiny_corpus, None)
    assert [(f.path, f.status, f.reason) for f in report.files] == [
        ("linked", "failed", "是指向文件夹的符号链接，为安全起见不跟随"),
        ("tiny_law.md", "unchanged", ""),
        ("tiny_plan.txt", "failed", "是符号链接，为安全起见不跟随，未索引"),
        ("tiny_plan.txt", "removed", ""),
    ]
    assert db.execute("SELECT path FROM documents").fetchall() == [("tiny_law.md",)]
