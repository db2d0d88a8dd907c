"""Per-user limits on the page: admit a request or say which limit and when to retry."""

from __future__ import annotations

import streamlit as st

from ..limits import Refusal, Slot, UserLimits
from ..settings import Settings
from . import state
from .i18n import t, tm
from .session import session


@st.cache_resource(show_spinner=False)
def _limiter(rpm: int, concurrent: int, upload_mb: int, context_tokens: int) -> UserLimits:
    return UserLimits(rpm, concurrent, upload_mb, context_tokens)  # one per process: counts every session


def limiter(settings: Settings) -> UserLimits:
    return _limiter(
        settings.user_requests_per_minute,
        settings.user_concurrent_requests,
        settings.user_upload_mb,
        settings.user_context_tokens,
    )


def admit(settings: Settings, backend, messages: list[dict], tools: dict | None) -> Slot:
    """A slot for this request (the answer releases it when it ends); a refusal reruns the
    page to show it (the user's message is already saved, and ▶️ Answer retries it)."""
    limits = limiter(settings)
    refusal = None
    if limits.context_tokens:
        declarations = [tool.declaration() for tool in tools.values()] if tools else None
        refusal = limits.check_context(backend.count_tokens(messages, declarations))
    outcome = refusal or limits.acquire(state.owner())
    if isinstance(outcome, Refusal):
        session.refusal = outcome.message
        st.rerun()  # redraw the history with its ▶️ Answer button, then the message
    return outcome


def show_refusal() -> None:
    message = session.refusal
    del session.refusal
    if message:
        st.warning(t(
            "⏳ {message}\n\nYour message is kept: press **▶️ Answer** to send it again.", message=tm(message)
        ))


def allowed_uploads(files: list, settings: Settings, report=None) -> list:
    """The uploads within this user's size limit; each one over it gets a message (shown, or
    handed to ``report``)."""
    kept = []
    for upload in files:
        refusal = limiter(settings).check_upload(upload.size, f"**{upload.name}**")
        if refusal:
            (report or st.error)(tm(refusal.message))
        else:
            kept.append(upload)
    return kept
