"""The sidebar's conversation list: search, grouped by day (Today, Yesterday, Previous 7 days,
Older), a menu per item (rename, share, delete), export and import.

A menu's content is drawn only while it is open: the list costs one button and one closed
menu per conversation on every rerun.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import streamlit as st

from .. import history
from ..conversation import Conversation
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from ..turns import TURNS
from . import artifacts, share, state
from .i18n import shown_title, t, tm
from .session import session

PAGE_OF_MODE = {"chat": "app.py", "tools": "pages/tools.py", "documents": "pages/documents.py"}
LISTED = 60  # conversations in the list (a search finds older ones)
DAYS = [(0, N_("Today")), (1, N_("Yesterday")), (7, N_("Previous 7 days"))]
OLDER = N_("Older")


def panel(store: ConversationStore, current: Conversation, settings: Settings) -> None:
    query = st.text_input(
        t("Search conversations"), key="history_query", placeholder=t("🔎 Search titles and messages"),
        label_visibility="collapsed",
    )
    viewer = state.owner()  # the list is always one's own, whoever's conversation is open
    found = store.listing(current.mode, viewer, LISTED, query=query)
    if query.strip():
        st.caption(
            t("{count} found", count=len(found)) if found
            else t("Nothing found for “{query}”.", query=query.strip())
        )
    for label, items in day_groups(found, time.time(), _timezone()):
        st.caption(t(label))
        for conversation_id, title, _ in items:
            _item(store, current, settings, conversation_id, title)
    if current.messages and current.owner == viewer:  # (another's, opened by its link: not to manage)
        manage(store, current, settings)
    import_box(store, current)


def day_groups(items: list[tuple], now: float, tz: tzinfo | None = None) -> list[tuple[str, list[tuple]]]:
    """``(id, title, updated_at)`` items, newest first, under the label of their day."""
    today = datetime.fromtimestamp(now, tz).date()
    groups: list[tuple[str, list[tuple]]] = []
    for item in items:
        age = (today - datetime.fromtimestamp(item[2], tz).date()).days
        label = next((name for days, name in DAYS if age <= days), OLDER)
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append(item)
    return groups


def _timezone() -> tzinfo | None:
    """The browser's time zone (days end at the user's midnight), else the server's."""
    try:
        name = st.context.timezone
        return ZoneInfo(name) if name else None
    except Exception:  # unknown name, or no browser behind this run
        return None


def _item(store: ConversationStore, current: Conversation, settings: Settings, conversation_id: str, title: str) -> None:
    marker = "▸ " if conversation_id == current.id else ""
    if TURNS.live(conversation_id) is not None:
        marker += "⏳ "  # an answer is being written there
    name, menu = st.columns([7, 1], gap=None, vertical_alignment="center")
    if name.button(marker + shown_title(title), key=f"open_{conversation_id}", use_container_width=True):
        state.open_conversation(store, conversation_id)
        st.rerun()
    with menu:
        box = st.popover("⋯", key=f"menu_{conversation_id}", on_change="rerun", type="tertiary",
                         help=t("Rename, share or delete"))
    if box.open:
        with box:
            conversation = current if conversation_id == current.id else state.load(store, conversation_id)
            if conversation is None:
                st.caption(t("This conversation no longer exists."))
                return
            _rename(store, conversation, current, f"_{conversation_id}")
            st.divider()
            share.manage(store, conversation, settings, f"_{conversation_id}")
            st.divider()
            _delete(store, conversation, current, f"_{conversation_id}")


def manage(store: ConversationStore, current: Conversation, settings: Settings) -> None:
    """The open conversation: rename, export, share, delete (drawn only while open)."""
    box = st.expander(t("📝 This conversation"), key="conversation_menu", on_change="rerun")
    if not box.open:
        return
    with box:
        _rename(store, current, current, "")
        name = _file_name(current.title)
        left, right = st.columns(2)
        # The files are made when clicked, not on every rerun (a long document is megabytes).
        left.download_button(
            t("⬇️ Markdown"), lambda: history.to_markdown(current, artifacts.link), file_name=f"{name}.md", mime="text/markdown",
            key="export_md", help=t("The branch shown"),
        )
        right.download_button(
            t("⬇️ JSON"), lambda: history.to_json(current, store.files_dir), file_name=f"{name}.json", mime="application/json",
            key="export_json", help=t("Every branch, to import again"),
        )
        share.manage(store, current, settings, "")
        _delete(store, current, current, "")


def _rename(store: ConversationStore, conversation: Conversation, current: Conversation, key: str) -> None:
    title = st.text_input(t("Title"), value=conversation.title, key=f"title_{conversation.id}{key}")
    # Never disabled: a click that also ends the typing must not land on a disabled button.
    if st.button(t("Rename"), key=f"rename{key}"):
        if store.rename(conversation.id, conversation.owner, title):
            conversation.title = " ".join(title.split())  # the object other tabs and a turn save
            st.rerun()
        st.error(t("A title cannot be empty."))


def _delete(store: ConversationStore, conversation: Conversation, current: Conversation, key: str) -> None:
    if session.confirm_delete != conversation.id:
        st.button(t("🗑 Delete"), key=f"delete{key}", on_click=_ask_delete, args=(conversation.id,))
        return
    st.warning(t("Delete this conversation, its files and its share links for good?"))
    yes, no = st.columns(2)
    if yes.button(t("Yes, delete"), key=f"delete_yes{key}", type="primary"):
        del session.confirm_delete
        turn = TURNS.live(conversation.id)
        if turn is not None:
            turn.stop()
        store.delete(conversation.id, conversation.owner)
        if conversation.id == current.id:
            state.new_conversation(current.mode)
        st.toast(t("Deleted “{title}”.", title=shown_title(conversation.title)))
        st.rerun()
    no.button(t("Cancel"), key=f"delete_no{key}", on_click=session.forget, args=("confirm_delete",))


def _ask_delete(conversation_id: str) -> None:
    session.confirm_delete = conversation_id


def import_box(store: ConversationStore, current: Conversation) -> None:
    with st.expander(t("📥 Import"), expanded=False):
        generation = session.import_generation
        most = history.MAX_IMPORT_BYTES // 2**20
        upload = st.file_uploader(
            t("A conversation exported as JSON (up to {mb} MB)", mb=most), type=["json"],
            key=f"import_{generation}", max_upload_size=most,
        )
        if upload is None:
            return
        try:
            imported = history.from_json(upload.getvalue(), state.owner(), store.files_dir)
        except history.ImportProblem as problem:
            st.error(t("**{name}** was not imported: {problem}", name=upload.name, problem=tm(problem)))
            return
        store.save(imported)
        session.import_generation = generation + 1  # a fresh, empty uploader
        if imported.mode == current.mode:
            state.open_conversation(store, imported.id)
            st.rerun()
        session.set_open_conversation(imported.mode, imported)  # open there on the next visit
        mode = t(history.MODES[imported.mode])  # the page names are in the UI catalog (frame.PAGES)
        st.success(t("Imported “{title}” into {mode}.", title=imported.title, mode=mode))
        if imported.mode in PAGE_OF_MODE:
            st.page_link(PAGE_OF_MODE[imported.mode], label=t("Open it in {mode}", mode=mode))


def _file_name(title: str) -> str:
    return re.sub(r"[^\w-]+", "-", title).strip("-")[:60] or "conversation"
