"""The per-conversation Thinking switch, for models that can answer without thinking first
(GLM-4.5 and later, GLM-4.5V/4.6V: their templates take ``enable_thinking``)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from ..conversation import Conversation
from ..generation import ChatBackend, GenerationParams
from ..store import ConversationStore
from .i18n import t


def switch(
    backend: ChatBackend, conversation: Conversation, store: ConversationStore, params: GenerationParams
) -> GenerationParams:
    """The sidebar toggle (kept with the conversation) and the parameters that carry it."""
    if not backend.info.thinking_switch:
        return params
    on = st.toggle(
        t("💭 Thinking"),
        value=conversation.thinking,
        key=f"thinking_{conversation.id}",
        help=t("On: the model reasons first (shown folded), then answers. Off: it answers at once, faster."),
    )
    if on != conversation.thinking:
        conversation.thinking = on
        if conversation.started:  # a conversation nobody began is not saved for a switch
            store.save(conversation)
    return replace(params, thinking=on)
