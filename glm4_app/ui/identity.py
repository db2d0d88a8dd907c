"""Who is using this page, decided again on every script run from the page's connection.

``st.context.cookies`` and ``st.context.headers`` are those of the request that opened the
page's websocket; the server's gate (glm4_app/server/gate.py) has already removed an identity
header that no trusted proxy set, and set the visitor cookie of a browser without a login.
Checking the session on every run means a session ended elsewhere (Sign out everywhere, a
removed account, a new password) stops working in an open tab at its next click.
"""

from __future__ import annotations

from typing import Mapping

import streamlit as st

from ..identity import Identity, adoptable_link_key, identity_of
from ..settings import Settings
from .session import session


def resolve(settings: Settings) -> Identity | None:
    """This run's identity: the signed-in user, the visitor of this browser, or None (nobody
    signed in; without a login and without cookies, the page falls back to a ``?u=`` key)."""
    found = identity_of(settings, cookies(), headers())  # oidc: None, ui/login.py asks st.user
    remember(found)
    return found


def remember(found: Identity | None) -> None:
    session.identity = found


def current() -> Identity | None:
    return session.identity


def adopt_link(visitor: Identity, store) -> None:
    """An old ``?u=`` link (the visitor key of earlier versions) opened in a browser with a
    visitor cookie: its conversations become this visitor's, once, and the key leaves the URL."""
    key = st.query_params.get("u")
    if key is None or not visitor.owner.startswith("anon:"):
        return
    if adoptable_link_key(key):
        store.reassign_owner(key, visitor.owner)
    del st.query_params["u"]


def cookies() -> Mapping[str, str]:
    """The cookies of this page's connection (none in bare mode or under AppTest)."""
    try:
        return {k: v for k, v in st.context.cookies.items() if isinstance(v, str)}
    except Exception:
        return {}


def headers() -> Mapping[str, str]:
    """The request headers of this page's connection, by lower-case name."""
    try:
        return {k.lower(): v for k, v in st.context.headers.items() if isinstance(v, str)}
    except Exception:
        return {}
