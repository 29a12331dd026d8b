"""The shipped bank as a measure of study: it covers every section of the plan, never
tests a gloss as official text, lists its accepted fill variants, and gives nothing away
by the length of an option."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from base.settings import Settings
from kb.chunking import PATH_SEPARATOR, ChunkedDocument, chunk_lines
from kb.readers import read_document
from quizzes.bank import Bank, Question, Source, load_bank, normalize_quote
from quizzes.cli_bank import corpus_texts
from quizzes.grading import normalize_fill

PLAN = "chuangjian_wenming_danwei_shishi_fangan.txt"
GLOSS_MARK = "说明："
MIN_QUESTIONS = 130
# A right option may be at most this many characters longer than the longest wrong one:
# the longest, most careful-sounding option must not be the answer by its look alone.
LENGTH_TELL = 2


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return corpus_texts(Settings.from_env({}))


@pytest.fixture(scope="module")
def plan() -> ChunkedDocument:
    """The plan chunked as the knowledge base indexes it."""
    read = read_document(Settings.from_env({}).corpus_dir / PLAN)
    return chunk_lines(read.lines, markdown=read.markdown)


@pytest.fixture(scope="module")
def bank(corpus) -> Bank:
    loaded = load_bank(Settings.from_env({}).quiz_dir, corpus)
    assert (loaded.errors, loaded.flagged) == ({}, ())
    return loaded


def active(bank: Bank) -> list[tuple[str, Question]]:
    return [(quiz.id, q) for quiz in bank.quizzes.values() for q in quiz.active_questions]


def plan_sections(document: ChunkedDocument) -> tuple[list[str], list[tuple[str, str]]]:
    """The plan's numbered sections (一、 to 五、 and each （一） under them) as heading paths,
    and each block's section with its folded text."""
    sections = [b.heading_path for b in document.blocks if b.kind == "heading" and b.level <= 2]
    blocks = [
        (PATH_SEPARATOR.join(b.heading_path.split(PATH_SEPARATOR)[:2]), normalize_quote(b.text))
        for b in document.blocks
        if b.heading_path
    ]
    return sections, blocks


def section_coverage(
    document: ChunkedDocument, quotes: Iterable[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``(untested sections, quotes that do not name exactly one section)`` for
    ``(question, quote)`` pairs of questions that cite the plan."""
    sections, blocks = plan_sections(document)
    tested: set[str] = set()
    unplaced: list[tuple[str, list[str]]] = []
    for question, quote in quotes:
        needle = normalize_quote(quote)
        found = sorted({section for section, text in blocks if needle in text})
        if len(found) != 1:
            unplaced.append((question, found))
            continue
        top = found[0].split(PATH_SEPARATOR)[0]
        tested.update({found[0], top})
    return [s for s in sections if s not in tested], unplaced


def glosses_tested_as_official(
    corpus: Mapping[str, str], questions: Iterable[tuple[str, Question]]
) -> list[str]:
    """Questions whose quote stands only in the team's explanations (paragraphs that open
    with 说明：) while the stem does not say it asks what the study material explains."""
    wrong = []
    for label, question in questions:
        text = corpus[question.source.document]
        needle = normalize_quote(question.source.quote)
        lines = [line for line in text.splitlines() if needle in normalize_quote(line)]
        only_glossed = bool(lines) and all(line.startswith(GLOSS_MARK) for line in lines)
        if only_glossed and "学习材料" not in question.stem:
            wrong.append(label)
    return wrong


def test_every_section_of_the_plan_is_tested(bank, plan):
    sections, _ = plan_sections(plan)
    assert [s for s in sections if PATH_SEPARATOR not in s] == [
        "一、指导思想",
        "二、主要目标",
        "三、创建的主要内容",
        "四、实施步骤",
        "五、工作措施",
    ]
    assert len(sections) == 18  # the five parts, and 5 + 3 + 5 sections under 三、四、五
    quotes = [
        (f"{quiz_id} {q.id}", q.source.quote)
        for quiz_id, q in active(bank)
        if q.source.document == PLAN
    ]
    assert section_coverage(plan, quotes) == ([], [])


def test_section_coverage_names_what_is_missing_and_what_is_ambiguous(plan):
    quotes = [
        ("a", "公众对城市环保的满意率70%"),
        ("b", "同时部署、同时检查、同时考核、同时落实"),
        ("c", "重要议事日程"),  # in 四、(一) and in 五、(一)
        ("d", "不在方案中的话"),
    ]
    untested, unplaced = section_coverage(plan, quotes)
    assert unplaced == [
        ("c", ["五、工作措施 › (一)提高认识", "四、实施步骤 › (一)启动阶段"]),
        ("d", []),
    ]
    assert "二、主要目标" not in untested
    assert "三、创建的主要内容 › (五)切实加强组织领导，不断提高精神文明建设整体水平" not in untested
    assert "三、创建的主要内容" not in untested
    assert "一、指导思想" in untested
    assert len(untested) == 18 - 3


def test_the_bank_holds_enough_questions(bank):
    assert len(active(bank)) >= MIN_QUESTIONS


def test_no_question_tests_a_gloss_as_official_text(bank, corpus):
    questions = [(f"{quiz_id} {q.id}", q) for quiz_id, q in active(bank)]
    assert glosses_tested_as_official(corpus, questions) == []


def test_a_gloss_is_found_unless_the_stem_says_it_asks_for_the_explanation(corpus):
    gloss = "一次性告知的目的是避免办事人因材料不全而多次往返"
    official = "不得以“不归我管”为由推诿"

    def ask(stem: str, quote: str) -> Question:
        source = Source("jiguan_wenming_yu_fuwu.md", quote)
        return Question("x", "true_false", stem, (), True, 1.0, "", source)

    questions = [
        ("as the plan", ask("实施方案要求一次性告知，目的是避免多次往返。", gloss)),
        ("as the material", ask("学习材料说明，一次性告知是为了避免多次往返。", gloss)),
        ("official", ask("首问责任人不得推诿。", official)),
    ]
    assert glosses_tested_as_official(corpus, questions) == ["as the plan"]


def test_accepted_fill_variants_are_real_synonyms_listed_in_the_explanation(bank):
    unlisted, redundant = [], []
    for quiz_id, q in active(bank):
        if q.type != "fill":
            continue
        variants = list(q.answer)
        for variant in variants[1:]:
            if normalize_quote(variant) not in normalize_quote(q.explanation):
                unlisted.append((quiz_id, q.id, variant))
        folded = [normalize_fill(v) for v in variants]
        if len(set(folded)) < len(folded):
            redundant.append((quiz_id, q.id))
    assert (unlisted, redundant) == ([], [])


def test_no_right_option_stands_out_by_its_length(bank):
    telling = []
    for quiz_id, q in active(bank):
        if q.type != "single":
            continue
        right = len(q.option_text(str(q.answer)))
        longest_wrong = max(len(text) for key, text in q.options if key != q.answer)
        if right > longest_wrong + LENGTH_TELL:
            telling.append((quiz_id, q.id, right, longest_wrong))
    assert telling == []
