"""Chunking of Chinese official documents: every heading form and the plan's defects."""

from __future__ import annotations

from base.settings import PROJECT_ROOT
from kb.chunking import (
    PASSAGE_HARD_MAX,
    chunk_lines,
    group_passages,
    match_heading,
    split_sentences,
)


def paths_and_texts(lines, markdown=False):
    doc = chunk_lines(lines, markdown=markdown)
    return [(c.heading_path, c.text) for c in doc.chunks]


def skipped_characters(original: str, kept: str) -> set[str]:
    """The characters of ``original`` missing from ``kept``, which must be a subsequence."""
    original, kept = "".join(original.split()), "".join(kept.split())
    skipped, j = set(), 0
    for ch in original:
        if j < len(kept) and kept[j] == ch:
            j += 1
        else:
            skipped.add(ch)
    assert j == len(kept), "blocks hold text the document does not"
    return skipped


def test_every_heading_form_is_recognised():
    forms = {
        "第一编 总则": 10,
        "第二章 监督管理": 20,
        "第三节 公众参与": 30,
        "第十二条 内容": 35,
        "一、指导思想": 40,
        "（一）启动阶段": 50,
        "(二)组织实施阶段": 50,
        "1、全面学习": 60,
        "2.健全机构": 60,
        "l、全面学习": 60,
        "、文明志愿服务活动经常化": 60,
        "（3）组织调研": 70,
        "一是强化思想道德建设": 80,
    }
    assert {line: (match_heading(line) or (None,))[0] for line in forms} == forms


def test_a_decimal_number_is_not_a_list_item():
    assert match_heading("2.5微米以下的颗粒物") is None
    assert match_heading("普通句子，没有编号。") is None


def test_heading_paths_of_a_plan():
    lines = [
        "工作方案",
        "一、主要目标",
        "1、公众对城市环保的满意率70%;",
        "三、创建的主要内容",
        "(四)深化精神文明创建活动，努力提升全行业服务管理水平",
        "一是大力开展文体活动，狠抓职工的精神文明建设。利用各种节假日的契机开展活动。",
        "二是以党的为契机，深入进行爱党、爱国、爱社会主义教育。",
    ]
    assert paths_and_texts(lines) == [
        ("一、主要目标", "1、公众对城市环保的满意率70%;"),
        (
            "三、创建的主要内容 › (四)深化精神文明创建活动，努力提升全行业服务管理水平"
            " › 一是大力开展文体活动，狠抓职工的精神文明建设",
            "利用各种节假日的契机开展活动。",
        ),
        # a one-sentence 二是 item is a passage under its parent, and ends the 一是 heading
        (
            "三、创建的主要内容 › (四)深化精神文明创建活动，努力提升全行业服务管理水平",
            "二是以党的为契机，深入进行爱党、爱国、爱社会主义教育。",
        ),
    ]


def test_letter_l_and_missing_numbers_are_list_items():
    lines = [
        "方案",
        "四、实施步骤",
        "(一)启动阶段",
        "l、全面学习。进一步领会国家相关文件和规定，统一思想。",
        "2、健全机构。成立领导小组。",
        "、开展“环保七进”活动，在全市范围内广泛宣传。",
    ]
    assert paths_and_texts(lines) == [
        ("四、实施步骤 › (一)启动阶段 › l、全面学习", "进一步领会国家相关文件和规定，统一思想。"),
        ("四、实施步骤 › (一)启动阶段 › 2、健全机构", "成立领导小组。"),
        # the item whose number fell off closes "2、健全机构" like a numbered sibling would
        ("四、实施步骤 › (一)启动阶段", "、开展“环保七进”活动，在全市范围内广泛宣传。"),
    ]


def test_articles_of_a_law_and_their_paragraphs():
    lines = [
        "中华人民共和国环境保护法",
        "第一章 总则",
        "第一条 为保护和改善环境，制定本法。",
        "第二条 本法所称环境，是指自然因素的总体。",
        "一切单位和个人都有保护环境的义务。",
        "第二章 监督管理",
        "第三条 国务院环境保护主管部门制定国家环境质量标准。",
    ]
    doc = chunk_lines(lines)
    assert doc.title == "中华人民共和国环境保护法"
    assert [(c.heading_path, c.text) for c in doc.chunks] == [
        ("第一章 总则 › 第一条", "为保护和改善环境，制定本法。"),
        ("第一章 总则 › 第二条", "本法所称环境，是指自然因素的总体。"),
        ("第一章 总则 › 第二条", "一切单位和个人都有保护环境的义务。"),
        ("第二章 监督管理 › 第三条", "国务院环境保护主管部门制定国家环境质量标准。"),
    ]


def test_markdown_headings_lists_and_emphasis():
    lines = [
        "# 学习材料",
        "## 一、核心价值观",
        "### （一）国家层面",
        "- **富强**、民主、文明、和谐。",
    ]
    doc = chunk_lines(lines, markdown=True)
    assert doc.title == "学习材料"
    assert [(c.heading_path, c.text) for c in doc.chunks] == [
        ("一、核心价值观 › （一）国家层面", "富强、民主、文明、和谐。")
    ]


def test_an_unclosed_parenthesis_does_not_swallow_the_paragraph():
    text = (
        "全力打好“六场攻坚战”(打好污染减排攻坚战;打好生态建设攻坚战。;"
        "打好饮用水源地综合整治攻坚战。助推发展，努力实现“六个确保”(确保污染减排目标完成;"
        "确保我市环保工作在全省位次前移)。" + "其余内容照常成句。" * 3
    )
    sentences = split_sentences(text)
    assert sentences[:3] == [
        "全力打好“六场攻坚战”(打好污染减排攻坚战;打好生态建设攻坚战。;",
        "打好饮用水源地综合整治攻坚战。",
        "助推发展，努力实现“六个确保”(确保污染减排目标完成;确保我市环保工作在全省位次前移)。",
    ]
    assert sentences[3:] == ["其余内容照常成句。"] * 3


def test_passages_are_a_sentence_or_two_and_never_too_long():
    long_sentence = "，".join(["这是一个很长的分句"] * 60) + "。"
    passages = group_passages("短句一。短句二。" + long_sentence)
    assert passages[0] == "短句一。短句二。"
    assert all(len(p) <= PASSAGE_HARD_MAX for p in passages)
    assert "".join(passages) == "短句一。短句二。" + long_sentence


def test_the_campaign_plan_keeps_every_character_and_its_structure():
    path = PROJECT_ROOT / "corpus" / "chuangjian_wenming_danwei_shishi_fangan.txt"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    doc = chunk_lines(lines)
    assert doc.title == "创建全国文明单位实施方案"
    # Nothing is lost: the reader's blocks hold every character of the file, the full
    # stop of a heading split off its paragraph ("l、全面学习。进一步……") included.
    assert skipped_characters("".join(lines), "".join(b.text for b in doc.blocks)) == set()
    by_text = {c.text: c.heading_path for c in doc.chunks}
    assert by_text["2、公众对城市环保的满意率70%;"] == "二、主要目标"
    assert by_text["、文明志愿服务活动经常化;"] == "二、主要目标"
    assert (
        by_text[
            "进一步领会国家相关文件和规定，统一思想，提高认识，增强创建文明城市的紧迫感和责任感，"
            "使每一个同志保持高昂的热情，切实把创建市级文明单位工作摆上重要议事日程，真抓实干。"
        ]
        == "四、实施步骤 › (一)启动阶段 › l、全面学习"
    )
    assert max(len(c.text) for c in doc.chunks) <= PASSAGE_HARD_MAX


def test_embedding_units_are_the_passage_and_its_clause_windows():
    from kb.chunking import embedding_units

    long = "以建设“天蓝、地绿、水清、气爽”的现代化美丽文明城市为目标，以“改善环境质量，保障群众身体健康”为根本出发点，认真落实环境保护目标。"
    assert embedding_units(long) == [
        long,
        "以建设“天蓝、地绿、水清、气爽”的现代化美丽文明城市为目标，",  # 30 characters
        "以“改善环境质量，保障群众身体健康”为根本出发点，",
        "认真落实环境保护目标。",
    ]
    assert embedding_units("保护环境是国家的基本国策。") == ["保护环境是国家的基本国策。"]
