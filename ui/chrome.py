"""Chinese in place of the English that Streamlit 1.67 draws itself, with no setting or
parameter to change it: the file uploader's button ("Upload") and size line ("20MB per
file"), and the "Press Enter to apply" line under a text input being typed in.

One project-owned, constant style sheet (nothing in it comes from a document or a user)
hides those elements' text and, for the uploader, draws Chinese in its place. It names
Streamlit's own test ids; `tests/test_browser_experience.py` fails on visible English if
an upgrade renames them.
"""

from __future__ import annotations

import streamlit as st

_STYLE = """<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{
  display: none;
}}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{
  content: "选择文件";
}}
[data-testid="stFileUploaderDropzoneInstructions"] > div > span {{ display: none; }}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {{
  content: "单个文件不超过 {mb} MB";
  font-size: 0.875rem;
  opacity: 0.7;
}}
[data-testid="InputInstructions"] {{ display: none; }}
</style>"""


def chinese_chrome() -> None:
    """Add the style sheet to this page run (the size is the server's upload limit)."""
    st.html(_STYLE.format(mb=int(st.get_option("server.maxUploadSize"))))
