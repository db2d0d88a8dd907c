"""The Chat page: multi-turn streaming chat with Stop, Regenerate, Edit and Clear."""

from __future__ import annotations

import time

import streamlit as st

from ..conversation import Conversation
from ..events import PROGRESS, Done, Error, Prefill, Queued, ReasoningDelta, TextDelta
from ..generation import ChatBackend, GenerationParams
from ..markdown import to_streamlit_markdown
from ..store import ConversationStore
from . import render, sidebar, state

MODE = "chat"
DRAW_EVERY_S = 0.05  # redrawing on every token floods the websocket on fast GPUs


def page() -> None:
    settings = state.settings()
    store = state.store(settings.data_dir / "conversations.sqlite3")
    conversation = state.conversation(store, MODE)
    backend = state.chat_backend(settings)

    with st.sidebar:
        sidebar.model_card(backend)
        sidebar.conversations(store, conversation)
        params = sidebar.generation_params(settings, conversation)
        if st.button("🗑 Clear conversation", use_container_width=True, disabled=not conversation.messages):
            conversation.clear()
            store.save(conversation)
            st.rerun()
        sidebar.token_meter(backend, conversation)

    if backend.info.notice:
        st.info(backend.info.notice, icon="ℹ️")

    keep_interrupted_answer(conversation, store)
    prompt = st.chat_input("Message the model…")
    if prompt is not None:
        if conversation.add_user(prompt):
            store.save(conversation)
            st.session_state.generate = True
        else:
            st.toast("Empty message ignored.")

    generate = st.session_state.pop("generate", False) and conversation.awaiting_answer
    history(conversation, store, controls=not generate)
    if generate:
        stream_answer(conversation, backend, params, store)


def history(conversation: Conversation, store: ConversationStore, controls: bool) -> None:
    if not conversation.messages:
        st.markdown("#### What can I help you with?")
    last_user = max((i for i, m in enumerate(conversation.messages) if m["role"] == "user"), default=None)
    for i, message in enumerate(conversation.messages):
        with st.chat_message(message["role"]):
            if i == last_user and st.session_state.get("editing") == conversation.id:
                edit_box(conversation, store, message)
                continue
            render.message_body(message)
            if not controls:
                continue
            if i == last_user:
                st.button("✏️ Edit", key="edit", on_click=_start_edit, args=(conversation.id,))
            if i == len(conversation.messages) - 1 and conversation.can_regenerate():
                label = "🔄 Regenerate" if message["role"] == "assistant" else "▶️ Answer"
                st.button(label, key="regenerate", on_click=_regenerate, args=(conversation, store))


def edit_box(conversation: Conversation, store: ConversationStore, message: dict) -> None:
    text = st.text_area("Edit your message", value=message["content"], key="edit_text")
    send, cancel = st.columns([1, 1])
    send.button("Send", key="edit_send", type="primary", on_click=_resend, args=(conversation, store, text))
    cancel.button("Cancel", key="edit_cancel", on_click=st.session_state.pop, args=("editing", None))


def _start_edit(conversation_id: str) -> None:
    st.session_state.editing = conversation_id


def _resend(conversation: Conversation, store: ConversationStore, text: str) -> None:
    text = st.session_state.get("edit_text", text)
    if conversation.edit_last_user(text):
        store.save(conversation)
        st.session_state.generate = True
    st.session_state.pop("editing", None)


def _regenerate(conversation: Conversation, store: ConversationStore) -> None:
    conversation.drop_last_answer()
    store.save(conversation)
    st.session_state.generate = True


def keep_interrupted_answer(conversation: Conversation, store: ConversationStore) -> None:
    """A Stop click (or any click) during streaming ends that script run mid-answer: keep
    what was written so far instead of losing it."""
    partial = st.session_state.pop("partial", None)
    if not partial or partial["conversation"] != conversation.id or not conversation.awaiting_answer:
        return
    if partial["content"] or partial["reasoning"]:  # nothing written yet: nothing to keep
        conversation.add_answer(partial["content"], partial["reasoning"], stopped=True)
        store.save(conversation)


def stream_answer(
    conversation: Conversation, backend: ChatBackend, params: GenerationParams, store: ConversationStore
) -> None:
    partial = {"conversation": conversation.id, "content": "", "reasoning": ""}
    st.session_state.partial = partial
    stats = error = None
    with st.chat_message("assistant"):
        status = st.empty()
        thinking = st.empty()
        answer = st.empty()
        st.button("⏹ Stop", key="stop", help="Stop the answer here; what was written is kept")
        status.caption("⏳ Starting…")
        events = backend.stream(conversation.prompt_messages(), params)
        drawn_at = 0.0
        try:
            for event in events:
                if isinstance(event, PROGRESS):
                    # Also the engine's heartbeats: every draw lets Streamlit notice a Stop
                    # click or a closed tab, which ends this run and so the request.
                    if partial["content"] or partial["reasoning"]:
                        status.empty()
                    else:
                        status.caption(progress_text(event))
                elif isinstance(event, ReasoningDelta):
                    partial["reasoning"] += event.text
                elif isinstance(event, TextDelta):
                    if not partial["content"]:
                        status.empty()
                        if partial["reasoning"]:
                            render.streaming_reasoning(thinking, partial["reasoning"], answering=True)
                    partial["content"] += event.text
                elif isinstance(event, Done):
                    stats = event.stats
                elif isinstance(event, Error):
                    error = event.message
                now = time.monotonic()
                if now - drawn_at >= DRAW_EVERY_S and isinstance(event, (TextDelta, ReasoningDelta)):
                    drawn_at = now
                    _draw(partial, thinking, answer, status)
        finally:
            events.close()  # also when this run is interrupted: frees the model at once
    st.session_state.pop("partial", None)
    conversation.add_answer(partial["content"], partial["reasoning"], stats=stats, error=error)
    store.save(conversation)
    st.rerun()


def progress_text(event) -> str:
    if isinstance(event, Queued) and event.ahead:
        return f"⏳ Waiting for the model: {event.ahead} request(s) ahead of you"
    if isinstance(event, Prefill) and event.total > 1024:
        return f"📖 Reading {event.done:,} / {event.total:,} tokens"
    return "⏳ Starting…"


def _draw(partial: dict, thinking, answer, status) -> None:
    if partial["content"]:
        answer.markdown(to_streamlit_markdown(partial["content"]) + " ▌")
    elif partial["reasoning"]:
        status.empty()
        render.streaming_reasoning(thinking, partial["reasoning"], answering=False)
