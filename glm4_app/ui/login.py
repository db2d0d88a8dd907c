"""The login gate every page passes first (see frame.py), and the warning for an open server.

With ``GLM4_AUTH=none`` nobody logs in and conversations belong to a browser link (``?u=``).
With ``password`` or ``oidc`` the identity becomes the owner of conversations and files:
``st.session_state.identity`` holds it for state.owner().
"""

from __future__ import annotations

import logging
import math

import streamlit as st

from .. import auth
from ..settings import Settings
from .i18n import t, tm

_LOG = logging.getLogger("glm4_app")


def gate(settings: Settings) -> str | None:
    """The signed-in user's owner key (None without login); draws the login form and stops
    the page while nobody is signed in."""
    if settings.auth == "none":
        warn_if_open(st.get_option("server.address"), settings.auth)
        st.session_state.pop("identity", None)
        return None
    identity = _oidc_identity() if settings.auth == "oidc" else _password_identity(settings)
    st.session_state.identity = identity
    with st.sidebar:
        st.caption(t("Signed in as **{name}**", name=st.session_state.get("display_name", identity)))
        if st.button(t("Log out"), key="logout"):
            _forget_session()
            if settings.auth == "oidc":
                st.logout()
            st.rerun()
    return identity


def warn_if_open(address: str | None, auth_mode: str) -> None:
    if auth.open_to_network(address, auth_mode):
        message = auth.OPEN_WARNING.format(address=address or "every network interface")
        _log_once(message)
        st.error(f"⚠️ {tm(message)}")


@st.cache_resource(show_spinner=False)
def _log_once(message: str) -> None:  # cached: once per server process, not once per rerun
    _LOG.log(logging.WARNING, "\n%s\n%s\n%s", "!" * 80, message, "!" * 80)  # the log stays English


@st.cache_resource(show_spinner=False)
def throttles() -> tuple[auth.LoginThrottle, auth.LoginThrottle]:
    """Failed logins per user name, and per client address: more generous, since a whole
    team behind one proxy shares an address."""
    return auth.LoginThrottle(max_failures=5), auth.LoginThrottle(max_failures=30)


# --- Shared password -------------------------------------------------------------------------


def _password_identity(settings: Settings) -> str:
    if (st.session_state.get("identity") or "").startswith("user:"):
        return st.session_state.identity
    st.markdown(t("### Log in"))
    if not settings.password:
        st.error(t("Login is on (`GLM4_AUTH=password`) but no password is set: set `GLM4_PASSWORD`."))
        st.stop()
    with st.form(key="login"):
        name = st.text_input(t("User name"), key="login_name")
        password = st.text_input(t("Password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("Log in"), type="primary", key="login_submit")
    if submitted:
        _try_password(settings, name, password)
    st.stop()


def _try_password(settings: Settings, name: str, password: str) -> None:
    by_name, by_address = throttles()
    name_key, address = name.strip().lower(), st.context.ip_address or ""  # "" when unknown
    wait = max(by_name.wait_s(name_key), by_address.wait_s(address))
    if wait > 0:
        st.error(t("Too many failed logins. Try again in {seconds} s.", seconds=math.ceil(wait)))
        return
    problem = auth.user_name_problem(name)
    if problem:
        st.error(tm(problem))
        return
    if not auth.password_matches(password, settings.password):
        by_name.failed(name_key)
        by_address.failed(address)
        st.error(t("Wrong user name or password."))
        return
    by_name.succeeded(name_key)
    st.session_state.identity = auth.password_owner(name)
    st.session_state.display_name = name.strip()
    st.rerun()


# --- OIDC (st.login) -------------------------------------------------------------------------


def _oidc_identity() -> str:
    from streamlit.auth_util import is_authlib_installed

    section = _auth_secrets()
    problems = auth.oidc_config_problems(section, is_authlib_installed())
    if problems:
        st.error(t(
            "Login is set to OIDC (`GLM4_AUTH=oidc`) but it is not configured:\n\n{problems}",
            problems="\n".join(f"- {tm(p)}" for p in problems),
        ))
        st.stop()
    identity = auth.oidc_owner(st.user.to_dict())
    if identity is None:
        st.markdown(t("### Log in"))
        st.button(t("Log in"), type="primary", key="oidc_login", on_click=st.login, args=(auth.oidc_provider(section),))
        st.stop()
    st.session_state.display_name = st.user.get("email") or st.user.get("name") or identity
    return identity


def _auth_secrets() -> dict:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all
        return {}
    return section.to_dict() if hasattr(section, "to_dict") else dict(section or {})


def _forget_session() -> None:
    """Forget everything of this session, so the next person at this browser starts clean."""
    box = st.session_state.get("toolbox")
    if box is not None:
        box.shutdown()  # the Python kernel holds the last user's variables and files
    for key in list(st.session_state):
        del st.session_state[key]
    st.query_params.clear()
