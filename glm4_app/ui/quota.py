"""Per-user limits on the page: admit a request or say which limit and when to retry."""

from __future__ import annotations

import streamlit as st

from .. import limits as user_limits
from .. import metrics
from ..limits import Refusal, Slot
from ..settings import Settings
from . import state
from .i18n import t, tm
from .session import session

limiter = user_limits.shared  # one per process, shared with the API


def admit(settings: Settings, backend, messages: list[dict], tools: dict | None, mode: str) -> Slot:
    """A slot for this request (the answer releases it when it ends); a refusal reruns the
    page to show it (the user's message is already saved, and ▶️ Answer retries it).
    ``mode`` labels a refusal in /metrics."""
    limits = limiter(settings)
    refusal = None
    if limits.context_tokens:
        declarations = [tool.declaration() for tool in tools.values()] if tools else None
        refusal = limits.check_context(backend.count_tokens(messages, declarations))
    outcome = refusal or limits.acquire(state.owner())
    if isinstance(outcome, Refusal):
        metrics.refused(mode)
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


def upload_mb(settings: Settings, own_mb: int) -> int:
    """The largest file an uploader takes, in MB: its mode's own limit, or this user's when
    that is smaller. The uploader says it and refuses bigger files before they are sent."""
    return min(own_mb, settings.user_upload_mb) if settings.user_upload_mb else own_mb


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
