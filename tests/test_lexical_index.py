"""The lexical index: FTS5's own BM25 order, the document filter inside the ranking, and
a snapshot on disk that follows the database through ingest, crashes and rebuilds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from base.settings import PROJECT_ROOT
from kb import lexical_index
from kb.evaluate import load_questions
from kb.ingest import ingest_upload, sync_corpus
from kb.lexical_index import LexicalIndex, fts5_top, index_for, publish, snapshot_dir
from kb.schema import generation
from kb.search import search

QUESTIONS = PROJECT_ROOT / "bench" / "data"
TINY_QUERIES = [
    "满意率",
    "单位",
    "油",
    "环境日是哪天",
    "６月５日",
    "没按时完成任务会怎样",
    "PM 70%",
]


class SimulatedCrash(BaseException):
    """Stands for the process dying at the point where it is raised: no ``except
    Exception`` cleans up after it."""


def crash(*_args: object) -> None:
    raise SimulatedCrash


@pytest.fixture
def indexed(db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    return db


def texts(db, ranked) -> list[str]:
    by_id = dict(db.execute("SELECT id, text FROM chunks").fetchall())
    return [by_id[chunk_id] for chunk_id, _ in ranked]


def assert_same_ranking(db, query: str, depth: int = 50) -> None:
    """The index gives FTS5's bm25() order and scores (float32 impacts: 1e-5)."""
    expected = fts5_top(db, query, depth)
    got = LexicalIndex().snapshot(db).top(query, depth)
    assert [c for c, _ in got] == [c for c, _ in expected], query
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-5)


def snapshot_names(db) -> list[str]:
    return sorted(p.name for p in snapshot_dir(db).iterdir())


def test_tiny_corpus_ranks_exactly_as_fts5_bm25(indexed):
    for query in TINY_QUERIES:
        assert_same_ranking(indexed, query)
    top = LexicalIndex().snapshot(indexed).top("环境", 50)
    assert texts(indexed, top) == [
        "每年6月5日为环境日。",
        "为了保护和改善环境，制定本条例。",
        "一切单位和个人都有保护环境的义务。",
        "任何单位不得在居民区附近排放油烟。",
        "1、公众对城市环保的满意率70%;",
    ]


def test_public_corpus_ranks_exactly_as_fts5_bm25(db, public_corpus):
    sync_corpus(db, public_corpus, None)
    questions = [
        q.text
        for name in ("public_literal", "public_paraphrased", "plan_literal")
        for q in load_questions(QUESTIONS / f"{name}.tsv")
    ]
    assert len(questions) == 85
    for query in questions:
        assert_same_ranking(db, query)


def test_document_filter_returns_exactly_the_filtered_top_k(indexed):
    # The plan's one passage with 环 is not in the unfiltered top 3: a filter applied
    # after the cut would find nothing.
    unfiltered = search(indexed, "环境", method="lexical", k=3)
    assert {h.doc_path for h in unfiltered.hits} == {"tiny_law.md"}
    result = search(indexed, "环境", method="lexical", k=3, documents=["tiny_plan.txt"])
    assert [(h.doc_path, h.text) for h in result.hits] == [
        ("tiny_plan.txt", "1、公众对城市环保的满意率70%;")
    ]
    law = {
        r[0]
        for r in indexed.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON"
            " d.id = c.doc_id WHERE d.path = 'tiny_law.md'"
        )
    }
    for query in TINY_QUERIES:
        expected = [hit for hit in fts5_top(indexed, query, 1000) if hit[0] in law][:2]
        got = search(indexed, query, method="lexical", k=2, documents=["tiny_law.md"])
        assert [h.chunk_id for h in got.hits] == [c for c, _ in expected], query
        assert [h.score for h in got.hits] == pytest.approx([s for _, s in expected]), query
    assert search(indexed, "单位", method="lexical", documents=[]).hits == ()
    assert search(indexed, "单位", method="lexical", documents=["nope.txt"]).hits == ()


def test_the_snapshot_follows_ingest_reingest_and_removal(db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    assert snapshot_names(db) == [f"g{generation(db)}", "lock"]
    assert [h.text for h in search(db, "颁布", method="lexical").hits] == []

    law = tiny_corpus / "tiny_law.md"
    law.write_text(law.read_text(encoding="utf-8") + "\n第四条 本条例自颁布之日起施行。\n")
    sync_corpus(db, tiny_corpus, None)
    assert snapshot_names(db) == [f"g{generation(db)}", "lock"]
    assert [h.text for h in search(db, "颁布", method="lexical").hits] == [
        "本条例自颁布之日起施行。"
    ]
    for query in [*TINY_QUERIES, "颁布"]:
        assert_same_ranking(db, query)

    law.unlink()
    sync_corpus(db, tiny_corpus, None)
    assert snapshot_names(db) == [f"g{generation(db)}", "lock"]
    assert search(db, "颁布", method="lexical").hits == ()
    assert {h.doc_path for h in search(db, "单位 环境", method="lexical").hits} == {"tiny_plan.txt"}
    for query in TINY_QUERIES:
        assert_same_ranking(db, query)


def test_an_upload_publishes_the_snapshot(indexed, tiny_corpus):
    report = ingest_upload(
        indexed,
        tiny_corpus,
        "通知.txt",
        "关于颁布新规的通知\n新规自颁布之日起施行。\n".encode(),
        None,
        max_bytes=10_000,
    )
    assert report.added == ["通知.txt"]
    assert snapshot_names(indexed) == [f"g{generation(indexed)}", "lock"]
    assert search_in_new_process(indexed, "颁布") == ["新规自颁布之日起施行。"]


def test_a_missing_snapshot_is_rebuilt(indexed):
    before = fts5_top(indexed, "环境 学习 责任", 50)
    folder = snapshot_dir(indexed)
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            for f in path.iterdir():
                f.unlink()
            path.rmdir()
    fresh = LexicalIndex()  # another process: nothing in memory
    after = fresh.snapshot(indexed).top("环境 学习 责任", 50)
    assert [c for c, _ in after] == [c for c, _ in before]
    assert snapshot_names(indexed) == [f"g{generation(indexed)}", "lock"]


def test_a_stale_or_foreign_snapshot_is_not_used(db, tiny_corpus, tmp_path):
    sync_corpus(db, tiny_corpus, None)
    old = generation(db)
    law = tiny_corpus / "tiny_law.md"
    law.write_text(law.read_text(encoding="utf-8") + "\n第四条 本条例自颁布之日起施行。\n")
    # The ingest commits but never writes a snapshot: the one on disk is stale.
    sync_corpus(db, tiny_corpus, None, publish_lexical=lambda _db: None)
    assert snapshot_names(db) == [f"g{old}", "lock"]
    assert [h.text for h in search(db, "颁布", method="lexical").hits] == [
        "本条例自颁布之日起施行。"
    ]
    assert snapshot_names(db) == [f"g{generation(db)}", "lock"]

    # Another database at the same generation (a restored copy that went its own way):
    # the passage fingerprint differs, so its snapshot is rebuilt, not trusted.
    current = lexical_index.load(snapshot_dir(db), generation(db), lexical_index.fingerprint(db))
    assert current is not None
    db.execute("DELETE FROM chunks_fts WHERE rowid = (SELECT MAX(id) FROM chunks)")
    db.execute("DELETE FROM chunks WHERE id = (SELECT MAX(id) FROM chunks)")
    stamp = lexical_index.fingerprint(db)
    assert lexical_index.load(snapshot_dir(db), generation(db), stamp) is None
    assert search_in_new_process(db, "颁布") == []
    assert lexical_index.load(snapshot_dir(db), generation(db), stamp) is not None


def search_in_new_process(db, query: str) -> list[str]:
    return texts(db, LexicalIndex().snapshot(db).top(query, 10))


def test_a_crash_between_the_commit_and_the_snapshot_leaves_search_correct(db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    search(db, "满意率", method="lexical")  # this process has the snapshot in memory
    law = tiny_corpus / "tiny_law.md"
    law.write_text(law.read_text(encoding="utf-8") + "\n第四条 本条例自颁布之日起施行。\n")
    with pytest.raises(SimulatedCrash):
        sync_corpus(db, tiny_corpus, None, publish_lexical=crash)
    # The passage is committed in SQLite; both this process and a new one find it.
    assert [h.text for h in search(db, "颁布", method="lexical").hits] == [
        "本条例自颁布之日起施行。"
    ]
    assert search_in_new_process(db, "颁布") == ["本条例自颁布之日起施行。"]
    for query in [*TINY_QUERIES, "颁布"]:
        assert_same_ranking(db, query)


def test_a_crash_while_writing_the_snapshot_leaves_search_correct(db, tiny_corpus):
    sync_corpus(db, tiny_corpus, None)
    law = tiny_corpus / "tiny_law.md"
    law.write_text(law.read_text(encoding="utf-8") + "\n第四条 本条例自颁布之日起施行。\n")
    with pytest.raises(SimulatedCrash):
        sync_corpus(db, tiny_corpus, None, publish_lexical=lambda d: publish(d, interrupt=crash))
    names = snapshot_names(db)
    assert len(names) == 3 and names[1] == "lock" and names[2].startswith("tmp-")
    assert names[0] != f"g{generation(db)}"
    assert search_in_new_process(db, "颁布") == ["本条例自颁布之日起施行。"]
    # The rebuild took the lock and cleared the interrupted build's folder.
    assert snapshot_names(db) == [f"g{generation(db)}", "lock"]


def test_a_snapshot_that_cannot_be_written_leaves_search_right(db, tiny_corpus, caplog):
    def disk_full(stage: str) -> None:
        raise OSError(28, "No space left on device")

    sync_corpus(db, tiny_corpus, None, publish_lexical=lambda d: publish(d, interrupt=disk_full))
    assert "No space left on device" in caplog.text
    assert snapshot_names(db) == ["lock"]  # the half-written folder was removed
    assert search_in_new_process(db, "满意率") == ["1、公众对城市环保的满意率70%;"]


def test_two_processes_publishing_at_once_leave_one_whole_snapshot(indexed):
    folder = snapshot_dir(indexed)
    db_path = Path(str(folder).removesuffix(".lexical"))
    for path in folder.iterdir():
        if path.is_dir():
            for f in path.iterdir():
                f.unlink()
            path.rmdir()
    code = (
        "import sys; from base.store import open_db; from kb.lexical_index import publish;"
        "s = publish(open_db(sys.argv[1])); print(s.generation, len(s.chunk_ids))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(db_path)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    passages = indexed.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert outputs == [[str(generation(indexed)), str(passages)]] * 2
    assert snapshot_names(indexed) == [f"g{generation(indexed)}", "lock"]
    assert_same_ranking(indexed, "满意率")


def test_every_connection_of_a_process_shares_one_index(indexed, tmp_path):
    from base.store import open_db

    other = open_db(tmp_path / "test.sqlite3")
    try:
        assert index_for(other) is index_for(indexed)
        assert index_for(other).snapshot(other) is index_for(indexed).snapshot(indexed)
    finally:
        other.close()
