"""Widgets shared by the quiz, result and practice pages: a question's answer input,
answers shown as text, and a source passage in context."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import streamlit as st

from kb.documents import Passage
from quizzes.bank import Question
from ui.render import md_marked, md_text
from ui.routes import page

TYPE_LABELS = {"single": "单选", "multiple": "多选", "true_false": "判断", "fill": "填空"}
TRUE_FALSE = ("正确", "错误")


def answer_input(
    question: Question,
    options: tuple[tuple[str, str], ...],
    key: str,
    saved: Any,
    on_change: Callable[[], None] | None = None,
    disabled: bool = False,
) -> Any:
    """Show the input for ``question`` and return the answer in original option keys.

    ``options`` are in the order shown (an attempt's shuffle); they are labelled A, B, …
    by position, so a shuffled quiz still reads naturally; the answer maps back to keys.
    """
    if question.type in ("single", "multiple"):
        labels = [f"{string.ascii_uppercase[i]}. {text}" for i, (_, text) in enumerate(options)]
        keys = [k for k, _ in options]
        if question.type == "single":
            # radio labels are rendered as Markdown (multiselect options are plain text)
            labels = [md_text(label) for label in labels]
            index = keys.index(saved) if saved in keys else None
            choice = st.radio(
                "选择一项",
                range(len(keys)),
                index=index,
                key=key,
                format_func=labels.__getitem__,
                on_change=on_change,
                disabled=disabled,
                label_visibility="collapsed",
            )
            return None if choice is None else keys[choice]
        chosen = set(saved or [])
        default = [i for i, k in enumerate(keys) if k in chosen]
        picked = st.multiselect(
            "选择所有正确项",
            range(len(keys)),
            default=default,
            key=key,
            format_func=labels.__getitem__,
            on_change=on_change,
            disabled=disabled,
            placeholder="可多选",
        )
        return sorted(keys[i] for i in picked) or None
    if question.type == "true_false":
        index = None if saved is None else (0 if saved else 1)
        choice = st.radio(
            "判断",
            TRUE_FALSE,
            index=index,
            key=key,
            on_change=on_change,
            disabled=disabled,
            horizontal=True,
            label_visibility="collapsed",
        )
        return None if choice is None else choice == TRUE_FALSE[0]
    text = st.text_input(
        "填写答案",
        value=saved or "",
        key=key,
        on_change=on_change,
        disabled=disabled,
        max_chars=200,
    )
    return text.strip() or None


def widget_answer(question: Question, options: tuple[tuple[str, str], ...], key: str) -> Any:
    """The answer a widget holds in session state, in original option keys (for callbacks)."""
    value = st.session_state.get(key)
    if question.type == "single":
        return None if value is None else options[value][0]
    if question.type == "multiple":
        return sorted(options[i][0] for i in value or []) or None
    if question.type == "true_false":
        return None if value is None else value == TRUE_FALSE[0]
    return (value or "").strip() or None


def format_answer(question: Question, answer: Any) -> str:
    """An answer (given or correct) as a person reads it, with option letters by key."""
    if answer is None or answer == [] or answer == ():
        return "（未作答）"
    if question.type in ("single", "multiple"):
        keys = [answer] if isinstance(answer, str) else list(answer)
        return "；".join(
            f"{k}. {question.option_text(k)}" for k in keys if k in question.option_keys
        )
    if question.type == "true_false":
        return TRUE_FALSE[0] if answer else TRUE_FALSE[1]
    if isinstance(answer, list | tuple):
        return " / ".join(str(a) for a in answer)
    return str(answer)


def show_question_stem(number: int, question: Question) -> None:
    """The stem with its number, type and points, as text."""
    points = f"{question.points:g} 分"
    st.markdown(
        f"**{number}\\.** " + md_text(f"（{TYPE_LABELS[question.type]}，{points}）{question.stem}")
    )


def show_options_with_keys(question: Question) -> None:
    """All options labelled by their original keys (results and practice)."""
    for key, text in question.options:
        st.markdown(md_text(f"{key}. {text}"))


def show_source(passage: Passage | None, question: Question) -> None:
    """The passage that answers ``question``, in its paragraph, with a link to the reader."""
    if passage is None:
        st.caption(md_text(f"出处：{question.source.document}（原文已变动，未能定位）"))
        st.markdown(md_marked(question.source.quote))
        return
    where = " › ".join(p for p in (passage.doc_title, passage.heading_path) if p)
    st.caption(md_text(f"出处：{where}"))
    start = passage.paragraph.find(passage.text)
    if start < 0:
        st.markdown(md_marked(passage.text))
    else:
        before, after = passage.paragraph[:start], passage.paragraph[start + len(passage.text) :]
        st.markdown(md_text(before) + md_marked(passage.text) + md_text(after))
    st.page_link(
        page("reader"),
        label="在原文中查看",
        icon=":material/menu_book:",
        query_params={"doc": passage.doc_path, "chunk": str(passage.chunk_id)},
    )
