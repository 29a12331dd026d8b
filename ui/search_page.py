"""政策检索: ask in your own words, get the passage, where it stands, and a way to read it."""

from __future__ import annotations

import streamlit as st

from kb.documents import list_documents
from kb.embedding import ModelStatus
from kb.errors import QueryError
from kb.highlight import highlight_segments
from kb.search import Hit, search
from ui.auth import require
from ui.passage_practice import passage_practice
from ui.render import md_segments, md_text, without_stray_mark
from ui.routes import page
from ui.services import get_db, get_model_status, get_questions_by_passage, get_vector_index

NO_GOOD_MATCH = "没有找到可靠的答案。下面是最接近的段落，仅供参考，请换个说法或缩小范围再试。"
ABOUT = (
    "**关于检索**：结果按两种方式综合排序。关键词检索找原文中出现您所用字词的段落；"
    "语义检索按意思找段落，即使原文的说法与您的提问不同。不同文件中说同一件事的段落合为一条，"
    "先列被引用的文件，其他的列在“另见”中。找不到可靠答案时，页面会明确说明。"
)


def model_notice(status: ModelStatus) -> None:
    """A missing model is visible, never silent; which model is used is in 关于检索."""
    if status.embedder is None:
        st.warning(md_text(status.message or "语义模型未加载，当前仅使用关键词检索。"))


def about_search(status: ModelStatus) -> None:
    """How search works, and the model's name and licence, folded away."""
    with st.expander("关于检索"):
        model = status.embedder.label if status.embedder else "未加载（仅关键词检索）"
        st.markdown(f"{ABOUT}  \n{md_text(f'语义模型：{model}')}")


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
        about_search(status)
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
    if result.weak:
        st.warning(NO_GOOD_MATCH)
    cited = get_questions_by_passage()
    for rank, hit in enumerate(result.hits, start=1):
        show_hit(rank, hit, query, result.weak, cited.get(hit.chunk_id))
    about_search(status)


def show_hit(rank: int, hit: Hit, query: str, weak: bool, cited: list | None) -> None:
    """One hit in four to six elements: every element is a message to the browser, and
    under the deadline burst the searches' messages are what the submits wait behind
    (bench/run_cost.py: 70 -> 37 messages a search)."""
    reader, practice = page("reader"), page("practice")
    segments = highlight_segments(without_stray_mark(hit.text), query)
    with st.container(border=True):
        where = " › ".join(part for part in (hit.doc_title, hit.heading_path) if part)
        # Said only where it helps: a passage that shares none of the query's words was
        # found by its meaning, which is why nothing in it is marked.
        how = (
            "弱匹配"
            if weak
            else ("" if any(m for _, m in segments) else "按意思找到，原文用词不同")
        )
        label = f"{rank}. {where}" + (f" · {how}" if how else "")
        st.markdown(f":gray[:small[{md_text(label)}]]  \n{md_segments(segments)}")
        st.page_link(
            reader,
            label="打开原文，定位到此段",
            icon=":material/menu_book:",
            query_params={"doc": hit.doc_path, "chunk": str(hit.chunk_id)},
        )
        for other in hit.also:
            st.page_link(
                reader,
                label=f"另见：《{other.doc_title}》",
                icon=":material/link:",
                query_params={"doc": other.doc_path, "chunk": str(other.chunk_id)},
            )
        if cited:
            st.page_link(
                practice,
                label=f"就此段出题考考我（{len(cited)} 题）",
                icon=":material/quiz:",
                query_params={"chunk": str(hit.chunk_id)},
            )
        passage_practice((hit.chunk_id,), f"hit-{hit.chunk_id}")
