"""Streamlit entry: page config, login gate, navigation. Everything else lives in ui/."""

from __future__ import annotations

import streamlit as st

from ui.auth import current_user, login_page
from ui.nav import pages_for
from ui.render import md_text
from ui.services import bootstrap

st.set_page_config(page_title="创建文明单位学习平台", page_icon=":material/school:", layout="wide")
bootstrap()
person = current_user()
if person is None or person.must_change_password:
    st.navigation([st.Page(login_page, title="登录", url_path="login")], position="hidden").run()
else:
    st.sidebar.caption(md_text(f"{person.department} · {person.name}"))
    st.navigation(pages_for(person.role)).run()
