"""Streamlit entry: page config, login gate, navigation. Everything else lives in ui/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import protocol_guard
from ui.auth import current_user, login_cookie_image, login_page
from ui.nav import all_pages, pages_for
from ui.render import md_text
from ui.services import bootstrap

protocol_guard.install()
# A local image: a material icon as page_icon makes every browser fetch it from a font host.
FAVICON = Path(__file__).parent / "ui" / "favicon.png"
st.set_page_config(page_title="创建文明单位学习平台", page_icon=str(FAVICON), layout="wide")
bootstrap()
person = current_user()
# Where the browser fetches its login cookie (or drops an ended one): in the sidebar's
# caption once logged in, so that the page itself does not move.
cookie_image = login_cookie_image()
if person is None or person.must_change_password:
    # Every page is registered (hidden) but the login form runs instead: a reload or a
    # bookmarked link (/quizzes?attempt=7) keeps its path and query through the login.
    st.navigation(all_pages(), position="hidden")
    if cookie_image:
        st.markdown(cookie_image)
    login_page(person)
else:
    st.sidebar.caption(md_text(f"{person.department} · {person.name}") + cookie_image)
    st.navigation(pages_for(person.role)).run()
