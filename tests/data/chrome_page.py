"""A page of the Streamlit widgets that draw English themselves, for
tests/test_browser_chrome.py: an empty date input, and a run of 3 s (long enough for
Streamlit to show its running state). With ``?plain`` the page leaves out ui/chrome.py's
style sheet, so the test sees the English that the sheet hides."""

import time

import streamlit as st

from ui.chrome import chinese_chrome

if "plain" not in st.query_params:
    chinese_chrome()
st.date_input("截止日期（可不填）", value=None)
if st.button("慢慢做"):
    time.sleep(3)
    st.write("做完了")
