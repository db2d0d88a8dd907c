"""The conversation page behind Chat, All Tools, Long document and Vision: streaming answers
with Stop, Regenerate, Edit and Clear; in All Tools the model may also call tools, in Long
document it reads the uploaded files, in Vision it looks at attached images."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from ..agent import run_agent
from ..conversation import Conversation
from ..doc_budget import DoesNotFit
from ..generation import ChatBackend, GenerationParams
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from ..tool_steps import stored_citations
from . import documents, grounding, quota, render, sidebar, state, thinking, vision
from .frame import frame
from .i18n import t, tm
from .turn import LiveTurn, assistant_turn

TITLES = {"chat": N_("Chat"), "tools": N_("All Tools"), "documents": N_("Long document"), "vision": N_("Vision")}
PLACEHOLDERS = {
    "chat": N_("Message the model…"),
    "tools": N_("Ask; the model may run code, browse or draw…"),
    "documents": N_("Ask about your documents…"),
    "vision": N_("Ask about the image…"),
}


def page(mode: str = "chat") -> None:
    frame(TITLES[mode])
    settings = state.settings()
    store = state.store(settings.data_dir / "conversations.sqlite3")
    conversation = state.conversation(store, mode)
    backend = state.vision_backend(settings) if mode == "vision" else state.chat_backend(settings)
    toolbox = None
    if mode == "tools":
        if not backend.info.tools:
            st.warning(
                t(
                    "**{name}** cannot call tools: its chat template has no place for them. "
                    "All Tools needs GLM-4-9B-Chat (`THUDM/glm-4-9b-chat-hf`), GLM-4-0414 / "
                    "GLM-Z1 or GLM-4.5 and later (GLM-4.7-Flash on one GPU); set `GLM4_CHAT_MODEL` "
                    "and restart. Chat works with this model.",
                    name=backend.info.name,
                )
            )
            st.stop()
        toolbox = state.toolbox(settings)
    elif mode == "vision" and backend.info.tools:  # GLM-4.5V/4.6V call tools about images too
        toolbox = state.toolbox(settings)

    with st.sidebar:
        sidebar.model_card(backend)
        sidebar.conversations(store, conversation)
        if toolbox is not None:
            sidebar.tool_switches(toolbox, conversation, store)
        params = sidebar.generation_params(settings, conversation)
        params = thinking.switch(backend, conversation, store, params)
        if st.button(t("🗑 Clear conversation"), use_container_width=True, disabled=not conversation.messages):
            conversation.clear()
            store.save(conversation)
            st.rerun()
        declarations = None
        if toolbox is not None:  # tool descriptions take room in the prompt too
            enabled = toolbox.enabled(conversation.enabled_tools(toolbox.tools))
            declarations = [tool.declaration() for tool in enabled.values()] or None
        before_cuts = (
            documents.uncut_messages(conversation) if mode == "documents" else conversation.prompt_messages()
        )
        sidebar.token_meter(backend, before_cuts, declarations)

    if backend.info.notice:
        st.info(tm(backend.info.notice), icon="ℹ️")
    if mode == "documents":
        documents.panel(conversation, store, backend, settings)
    if mode == "vision":
        vision.panel(conversation, store, backend, settings)

    keep_interrupted_answer(conversation, store)
    prompt = st.chat_input(t(PLACEHOLDERS[mode]))
    if prompt is not None and mode == "vision":
        vision.send(conversation, store, backend, prompt)  # with the attached images, if the rules allow
    elif prompt is not None:
        if conversation.add_user(prompt):
            store.save(conversation)
            st.session_state.generate = True
        else:
            st.toast(t("Empty message ignored."))

    choosing = st.session_state.get("fit_pending") == conversation.id  # see documents.choose_fit
    generate = (st.session_state.pop("generate", False) or choosing) and conversation.awaiting_answer
    history(conversation, store, controls=not generate)
    quota.show_refusal()
    if not generate:
        return
    messages, note = conversation.prompt_messages(), ""
    if mode == "documents":
        try:
            fitted = documents.prompt(conversation, backend, params)
        except DoesNotFit as problem:
            st.session_state.fit_pending = conversation.id  # ask again on every rerun
            documents.choose_fit(conversation, store, problem)
            return
        st.session_state.pop("fit_pending", None)
        messages, note = fitted.messages, fitted.note
    tools = None
    if toolbox is not None:
        citations = stored_citations(conversation.messages)
        toolbox.for_conversation(conversation.id, citations, conversation.owner)
        tools = toolbox.enabled(conversation.enabled_tools(toolbox.tools))
    with quota.admit(settings, backend, messages, tools):  # per-user limits; a refusal reruns
        stream_answer(conversation, backend, params, store, settings, messages, tools, note)


def history(conversation: Conversation, store: ConversationStore, controls: bool) -> None:
    if not conversation.messages:
        st.markdown(t("#### What can I help you with?"))
    groups = _turn_groups(conversation.messages)
    last_user = max((i for i, (role, _) in enumerate(groups) if role == "user"), default=None)
    image = None  # the last image sent: the one an answer's boxes are drawn on
    for i, (role, messages) in enumerate(groups):
        image = grounding.latest_image(messages) or image
        with st.chat_message(role):
            if role == "user":
                if i == last_user and st.session_state.get("editing") == conversation.id:
                    edit_box(conversation, store, messages[0])
                    continue
                render.message_body(messages[0])
            else:
                assistant_turn(messages)
                grounding.panel(messages, image)
            if not controls:
                continue
            if i == last_user:
                st.button(t("✏️ Edit"), key="edit", on_click=_start_edit, args=(conversation.id,))
            if i == len(groups) - 1 and conversation.can_regenerate():
                label = t("🔄 Regenerate") if role == "assistant" else t("▶️ Answer")
                st.button(label, key="regenerate", on_click=_regenerate, args=(conversation, store))


def _turn_groups(messages: list[dict]) -> list[tuple[str, list[dict]]]:
    """Each user message alone; the assistant's messages of a turn (prose, tool steps,
    answer) together in one bubble."""
    groups: list[tuple[str, list[dict]]] = []
    for message in messages:
        role = "user" if message["role"] == "user" else "assistant"
        if role == "assistant" and groups and groups[-1][0] == "assistant":
            groups[-1][1].append(message)
        else:
            groups.append((role, [message]))
    return groups


def edit_box(conversation: Conversation, store: ConversationStore, message: dict) -> None:
    text = st.text_area(t("Edit your message"), value=message["content"], key="edit_text")
    send, cancel = st.columns([1, 1])
    send.button(t("Send"), key="edit_send", type="primary", on_click=_resend, args=(conversation, store, text))
    cancel.button(t("Cancel"), key="edit_cancel", on_click=st.session_state.pop, args=("editing", None))


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
    what was written so far, tool steps included, instead of losing it."""
    partial = st.session_state.pop("partial", None)
    if not partial or partial["conversation"] != conversation.id or not conversation.awaiting_answer:
        return
    steps = partial.get("messages", [])
    conversation.messages.extend(steps)
    if partial["content"] or partial["reasoning"] or steps:
        conversation.add_answer(partial["content"], partial["reasoning"], stopped=True)
    store.save(conversation)


def stream_answer(
    conversation: Conversation,
    backend: ChatBackend,
    params: GenerationParams,
    store: ConversationStore,
    settings: Settings,
    messages: list[dict],
    tools: dict | None = None,
    note: str = "",
) -> None:
    partial = {"conversation": conversation.id, "messages": [], "content": "", "reasoning": ""}
    st.session_state.partial = partial
    with st.chat_message("assistant"):
        st.button(t("⏹ Stop"), key="stop", help=t("Stop the answer here; what was written is kept"))
        if note:
            st.caption(f"✂️ {tm(note)}")
        live = LiveTurn(partial, settings.data_dir / "media" / conversation.id)
        if tools is None:
            events = backend.stream(messages, params, cache_key=conversation.id)
        else:
            events = run_agent(
                backend, messages, params, tools, settings.tool_max_steps, cache_key=conversation.id
            )
        try:
            for event in events:
                live.handle(event)
        finally:
            events.close()  # also when this run is interrupted: frees the model at once
    st.session_state.pop("partial", None)
    conversation.messages.extend(partial["messages"])
    conversation.add_answer(
        partial["content"], partial["reasoning"], stats=live.stats, error=live.error, note=note
    )
    conversation.messages[-1].update(model=backend.info.name, params=asdict(params))  # for history
    store.save(conversation)
    st.rerun()
