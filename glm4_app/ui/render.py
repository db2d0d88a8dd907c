"""Drawing chat messages: answer, collapsed reasoning, stopped/error notes and metrics."""

from __future__ import annotations

import streamlit as st

from ..events import Stats
from ..i18n import N_
from ..markdown import to_streamlit_markdown
from ..messages import Message
from . import artifacts
from .i18n import t, tm
from .thumbnails import thumbnails

REASONING_LABEL = N_("💭 Reasoning")
THINKING_LABEL = N_("💭 Thinking…")
_FINISH_NOTES = {
    "length": N_("cut at the max new tokens limit"),
    "context": N_("cut: the context window is full"),
    "cancelled": N_("stopped"),
}


def message_body(message: Message, links=lambda text: text) -> None:
    """One message inside a chat bubble (the caller opens ``st.chat_message``); ``links``
    turns citations into links."""
    if message.reasoning:
        with st.expander(t(REASONING_LABEL), expanded=False):
            st.markdown(to_streamlit_markdown(message.reasoning))
    if message.content:
        artifacts.answer(message, links)  # its web pages, SVGs, diagrams: previews beside the code
    if message.images:
        thumbnails([image.path for image in message.images])
    if message.error:
        st.error(tm(message.error))
    if message.note:
        st.caption(f"✂️ {tm(message.note)}")
    if message.partial:
        st.caption(t("⚠️ Interrupted: the server stopped before this answer was finished."))
    if message.stats is not None or message.stopped:
        st.caption(stats_line(message.stats, stopped=message.stopped))


def stats_line(stats: Stats | None, stopped: bool = False) -> str:
    parts = []
    if stats is not None:
        if stats.ttft_s is not None:
            parts.append(t("⏱ {seconds:.2f} s to first token", seconds=stats.ttft_s))
        if stats.tokens_per_s is not None:
            parts.append(t("{speed:.1f} tokens/s", speed=stats.tokens_per_s))
        parts.append(
            t("{used:,} / {window:,} tokens of context", used=stats.total_tokens, window=stats.context_window)
        )
        if stats.cached_tokens:
            parts.append(t("♻️ {tokens:,} reused", tokens=stats.cached_tokens))
        note = _FINISH_NOTES.get(stats.finish_reason)
        if note and not (stopped and stats.finish_reason == "cancelled"):
            parts.append(t(note))
    if stopped:
        parts.append(t("⏹ stopped"))
    return " · ".join(parts)


def reasoning_box(text: str, answering: bool) -> None:
    """Open while the model thinks; collapsed (a new label, so a new widget) once it answers."""
    label = t(REASONING_LABEL if answering else THINKING_LABEL)
    with st.expander(label, expanded=not answering):
        st.markdown(to_streamlit_markdown(text))
