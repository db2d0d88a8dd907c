"""The gate every page passes first (see frame.py), and the warning for an open server.

Who the visitor is comes from glm4_app/ui/identity.py: an account's session cookie
(``GLM4_AUTH=password``; the server's /signin page sets it), a name from an authenticating
proxy (``header``), ``st.login`` (``oidc``), or without a login this browser's visitor cookie.
A page without a signed-in user shows how to sign in and stops there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote, urlencode

import streamlit as st

from .. import auth
from ..identity import Identity
from ..settings import Settings
from . import account, identity, state
from .address import page_url
from .i18n import t, tm

_LOG = logging.getLogger("glm4_app")


def gate(settings: Settings, open_to_anyone: Callable[[], bool] = lambda: False) -> Identity | None:
    """The signed-in user (or this browser without a login); draws the account panel, or
    how to sign in and stops the page while nobody is signed in. ``open_to_anyone()``, asked
    only then (it may read the database): this page shows something anyone may see (a public
    share link), so the visitor is let through (None) instead."""
    if settings.auth == "oidc":
        found = _oidc_identity()
        identity.remember(found)
    else:
        found = identity.resolve(settings)
    if settings.auth == "none":
        warn_if_open(st.get_option("server.address"), settings.auth)
        if found is not None:
            identity.adopt_link(found, state.store(settings.database))
    elif found is None:
        if open_to_anyone():
            return None  # nobody's account panel, keys or limits: nobody is signed in
        _ask_to_sign_in(settings)
    account.panel(found, settings)
    return found


def warn_if_open(address: str | None, auth_mode: str) -> None:
    if auth.open_to_network(address, auth_mode):
        message = auth.open_warning(address)
        _log_once(str(message))
        st.error(f"⚠️ {tm(message)}")


@st.cache_resource(show_spinner=False)
def _log_once(message: str) -> None:  # cached: once per server process, not once per rerun
    _LOG.log(logging.WARNING, "\n%s\n%s\n%s", "!" * 80, message, "!" * 80)  # the log stays English


def _ask_to_sign_in(settings: Settings) -> None:
    """Nobody is signed in on this page (the session ended, or the gate was passed some
    other way): say so and how to sign in, and draw nothing else."""
    st.markdown(t("### Sign in"))
    if settings.auth == "password":  # (the server sends a browser that never signed in to /signin)
        st.info(t("You are signed out, or your session has ended. Sign in to continue."))
    sign_in(settings, _here())
    st.stop()


def sign_in(settings: Settings, then: str) -> None:
    """How to sign in from this page, coming back to ``then`` (a path of this site) after:
    the server's sign-in page, the OIDC provider, or (behind a proxy) the proxy."""
    if settings.auth == "password":
        account.nav_link(f"/signin?next={quote(then, safe='')}", t("Sign in"), primary=True)
    elif settings.auth == "oidc":
        st.button(
            t("Sign in"),
            type="primary",
            key="oidc_login",
            on_click=st.login,
            args=(auth.oidc_provider(_auth_secrets()),),
        )
    elif settings.auth == "header":
        st.error(
            t(
                "This server signs people in through a proxy (header `{header}`), and this page was "
                "opened without it. Open the app through your team's sign-in address.",
                header=settings.auth_header,
            )
        )


def _here() -> str:
    """This page's path and query (``st.context.url`` holds no query): where to come back to."""
    url = page_url()
    path = (url.path if url else "") or "/"
    query = urlencode(st.query_params.to_dict())
    return path + (f"?{query}" if query else "")


# --- OIDC (st.login) -------------------------------------------------------------------------


def _oidc_identity() -> Identity | None:
    from streamlit.auth_util import is_authlib_installed

    section = _auth_secrets()
    problems = auth.oidc_config_problems(section, is_authlib_installed())
    if problems:
        st.error(
            t(
                "Login is set to OIDC (`GLM4_AUTH=oidc`) but it is not configured:\n\n{problems}",
                problems="\n".join(f"- {tm(p)}" for p in problems),
            )
        )
        st.stop()
    owner = auth.oidc_owner(st.user.to_dict())
    if owner is None:
        return None
    return Identity(owner, st.user.get("email") or st.user.get("name") or owner, "oidc")


def _auth_secrets() -> dict:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all
        return {}
    return section.to_dict() if hasattr(section, "to_dict") else dict(section or {})
