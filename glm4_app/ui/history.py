"""The sidebar's conversation list: search, open, rename, delete, export and import."""

from __future__ import annotations

import re

import streamlit as st

from .. import history
from ..conversation import Conversation
from ..store import ConversationStore
from ..turns import TURNS
from . import state
from .i18n import t, tm
from .session import session

PAGE_OF_MODE = {"chat": "app.py", "tools": "pages/tools.py", "documents": "pages/documents.py"}


def panel(store: ConversationStore, current: Conversation) -> None:
    query = st.text_input(
        t("Search conversations"), key="history_query", placeholder=t("🔎 Search titles and messages"),
        label_visibility="collapsed",
    )
    found = store.recent(current.mode, current.owner, query=query)
    if query.strip():
        st.caption(
            t("{count} found", count=len(found)) if found
            else t("Nothing found for “{query}”.", query=query.strip())
        )
    elif found:
        st.caption(t("Recent"))
    for conversation_id, title in found:
        marker = "▸ " if conversation_id == current.id else ""
        if TURNS.live(conversation_id) is not None:
            marker += "⏳ "  # an answer is being written there
        if st.button(marker + title, key=f"open_{conversation_id}", use_container_width=True):
            state.open_conversation(store, conversation_id)
            st.rerun()
    if current.messages:
        manage(store, current)
    import_box(store, current)


def manage(store: ConversationStore, current: Conversation) -> None:
    with st.expander(t("📝 This conversation"), expanded=False):
        title = st.text_input(t("Title"), value=current.title, key=f"title_{current.id}")
        # Never disabled: a click that also ends the typing must not land on a disabled button.
        if st.button(t("Rename"), key="rename"):
            if store.rename(current.id, current.owner, title):
                current.title = " ".join(title.split())
                st.rerun()
            st.error(t("A title cannot be empty."))
        name = _file_name(current.title)
        left, right = st.columns(2)
        left.download_button(
            t("⬇️ Markdown"), history.to_markdown(current), file_name=f"{name}.md", mime="text/markdown", key="export_md"
        )
        right.download_button(
            t("⬇️ JSON"), history.to_json(current), file_name=f"{name}.json", mime="application/json", key="export_json"
        )
        if session.confirm_delete != current.id:
            st.button(t("🗑 Delete"), key="delete", on_click=_ask_delete, args=(current.id,))
            return
        st.warning(t("Delete this conversation and its files for good?"))
        yes, no = st.columns(2)
        if yes.button(t("Yes, delete"), key="delete_yes", type="primary"):
            del session.confirm_delete
            turn = TURNS.live(current.id)
            if turn is not None:
                turn.stop()
            store.delete(current.id, current.owner)
            state.new_conversation(current.mode)
            st.toast(t("Deleted “{title}”.", title=current.title))
            st.rerun()
        no.button(t("Cancel"), key="delete_no", on_click=session.forget, args=("confirm_delete",))


def _ask_delete(conversation_id: str) -> None:
    session.confirm_delete = conversation_id


def import_box(store: ConversationStore, current: Conversation) -> None:
    with st.expander(t("📥 Import"), expanded=False):
        generation = session.import_generation
        upload = st.file_uploader(
            t("A conversation exported as JSON"), type=["json"], key=f"import_{generation}"
        )
        if upload is None:
            return
        try:
            imported = history.from_json(upload.getvalue(), state.owner())
        except history.ImportProblem as problem:
            st.error(t("**{name}** was not imported: {problem}", name=upload.name, problem=tm(str(problem))))
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
