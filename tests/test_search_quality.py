"""Search on a bureau's overlapping documents, with exact expectations on tiny corpora:
restatements grouped, the highlight of content words, and "no good match"."""

from __future__ import annotations

import shutil

import pytest

from kb.embedding import load_embedder
from kb.highlight import highlight_segments
from kb.ingest import sync_corpus
from kb.restatements import short_title
from kb.search import NO_MATCH_COSINE, SeeAlso, VectorIndex, search
from kb.words import content_words
from tests.conftest import DATA


@pytest.fixture
def restating(db, tmp_path):
    """A plan, five branches' study notes quoting one line of it, and a rule."""
    folder = tmp_path / "restatements"
    shutil.copytree(DATA / "restatements", folder)
    report = sync_corpus(db, folder, None)
    assert report.errors == []
    return db


def places(result):
    return [(h.doc_path, h.heading_path, h.text) for h in result.hits]


def test_restatements_are_one_hit_with_the_quoted_plan_first(restating):
    result = search(restating, "六场攻坚战", method="lexical", k=5)
    assert places(result)[:2] == [
        (
            "fangan.txt",
            "一、主要内容",
            "以实施“污染减排”为主线，全力打好“六场攻坚战”，努力实现“六个确保”。",
        ),
        ("tiaoli.md", "第一章 总则 › 第二条", "攻坚战的进度每季度通报一次。"),
    ]
    ids = {
        path: chunk_id
        for chunk_id, path in restating.execute(
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.doc_id"
            " WHERE c.text LIKE '%六场攻坚战%'"
        )
    }
    assert sorted(result.hits[0].also, key=lambda s: s.doc_path) == [
        SeeAlso(ids[f"biji_{i}.md"], f"biji_{i}.md", f"第{i}支部学习笔记", "一、攻坚任务")
        for i in range(1, 6)
    ]
    # The five copies take one place; the rest of the top five is other passages.
    assert len({h.doc_path for h in result.hits}) == len(result.hits)
    assert result.hits[1].also == ()


def test_without_grouping_the_copies_fill_the_top_five(restating):
    result = search(restating, "六场攻坚战", method="lexical", k=5, group=False)
    assert all("六场攻坚战" in h.text for h in result.hits)


def test_a_short_title_is_how_other_documents_name_one():
    assert short_title("创建全国文明单位实施方案") == "实施方案"
    assert short_title("中华人民共和国环境保护法") == "境保护法"
    assert short_title("公务员职业道德学习材料（结合环保工作）") == "学习材料"


def test_the_highlight_marks_whole_content_words_not_question_words():
    assert highlight_segments("接待群众要使用文明用语", "来访群众怎么接待") == [
        ("接待群众", True),
        ("要使用文明用语", False),
    ]
    assert highlight_segments("什么时候推行一次性告知服务，是否方便", "什么是一次性告知") == [
        ("什么时候推行", False),
        ("一次性告知", True),
        ("服务，是否方便", False),
    ]
    assert content_words("群众来问的事不归我管，我该怎么做") == ["群众"]
    # Full-width input marks the half-width text, and a one-character query still marks.
    assert highlight_segments("满意率70%", "满意率７０％") == [("满意率70", True), ("%", False)]
    assert highlight_segments("不得排放油烟", "油") == [("不得排放油烟", False)]


def test_without_a_model_no_good_match_means_none_of_the_words_was_found(restating):
    off_topic = search(restating, "明天天气怎么样", k=5)
    assert (off_topic.method, off_topic.weak) == ("lexical", True)
    assert off_topic.hits  # the nearest passages are still there, to show as weak
    answerable = search(restating, "攻坚战的进度多久通报一次", k=5)
    assert answerable.weak is False
    assert answerable.hits[0].text == "攻坚战的进度每季度通报一次。"


@pytest.fixture(scope="module")
def builtin(tmp_path_factory):
    status = load_embedder("builtin", tmp_path_factory.mktemp("models"), threads=2)
    assert status.message == ""
    return status.embedder


@pytest.mark.model
def test_with_the_model_no_good_match_is_the_calibrated_cosine_floor(builtin, db, tiny_corpus):
    sync_corpus(db, tiny_corpus, builtin)
    index = VectorIndex()
    assert NO_MATCH_COSINE == {"builtin:": 0.892}
    off_topic = search(db, "感冒发烧了吃什么药好得快", embedder=builtin, index=index, k=3)
    answerable = search(db, "居民区附近可以排放油烟吗", embedder=builtin, index=index, k=3)
    assert (off_topic.method, off_topic.weak) == ("hybrid", True)
    assert off_topic.hits and off_topic.hits[0].score > 0
    assert (answerable.method, answerable.weak) == ("hybrid", False)
    assert answerable.hits[0].text == "任何单位不得在居民区附近排放油烟。"
