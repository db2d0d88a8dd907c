"""The door every HTTP request and websocket passes, before Streamlit or the API sees it.

- ``GLM4_AUTH=password``: opening a page without a valid session cookie leads to the sign-in
  page (and back afterwards); a stale cookie is cleared on the way. A share link its owner
  opened to anyone (and ``GLM4_PUBLIC_SHARES`` allows) opens without one: the database says
  so, not the URL (shares.open_to_anyone).
- ``GLM4_AUTH=none``: a browser opening a page gets a random visitor cookie if it has none,
  so its conversations stay its own across reloads without a key in the URL.
- ``GLM4_AUTH=header``: the identity header is removed from requests that do not come from a
  trusted proxy, so only the proxy can name a user; the page reads what is left.

Only page loads are gated: the websocket, Streamlit's assets, the API (keys), health and
metrics pass. The page checks the session again on every script run (glm4_app/ui/identity.py),
so a session that ends while a tab is open stops working there too.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import shares
from .. import store as conversation_store
from ..accounts import store_for
from ..identity import (
    SESSION_COOKIE,
    VISITOR_COOKIE,
    VISITOR_DAYS,
    from_trusted_proxy,
    new_visitor_token,
    proxy_networks,
    visitor_identity,
)
from ..settings import Settings
from . import state
from .signin import clear_session_cookie, secure

# Paths that are never a page of the app: Streamlit's own, the server's routes.
NOT_PAGES = (
    "/_stcore/",
    "/static/",
    "/media/",
    "/component/",
    "/app/static/",
    "/auth/",
    "/oauth2callback",
    "/v1/",
    "/healthz",
    "/metrics",
    "/artifact/",  # previews check their own tickets (server/artifacts.py)
    "/artifact-lib/",
    "/signin",
    "/signup",
    "/signout",
)


def is_page_load(scope: Scope) -> bool:
    """A browser opening a page of the app (Streamlit serves its page for any other path)."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope["path"].startswith(NOT_PAGES):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


class Gate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        settings = state.settings()
        if settings.auth == "header":
            scope = without_untrusted_identity(
                scope, settings.auth_header, settings.trusted_proxies
            )
        if is_page_load(scope):
            connection = HTTPConnection(scope)
            if settings.auth == "password":
                token = connection.cookies.get(SESSION_COOKIE)
                # SQLite in a worker thread: a busy database must not stall every other
                # request and websocket this event loop serves.
                if not await run_in_threadpool(may_open, connection, settings, token):
                    return await to_signin(scope, receive, send, stale=bool(token))
            elif (
                settings.auth == "none"
                and visitor_identity(connection.cookies.get(VISITOR_COOKIE)) is None
            ):
                send = with_visitor_cookie(send, secure=secure(connection))
        await self.app(scope, receive, send)


def may_open(connection: HTTPConnection, settings: Settings, token: str | None) -> bool:
    """Whether a page load passes in password mode: a valid session, or a public share."""
    return store_for(settings).session_user(token) is not None or public_share(connection, settings)


def public_share(connection: HTTPConnection, settings: Settings) -> bool:
    """A page load of a share link (``?share=<id>``) that opens for anyone."""
    share_id = connection.query_params.get("share")
    if share_id is None:
        return False
    return shares.open_to_anyone(conversation_store.shared(settings.database), share_id, settings.public_shares)


async def to_signin(scope: Scope, receive: Receive, send: Send, stale: bool) -> None:
    path = scope["path"] + (
        "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
    )
    location = "/signin?next=" + quote(path, safe="")
    if stale:
        location += "&expired=1"
    response = RedirectResponse(location, 303)
    if stale:
        clear_session_cookie(response, HTTPConnection(scope))
    await response(scope, receive, send)


def with_visitor_cookie(send: Send, secure: bool) -> Send:
    token = new_visitor_token()
    cookie = (
        f"{VISITOR_COOKIE}={token}; Max-Age={VISITOR_DAYS * 86400}; Path=/; HttpOnly; SameSite=Lax"
    )
    if secure:
        cookie += "; Secure"

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).append("set-cookie", cookie)
        await send(message)

    return sending


def without_untrusted_identity(scope: Scope, header: str, proxies: str) -> Scope:
    """``scope`` without the identity header unless the connection comes from a trusted proxy."""
    networks, _ = proxy_networks(proxies)
    client = scope.get("client")
    if from_trusted_proxy(client[0] if client else None, networks):
        return scope
    name = header.lower().encode("latin-1")
    return {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != name]}
