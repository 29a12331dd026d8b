"""Showing document and user text safely: as text, never as HTML or live Markdown.

Everything a document or a person wrote goes through :func:`md_text` before it reaches
``st.markdown``: every ASCII punctuation character is backslash-escaped (CommonMark
allows that for all of them), so ``<script>``, ``[x](javascript:...)``, ``![](http://...)``,
``$latex$`` and Streamlit's ``:color[...]`` directives all show as the characters typed.

Escaping does not stop the frontend from making links of bare addresses
(``https://...``, ``www....``, ``name@host``): an invisible word joiner (U+2060) is put
before the ``:`` of a scheme, the ``.`` after ``www`` and around ``@``, which the browser
shows as the same text, not a link. Bidirectional control characters (RLO and the rest:
``txt\u202eexe.pdf`` would read as ``txtfdp.exe``) are removed.
"""

from __future__ import annotations

import re
import string

from kb.highlight import highlight_segments

_ESCAPE = {ord(ch): "\\" + ch for ch in string.punctuation}
WORD_JOINER = "\u2060"
# LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_NO_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.")


def plain_text(text: str) -> str:
    """``text`` without bidirectional controls and with addresses that cannot become links."""
    text = text.translate(_NO_BIDI)
    text = _SCHEME.sub(lambda m: m.group(1) + WORD_JOINER + ":", text)
    text = _WWW.sub(lambda m: m.group(1) + WORD_JOINER + ".", text)
    return text.replace("@", WORD_JOINER + "@" + WORD_JOINER)


def md_text(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally (line breaks kept), as :func:`plain_text`."""
    return "  \n".join(line.translate(_ESCAPE) for line in plain_text(text).split("\n"))


STRAY_MARKS = "、，,；;：:。"


def without_stray_mark(text: str) -> str:
    """``text`` without punctuation left at its start (``、开展…`` where a list number
    fell off in the source document): a passage shown on its own never opens with it."""
    return text.lstrip(STRAY_MARKS + " ") or text


def md_highlight(text: str, query: str) -> str:
    """``text`` escaped, with the query's content words marked (see :func:`md_segments`)."""
    return md_segments(highlight_segments(text, query))


def md_segments(segments: list[tuple[str, bool]]) -> str:
    """Segments escaped and joined, the matched ones in bold red, as Chinese search
    engines mark query words. A coloured background was too faint, and its padding read
    as a space inside the sentence (接 待群众)."""
    parts = []
    for piece, matched in segments:
        escaped = md_text(piece)
        parts.append(f":red[**{escaped}**]" if matched and piece.strip() else escaped)
    return "".join(parts)


def md_marked(text: str) -> str:
    """``text`` escaped and marked as a whole (the passage the reader was opened at)."""
    return f":orange-background[**{md_text(text)}**]"
