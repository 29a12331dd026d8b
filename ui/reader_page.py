"""文件阅读: a whole document with its headings, opened at a passage and marking it."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
from sqlite_utils import Database

from base.clock import LOCAL_TZ
from kb.documents import Paragraph, Passage, get_document, get_passage, list_documents
from quizzes.readings import confirm_reading, readings_of
from ui.auth import require
from ui.render import md_marked, md_text
from ui.services import get_db

OCR_NOTICE = "文字识别所得，可能有误"


def _chunk_param() -> int | None:
    raw = st.query_params.get("chunk")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


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
    index = paths.index(wanted) if wanted in titles else 0
    path = st.selectbox("文件", paths, index=index, format_func=lambda p: titles[p])
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
    if target is not None:
        where = target.heading_path or "正文"
        st.info(md_text(f"已定位到：{where}"))
        st.markdown("[跳到标出的段落](#passage)")
    st.caption(md_text(f"{view.info.passages} 段 · {view.info.chars} 字 · 文件名 {view.info.path}"))
    _confirm_reading(db, person.employee_no, path)
    paragraphs = list(view.paragraphs)
    if target is not None:
        # Open at the passage: its section starts the page, what comes before folds away.
        start = _section_start(paragraphs, target.block_seq)
        if start > 0:
            with st.expander(f"前文（{start} 段）"):
                for paragraph in paragraphs[:start]:
                    _render_paragraph(paragraph, None)
        paragraphs = paragraphs[start:]
    marked_page = None
    for paragraph in paragraphs:
        if paragraph.ocr and paragraph.page != marked_page:
            # OCR text may hold misread characters: say so once per scanned page.
            st.caption(f"第 {paragraph.page} 页：{OCR_NOTICE}")
            marked_page = paragraph.page
        _render_paragraph(paragraph, target)


def _confirm_reading(db: Database, employee_no: str, path: str) -> None:
    """Reading counts for the study plan once the person says they studied the document."""
    read = {r.doc_path: r for r in readings_of(db, employee_no)}
    if path in read:
        when = read[path].confirmed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        st.success(f"已确认学习本文件（{when}）")
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
        _render_marked(paragraph.text, target.text)
    else:
        st.markdown(md_text(paragraph.text))


def _render_marked(paragraph: str, passage: str) -> None:
    start = paragraph.find(passage)
    if start < 0:
        st.markdown(md_marked(paragraph))
        return
    before, after = paragraph[:start], paragraph[start + len(passage) :]
    with st.container(border=True):
        st.markdown(md_text(before) + md_marked(passage) + md_text(after))
