"""政策检索: ask in your own words, get the passage, where it stands, and a way to read it."""

from __future__ import annotations

import streamlit as st

from kb.documents import list_documents
from kb.embedding import ModelStatus
from kb.errors import QueryError
from kb.search import search
from ui.auth import require
from ui.render import md_highlight, md_text
from ui.routes import page
from ui.services import get_db, get_model_status, get_questions_by_passage, get_vector_index


def model_notice(status: ModelStatus) -> None:
    """Say which ranker search is using; a missing model is visible, never silent."""
    if status.embedder is None:
        st.warning(md_text(status.message or "语义模型未加载，当前仅使用关键词检索。"))
    else:
        st.caption(md_text(f"检索方式：关键词 + 语义（{status.embedder.label}）"))


def search_page() -> None:
    """The search box, the document filter and the results."""
    require()
    st.title("政策检索")
    # Read once per run: the notice and the search agree even if the model finishes
    # loading in between.
    status = get_model_status(wait=False)
    model_notice(status)
    db = get_db()
    documents = list_documents(db)
    if not documents:
        st.info("文件库还是空的：请管理员上传文件，或在服务器上运行 `make run`。")
        return
    titles = {d.path: d.title for d in documents}
    query = st.text_input(
        "用自己的话提问或输入关键词", placeholder="例如：没按时完成任务的单位会怎样？"
    )
    chosen = st.multiselect(
        "只在这些文件中查找（不选则查全部）",
        options=list(titles),
        format_func=lambda path: titles[path],
        placeholder="选择文件",
    )
    if not query.strip():
        return
    try:
        result = search(
            db,
            query,
            embedder=status.embedder,
            index=get_vector_index(),
            k=8,
            documents=chosen or None,
        )
    except QueryError as exc:
        st.warning(md_text(str(exc)))
        return
    for notice in result.notices:
        st.info(notice)
    if not result.hits:
        st.info("没有找到相关内容，请换个说法试试。")
        return
    cited = get_questions_by_passage()
    reader, practice = page("reader"), page("practice")
    for rank, hit in enumerate(result.hits, start=1):
        # Three or four elements a hit: every element is a message to the browser, and
        # under the deadline burst the searches' messages are what the submits wait behind
        # (bench/run_cost.py: 70 -> 37 messages a search).
        with st.container(border=True):
            where = " › ".join(part for part in (hit.doc_title, hit.heading_path) if part)
            st.markdown(
                f":gray[:small[{md_text(f'{rank}. {where}')}]]  \n{md_highlight(hit.text, query)}"
            )
            st.page_link(
                reader,
                label="打开原文，定位到此段",
                icon=":material/menu_book:",
                query_params={"doc": hit.doc_path, "chunk": str(hit.chunk_id)},
            )
            if hit.chunk_id in cited:
                st.page_link(
                    practice,
                    label=f"就此段出题考考我（{len(cited[hit.chunk_id])} 题）",
                    icon=":material/quiz:",
                    query_params={"chunk": str(hit.chunk_id)},
                )
