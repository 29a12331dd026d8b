"""The query-expansion lexicon that bench/bench_levers.py measures: how it is read, what it
adds to a query, and that each entry's source says truly whether its spoken word stands in
a question of the tuning half (the held-out half is what judges the lexicon)."""

from __future__ import annotations

import pytest

from base.settings import PROJECT_ROOT
from bench.query_expansion import (
    Entry,
    LexiconError,
    expand_query,
    expansion_words,
    load_lexicon,
    parse_lexicon,
)
from kb.evaluate import load_questions

LEXICON = """# comment
工厂\t工业 企业\tgeneral

垃圾\t固体废物\ttune
"""


def test_a_lexicon_is_read_line_by_line_with_its_sources():
    assert parse_lexicon(LEXICON) == (
        Entry("工厂", ("工业", "企业"), "general"),
        Entry("垃圾", ("固体废物",), "tune"),
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("工厂\t工业", "lexicon, line 2: expected spoken<TAB>words<TAB>source, got '工厂\\t工业'"),
        ("厂\t企业\tgeneral", "lexicon, line 2: the spoken word '厂' is shorter than 2 characters"),
        ("工厂\t \tgeneral", "lexicon, line 2: no document words for '工厂'"),
        ("工厂\t企业\tguess", "lexicon, line 2: source 'guess' is not one of general, tune"),
    ],
)
def test_a_bad_line_is_named_with_what_is_wrong(line, message):
    with pytest.raises(LexiconError) as caught:
        parse_lexicon(f"# header\n{line}\n")
    assert str(caught.value) == message


def test_expansion_adds_the_document_words_the_query_lacks_once_each():
    entries = parse_lexicon(LEXICON + "厂家\t企业 厂商\tgeneral\n")
    assert expansion_words("工厂和厂家的垃圾归谁管", entries) == [
        "工业",
        "企业",
        "固体废物",
        "厂商",
    ]
    assert expansion_words("工业企业的工厂", entries) == []
    assert expand_query("管垃圾的法律", entries) == "管垃圾的法律 固体废物"
    assert expand_query("大气污染", entries) == "大气污染"


def test_each_shipped_entry_says_truly_whether_a_tuning_question_holds_its_word():
    tuning = [
        q.text
        for path in sorted((PROJECT_ROOT / "bench" / "data").glob("whole_*_tune.tsv"))
        for q in load_questions(path)
    ]
    entries = load_lexicon()
    wrong = [
        (e.spoken, e.source)
        for e in entries
        if (e.source == "tune") != any(e.spoken in text for text in tuning)
    ]
    assert wrong == []
    assert {e.source for e in entries} == {"general", "tune"}
