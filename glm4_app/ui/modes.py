"""The four pages as data: what each one is called, which model answers, what it adds above
the chat (uploads), how it sends a message, what its prompt holds and whether tools run.

chat_page.page draws any of them the same way; a new mode is one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

from ..conversation import Conversation
from ..doc_budget import Fit
from ..generation import ChatBackend, GenerationParams
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from ..token_counts import COUNTS
from . import documents, state, vision
from .i18n import t

Panel = Callable[[Conversation, ConversationStore, ChatBackend, Settings], None]
Send = Callable[[Conversation, ConversationStore, ChatBackend, str], bool]
Prompt = Callable[[Conversation, ChatBackend, GenerationParams], Fit]
Meter = Callable[[Conversation, ChatBackend, GenerationParams, "list[dict] | None"], int]


def plain_prompt(conversation: Conversation, backend: ChatBackend, params: GenerationParams) -> Fit:
    messages = conversation.prompt_messages()
    return Fit(messages, tokens=0)


def plain_meter(conversation: Conversation, backend: ChatBackend, params: GenerationParams, tools) -> int:
    messages = conversation.prompt_messages()
    return COUNTS.count(backend, messages, tools) if messages or tools else 0


def plain_send(conversation: Conversation, store: ConversationStore, backend: ChatBackend, text: str) -> bool:
    if conversation.add_user(text) is None:
        st.toast(t("Empty message ignored."))
        return False
    store.save(conversation)
    return True


@dataclass(frozen=True)
class Mode:
    name: str  # also Conversation.mode
    title: str  # English page name, shown translated
    placeholder: str  # of the chat input
    backend: Callable[[Settings], ChatBackend]
    panel: Panel | None = None  # drawn above the chat: uploads, attachments
    send: Send = plain_send  # adds the user's message (False: nothing was added)
    prompt: Prompt = plain_prompt  # the messages to send; may raise doc_budget.DoesNotFit
    # What the context meter shows: the tokens of the next prompt as it will be sent (with
    # these tool declarations).
    meter: Meter = plain_meter
    tools: bool = False  # the model runs tools (All Tools): one that cannot is refused
    tools_when_able: bool = False  # tools are offered when the model can call them

    def runs_tools(self, backend: ChatBackend) -> bool:
        return self.tools or (self.tools_when_able and backend.info.tools)


# Backends are looked up at call time (state.chat_backend), so tests can swap them.
MODES = {
    mode.name: mode
    for mode in (
        Mode("chat", N_("Chat"), N_("Message the model…"), lambda s: state.chat_backend(s)),
        Mode(
            "tools",
            N_("All Tools"),
            N_("Ask; the model may run code, browse or draw…"),
            lambda s: state.chat_backend(s),
            tools=True,
        ),
        Mode(
            "documents",
            N_("Long document"),
            N_("Ask about your documents…"),
            lambda s: state.chat_backend(s),
            panel=documents.panel,
            prompt=documents.prompt,
            meter=documents.meter,
        ),
        Mode(
            "vision",
            N_("Vision"),
            N_("Ask about the image…"),
            lambda s: state.vision_backend(s),
            panel=vision.panel,
            send=vision.send,
            tools_when_able=True,  # GLM-4.5V/4.6V call tools about images too
        ),
    )
}
