"""Grading: every question type, the 少选得一半分、错选不得分 rule, fill variants."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from quizzes.bank import Question, Source
from quizzes.grading import chinese_numeral, grade_question, half_points, normalize_fill

SOURCE = Source(document="plan.txt", quote="公众对城市环保的满意率70%")

SINGLE = Question(
    id="s1",
    type="single",
    stem="公众对城市环保的满意率目标是多少？",
    options=(("A", "60%"), ("B", "70%"), ("C", "80%"), ("D", "90%")),
    answer="B",
    points=1.0,
    explanation="",
    source=SOURCE,
)
MULTIPLE = Question(
    id="m1",
    type="multiple",
    stem="启动阶段包括下列哪些工作？",
    options=(("A", "全面学习"), ("B", "健全机构"), ("C", "组织调研"), ("D", "迎接验收")),
    answer=("A", "B", "C"),
    points=3.0,
    explanation="",
    source=SOURCE,
)
TRUE_FALSE = Question(
    id="t1",
    type="true_false",
    stem="精神文明建设与业务工作同时部署。",
    options=(),
    answer=True,
    points=1.0,
    explanation="",
    source=SOURCE,
)
FILL = Question(
    id="f1",
    type="fill",
    stem="公众对城市环保的满意率目标为____。",
    options=(),
    answer=("70%", "百分之七十", "Seventy Percent"),
    points=2.0,
    explanation="",
    source=SOURCE,
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", (1.0, True)),
        ("A", (0.0, False)),
        ("b", (0.0, False)),  # keys come from the UI, never typed
        (["B"], (0.0, False)),  # wrong form
        (None, (0.0, False)),
    ],
)
def test_single_choice(answer, expected):
    assert grade_question(SINGLE, answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (["A", "B", "C"], (3.0, True)),  # all correct keys, no wrong one: full points
        (["C", "A", "B"], (3.0, True)),  # order does not matter
        (("A", "B", "C", "A"), (3.0, True)),  # nor repeats
        (["A", "B"], (1.5, False)),  # 少选: half points, not correct
        (["C"], (1.5, False)),
        (["A", "B", "C", "D"], (0.0, False)),  # 错选: any wrong key gives nothing
        (["A", "D"], (0.0, False)),
        (["D"], (0.0, False)),
        (["E"], (0.0, False)),  # not an option at all
        ([], (0.0, False)),
        (None, (0.0, False)),
        ("ABC", (0.0, False)),  # a string is not a list of keys
    ],
)
def test_multiple_choice_half_points_for_a_correct_subset(answer, expected):
    assert grade_question(MULTIPLE, answer) == expected


@pytest.mark.parametrize(
    ("points", "half"),
    [(0.5, 0.0), (1.0, 0.5), (1.5, 0.5), (2.0, 1.0), (2.5, 1.0), (3.0, 1.5), (4.0, 2.0)],
)
def test_half_points_round_down_to_half_point_steps(points, half):
    assert half_points(points) == half


def test_one_point_multiple_choice_gives_half_a_point_for_a_subset():
    one_point = dataclasses.replace(MULTIPLE, points=1.0)
    assert grade_question(one_point, ["A"]) == (0.5, False)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (True, (1.0, True)),
        (False, (0.0, False)),
        ("true", (0.0, False)),
        (1, (0.0, False)),  # 1 is not True here: the UI sends booleans
        (None, (0.0, False)),
    ],
)
def test_true_false(answer, expected):
    assert grade_question(TRUE_FALSE, answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("70%", (2.0, True)),
        ("７０％", (2.0, True)),  # full-width digits and percent sign
        (" 70 % ", (2.0, True)),  # surrounding and inner spaces
        ("70\u3000%", (2.0, True)),  # ideographic space
        ("百分之七十", (2.0, True)),  # another accepted variant
        ("seventy percent", (2.0, True)),  # case folded
        ("ＳＥＶＥＮＴＹ　ＰＥＲＣＥＮＴ", (2.0, True)),  # full-width letters
        ("80%", (0.0, False)),
        ("70", (0.0, False)),
        ("", (0.0, False)),
        ("   ", (0.0, False)),
        (None, (0.0, False)),
        (["70%"], (0.0, False)),
    ],
)
def test_fill_accepts_variants_in_any_width_and_spacing(answer, expected):
    assert grade_question(FILL, answer) == expected


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("７０％", "70%"),
        (" A b\tC \n", "abc"),
        ("ＡＢＣ", "abc"),
        ("集　中", "集中"),
        ("（一）", "1"),
        ("“一次性告知”。", "1次性告知"),
        ("《隊伍》", "队伍"),
        ("百分之七十", "70%"),
        ("7.5%", "7.5%"),
        ("一百零五", "105"),
        ("二〇〇三年", "2003年"),
        ("两万", "20000"),
        ("三万五千", "35000"),
    ],
)
def test_normalize_fill(text, folded):
    assert normalize_fill(text) == folded


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("七", "7"),
        ("十", "10"),
        ("十五", "15"),
        ("七十", "70"),
        ("一百零五", "105"),
        ("一千零一十", "1010"),
        ("二十万零三百", "200300"),
        ("二〇一五", "2015"),
        ("12.5", "12.5"),
        ("万", None),
        ("七八十", None),  # an estimate, not one number
        ("", None),
    ],
)
def test_chinese_numeral(text, digits):
    assert chinese_numeral(text) == digits


def _fill(
    answer: tuple[str, ...], stem: str = "实施方案要求推行“____”、“一站式”服务。"
) -> Question:
    return dataclasses.replace(FILL, stem=stem, answer=answer)


ONCE = _fill(("一次性告知",))
TEAM = _fill(("队伍",), "以一流的文化塑造一流的____。")
SEVEN = _fill(("七",), "开展“环保____进”活动。")
RATE = _fill(("70%",), "公众对城市环保的满意率____。")
THRIFT = _fill(("勤俭节约", "节约"), "第八项是厉行____。")


@pytest.mark.parametrize(
    ("question", "answer", "right"),
    [
        # punctuation and quotes: the stem itself quotes the blank
        (ONCE, "一次性告知。", True),
        (ONCE, "“一次性告知”", True),
        (ONCE, "「一次性告知」", True),
        (ONCE, '"一次性告知"', True),
        (ONCE, "《一次性告知》", True),
        (ONCE, "一次性 告知！", True),
        (ONCE, "一站式", False),
        (ONCE, "一次告知", False),
        (ONCE, "“”", False),
        # traditional characters
        (TEAM, "隊伍", True),
        (TEAM, "队伍", True),
        (TEAM, "團隊", False),
        # Chinese numerals and digits
        (SEVEN, "7", True),
        (SEVEN, "七", True),
        (SEVEN, "７", True),
        (SEVEN, "六", False),
        (SEVEN, "17", False),
        (RATE, "百分之七十", True),
        (RATE, "百分之70", True),
        (RATE, "７０％", True),
        (RATE, "70", False),
        (RATE, "百分之八十", False),
        (RATE, "7%", False),
        # per-question accepted variants
        (THRIFT, "勤俭节约", True),
        (THRIFT, "节约", True),
        (THRIFT, "勤儉節約", True),
        (THRIFT, "节俭", False),
        (THRIFT, "勤俭", False),
    ],
)
def test_fill_equivalence(question, answer, right):
    expected = (question.points, True) if right else (0.0, False)
    assert grade_question(question, answer) == expected


def test_option_shuffling_never_affects_grading():
    # Whatever order the options were shown in, the UI maps the clicked positions back to
    # the original keys through the attempt's stored order, and grading sees only keys.
    texts = dict(MULTIPLE.options)
    wanted = {"全面学习", "健全机构", "组织调研"}
    outcomes = set()
    for order in itertools.permutations(MULTIPLE.option_keys):
        displayed = [texts[key] for key in order]
        clicked_positions = [i for i, text in enumerate(displayed) if text in wanted]
        answer = [order[i] for i in clicked_positions]
        outcomes.add(grade_question(MULTIPLE, answer))
    assert outcomes == {(3.0, True)}
