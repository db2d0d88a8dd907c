"""The account corner of the sidebar: who is signed in, sign out, API keys, and for admins
the accounts of the team."""

from __future__ import annotations

import datetime
from html import escape

import streamlit as st

from ..accounts import AccountError, store_for
from ..identity import Identity
from ..settings import Settings
from . import state
from .address import origin
from .i18n import t, tm
from .session import session


def panel(found: Identity | None, settings: Settings) -> None:
    with st.sidebar:
        if found is not None and found.kind == "account":
            _signed_in_line(
                found,
                [("/signout", t("Sign out")), ("/signout?everywhere=1", t("Sign out everywhere"))],
            )
        elif found is not None and found.kind in ("header", "oidc"):
            _signed_in_line(found, [])
            if found.kind == "oidc" and st.button(t("Sign out"), key="logout"):
                st.logout()
        if settings.api == "on":
            api_keys(settings)
        if found is not None and found.kind == "account" and found.is_admin:
            users(settings, found)


def _signed_in_line(found: Identity, links: list[tuple[str, str]]) -> None:
    """Who is signed in, and the sign-out links: plain links in this tab, because signing
    out is an HTTP route (only a response can clear the cookie); st.link_button opens a new tab."""
    who = t("Signed in as **{name}**", name=found.name) + (t(" · admin") if found.is_admin else "")
    st.caption(who)
    if links:
        st.html(
            '<div style="font-size:14px;margin-top:-8px">'
            + " · ".join(
                f'<a href="{escape(url)}" target="_self">{escape(label)}</a>'
                for url, label in links
            )
            + "</div>"
        )


def nav_link(url: str, label: str, primary: bool = False) -> None:
    """A link that looks like a button and opens in this tab."""
    colours = "background:#3b5bdb;color:#fff;border-color:#3b5bdb" if primary else "color:inherit"
    st.html(
        f'<a href="{escape(url)}" target="_self" style="display:inline-block;'
        f"padding:6px 14px;border:1px solid rgba(128,128,128,.4);border-radius:8px;"
        f'text-decoration:none;{colours}">{escape(label)}</a>'
    )


# --- API keys ------------------------------------------------------------------------------------


def api_keys(settings: Settings) -> None:
    # Tracked open or folded, so a folded panel (most reruns of every page) queries nothing.
    box = st.expander(
        t("🔑 API keys"), expanded=session.new_api_key is not None, key="api_keys_panel", on_change="rerun"
    )
    if not box.open:
        return
    store, owner = store_for(settings), state.owner()
    with box:
        st.caption(
            t(
                "For editors, scripts and any OpenAI client: base URL `{url}`, the key as the API key.",
                url=_api_base(),
            )
        )
        made = session.new_api_key  # a key just made: shown until dismissed, never stored
        if made:
            st.success(t("Copy your new key now: it is not shown again."))
            st.code(made, language=None)
            if st.button(t("✓ Copied, hide it"), key="api_key_hide"):
                del session.new_api_key
                st.rerun()
        with st.form(key="api_key_new", clear_on_submit=True, border=False):
            label = st.text_input(
                t("Name of a new key"), placeholder=t("e.g. my editor"), key="api_key_label"
            )
            create = st.form_submit_button(t("➕ Create key"))
        if create:
            session.new_api_key, _ = store.create_api_key(owner, label)
            st.rerun()
        for key in store.api_keys(owner):
            used = _when(key.last_used_at) if key.last_used_at else t("never used")
            st.markdown(f"**{key.label}** `{key.shown}`")
            left, right = st.columns([3, 2])
            left.caption(t("made {made}, {used}", made=_when(key.created_at), used=used))
            if right.button(t("Revoke"), key=f"api_key_revoke_{key.id}"):
                store.revoke_api_key(
                    key.id, owner
                )  # only one's own: the owner is part of the check
                st.rerun()


def _api_base() -> str:
    return origin() + "/v1"


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


# --- Accounts (admins) -----------------------------------------------------------------------------


def users(settings: Settings, me: Identity) -> None:
    removing = session.removing_user  # the account an admin asked to remove
    box = st.expander(t("👥 Accounts"), expanded=removing is not None, key="accounts_panel", on_change="rerun")
    if not box.open:
        return  # folded: no query of every account
    store = store_for(settings)
    with box:
        for user in store.users():
            left, right = st.columns([3, 2])
            left.markdown(f"**{user.name}**" + (t(" · admin") if user.is_admin else ""))
            if user.name.lower() == me.name.lower():
                continue  # nobody removes their own account here
            if right.button(t("Remove"), key=f"user_remove_{user.name}"):
                session.removing_user = user.name
                st.rerun()
            if removing == user.name:
                st.warning(
                    t(
                        "Remove {name}? Their sessions and API keys end; their conversations stay, "
                        "should the name come back.",
                        name=user.name,
                    )
                )
                yes, no = st.columns(2)
                if yes.button(t("Yes, remove"), key="user_remove_yes", type="primary"):
                    store.remove_user(user.name)
                    del session.removing_user
                    st.rerun()
                if no.button(t("Cancel"), key="user_remove_no"):
                    del session.removing_user
                    st.rerun()
        with st.form(key="user_add", clear_on_submit=True):
            name = st.text_input(t("User name"), key="user_add_name")
            password = st.text_input(t("Password"), type="password", key="user_add_password")
            admin = st.checkbox(t("Admin"), key="user_add_admin")
            added = st.form_submit_button(t("Add account"))
        if added:
            try:
                store.add_user(name, password, "admin" if admin else "user")
                st.success(t("Added {name}.", name=name.strip()))
            except AccountError as err:
                st.error(tm(err))
