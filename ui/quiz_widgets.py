"""Widgets shared by the quiz, result and practice pages: a question's answer input,
answers shown as text, and a source passage in context."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlite_utils import Database

from kb.documents import Passage
from quizzes.attempts import AttemptResult, QuestionResult
from quizzes.bank import Question
from quizzes.practice import source_passage
from ui.render import md_marked, md_text, without_stray_mark
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
        labels = [md_option(letter, text) for letter, _, text in lettered(options)]
        keys = [k for k, _ in options]
        if question.type == "single":
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
        # One checkbox an option: all visible at once,
        # which a dropdown is not on a phone (and it had an English "Select all").
        chosen = set(saved or [])
        picked = []
        with st.container(key=key):
            for i, (option_key, label) in enumerate(zip(keys, labels, strict=True)):
                if st.checkbox(
                    label,
                    value=option_key in chosen,
                    key=option_key_of(key, i),
                    on_change=on_change,
                    disabled=disabled,
                ):
                    picked.append(option_key)
        return sorted(picked) or None
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


def option_key_of(key: str, position: int) -> str:
    """The widget key of a multiple-choice question's checkbox at ``position``.

    The prefix keeps it from starting with ``key``: pages and tests find a question's
    input by the ``st-key-<key>`` class of its container.
    """
    return f"opt{position}-{key}"


def widget_answer(question: Question, options: tuple[tuple[str, str], ...], key: str) -> Any:
    """The answer a widget holds in session state, in original option keys (for callbacks)."""
    value = st.session_state.get(key)
    if question.type == "single":
        return None if value is None else options[value][0]
    if question.type == "multiple":
        ticked = [
            k for i, (k, _) in enumerate(options) if st.session_state.get(option_key_of(key, i))
        ]
        return sorted(ticked) or None
    if question.type == "true_false":
        return None if value is None else value == TRUE_FALSE[0]
    return (value or "").strip() or None


def lettered(options: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str]]:
    """``(letter, key, text)`` for options in the order shown: A, B, … by position."""
    return [(string.ascii_uppercase[i], k, text) for i, (k, text) in enumerate(options)]


def md_option(letter: str, text: str) -> str:
    """An option as Markdown, ``A. text``, with ``text`` escaped.

    "A." stays unescaped (a list marker needs a digit), so the label a screen reader gets
    (a checkbox's aria-label is this string) reads "A." and not "A\\.".
    """
    return f"{letter}. {md_text(text)}"


def md_answer(
    question: Question, answer: Any, options: tuple[tuple[str, str], ...] | None = None
) -> str:
    """An answer (given or correct) as a person reads it, as escaped Markdown.

    Options are lettered by their position in ``options``, the order the person saw
    (the bank's order when not given), so "C" here is the "C" they clicked.
    """
    if answer is None or answer == [] or answer == ():
        return "（未作答）"
    if question.type in ("single", "multiple"):
        keys = {answer} if isinstance(answer, str) else set(answer)
        return "；".join(
            md_option(letter, text)
            for letter, k, text in lettered(options or question.options)
            if k in keys
        )
    if question.type == "true_false":
        return TRUE_FALSE[0] if answer else TRUE_FALSE[1]
    if isinstance(answer, list | tuple):
        return " / ".join(md_text(str(a)) for a in answer)
    return md_text(str(answer))


def show_question_stem(number: int, question: Question) -> None:
    """The stem with its number, type and points, as text."""
    points = f"{question.points:g} 分"
    st.markdown(
        f"**{number}\\.** " + md_text(f"（{TYPE_LABELS[question.type]}，{points}）{question.stem}")
    )


def show_options(options: tuple[tuple[str, str], ...]) -> None:
    """All options lettered as they were shown (results and the dashboard's review)."""
    for letter, _, text in lettered(options):
        st.markdown(md_option(letter, text))


def show_source(passage: Passage | None, question: Question) -> None:
    """The passage that answers ``question``, in its paragraph, with a link to the reader."""
    if passage is None:
        st.caption(md_text(f"出处：{question.source.document}（原文已变动，未能定位）"))
        st.markdown(md_marked(question.source.quote))
        return
    where = " › ".join(p for p in (passage.doc_title, passage.heading_path) if p)
    st.caption(md_text(f"出处：{where}"))
    paragraph, text = without_stray_mark(passage.paragraph), without_stray_mark(passage.text)
    start = paragraph.find(text)
    if start < 0:
        st.markdown(md_marked(text))
    else:
        before, after = paragraph[:start], paragraph[start + len(text) :]
        st.markdown(md_text(before) + md_marked(text) + md_text(after))
    st.page_link(
        page("reader"),
        label="在原文中查看",
        icon=":material/menu_book:",
        query_params={"doc": passage.doc_path, "chunk": str(passage.chunk_id)},
    )


def show_review(
    db: Database, number: int, question: Question, result: AttemptResult, item: QuestionResult
) -> None:
    """One graded question as the person saw it: its number and option letters in the
    attempt, their answer, the right one, the explanation and the source passage."""
    options = result.displayed_options(question)
    with st.container(border=True):
        show_question_stem(number, question)
        if question.type in ("single", "multiple"):
            show_options(options)
        st.markdown(
            f"你的答案：{md_answer(question, item.answer, options)}（得 {item.points or 0:g} 分）"
        )
        st.markdown(f"正确答案：{md_answer(question, question.answer, options)}")
        if question.explanation:
            st.markdown(md_text(f"解析：{question.explanation}"))
        show_source(source_passage(db, question), question)
