"""Per-process and per-session objects the pages share: settings, store, models, conversation."""

from __future__ import annotations

import time

import streamlit as st

from ..backend.manager import MANAGER
from ..conversation import Conversation
from ..generation import ChatBackend
from ..settings import Settings, SettingsError
from ..store import ConversationStore


def settings() -> Settings:
    try:
        return Settings.load(secrets=_secrets())
    except SettingsError as err:
        st.error(f"The app's settings are invalid: {err}")
        st.stop()


def _secrets() -> dict:
    try:
        return {k: v for k, v in st.secrets.items() if not isinstance(v, dict)}
    except Exception:  # no secrets.toml is the normal case
        return {}


@st.cache_resource(show_spinner=False)
def store(path) -> ConversationStore:
    return ConversationStore(path)


def chat_backend(settings: Settings) -> ChatBackend:
    """The shared chat model; shows live loading steps, or what failed and what to do."""
    job = MANAGER.chat(settings)
    if not job.done:
        _show_progress(job, "the chat model")
    if job.error is not None:
        err = job.error
        st.error(f"**{err.title}**\n\n{err.hint}")
        if err.detail:
            with st.expander("Details"):
                st.code(err.detail, language=None)
        if st.button("Retry loading"):
            MANAGER.forget_failed(settings)
            st.rerun()
        st.stop()
    return job.result


def _show_progress(job, what: str) -> None:
    with st.status(f"Loading {what}…", expanded=True) as box:
        lines = st.empty()
        while not job.wait(0.25):
            elapsed = time.monotonic() - job.started_at
            box.update(label=f"Loading {what}… {elapsed:.0f} s")
            lines.markdown("\n".join(f"- {step}" for step in job.steps) or "- Starting")
        box.update(label=f"Loaded {what}", state="complete", expanded=False)


def conversation(store: ConversationStore, mode: str) -> Conversation:
    """The conversation named in the URL (``?c=``), so a refresh reopens it."""
    wanted = st.query_params.get("c")
    current: Conversation | None = st.session_state.get("conversation")
    if current is None or current.mode != mode or (wanted and wanted != current.id):
        current = (store.load(wanted) if wanted else None) or Conversation(mode=mode)
        if current.mode != mode:
            current = Conversation(mode=mode)
        st.session_state.conversation = current
    if st.query_params.get("c") != current.id and current.messages:
        st.query_params["c"] = current.id
    return current


def new_conversation(mode: str) -> None:
    st.session_state.conversation = Conversation(mode=mode)
    st.query_params.clear()


def open_conversation(store: ConversationStore, conversation_id: str) -> None:
    loaded = store.load(conversation_id)
    if loaded is not None:
        st.session_state.conversation = loaded
        st.query_params["c"] = loaded.id
