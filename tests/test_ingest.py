"""Sync semantics: unchanged files cost nothing, changed ones are replaced whole,
removed ones leave, unreadable ones are reported and nothing is half-written."""

from __future__ import annotations

import pytest

from kb.documents import find_quote, get_document, list_documents
from kb.ingest import ingest_upload, sync_corpus
from tests.conftest import CountingEmbedder


def table_counts(db) -> dict[str, int]:
    return {
        name: db.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        for name in ("documents", "blocks", "chunks", "chunks_fts", "vectors")
    } | {"units": db.execute("SELECT COUNT(DISTINCT embed_hash) FROM chunk_units").fetchone()[0]}


def snapshot(db) -> list[tuple]:
    return db.execute(
        "SELECT d.path, d.content_hash, c.seq, c.heading_path, c.text FROM chunks c"
        " JOIN documents d ON d.id = c.doc_id ORDER BY d.path, c.seq"
    ).fetchall()


def test_first_sync_indexes_every_document(db, tiny_corpus, embedder):
    report = sync_corpus(db, tiny_corpus, embedder)
    assert (report.added, report.updated, report.unchanged, report.removed, report.errors) == (
        ["tiny_law.md", "tiny_plan.txt"],
        [],
        [],
        [],
        [],
    )
    assert [(d.path, d.title) for d in list_documents(db)] == [
        ("tiny_plan.txt", "测试单位工作方案"),
        ("tiny_law.md", "测试环境条例"),
    ]
    counts = table_counts(db)
    assert counts["chunks"] == counts["chunks_fts"]
    assert counts["units"] == counts["vectors"] == report.passages_embedded > counts["chunks"]


def test_unchanged_files_cost_nothing(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, embedder)
    before = snapshot(db)
    embedder.passages_seen.clear()
    report = sync_corpus(db, tiny_corpus, embedder)
    assert (report.added, report.updated, report.unchanged) == (
        [],
        [],
        ["tiny_law.md", "tiny_plan.txt"],
    )
    assert embedder.passages_seen == []
    assert snapshot(db) == before


def test_a_changed_file_is_replaced_and_only_new_passages_are_embedded(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, embedder)
    path = tiny_corpus / "tiny_law.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n第四条 本条例自公布之日起施行。\n")
    embedder.passages_seen.clear()
    report = sync_corpus(db, tiny_corpus, embedder)
    assert report.updated == ["tiny_law.md"]
    assert embedder.passages_seen == ["本条例自公布之日起施行。"]
    texts = [row[4] for row in snapshot(db) if row[0] == "tiny_law.md"]
    assert texts[-1] == "本条例自公布之日起施行。"
    counts = table_counts(db)
    assert (counts["chunks"], counts["units"]) == (counts["chunks_fts"], counts["vectors"])


def test_a_removed_file_leaves_the_index(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, embedder)
    (tiny_corpus / "tiny_law.md").unlink()
    report = sync_corpus(db, tiny_corpus, embedder)
    assert report.removed == ["tiny_law.md"]
    assert [d.path for d in list_documents(db)] == ["tiny_plan.txt"]
    counts = table_counts(db)
    assert (counts["chunks"], counts["units"]) == (counts["chunks_fts"], counts["vectors"])
    assert (
        db.execute(
            "SELECT COUNT(*) FROM blocks b LEFT JOIN documents d ON d.id = b.doc_id"
            " WHERE d.id IS NULL"
        ).fetchone()[0]
        == 0
    )


def test_an_unreadable_file_is_reported_and_the_rest_indexed(db, tiny_corpus, embedder):
    (tiny_corpus / "broken.docx").write_bytes(b"PK\x03\x04 truncated")
    (tiny_corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    report = sync_corpus(db, tiny_corpus, embedder)
    assert report.errors == [
        "binary.txt: 不是文本文件（含有二进制内容）",
        "broken.docx: 不是有效的 Word（.docx）文件",
    ]
    assert report.added == ["tiny_law.md", "tiny_plan.txt"]


def test_a_file_that_turns_unreadable_keeps_its_previous_version(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, embedder)
    before = snapshot(db)
    (tiny_corpus / "tiny_plan.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = sync_corpus(db, tiny_corpus, embedder)
    assert report.errors == ["tiny_plan.txt: 不是文本文件（含有二进制内容）"]
    assert snapshot(db) == before


def test_a_failure_inside_the_write_leaves_nothing_half_written(db, tiny_corpus, monkeypatch):
    sync_corpus(db, tiny_corpus, None)
    before = snapshot(db)
    (tiny_corpus / "tiny_plan.txt").write_text("新方案\n一、目标\n全新的内容。\n", encoding="utf-8")
    import kb.ingest

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(kb.ingest, "bump_generation", explode)
    with pytest.raises(RuntimeError):
        sync_corpus(db, tiny_corpus, None)
    assert snapshot(db) == before


def test_a_change_of_model_re_embeds_and_never_mixes(db, tiny_corpus):
    first, second = CountingEmbedder("model-a"), CountingEmbedder("model-b", dimension=32)
    sync_corpus(db, tiny_corpus, first)
    report = sync_corpus(db, tiny_corpus, second)
    n_units = table_counts(db)["units"]
    assert report.passages_embedded == n_units
    rows = db.execute("SELECT model, dim, COUNT(*) FROM vectors GROUP BY model ORDER BY model")
    assert rows.fetchall() == [("model-a", 64, n_units), ("model-b", 32, n_units)]


def test_lexical_only_ingest_gets_vectors_once_a_model_is_there(db, tiny_corpus, embedder):
    sync_corpus(db, tiny_corpus, None)
    assert table_counts(db)["vectors"] == 0
    report = sync_corpus(db, tiny_corpus, embedder)
    assert report.unchanged == ["tiny_law.md", "tiny_plan.txt"]
    assert table_counts(db)["vectors"] == table_counts(db)["units"] == report.passages_embedded


def test_upload_is_validated_before_anything_is_written(db, tmp_path, embedder):
    corpus = tmp_path / "uploads"
    bad = ingest_upload(db, corpus, "scan.txt", b"\x00\xff" * 50, embedder, max_bytes=10_000)
    big = ingest_upload(db, corpus, "big.txt", "字".encode() * 5000, embedder, max_bytes=10_000)
    assert bad.errors == ["scan.txt: 不是文本文件（含有二进制内容）"]
    assert big.errors == ["big.txt: 文件大小 14.6 KB 超过上限 9.8 KB"]
    assert not corpus.exists() or list(corpus.iterdir()) == []
    assert table_counts(db)["documents"] == 0
    good = ingest_upload(
        db, corpus, "../../通知.txt", "学习通知\n请于月底前完成学习。\n".encode(), embedder, 10_000
    )
    assert (good.added, good.errors) == (["通知.txt"], [])
    assert [p.name for p in corpus.iterdir()] == ["通知.txt"]


def test_reader_view_and_quote_lookup(db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    view = get_document(db, "tiny_plan.txt")
    assert [(p.kind, p.text) for p in view.paragraphs[:4]] == [
        ("title", "测试单位工作方案"),
        ("heading", "一、主要目标"),
        ("text", "1、公众对城市环保的满意率70%;"),
        ("text", "、文明志愿服务活动经常化;"),
    ]
    passage = find_quote(db, "tiny_plan.txt", "没有按期完成任务的责任单位")
    assert (passage.heading_path, passage.text) == (
        "三、工作措施 › (一)责任考核",
        "对没有按期完成任务的责任单位要通报批评，并追究主要领导的责任。",
    )
    assert find_quote(db, "tiny_plan.txt", "不存在的引文") is None


def test_extracted_texts_equal_what_the_index_holds(db, tiny_corpus):
    from kb.documents import document_texts
    from kb.ingest import extract_texts

    sync_corpus(db, tiny_corpus, None)
    texts, errors = extract_texts(tiny_corpus)
    assert (texts, errors) == (document_texts(db), [])


def test_the_model_loads_only_when_a_vector_is_missing(db, tiny_corpus):
    from kb.embedding import LazyEmbedder, ModelStatus

    loads = []

    def load():
        loads.append("load")
        return ModelStatus(CountingEmbedder("model-a"), "model-a")

    first = sync_corpus(db, tiny_corpus, LazyEmbedder("model-a", load))
    again = sync_corpus(db, tiny_corpus, LazyEmbedder("model-a", load))
    assert (loads, first.passages_embedded > 0, again.passages_embedded) == (["load"], True, 0)
    path = tiny_corpus / "tiny_law.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n第四条 本条例自公布之日起施行。\n")
    changed = sync_corpus(db, tiny_corpus, LazyEmbedder("model-a", load))
    assert (loads, changed.updated, changed.passages_embedded) == (
        ["load", "load"],
        ["tiny_law.md"],
        1,
    )


def test_a_model_that_fails_to_load_leaves_a_lexical_index(db, tiny_corpus):
    from kb.embedding import LazyEmbedder, ModelStatus

    lazy = LazyEmbedder("model-b", lambda: ModelStatus(None, "model-b", "语义模型无法加载"))
    report = sync_corpus(db, tiny_corpus, lazy)
    assert (report.added, report.errors, report.passages_embedded) == (
        ["tiny_law.md", "tiny_plan.txt"],
        [],
        0,
    )
    assert lazy.status.message == "语义模型无法加载"
    assert table_counts(db)["vectors"] == 0 < table_counts(db)["chunks"]
