"""Per-process and per-session objects the pages share: settings, store, models, conversation."""

from __future__ import annotations

import time
import uuid

import streamlit as st

from .. import store as conversation_store
from ..backend.manager import MANAGER
from ..conversation import Conversation
from ..generation import ChatBackend
from ..hosting import is_hosted
from ..settings import Settings, SettingsError
from ..store import ConversationStore
from ..turns import TURNS
from . import identity
from .i18n import t, tm
from .session import session


def settings() -> Settings:
    try:
        loaded = Settings.load(secrets=_secrets())
    except SettingsError as err:
        st.error(t("The app's settings are invalid: {error}", error=err))
        st.stop()
    _announce_kernel_isolation(loaded)
    return loaded


def hosted(settings: Settings) -> bool:
    return is_hosted(settings, st.get_option("server.address"))


@st.cache_resource(show_spinner=False)
def _announce_kernel_isolation(settings: Settings) -> None:
    """At start (once per settings), log how the python tool's kernel will be isolated, or
    that it cannot be (the All Tools sidebar says it too)."""
    import logging

    from ..tools.sandbox import kernel_policy

    policy = kernel_policy(settings, hosted(settings))
    if policy.notice:
        level = logging.INFO if policy.sandboxed else logging.WARNING
        logging.getLogger("glm4_app.tools.sandbox").log(level, "%s", policy.notice)


def _secrets() -> dict:
    try:
        return {k: v for k, v in st.secrets.items() if not isinstance(v, dict)}
    except Exception:  # no secrets.toml is the normal case
        return {}


store = conversation_store.shared  # one per database file and process, shared with the routes


def chat_backend(settings: Settings) -> ChatBackend:
    """The shared chat model; shows live loading steps, or what failed and what to do."""
    job = MANAGER.chat(settings)
    if not job.done:
        _show_progress(job, t("the chat model"))
    if job.error is not None:
        err = job.error
        st.error(f"**{tm(err.title)}**\n\n{tm(err.hint)}")
        if err.detail:
            with st.expander(t("Details")):
                st.code(err.detail, language=None)
        if st.button(t("Retry loading")):
            MANAGER.forget_failed(settings)
            st.rerun()
        st.stop()
    return job.result


def vision_backend(settings: Settings):
    """The shared vision model (Vision mode); the page explains setup when none is configured."""
    from .vision import require_model

    require_model(settings)
    job = MANAGER.vision(settings)
    if not job.done:
        _show_progress(job, t("the vision model"))
    if job.error is not None:
        st.error(f"**{tm(job.error.title)}**\n\n{tm(job.error.hint)}")
        if job.error.detail:
            with st.expander(t("Details")):
                st.code(job.error.detail, language=None)
        if st.button(t("Retry loading")):
            MANAGER.forget_failed(settings, "vision")
            st.rerun()
        st.stop()
    return job.result


def toolbox(settings: Settings):
    """This session's tools: its own warm Python kernel, browser and functions."""
    from ..tools.toolbox import Toolbox

    box = session.toolbox
    if box is None or box.settings != settings:
        box = session.toolbox = Toolbox(settings, hosted=hosted(settings))
    return box


def _show_progress(job, what: str) -> None:
    with st.status(t("Loading {what}…", what=what), expanded=True) as box:
        lines = st.empty()
        while not job.wait(0.25):
            elapsed = time.monotonic() - job.started_at
            box.update(label=t("Loading {what}… {seconds:.0f} s", what=what, seconds=elapsed))
            lines.markdown("\n".join(f"- {tm(step)}" for step in job.steps) or "- " + t("Starting"))
        box.update(label=t("Loaded {what}", what=what), state="complete", expanded=False)


def conversation(store: ConversationStore, mode: str) -> Conversation:
    """The conversation named in the URL (``?c=``), so a refresh reopens it. Every page of
    this process shows the same object for it (``TURNS.adopt``), the one its answers are
    written into, so no tab saves a stale copy over another's new messages."""
    wanted = st.query_params.get("c")
    current = session.open_conversation(mode)
    if current is None or (wanted and wanted != current.id):
        loaded = load(store, wanted) if wanted else None
        if loaded is not None and not may_open(loaded):
            st.warning(t("That conversation belongs to another user."))
            loaded = None
        if loaded is not None and loaded.mode == mode:
            current = loaded
        elif current is None:
            current = Conversation(mode=mode)
    shared = TURNS.adopt(current)  # the copy other tabs of this conversation show and save
    if shared is not current and may_open(shared):
        current = shared
    session.set_open_conversation(mode, current)
    session.current = current
    if current.owner and "u" not in st.query_params and not signed_in():
        st.query_params["u"] = current.owner  # a shared ?c= link opens its owner's list
    current.owner = current.owner or owner()
    link(current)
    return current


def load(store: ConversationStore, conversation_id: str) -> Conversation | None:
    """The conversation as this process shows it (the shared object), else as saved."""
    return TURNS.conversation(conversation_id) or store.load(conversation_id)


def link(conversation: Conversation) -> None:
    """Put the conversation in the URL as soon as it holds anything (a message, an upload),
    so a reload at any moment reopens it."""
    if conversation.started and st.query_params.get("c") != conversation.id:
        st.query_params["c"] = conversation.id


def owner() -> str:
    """Who owns new conversations and whose the sidebar lists: the signed-in user, or without
    login this browser's visitor cookie (see identity.py). A browser that sends no cookies
    falls back to a random key kept in the URL (``?u=``): bookmarking the page keeps the list.
    """
    found = identity.current()
    if found is not None:
        return found.owner
    key = st.query_params.get("u")
    if not key:
        key = st.query_params["u"] = uuid.uuid4().hex[:16]
    return key


def signed_in() -> bool:
    """Whether this page knows its user without a key in the URL (a login or a cookie)."""
    return identity.current() is not None


def may_open(conversation: Conversation) -> bool:
    """With login on, only one's own conversations open, even from a shared ``?c=`` link;
    without one, a conversation link opens for whoever has it."""
    found = identity.current()
    return found is None or found.kind == "visitor" or conversation.owner == found.owner


def new_conversation(mode: str) -> Conversation:
    conversation = Conversation(mode=mode, owner=owner())
    session.set_open_conversation(mode, conversation)
    if "c" in st.query_params:
        del st.query_params["c"]
    return conversation


def open_conversation(store: ConversationStore, conversation_id: str) -> None:
    loaded = load(store, conversation_id)
    if loaded is not None and may_open(loaded):
        session.set_open_conversation(loaded.mode, TURNS.adopt(loaded))
        st.query_params["c"] = loaded.id
