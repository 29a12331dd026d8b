"""就此段练一练 on the search page and in the reader (AppTest over the real app.py, the
shipped corpus lexical-only): items generated from the passage, checked in the session,
never a bank question."""

from __future__ import annotations

from base.store import open_db
from kb.service import open_kb
from quizzes.passage_items import practice_for_passages
from tests.apptest_support import logged_in, open_page, texts
from ui.passage_practice import NOTHING, NOTICE
from ui.render import md_text
from ui.services import get_questions_by_passage


def _chunk_id(settings, like: str) -> int:
    db = open_kb(settings)
    try:
        (chunk_id,) = db.execute("SELECT id FROM chunks WHERE text LIKE ?", [like]).fetchone()
    finally:
        db.close()
    return chunk_id


def test_practise_a_search_hit_and_check_a_wrong_then_the_right_answer(app_settings):
    chunk_id = _chunk_id(app_settings, "%没有按期完成任务的责任单位%")
    db = open_db(app_settings.db_path)
    (practice,) = practice_for_passages(db, [chunk_id])
    db.close()
    # The five measures of 五、工作措施: this passage is the third.
    (item,) = practice.items
    assert (item.kind, item.stem, item.answer) == (
        "单选",
        "“五、工作措施”下的各项依次是：提高认识、加强领导、____、突出重点、广泛宣传。",
        "责任考核",
    )

    at = logged_in()
    at.text_input[0].input("没有按期完成任务的责任单位").run()
    before = [m.value for m in at.markdown]
    at.button(key=f"practise-hit-{chunk_id}").click().run()
    assert not at.exception
    assert NOTICE in texts(at.caption)
    shown = [m.value for m in at.markdown if m.value not in before]
    assert shown == [f"**1.** :gray[（单选 · 自动生成）] {md_text(item.stem)}"]
    radio = at.radio(key=f"answer-hit-{chunk_id}-{chunk_id}-1")
    assert radio.options == [
        f"{letter}. {o}" for letter, o in zip("ABCD", item.options, strict=True)
    ]

    wrong = next(i for i, o in enumerate(item.options) if o != item.answer)
    radio.set_value(wrong)
    [check] = [b for b in at.button if b.label == "检查答案"]
    check.click().run()
    assert texts(at.error) == [md_text("回答错误。正确答案：责任考核")]
    assert md_text("本段原文：") + md_text(practice.passage.text) in texts(at.caption)

    at.radio(key=f"answer-hit-{chunk_id}-{chunk_id}-1").set_value(item.options.index("责任考核"))
    [check] = [b for b in at.button if b.label == "检查答案"]
    check.click().run()
    assert texts(at.success) == ["回答正确！"]
    assert texts(at.error) == []

    # Nothing is stored: no attempt, no answer.
    db = open_db(app_settings.db_path)
    stored = [
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("attempts", "answers")
    ]
    db.close()
    assert stored == [0, 0]
    # Generated items only: no stem of a bank question citing this passage is shown.
    cited = get_questions_by_passage().get(chunk_id, [])
    page_text = "\n".join(m.value for m in at.markdown)
    assert cited and not any(md_text(c.question.stem) in page_text for c in cited)


def test_every_reader_paragraph_has_the_button_and_one_without_items_says_so(app_settings):
    path = "chuangjian_wenming_danwei_shishi_fangan.txt"
    chunk_id = _chunk_id(app_settings, "为改善群众居住环境%")
    db = open_db(app_settings.db_path)
    # The first passage of each text paragraph of the plan, in reading order.
    firsts = [
        row[0]
        for row in db.execute(
            "SELECT MIN(c.id) FROM chunks c JOIN documents d ON d.id = c.doc_id"
            " WHERE d.path = ? GROUP BY c.block_seq ORDER BY c.block_seq",
            [path],
        )
    ]
    db.close()
    at = logged_in()
    at.query_params["doc"] = path
    open_page(at, "reader")
    buttons = [b for b in at.button if b.label == "就此段练一练"]
    assert [b.key for b in buttons] == [f"practise-para-{c}" for c in firsts]
    assert firsts[0] == chunk_id
    at.button(key=f"practise-para-{chunk_id}").click().run()
    assert texts(at.info) == [NOTHING]
    # Its button now closes it; the others still open theirs.
    labels = [b.label for b in at.button if b.key and b.key.startswith("practise-para-")]
    assert labels == ["收起练习"] + ["就此段练一练"] * (len(firsts) - 1)
    at.button(key=f"practise-para-{chunk_id}").click().run()
    assert texts(at.info) == []


def test_a_reader_paragraph_is_practised_with_a_blank_checked_as_fill_ins_are(app_settings):
    chunk_id = _chunk_id(app_settings, "%推行“一次性告知”%")
    db = open_db(app_settings.db_path)
    # The paragraph's passages, in order: its practice holds the items of all of them.
    ids = [
        row[0]
        for row in db.execute(
            "SELECT c.id FROM chunks c JOIN chunks t ON t.doc_id = c.doc_id"
            " AND t.block_seq = c.block_seq WHERE t.id = ? ORDER BY c.seq",
            [chunk_id],
        )
    ]
    practised = practice_for_passages(db, ids)
    db.close()
    assert len(ids) == 2 and ids[1] == chunk_id
    items = [(p.passage.chunk_id, item) for p in practised for item in p.items]
    number, blank = next((n, item) for n, (c, item) in enumerate(items, start=1) if c == chunk_id)
    assert (blank.kind, blank.answer) == ("填空", "一次性告知")
    assert blank.stem == practised[1].passage.text.replace("一次性告知", "____")

    at = logged_in()
    at.query_params["doc"] = "chuangjian_wenming_danwei_shishi_fangan.txt"
    open_page(at, "reader")
    at.button(key=f"practise-para-{ids[0]}").click().run()
    stems = [m.value for m in at.markdown if "自动生成）]" in m.value]
    assert stems == [
        f"**{n}.** :gray[（{item.kind} · 自动生成）] {md_text(item.stem)}"
        for n, (_, item) in enumerate(items, start=1)
    ]
    # Typed with the stem's quotes and a full stop: right, as a graded fill-in would be.
    at.text_input(key=f"answer-para-{ids[0]}-{chunk_id}-{number}").input("“一次性告知”。")
    check = [b for b in at.button if b.label == "检查答案"][number - 1]
    check.click().run()
    assert texts(at.success) == ["回答正确！"]
