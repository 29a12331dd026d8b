"""Page tests with Streamlit's AppTest: the real app.py on a temporary database holding
the shipped corpus (lexical-only) and the shipped quiz bank."""

from __future__ import annotations

import random
import re
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from base.settings import SHIPPED_BANK, Settings
from base.store import open_db
from kb.embedding import ModelStatus, load_embedder
from kb.ingest import ingest_uploads, sync_corpus
from kb.query_batching import BatchingEmbedder
from kb.query_cache import CachingEmbedder
from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from quizzes.attempts import ensure_schema as ensure_attempts_schema
from quizzes.attempts import get_attempt, start_attempt
from quizzes.bank import load_bank
from quizzes.cli_bank import corpus_texts
from quizzes.login import change_password
from quizzes.people import Role
from tests.apptest_support import (
    APP,
    NOW,
    PASSWORD,
    logged_in,
    open_page,
    run_page_function,
    texts,
)
from ui import services
from ui.quiz_widgets import option_key_of
from ui.render import md_marked, md_text
from ui.services import forget_process_state, get_model_status


def test_login_with_a_wrong_then_the_right_password(app_settings):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.title[0].value == "创建文明单位学习平台"
    at.text_input(key="login_employee_no").input("1001")
    at.text_input(key="login_password").input("wrong-password1")
    at.button[0].click().run()
    assert texts(at.error) == ["工号或密码错误"]
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "政策检索"
    # The login is a session on the server, the page session keeps its row.
    db = open_db(app_settings.db_path)
    try:
        rows = db.execute("SELECT id, employee_no FROM login_sessions").fetchall()
    finally:
        db.close()
    assert rows == [(at.session_state["auth_session"], "1001")]


def test_search_shows_the_passage_with_its_place_and_a_reader_link(app_settings):
    at = logged_in()
    assert texts(at.warning) == [
        md_text("已按设置关闭语义模型（KB_EMBED_MODEL=none），仅使用关键词检索。")
    ]
    at.text_input[0].input("没有按期完成任务的责任单位").run()
    first = at.markdown[0].value
    place, passage = first.split("  \n", 1)
    assert place == ":gray[:small[1\\. 创建全国文明单位实施方案 › 五、工作措施 › \\(三\\)责任考核]]"
    assert "通报批评" in passage
    assert ":red[**按期完成任务**]" in passage  # the query's words are highlighted
    link = at.get("page_link")[0]
    assert link.proto.label == "打开原文，定位到此段"


def test_a_study_note_quoting_the_plan_is_a_see_also_link_of_the_plan_hit(app_settings):
    at = logged_in()
    at.text_input[0].input("引导文明行为、倡导文明理念").run()
    first = at.markdown[0].value
    assert first.startswith(":gray[:small[1\\. 创建全国文明单位实施方案 › 一、指导思想]]")
    links = [link.proto.label for link in at.get("page_link")]
    # The plan's hit carries the note that quotes it; the quote is no hit of its own.
    assert links[:2] == ["打开原文，定位到此段", "另见：《社会主义核心价值观学习材料》"]
    assert not any("实施方案原文" in m.value for m in at.markdown)
    assert not any("没有找到可靠的答案" in w for w in texts(at.warning))


def test_a_model_setting_that_cannot_load_leaves_search_lexical_with_the_reason(
    app_settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("KB_EMBED_MODEL", str(tmp_path / "no-such-model"))
    get_model_status()  # the loading has ended (failed), as it will soon after a start
    at = logged_in()
    assert at.warning[0].value.startswith(
        md_text(f"语义模型 “{tmp_path / 'no-such-model'}” 无法加载（")
    )
    at.text_input[0].input("满意率").run()
    assert not at.exception
    assert "满意率" in at.markdown[0].value


def test_a_punctuation_only_query_gets_a_message(app_settings):
    at = logged_in()
    at.text_input[0].input("，。！").run()
    assert texts(at.warning)[-1] == "查询中没有可检索的文字（只有标点或符号），请换个说法。"
    assert not at.exception


def test_hostile_text_in_a_query_is_shown_as_text(app_settings):
    at = logged_in()
    at.text_input[0].input("<script>alert(1)</script> [x](javascript:alert(1)) 满意率").run()
    assert not at.exception
    for element in at.markdown:
        assert "<script>" not in element.value
        assert "](javascript" not in element.value


def test_the_reader_opens_at_the_passage_and_marks_it(app_settings):
    at = logged_in()
    db = open_kb(app_settings)
    (chunk_id,) = db.execute(
        "SELECT id FROM chunks WHERE text LIKE '%通报批评%' AND doc_id ="
        " (SELECT id FROM documents WHERE path LIKE 'chuangjian%')"
    ).fetchone()
    db.close()
    at.query_params["doc"] = "chuangjian_wenming_danwei_shishi_fangan.txt"
    at.query_params["chunk"] = str(chunk_id)
    open_page(at, "reader")
    assert at.title[0].value == "文件阅读"
    assert texts(at.info) == ["已定位到：五、工作措施 › \\(三\\)责任考核"]
    marked = [m.value for m in at.markdown if ":orange-background[" in m.value]
    assert len(marked) == 1 and "通报批评" in marked[0]
    assert "▶ 检索定位的段落" in texts(at.subheader)


def test_take_a_quiz_answers_survive_a_new_session_and_the_result_cites_the_passage(app_settings):
    at = logged_in()
    open_page(at, "quizzes")
    assert at.title[0].value == "学习测验"
    at.button(key="start-plan-basics").click().run()
    attempt_id = at.query_params["attempt"]
    first_radio = at.radio[0]
    chosen = "正确" if first_radio.options == ["正确", "错误"] else 0  # 判断, or option A
    first_radio.set_value(chosen).run()
    # A new session (a refresh, another tab, a restarted server) finds the answer kept.
    again = logged_in()
    again.query_params["attempt"] = attempt_id
    open_page(again, "quizzes")
    assert again.radio[0].value == chosen
    again.button(key=f"submit-{attempt_id}").click().run()
    again.button(key=f"submit-{attempt_id}").click().run()  # 确认提交
    assert again.query_params["result"] == attempt_id
    assert texts(again.success) + texts(again.warning)
    # the passage appears only after submitting, and on asking for the review
    assert not any("出处：" in c.value for c in again.caption)
    again.toggle(key=f"review-{attempt_id}").set_value(True).run()
    assert any("出处：" in c.value for c in again.caption)
    assert "在原文中查看" in [p.proto.label for p in again.get("page_link")]


def _started_attempt(at: AppTest, quiz_id: str = "plan-basics"):
    """Start ``quiz_id`` on the page; the attempt as stored, and the shipped bank's quiz."""
    open_page(at, "quizzes")
    at.button(key=f"start-{quiz_id}").click().run()
    settings = Settings.from_env()
    db = open_db(settings.db_path)
    try:
        attempt = get_attempt(db, int(at.query_params["attempt"]), "1001")
    finally:
        db.close()
    return attempt, load_bank(settings.quiz_dir, corpus_texts(settings)).quiz(quiz_id)


def _answer(at: AppTest, attempt, question, position: int) -> str:
    """Give the option shown at ``position`` (or a text); the label the page showed."""
    key = f"ans-{attempt.id}-{question.id}"
    if question.type == "multiple":
        box = at.checkbox(key=option_key_of(key, position))
        box.check().run()
        return box.label
    if question.type == "fill":
        at.text_input(key=key).input("不记得了").run()
        return "不记得了"
    radio = at.radio(key=key)
    label = radio.options[position]
    radio.set_value(radio.options[position] if question.type == "true_false" else position)
    at.run()
    return label


def test_submitting_asks_first_and_lists_the_unanswered_questions_by_their_numbers(
    app_settings,
):
    at = logged_in()
    attempt, quiz = _started_attempt(at)
    total = len(attempt.question_ids)
    for number in (2, 4):
        _answer(at, attempt, quiz.question(attempt.question_ids[number - 1]), 0)
    at.button(key=f"submit-{attempt.id}").click().run()
    assert at.query_params["attempt"] == str(attempt.id)  # nothing graded yet
    blank = [str(n) for n in range(1, total + 1) if n not in (2, 4)]
    assert texts(at.warning) == [
        f"还有 {total - 2} 题未作答（第 {'、'.join(blank)} 题）。提交后不能再修改，未答的题不得分。"
    ]
    at.button(key=f"back-{attempt.id}").click().run()
    assert (texts(at.warning), at.button(key=f"submit-{attempt.id}").label) == ([], "提交试卷")
    # Every question answered: still asked once.
    for number in range(1, total + 1):
        if number not in (2, 4):
            _answer(at, attempt, quiz.question(attempt.question_ids[number - 1]), 0)
    at.button(key=f"submit-{attempt.id}").click().run()
    assert texts(at.info) == [f"全部 {total} 题已作答。提交后不能再修改。"]
    assert at.button(key=f"submit-{attempt.id}").label == "确认提交"
    at.button(key=f"submit-{attempt.id}").click().run()
    assert at.query_params["result"] == str(attempt.id)


def test_the_review_shows_the_letters_and_numbers_the_person_saw(app_settings):
    at = logged_in()
    attempt, quiz = _started_attempt(at)
    seen: dict[str, tuple[int, str, list[str]]] = {}  # id -> number, answer shown, options
    for number, question_id in enumerate(attempt.question_ids, start=1):
        question = quiz.question(question_id)
        if question.type not in ("single", "multiple"):
            continue
        shown = attempt.displayed_options(question)
        # A wrong option, by where it was shown: the review must name it the same way.
        right = {question.answer} if question.type == "single" else set(question.answer)
        position = next(i for i, (k, _) in enumerate(shown) if k not in right)
        label = _answer(at, attempt, question, position)
        key = f"ans-{attempt.id}-{question_id}"
        options = (
            at.radio(key=key).options
            if question.type == "single"
            else [at.checkbox(key=option_key_of(key, i)).label for i in range(len(shown))]
        )
        seen[question_id] = (number, label, options)
    assert seen and any(
        [k for k, _ in attempt.displayed_options(quiz.question(q))]
        != list(quiz.question(q).option_keys)
        for q in seen
    ), "the draw shuffled no options: the test would not tell bank letters from shown ones"
    at.button(key=f"submit-{attempt.id}").click().run()
    at.button(key=f"submit-{attempt.id}").click().run()
    at.toggle(key=f"review-{attempt.id}").set_value(True).run()
    lines = [m.value for m in at.markdown]
    for question_id, (number, label, options) in seen.items():
        stem = next(i for i, line in enumerate(lines) if line.startswith(f"**{number}\\.**"))
        assert md_text(quiz.question(question_id).stem) in lines[stem], (number, lines[stem])
        # the options in the order shown, then the answer given, by the letter shown
        assert lines[stem + 1 : stem + 1 + len(options)] == options
        assert lines[stem + 1 + len(options)].startswith(f"你的答案：{label}（得 ")


def test_another_persons_attempt_is_not_shown(app_settings):
    owner = logged_in("1001")
    open_page(owner, "quizzes")
    owner.button(key="start-plan-basics").click().run()
    attempt_id = owner.query_params["attempt"]
    intruder = logged_in("1002")
    intruder.query_params["attempt"] = attempt_id
    open_page(intruder, "quizzes")
    assert texts(intruder.error) == ["没有找到这次作答。"]
    assert not intruder.radio
    intruder.query_params.clear()
    intruder.query_params["result"] = attempt_id
    open_page(intruder, "quizzes")
    assert texts(intruder.error) == ["没有找到这次作答。"]


def test_pages_refuse_a_session_that_is_not_logged_in(app_settings):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [b.label for b in at.button] == ["登录"]
    assert at.title[0].value == "创建文明单位学习平台"


def make_admin(settings: Settings) -> None:
    db = open_kb(settings)
    initial = create_account(db, "9001", "王主任", "创建办", Role.ADMIN, NOW)
    change_password(db, "9001", initial, PASSWORD, NOW)
    db.close()


def test_admin_sees_the_admin_page_and_can_reset_a_password(app_settings):
    make_admin(app_settings)
    at = logged_in("9001")
    open_page(at, "admin")
    assert at.title[0].value == "管理"
    assert [t.label for t in at.tabs] == [
        "文件",
        "职工名册",
        "题库",
        "账号",
        "学习计划",
        "免学登记",
    ]
    people = at.dataframe[1].value
    # by department, then 工号; no first admin is made when an admin already exists
    assert list(people["工号"]) == ["9001", "1001", "1002"]
    at.selectbox(key="acct_pick").set_value("1002").run()
    [reset] = [b for b in at.button if b.label == "重置密码"]
    reset.click().run()
    assert "新的初始密码（只显示这一次）：" in texts(at.warning)
    new_password = at.code[0].value
    db = open_kb(app_settings)
    from quizzes.login import LoginStatus, authenticate

    assert authenticate(db, "1002", new_password, NOW).status == LoginStatus.MUST_CHANGE_PASSWORD
    db.close()


def test_the_admin_page_refuses_staff_on_the_server(app_settings):
    at = run_page_function("admin_page", "1001")
    assert texts(at.error) == ["无权访问此页面。"]
    assert not at.tabs and not at.dataframe


def test_a_staff_navigation_has_no_admin_page(app_settings):
    at = logged_in("1001")
    assert "admin" not in [info.get("url_pathname") for info in at._registered_pages.values()]


HOSTILE_DOC = """# 恶意测试文件

## 一、说明

点击<script>alert(1)</script>领取奖品，<img src=x onerror=alert(2)>。

详情见[官网](javascript:alert(3))和![图](http://example.invalid/t.png)。
"""

HOSTILE_QUIZ = """id: hostile
title: <script>测验</script>
description: "[x](javascript:alert(1))"
pass_mark: 60
draw: all
attempts_allowed: 2
shuffle_questions: false
shuffle_options: false
questions:
  - id: q01
    type: single
    stem: "<img src=x onerror=alert(1)>哪一项正确？"
    options:
      A: "<b>甲</b>"
      B: "![图](http://example.invalid/t.png)"
    answer: B
    explanation: "[解析](javascript:alert(2))"
    source:
      document: hostile.md
      quote: 领取奖品
"""


def test_hostile_documents_and_questions_are_shown_as_text(tmp_path, monkeypatch):
    corpus, bank = tmp_path / "corpus", tmp_path / "bank"
    corpus.mkdir()
    bank.mkdir()
    (corpus / "hostile.md").write_text(HOSTILE_DOC, encoding="utf-8")
    (bank / "hostile.yaml").write_text(HOSTILE_QUIZ, encoding="utf-8")
    env = {
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_CORPUS_DIR": str(corpus),
        "KB_QUIZ_DIR": str(bank),
        "KB_EMBED_MODEL": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(env)
    db = open_kb(settings)
    ensure_accounts_schema(db)
    ensure_attempts_schema(db)
    sync_corpus(db, corpus, None)
    initial = create_account(db, "1001", "张敏", "监测站", Role.STAFF, NOW)
    change_password(db, "1001", initial, PASSWORD, NOW)
    db.close()
    forget_process_state()

    def rendered_markdown(at: AppTest) -> list[str]:
        values = [m.value for m in at.markdown] + [m.value for m in at.caption]
        values += [s.value for s in at.subheader] + [h.value for h in at.header]
        return values

    # live = not backslash-escaped: an HTML tag, a link or an image
    live = re.compile(r"(?<!\\)<(script|img|b>)|(?<!\\)\]\(|(?<!\\)!\[")

    def assert_inert(values: list[str]) -> None:
        for value in values:
            assert not live.search(value), value

    search = logged_in()
    search.text_input[0].input("领取奖品").run()
    assert_inert(rendered_markdown(search))
    assert any("\\<script\\>" in v for v in rendered_markdown(search))

    reader = logged_in()
    reader.query_params["doc"] = "hostile.md"
    open_page(reader, "reader")
    assert_inert(rendered_markdown(reader))
    assert any("javascript\\:alert\\(3\\)" in v for v in rendered_markdown(reader))

    quiz = logged_in()
    open_page(quiz, "quizzes")
    assert_inert(rendered_markdown(quiz))
    quiz.button(key="start-hostile").click().run()
    assert_inert(rendered_markdown(quiz) + [str(r.options) for r in quiz.radio])
    attempt_id = quiz.query_params["attempt"]
    quiz.button(key=f"submit-{attempt_id}").click().run()
    quiz.button(key=f"submit-{attempt_id}").click().run()  # 确认提交
    quiz.toggle(key=f"review-{attempt_id}").set_value(True).run()
    assert any("出处：" in c.value for c in quiz.caption)
    assert_inert(rendered_markdown(quiz))
    forget_process_state()


def test_a_bank_file_changed_on_disk_shows_at_the_next_page_run(
    app_settings, monkeypatch, tmp_path
):
    # With KB_WORKERS=2 an import through one worker writes the bank files the other worker
    # has cached: the cache follows the files, there is no signal to clear it.
    import shutil

    bank_dir = tmp_path / "bank"
    shutil.copytree(SHIPPED_BANK, bank_dir)
    monkeypatch.setenv("KB_QUIZ_DIR", str(bank_dir))
    forget_process_state()
    at = open_page(logged_in(), "quizzes")

    def card_titles() -> list[str]:
        return [m.value.removeprefix("##### ") for m in at.markdown if m.value.startswith("#####")]

    assert md_text("创建文明单位实施方案学习测验") in card_titles()
    plan = bank_dir / "plan-basics.yaml"
    plan.write_text(
        plan.read_text("utf-8").replace(
            "title: 创建文明单位实施方案学习测验", "title: 实施方案学习测验（修订）", 1
        ),
        "utf-8",
    )
    at.run()
    titles = card_titles()
    assert md_text("实施方案学习测验（修订）") in titles
    assert md_text("创建文明单位实施方案学习测验") not in titles


@pytest.mark.model
def test_with_the_builtin_model_a_paraphrase_is_found_through_the_shared_embedding_thread(
    app_settings, monkeypatch, tiny_corpus
):
    # What `make run` serves: the builtin model, every session's queries on one thread.
    monkeypatch.setenv("KB_EMBED_MODEL", "builtin")
    monkeypatch.setenv("KB_CORPUS_DIR", str(tiny_corpus))
    settings = Settings.from_env()
    model = load_embedder("builtin", settings.model_cache_dir, threads=1)
    db = open_kb(settings)
    sync_corpus(db, tiny_corpus, model.embedder)
    db.close()

    get_model_status()  # loaded, as it is seconds after a start
    at = logged_in()
    # The model in use is named once, in the 关于检索 note, not on every search.
    about = at.expander[0]
    assert about.label == "关于检索"
    assert md_text(f"语义模型：{model.embedder.label}") in about.markdown[0].value
    at.text_input[0].input("饭店厨房的烟气能不能排").run()  # shares no word with the article
    assert at.markdown[0].value.endswith("任何单位不得在居民区附近排放油烟。")
    embedder = get_model_status().embedder
    assert isinstance(embedder, CachingEmbedder)
    assert isinstance(embedder.inner, BatchingEmbedder)
    assert (embedder.inner.passes, embedder.inner.queries, embedder.hits) == (1, 1, 0)
    at.run()  # the same question again: its vector comes from the cache
    assert at.markdown[0].value.endswith("任何单位不得在居民区附近排放油烟。")
    assert (embedder.inner.passes, embedder.inner.queries, embedder.hits) == (1, 1, 1)


def test_while_the_model_loads_search_answers_lexical_only_and_says_so(app_settings, monkeypatch):
    # After a restart the model takes seconds to load; a search meanwhile does not wait.
    still_loading: Future[ModelStatus] = Future()
    monkeypatch.setattr(services, "_model_loading", lambda: still_loading)
    at = logged_in()
    assert texts(at.warning) == [md_text(services.MODEL_LOADING)]
    at.text_input[0].input("满意率").run()
    assert not at.exception
    assert "满意率" in at.markdown[0].value


def test_the_reader_pages_a_large_document_and_opens_at_the_passages_page(app_settings, tmp_path):
    lines = ["大文件测试"] + [f"记录{n}：环境监测数据按时报送，编号{n}。" for n in range(1, 1001)]
    lines[700] = "、开展环保宣传活动，编号七百。"  # a list number that fell off
    db = open_kb(app_settings)
    report = ingest_uploads(db, tmp_path, [("big.txt", "\n\n".join(lines).encode())], None, 10**8)
    assert [f.status for f in report.files] == ["added"], report.files
    (chunk_id,) = db.execute("SELECT id FROM chunks WHERE text LIKE '%编号七百%'").fetchone()
    db.close()
    at = logged_in()
    at.query_params["doc"] = "big.txt"
    at.query_params["chunk"] = str(chunk_id)
    open_page(at, "reader")
    assert texts(at.caption)[0].startswith("共 1001 段 · ")
    [pager] = [s for s in at.selectbox if s.label.startswith("页码")]
    assert pager.label == "页码（每页 200 段，共 6 页）"
    assert pager.value == 4  # paragraphs 601-800 hold the passage (the 701st)
    body = [m.value for m in at.markdown if "编号" in m.value]
    assert len(body) == 200
    # the stray "、" is trimmed where the passage is shown and marked
    marked = [m.value for m in at.markdown if ":orange-background[" in m.value]
    assert marked == [md_marked("开展环保宣传活动，编号七百。")]
    pager.set_value(6).run()
    shown = [m.value for m in at.markdown if "编号" in m.value]
    assert (len(shown), shown[-1]) == (
        1,  # the title and 1,000 records: the 1,001st paragraph alone
        md_text("记录1000：环境监测数据按时报送，编号1000。"),
    )


def test_the_reader_opens_the_campaign_plan_then_the_document_last_read(app_settings):
    at = logged_in()
    open_page(at, "reader")
    # the default plan requires the campaign plan: it is the document opened first
    assert at.selectbox[0].value == "chuangjian_wenming_danwei_shishi_fangan.txt"
    at.selectbox[0].set_value("gongmin_daode_guifan.md").run()
    open_page(at, "progress")
    at.query_params.clear()
    open_page(at, "reader")
    assert at.selectbox[0].value == "gongmin_daode_guifan.md"


def test_a_timed_attempt_shows_the_time_left_and_counts_the_last_minute_in_seconds(
    app_settings,
):
    settings = Settings.from_env()
    db = open_db(settings.db_path)
    try:
        quiz = load_bank(settings.quiz_dir, corpus_texts(settings)).quiz("ethics-values")
        now = datetime.now(UTC)
        early = start_attempt(db, quiz, "1001", now - timedelta(minutes=2), random.Random(1))
        late = start_attempt(
            db, quiz, "1002", now - timedelta(minutes=19, seconds=30), random.Random(1)
        )
    finally:
        db.close()
    timer = re.compile(r"^:material/timer: (.*)（到时按已保存答案评分）$")
    for employee_no, attempt, expected in (
        ("1001", early, re.compile(r"^剩余约 \*\*1[78] 分 \d0 秒\*\*$")),
        ("1002", late, re.compile(r"^剩余 \*\*([1-9]|[12]\d|30) 秒\*\*$")),
    ):
        at = logged_in(employee_no)
        at.query_params["attempt"] = str(attempt.id)
        open_page(at, "quizzes")
        [shown] = [m[1] for m in (timer.match(e.value) for e in at.markdown) if m]
        assert expected.match(shown), shown
