"""The login cookie: two HTTP routes served by each Streamlit process next to the app
(``asgi.py``), since a page cannot set an HttpOnly cookie itself.

* ``GET /_auth/session?code=…`` exchanges a login's one-time code for the session's token
  (``quizzes.sessions.claim_session``) and sets it as the cookie.
* ``GET /_auth/clear?s=…`` takes the cookie away when its token's hash is ``s``: the page
  asks for it after a logout, or when the cookie's session has ended.

The page fetches each as a 1×1 image (``ui.auth.login_cookie_image``), so no script and no
navigation is needed, and the address bar keeps the page and its query. The cookie is
HttpOnly (no script reads it), SameSite=Strict, Secure when the browser came over HTTPS,
Path=/, and lives until the browser closes; the server ends it sooner (idle, logout,
password or account change). Streamlit hands it to the app with the websocket's request
(``st.context.cookies``).
"""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from base.settings import Settings
from base.store import open_db
from quizzes.sessions import claim_session, hash_secret

COOKIE = "kb_login"
SET_PATH = "/_auth/session"
CLEAR_PATH = "/_auth/clear"
# A transparent 1×1 GIF: what the page's image shows.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _pixel() -> Response:
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


def _cookie_options(request: Request) -> dict:
    # Behind a TLS terminator the scheme arrives as X-Forwarded-Proto. A client that fakes
    # it over plain HTTP only gets a cookie its own browser will not send back.
    secure = (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )
    return {"path": "/", "httponly": True, "samesite": "strict", "secure": secure}


def set_login_cookie(request: Request) -> Response:
    """``GET /_auth/session?code=…``: the session's cookie for a valid one-time code.

    Only for the app's own page: a browser that says the request came from elsewhere
    (``Sec-Fetch-Site``, sent by every current browser) gets nothing, so that a link on
    another site cannot plant someone else's login in it (login CSRF).
    """
    response = _pixel()
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return response
    settings = Settings.from_env()
    db = open_db(settings.db_path)
    try:
        token = claim_session(db, request.query_params.get("code", ""), datetime.now(UTC))
    finally:
        db.close()
    if token is not None:
        response.set_cookie(COOKIE, token, **_cookie_options(request))
    return response


def clear_login_cookie(request: Request) -> Response:
    """``GET /_auth/clear?s=…``: drop the cookie if its token's hash is ``s``.

    Only the named cookie goes: a page still showing an old, ended login must not take
    away the cookie of a newer login in another tab.
    """
    response = _pixel()
    token = request.cookies.get(COOKIE, "")
    named = request.query_params.get("s", "")
    if token and named and hmac.compare_digest(hash_secret(token), named):
        response.delete_cookie(COOKIE, **_cookie_options(request))
    return response


ROUTES = [
    Route(SET_PATH, set_login_cookie, methods=["GET"]),
    Route(CLEAR_PATH, clear_login_cookie, methods=["GET"]),
]
