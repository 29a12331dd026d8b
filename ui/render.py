"""Showing document and user text safely: as text, never as HTML or live Markdown.

Everything a document or a person wrote goes through :func:`md_text` before it reaches
``st.markdown``: every ASCII punctuation character is backslash-escaped (CommonMark
allows that for all of them), so ``<script>``, ``[x](javascript:...)``, ``![](http://...)``,
``$latex$`` and Streamlit's ``:color[...]`` directives all show as the characters typed.
"""

from __future__ import annotations

import string

from kb.highlight import highlight_segments

_ESCAPE = {ord(ch): "\\" + ch for ch in string.punctuation}


def md_text(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally (line breaks kept)."""
    return "  \n".join(line.translate(_ESCAPE) for line in text.split("\n"))


STRAY_MARKS = "、，,；;：:。"


def without_stray_mark(text: str) -> str:
    """``text`` without punctuation left at its start (``、开展…`` where a list number
    fell off in the source document): a passage shown on its own never opens with it."""
    return text.lstrip(STRAY_MARKS + " ") or text


def md_highlight(text: str, query: str) -> str:
    """``text`` escaped, with the query's content words marked (see :func:`md_segments`)."""
    return md_segments(highlight_segments(text, query))


def md_segments(segments: list[tuple[str, bool]]) -> str:
    """Segments escaped and joined, the matched ones bold on a highlighted background
    (the background alone was too faint to see at a glance)."""
    parts = []
    for piece, matched in segments:
        escaped = md_text(piece)
        parts.append(f":orange-background[**{escaped}**]" if matched and piece.strip() else escaped)
    return "".join(parts)


def md_marked(text: str) -> str:
    """``text`` escaped and marked as a whole (the passage the reader was opened at)."""
    return f":orange-background[**{md_text(text)}**]"
