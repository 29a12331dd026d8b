"""就此段练一练: practice items generated from a passage (quizzes/passage_items.py), under a
search hit or a paragraph of the reader, answered and checked in this browser session.

Nothing here is graded or stored: the items are made from the passage's own words, never
taken from the quiz bank, so they give away no graded question's answer (the security
issue's rule for passage practice)."""

from __future__ import annotations

import string
from collections.abc import Sequence

import streamlit as st

from kb.documents import Passage
from quizzes.passage_items import FALSE, FILL, JUDGE, PassageItem, is_right, practice_for_passages
from ui.quiz_widgets import md_option
from ui.render import md_text, without_stray_mark
from ui.services import get_db

LABEL = "就此段练一练"
NOTICE = "以下题目由本段原文自动生成，仅供自测：不计分，不计入测验成绩，也不保存作答。"
NOTHING = "本段暂无可自动生成的练习。"


_OPEN = "passage_practice_open"
"""Session key: the practice shown (one at a time), by the key its button was drawn with."""


def passage_practice(chunk_ids: Sequence[int], key: str) -> None:
    """A 就此段练一练 button; pressed, the items of the passages ``chunk_ids`` below it,
    with 收起练习 in its place, until another passage's practice is opened.

    A button, not a switch: a page of 200 paragraphs with a switch each took more than
    twice as long to run (132-163 ms -> 343-387 ms, AppTest); buttons cost about half
    that. Items are made only while shown.
    """
    shown = st.session_state.get(_OPEN) == key
    label, icon = ("收起练习", ":material/close:") if shown else (LABEL, ":material/edit_note:")
    if st.button(label, key=f"practise-{key}", type="tertiary", icon=icon):
        st.session_state[_OPEN] = None if shown else key
        st.rerun()
    if shown:
        show_practice(chunk_ids, key)


def show_practice(chunk_ids: Sequence[int], key: str) -> None:
    """The items of the passages ``chunk_ids`` (in order), each with its answer input and
    检查答案, or 本段暂无可自动生成的练习."""
    practised = practice_for_passages(get_db(), chunk_ids)
    items = [(p.passage, item) for p in practised for item in p.items]
    with st.container(border=True):
        if not items:
            st.info(NOTHING)
            return
        st.caption(NOTICE)
        for number, (passage, item) in enumerate(items, start=1):
            _show_item(number, passage, item, f"{key}-{passage.chunk_id}-{number}")


def _show_item(number: int, passage: Passage, item: PassageItem, key: str) -> None:
    answered = f"practised-{key}"
    with st.form(f"form-{key}", border=False):
        st.markdown(f"**{number}.** :gray[（{item.kind} · 自动生成）] {md_text(item.stem)}")
        if item.kind == FILL:
            response = st.text_input("填写答案", key=f"answer-{key}", max_chars=200)
        else:
            letters = string.ascii_uppercase
            labels = (
                list(item.options)
                if item.kind == JUDGE
                else [md_option(letters[i], o) for i, o in enumerate(item.options)]
            )
            choice = st.radio(
                "选择答案",
                range(len(item.options)),
                index=None,
                key=f"answer-{key}",
                format_func=labels.__getitem__,
                horizontal=item.kind == JUDGE,
                label_visibility="collapsed",
            )
            response = None if choice is None else item.options[choice]
        if st.form_submit_button("检查答案"):
            st.session_state[answered] = response
    if answered in st.session_state:
        _feedback(passage, item, st.session_state[answered])


def _feedback(passage: Passage, item: PassageItem, response: str | None) -> None:
    if not response:
        st.warning("还没有作答。")
        return
    if is_right(item, response):
        st.success("回答正确！")
    else:
        st.error(md_text(f"回答错误。正确答案：{item.answer}"))
    if item.kind == JUDGE and item.answer == FALSE:
        st.markdown(md_text(f"原文是：{item.original}"))
    st.caption(md_text(f"本段原文：{without_stray_mark(passage.text)}"))
