"""What each Streamlit process serves: the app (``app.py``) and the login cookie's two
routes (``ui/login_cookie.py``), as an ``st.App`` that ``streamlit run asgi.py`` finds.

``ui/serve.py`` starts the workers with it; ``streamlit run app.py`` still serves the app,
without the routes (a login then lasts as long as its tab).
"""

import streamlit as st

from ui.login_cookie import ROUTES

app = st.App("app.py", routes=ROUTES)
