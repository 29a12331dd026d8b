"""Practice items generated from a passage (quizzes/passage_items.py): exact items from tiny
documents, the rejection of ambiguous ones, and the checks every item passes."""

from __future__ import annotations

import pytest

from kb.chunking import chunk_lines
from kb.documents import DocumentInfo, DocumentView, Paragraph, Passage
from kb.ingest import sync_corpus
from quizzes.passage_items import (
    CHOICE,
    FALSE,
    FILL,
    JUDGE,
    TRUE,
    PassageItem,
    check_item,
    document_lists,
    document_numbers,
    is_right,
    make_items,
    practice_for_passages,
)

TF = (TRUE, FALSE)


def practise(lines: list[str], text: str) -> tuple[PassageItem, ...]:
    """The items of the passage ``text`` of a document made of ``lines`` (chunked as
    ingestion chunks a .txt), with that document's lists and numbers as siblings."""
    document = chunk_lines(lines)
    by_block: dict[int, list[int]] = {}
    for chunk in document.chunks:
        by_block.setdefault(chunk.block_seq, []).append(chunk.seq)
    view = DocumentView(
        DocumentInfo("t.txt", document.title, "txt", 0, len(document.chunks), ""),
        tuple(
            Paragraph(
                b.seq, b.kind, b.level, b.heading_path, b.text, tuple(by_block.get(b.seq, ()))
            )
            for b in document.blocks
        ),
    )
    chunk = next(c for c in document.chunks if c.text == text)
    passage = Passage(
        chunk.seq,
        "t.txt",
        document.title,
        chunk.heading_path,
        chunk.text,
        document.blocks[chunk.block_seq].text,
        chunk.block_seq,
    )
    items = make_items(passage, document_lists(view), document_numbers(view))
    assert all(check_item(item, chunk.text, chunk.heading_path) is None for item in items)
    return items


def test_a_quoted_phrase_becomes_a_blank():
    text = "推行“一次性告知”服务，方便群众。"
    assert practise(["测试方案", text], text) == (
        PassageItem(FILL, "推行“____”服务，方便群众。", "一次性告知"),
    )


def test_a_term_that_stands_twice_makes_no_blank():
    # Blanking one “绿色” would leave the other in the stem; which 6月5日 is meant is unclear.
    text = "“绿色”发展，建设“绿色”家园，6月5日和6月5日都有活动。"
    assert practise(["测试方案", text], text) == ()


def test_a_percentage_is_blanked_and_swapped_for_a_sibling_percentage():
    text = "公众对环保工作的满意率70%。"
    lines = ["测试方案", text, "2023年8月15日是首个全国生态日。", "减排完成率90%。"]
    assert practise(lines, text) == (
        PassageItem(FILL, "公众对环保工作的满意率____。", "70%"),
        # 90% is the document's other percentage; the date is not of the same kind.
        PassageItem(
            JUDGE, "公众对环保工作的满意率90%。", FALSE, TF, "公众对环保工作的满意率70%。", ("90%",)
        ),
    )


def test_a_date_is_blanked_whole_and_swapped_for_a_date_of_the_same_shape():
    text = "2023年8月15日是首个全国生态日。"
    lines = ["测试方案", text, "世界环境日源于1972年6月5日的会议。", "满意率70%。"]
    assert practise(lines, text) == (
        PassageItem(FILL, "____是首个全国生态日。", "2023年8月15日"),
        PassageItem(
            JUDGE,
            "1972年6月5日是首个全国生态日。",
            FALSE,
            TF,
            "2023年8月15日是首个全国生态日。",
            ("1972年6月5日",),
        ),
    )


def test_an_enumeration_gives_a_blank_a_choice_and_a_swap_from_its_sibling_list():
    text = "公民基本道德规范是：爱国守法、明礼诚信、团结友善、勤俭自强、敬业奉献。"
    sibling = "职业道德的主要内容是爱岗敬业、诚实守信、办事公道、热情服务、奉献社会。"
    # Every wrong option and the swapped-in item come from the sibling list.
    assert practise(["测试方案", text, sibling], text) == (
        PassageItem(
            FILL, "公民基本道德规范是：____、明礼诚信、团结友善、勤俭自强、敬业奉献。", "爱国守法"
        ),
        PassageItem(
            CHOICE,
            "公民基本道德规范是：爱国守法、明礼诚信、团结友善、勤俭自强、____。",
            "敬业奉献",
            ("爱岗敬业", "诚实守信", "敬业奉献", "奉献社会"),
            wrong=("奉献社会", "爱岗敬业", "诚实守信"),
        ),
        PassageItem(
            JUDGE,
            "公民基本道德规范是：爱国守法、明礼诚信、团结友善、勤俭自强、奉献社会。",
            FALSE,
            TF,
            text,
            ("奉献社会",),
        ),
    )


def test_sibling_headings_make_a_choice_with_wrong_options_from_another_heading_list():
    lines = [
        "测试方案",
        "四、实施步骤",
        "1、全面学习。认真学习方案。",
        "2、健全机构。成立领导小组。",
        "3、组织调研。分析现状。",
        "五、工作措施",
        "(一)提高认识。统一思想。",
        "(二)加强领导。一级抓一级，层层落实。",
        "(三)责任考核。通报批评。",
    ]
    (choice,) = practise(lines, "一级抓一级，层层落实。")
    assert choice == PassageItem(
        CHOICE,
        "“五、工作措施”下的各项依次是：提高认识、____、责任考核。",
        "加强领导",
        ("健全机构", "全面学习", "组织调研", "加强领导"),
        wrong=("健全机构", "全面学习", "组织调研"),
    )


def test_a_semicolon_list_blanks_the_part_its_items_do_not_share():
    text = "全力打好“三场攻坚战”(打好污染减排攻坚战;打好生态建设攻坚战。;打好饮用水源地综合整治攻坚战)。"
    other = "依次是：打好水污染治理攻坚战；打好土壤污染治理攻坚战；打好噪声污染治理攻坚战。"
    # Shares nothing with the battles: gives no wrong option.
    unlike = "依次是：确保环境质量任务完成；确保我市环保工作在全省位次前移；确保不发生重大事件。"
    stem = "全力打好“三场攻坚战”(打好污染减排攻坚战;打好生态建设攻坚战。;打好饮用水源地综合整治攻坚战)。"
    # 打好 … 攻坚战 stays in the stem: blanks and options are the part that differs (the
    # other list's shared 治理攻坚战 ends on a word: its parts are 水污染, 土壤污染 …). The
    # choice asks another item than the blank.
    assert practise(["测试方案", text, other, unlike], text) == (
        PassageItem(FILL, stem.replace("三场攻坚战", "____", 1), "三场攻坚战"),
        PassageItem(FILL, stem.replace("污染减排", "____"), "污染减排"),
        PassageItem(
            CHOICE,
            stem.replace("生态建设", "____"),
            "生态建设",
            ("生态建设", "噪声污染", "土壤污染", "水污染"),
            wrong=("噪声污染", "土壤污染", "水污染"),
        ),
        PassageItem(JUDGE, stem.replace("污染减排", "噪声污染"), FALSE, TF, stem, ("噪声污染",)),
    )


def test_an_ordered_list_is_judged_with_two_items_swapped():
    text = "要实现“三个确保”，依次是：确保污染减排目标完成；确保环境质量任务完成；确保我市环保工作在全省位次前移。"
    judge = practise(["测试方案", text], text)[-1]
    assert judge == PassageItem(
        JUDGE,
        "要实现“三个确保”，依次是：确保环境质量任务完成；确保污染减排目标完成；确保我市环保工作在全省位次前移。",
        FALSE,
        TF,
        text,
        (),
    )


def test_a_passage_without_terms_yields_nothing():
    text = "加强调查研究，认真总结经验，不断探索工作规律。"
    assert practise(["测试方案", text], text) == ()


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (PassageItem(FILL, "满意率____。", "80%"), "答案不在本段中"),
        (PassageItem(FILL, "满意率70%，____。", "70%"), "答案出现在题干中"),
        (PassageItem(FILL, "满意率____。", "70%"), "答案在本段中出现不止一次"),
        (PassageItem(FILL, "满意率____和____。", "70%"), "题干应恰有一个空"),
        (
            PassageItem(CHOICE, "满意率____。", "70%", ("70%", "80%", "７０%")),
            "选项重复",
        ),
        (
            PassageItem(CHOICE, "满意率____。", "70%", ("70%", "80%", "90%")),
            "干扰项出现在本段中",
        ),
        (PassageItem(CHOICE, "满意率____。", "70%", ("70%", "80%")), "选项不足或不含答案"),
        (PassageItem(JUDGE, "满意率60%。", TRUE, TF), "判断为正确的陈述不是本段原文"),
        (
            PassageItem(JUDGE, "满意率90%。", FALSE, TF, "满意率70%。", ("90%",)),
            "替换进来的词出现在本段中",
        ),
        (
            PassageItem(JUDGE, "满意率70%。", FALSE, TF, "满意率70%。", ()),
            "判断为错误的陈述与原文相同",
        ),
    ],
)
def test_check_item_names_what_makes_an_item_unfair(item, reason):
    text = "满意率70%。减排率90%。" if "90%" in str(item) else "满意率70%。"
    if reason == "答案在本段中出现不止一次":
        text = "满意率70%，去年也是70%。"
    assert check_item(item, text) == reason


def test_a_typed_blank_is_right_as_fill_in_answers_are_graded():
    blank = PassageItem(FILL, "推行“____”服务。", "一次性告知")
    assert [
        is_right(blank, typed) for typed in ("“一次性告知”。", "一次性告知", "一次告知", "")
    ] == [
        True,
        True,
        False,
        False,
    ]
    percent = PassageItem(FILL, "满意率____。", "70%")
    assert [is_right(percent, typed) for typed in ("百分之七十", "７０％", "70")] == [
        True,
        True,
        False,
    ]
    choice = PassageItem(CHOICE, "x____", "加强领导", ("加强领导", "健全机构", "全面学习"))
    assert [is_right(choice, o) for o in choice.options] == [True, False, False]


def test_every_passage_of_the_shipped_corpus_yields_only_fair_items(db):
    """On the campaign plan and the study material, every generated item passes the checks
    and the named enumerations of the issue are practised."""
    from base.settings import PROJECT_ROOT

    sync_corpus(db, PROJECT_ROOT / "corpus", None)
    ids = [row[0] for row in db.execute("SELECT id FROM chunks ORDER BY doc_id, seq")]
    practised = practice_for_passages(db, ids)
    assert len(practised) == len(ids)
    for practice in practised:
        text = practice.passage.text.lstrip("、，,；;：:。 ")
        for item in practice.items:
            assert check_item(item, text, practice.passage.heading_path) is None, item
    answers = {item.answer for p in practised for item in p.items}
    # 六场攻坚战, 六个确保 and 环保七进 are blanks; the five measures a choice.
    assert {"六场攻坚战", "六个确保", "环保七进"} <= answers
    measures = {
        item.answer
        for p in practised
        for item in p.items
        if item.kind == CHOICE and item.stem.startswith("“五、工作措施”下的各项依次是")
    }
    # (二) holds a list of its own (明确责任、分工负责…), asked first.
    assert measures == {"提高认识", "责任考核", "突出重点", "广泛宣传"}
    assert sum(1 for p in practised if p.items) / len(practised) > 0.7
