"""Chinese in place of the English that Streamlit 1.67 draws itself, with no setting or
parameter to change it: the file uploader's button ("Upload") and size line ("20MB per
file"), the "Press Enter to apply" line under a text input being typed in, and an empty
date input's "yyyy / mm / dd" (drawn as 年 / 月 / 日; its calendar is Chinese already).

One project-owned, constant style sheet (nothing in it comes from a document or a user)
hides those elements' text and, for the uploader and the date, draws Chinese in its place. It names
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
[data-testid="stDateInput"] [data-placeholder="true"] {{
  color: transparent !important;
  position: relative;
}}
[data-testid="stDateInput"] [data-placeholder="true"]::after {{
  position: absolute;
  inset: 0;
  text-align: center;
  color: rgba(49, 51, 63, 0.6);
}}
[data-testid="stDateInput"] [data-placeholder="true"][data-type="year"]::after {{ content: "年"; }}
[data-testid="stDateInput"] [data-placeholder="true"][data-type="month"]::after {{ content: "月"; }}
[data-testid="stDateInput"] [data-placeholder="true"][data-type="day"]::after {{ content: "日"; }}
</style>"""


def chinese_chrome() -> None:
    """Add the style sheet to this page run (the size is the server's upload limit)."""
    st.html(_STYLE.format(mb=int(st.get_option("server.maxUploadSize"))))
