"""文件阅读: a whole document with its headings, opened at a passage and marking it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import streamlit as st
from sqlite_utils import Database

from base.clock import local_text
from kb.documents import Paragraph, Passage, get_document, get_passage, list_documents
from quizzes.readings import confirm_reading, readings_of
from ui.auth import require
from ui.passage_practice import passage_practice
from ui.render import md_marked, md_text, without_stray_mark
from ui.services import get_bank, get_db, get_study_plan

OCR_NOTICE = "文字识别所得，可能有误"


def _chunk_param() -> int | None:
    raw = st.query_params.get("chunk")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


PAGE_PARAGRAPHS = 200
"""Paragraphs drawn per page: a 160,000-paragraph file drew 29 MB in 15 s all at once."""


def reader_page() -> None:
    """Choose a document (or arrive from a search hit) and read it."""
    person = require()
    st.title("文件阅读")
    db = get_db()
    documents = list_documents(db)
    if not documents:
        st.info("文件库还是空的。")
        return
    titles = {d.path: d.title for d in documents}
    paths = list(titles)
    wanted = st.query_params.get("doc")
    if wanted not in titles:
        wanted = None
    path = st.selectbox(
        "文件",
        paths,
        index=paths.index(wanted or _default_document(paths)),
        format_func=lambda p: titles[p],
    )
    st.session_state[_LAST_READ] = path
    if path != wanted:
        st.query_params["doc"] = path
        if "chunk" in st.query_params:
            del st.query_params["chunk"]
    view = get_document(db, path)
    if view is None:
        st.warning("该文件已不在文件库中。")
        return
    chunk_id = _chunk_param() if path == wanted else None
    target = get_passage(db, chunk_id) if chunk_id is not None else None
    if target is not None and target.doc_path != path:
        target = None
    paragraphs = list(view.paragraphs)
    # One count, one word: "段" is always a paragraph as the reader draws it.
    st.caption(f"共 {len(paragraphs)} 段 · {view.info.chars} 字")
    _confirm_reading(db, person.employee_no, path)
    if target is not None:
        where = target.heading_path or "正文"
        st.info(md_text(f"已定位到：{where}"))
        st.markdown("[跳到标出的段落](#passage)")
    at = next((i for i, p in enumerate(paragraphs) if target and p.seq == target.block_seq), 0)
    first, last = _page_bounds(path, len(paragraphs), at if target else None)
    shown = paragraphs[first:last]
    if target is not None:
        # Open at the passage: its section starts the view, what comes before folds away
        # (only what is on this page: the fold is drawn even while closed).
        start = _section_start(shown, target.block_seq)
        if start > 0:
            with st.expander(f"前文（{start} 段）"):
                for paragraph in shown[:start]:
                    _render_paragraph(paragraph, None)
        shown = shown[start:]
    marked_page = None
    for paragraph in shown:
        if paragraph.ocr and paragraph.page != marked_page:
            # OCR text may hold misread characters: say so once per scanned page.
            st.caption(f"第 {paragraph.page} 页：{OCR_NOTICE}")
            marked_page = paragraph.page
        _render_paragraph(paragraph, target)


_LAST_READ = "reader_last_document"


def _default_document(paths: list[str]) -> str:
    """The document this session read last, else the plan's first required one, else
    the one the quiz bank cites most (the campaign plan), else the first in the library."""
    last = st.session_state.get(_LAST_READ)
    if last in paths:
        return last
    plan = get_study_plan()
    required = [d for phase in plan.phases for d in phase.documents] if plan else []
    cited = Counter(
        q.source.document for quiz in get_bank().quizzes.values() for q in quiz.questions
    )
    ranked = required + [d for d, _ in cited.most_common()]
    return next((d for d in ranked if d in paths), paths[0])


def _page_bounds(path: str, count: int, target_index: int | None) -> tuple[int, int]:
    """The slice of paragraphs to draw: all of a short document, else one page, chosen
    by the person or (arriving from a passage) the page that holds it."""
    pages = max(1, -(-count // PAGE_PARAGRAPHS))
    if pages == 1:
        return 0, count
    key = f"reader-page-{path}-{target_index}"
    if target_index is not None and key not in st.session_state:
        st.session_state[key] = target_index // PAGE_PARAGRAPHS + 1
    number = st.selectbox(
        f"页码（每页 {PAGE_PARAGRAPHS} 段，共 {pages} 页）",
        range(1, pages + 1),
        key=key,
        format_func=lambda n: (
            f"第 {n} 页：第 {(n - 1) * PAGE_PARAGRAPHS + 1}–{min(n * PAGE_PARAGRAPHS, count)} 段"
        ),
    )
    return (number - 1) * PAGE_PARAGRAPHS, min(number * PAGE_PARAGRAPHS, count)


def _confirm_reading(db: Database, employee_no: str, path: str) -> None:
    """Reading counts for the study plan once the person says they studied the document."""
    read = {r.doc_path: r for r in readings_of(db, employee_no)}
    if path in read:
        st.success(f"已确认学习本文件（{local_text(read[path].confirmed_at)}）")
    elif st.button("我已学习本文件", key=f"confirm-{path}", type="primary"):
        confirm_reading(db, employee_no, path, datetime.now(UTC))
        st.rerun()


def _section_start(paragraphs: list[Paragraph], block_seq: int) -> int:
    """Index of the heading that opens the section holding ``block_seq`` (0 if none)."""
    start = 0
    for index, paragraph in enumerate(paragraphs):
        if paragraph.seq > block_seq:
            break
        if paragraph.kind == "heading":
            start = index
    return start


def _render_paragraph(paragraph: Paragraph, target: Passage | None) -> None:
    if paragraph.kind == "title":
        st.header(md_text(paragraph.text), anchor=False)
    elif paragraph.kind == "heading":
        level = min(paragraph.level, 3)
        st.markdown(f"{'#' * (level + 2)} {md_text(paragraph.text)}")
    elif target is not None and paragraph.seq == target.block_seq:
        st.subheader("▶ 检索定位的段落", anchor="passage")
        _render_marked(without_stray_mark(paragraph.text), without_stray_mark(target.text))
    else:
        st.markdown(md_text(without_stray_mark(paragraph.text)))
    if paragraph.kind == "text" and paragraph.chunk_ids:
        passage_practice(paragraph.chunk_ids, f"para-{paragraph.chunk_ids[0]}")


def _render_marked(paragraph: str, passage: str) -> None:
    start = paragraph.find(passage)
    if start < 0:
        st.markdown(md_marked(paragraph))
        return
    before, after = paragraph[:start], paragraph[start + len(passage) :]
    with st.container(border=True):
        st.markdown(md_text(before) + md_marked(passage) + md_text(after))
