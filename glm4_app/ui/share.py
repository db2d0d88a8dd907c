"""Share links on the page: the menu section that makes and revokes them, and the read-only
view of one (``?share=<id>``), with "Continue in my chats".

Who may open a link (see shares.py for what it holds): without a login, whoever reaches the
server (there are no accounts to check); with one, signed-in users, and anyone when the link's
owner marked it public and ``GLM4_PUBLIC_SHARES`` allows that. A link that does not exist and
one that was revoked read the same.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from .. import shares
from ..settings import Settings
from ..tool_steps import citations_of
from ..store import ConversationStore
from . import artifacts, grounding, login, state
from .address import page_url
from .i18n import shown_title, t
from .session import session

PAGES = {"chat": "app.py", "tools": "pages/tools.py", "documents": "pages/documents.py", "vision": "pages/vision.py"}


def requested() -> bool:
    return "share" in st.query_params


def open_to_anyone(settings: Settings) -> bool:
    """This page is a share link that opens without signing in (under a login); a query, so
    the gate asks only when nobody is signed in."""
    if not requested() or settings.auth == "none":
        return False
    store = state.store(settings.database)
    return shares.open_to_anyone(store, st.query_params.get("share"), settings.public_shares)


def may_view(share: shares.Share, settings: Settings) -> bool:
    if settings.auth == "none" or state.signed_in():
        return True
    return shares.anyone_may_open(share.public, settings.public_shares)


def page(store: ConversationStore, settings: Settings, draw) -> None:
    """The shared conversation, read-only; nothing of the viewer's own is shown or changed.
    ``draw(role, messages, image, citations)`` draws a bubble's messages as the chat page does."""
    found = shares.get(store, st.query_params.get("share"))
    if found is None or not may_view(found, settings):
        st.error(t("This shared link does not exist, or its owner revoked it."))
        st.page_link(PAGES["chat"], label=t("Go to my chats"), icon="💬")
        return
    snap = found.snapshot
    st.subheader(shown_title(snap.title))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.created_at))
    st.caption(t("🔗 A read-only copy of a conversation, shared {when}. Later changes to it do not show here.", when=when))
    cited = citations_of(snap.messages)
    artifacts.use_branch(snap.messages)
    for role, group, image in grounding.turns_with_image(snap.messages):
        with st.chat_message(role):
            draw(role, group, image, cited)
    if settings.auth == "none" or state.signed_in():
        if st.button(t("💬 Continue in my chats"), key="share_continue", type="primary"):
            _continue(found, store)
    else:  # a public link, opened by someone not signed in
        st.info(t("Sign in to continue this conversation in your own chats."))
        login.sign_in(settings, path(found.id))


def _continue(found: shares.Share, store: ConversationStore) -> None:
    owner = state.owner()
    copied = shares.copy_for(found, owner, store.files_dir)
    store.save(copied)
    session.set_open_conversation(copied.mode, copied)
    params = {"c": copied.id}
    for name in ("u", "lang"):
        if name in st.query_params:
            params[name] = st.query_params[name]
    st.switch_page(PAGES.get(copied.mode, "app.py"), query_params=params)


def manage(store: ConversationStore, conversation, settings: Settings, key: str) -> None:
    """In a conversation's menu: a link to the branch it shows, and the links made so far."""
    made = shares.of_conversation(store, conversation.id, conversation.owner)
    public = False
    if settings.auth != "none" and settings.public_shares == "true":
        public = st.checkbox(t("Anyone with the link, without signing in"), key=f"share_public{key}")
    if st.button(
        t("🔗 Share the branch shown"), key=f"share{key}", disabled=not conversation.messages,
        help=t("A read-only link to a copy of the conversation as it shows now"),
    ):
        made.insert(0, shares.create(store, conversation, public))
    for share in made:
        st.code(link(share.id), language=None, wrap_lines=True)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(share.created_at))
        who = t("anyone with the link") if share.public else t("users of this server")
        st.caption(t("Made {when} · {messages} messages · opens for {who}", when=when,
                     messages=share.messages, who=who))
        st.button(t("Revoke"), key=f"revoke_{share.id}{key}", on_click=_revoke, args=(store, share.id, conversation.owner))


def _revoke(store: ConversationStore, share_id: str, owner: str) -> None:
    if shares.revoke(store, share_id, owner):
        st.toast(t("The link was revoked: it no longer opens."))


def path(share_id: str) -> str:
    """The link as a path of this site (where signing in comes back to)."""
    parts = urlsplit(link(share_id))
    return (parts.path or "/") + "?" + parts.query


def link(share_id: str) -> str:
    """The page's own address with only ``?share=``: never the owner's ``?u=`` or ``?c=``."""
    parts = page_url()
    if parts is None:  # no browser behind this run (AppTest)
        return f"?share={share_id}"
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, f"share={share_id}", ""))
