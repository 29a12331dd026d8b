"""The benchmark's question sets cannot rot: every expected string stands in a passage of
the index they are asked of (the shipped corpus and the six public laws, one index)."""

from __future__ import annotations

import pytest

from base.settings import PROJECT_ROOT
from kb.evaluate import answer_text, load_questions, rank_of
from kb.ingest import list_corpus, sync_corpus

DATA = PROJECT_ROOT / "bench" / "data"
WHOLE_SETS = sorted(DATA.glob("whole_*.tsv"))


@pytest.fixture(scope="module")
def whole_passages(tmp_path_factory):
    """Every passage of the one index the whole_* sets are asked of, as eval reads it."""
    from base.store import open_db
    from kb.schema import ensure_schema
    from tests.conftest import PUBLIC_CORPUS

    if not PUBLIC_CORPUS.is_dir():
        pytest.skip("../shared/corpus-public is not present")
    database = open_db(tmp_path_factory.mktemp("whole") / "whole.sqlite3")
    ensure_schema(database)
    corpus = PROJECT_ROOT / "corpus"
    files = list_corpus(corpus) + sorted(PUBLIC_CORPUS.glob("*.txt"))
    report = sync_corpus(database, corpus, None, files)
    assert report.errors == []
    passages = [
        answer_text(heading, text)
        for heading, text in database.execute("SELECT heading_path, text FROM chunks")
    ]
    database.close()
    return passages


def test_the_sets_are_the_size_the_benchmark_promises():
    questions = {path.stem: load_questions(path) for path in WHOLE_SETS}
    total = sum(len(q) for q in questions.values())
    off_topic = [q for qs in questions.values() for q in qs if not q.answerable]
    several = [q for qs in questions.values() for q in qs if len(q.expected) > 1]
    assert total >= 300
    assert len(off_topic) == 30
    assert len(several) >= 20
    for name in ("literal", "paraphrased", "laws", "offtopic"):
        tune, held = questions[f"whole_{name}_tune"], questions[f"whole_{name}_heldout"]
        assert abs(len(tune) - len(held)) <= 3, name
        assert not {q.text for q in tune} & {q.text for q in held}, name


@pytest.mark.parametrize("path", WHOLE_SETS, ids=lambda p: p.stem)
def test_every_expected_string_stands_in_a_passage(whole_passages, path):
    missing = [
        (question.text, expected)
        for question in load_questions(path)
        for expected in question.expected
        if rank_of(whole_passages, [expected]) is None
    ]
    assert missing == []
