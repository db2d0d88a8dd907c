"""The chat sidebar: model facts, conversations, generation settings, token meter."""

from __future__ import annotations

import streamlit as st

from ..conversation import Conversation
from ..generation import ChatBackend, GenerationParams
from ..settings import Settings
from ..store import ConversationStore
from . import history, state


def model_card(backend: ChatBackend) -> None:
    info = backend.info
    st.markdown(f"**Model** `{info.name}`")
    facts = [info.device, info.precision, f"{info.context_window:,} tokens context"]
    if info.reasoning:
        facts.append("reasons before answering")
    st.caption(" · ".join(f for f in facts if f))


def conversations(store: ConversationStore, current: Conversation) -> None:
    if st.button("➕ New chat", use_container_width=True):
        state.new_conversation(current.mode)
        st.rerun()
    history.panel(store, current)  # search, open, rename, delete, export, import


def generation_params(settings: Settings, conversation: Conversation) -> GenerationParams:
    with st.expander("⚙️ Generation", expanded=False):
        conversation.system_prompt = st.text_area(
            "System prompt",
            value=conversation.system_prompt,
            placeholder="You are a helpful assistant.",
            key=f"system_{conversation.id}",
        )
        temperature = st.slider("Temperature", 0.0, 2.0, 0.8, 0.05, help="0 = always the most likely token")
        top_p = st.slider("Top p", 0.05, 1.0, 0.8, 0.05)
        top_k = st.number_input("Top k (0 = off)", 0, 1000, 0)
        repetition_penalty = st.slider("Repetition penalty", 1.0, 2.0, 1.0, 0.05)
        max_new_tokens = st.number_input("Max new tokens", 1, 131072, settings.max_new_tokens, 64)
        fixed_seed = st.checkbox("Fixed seed", help="Same seed and settings give the same answer")
        seed = st.number_input("Seed", 0, 2**31 - 1, 42, disabled=not fixed_seed)
    return GenerationParams(
        temperature=temperature,
        top_p=top_p,
        top_k=int(top_k),
        repetition_penalty=repetition_penalty,
        max_new_tokens=int(max_new_tokens),
        seed=int(seed) if fixed_seed else None,
    )


def token_meter(backend: ChatBackend, messages: list[dict], tools: list[dict] | None = None) -> None:
    used = backend.count_tokens(messages, tools) if messages or tools else 0
    window = backend.info.context_window
    st.progress(min(used / window, 1.0), text=f"Context: {used:,} / {window:,} tokens")


def tool_switches(toolbox, conversation: Conversation, store: ConversationStore) -> None:
    """Per-conversation switches for every tool, and why missing ones are missing."""
    from ..tools.toolbox import BUILTIN_LABELS

    if toolbox.kernel_notice:  # hosted: how Python is isolated, or why it is off
        isolated = toolbox.python is not None and toolbox.python.sandboxed
        (st.caption if isolated else st.warning)(toolbox.kernel_notice)
    with st.expander("🧰 Tools", expanded=False):
        for name in toolbox.tools:
            on = st.toggle(
                BUILTIN_LABELS.get(name, f"🔧 {name}"),
                value=name not in conversation.disabled_tools,
                key=f"tool_{conversation.id}_{name}",
            )
            if on == (name in conversation.disabled_tools):
                if on:
                    conversation.disabled_tools.remove(name)
                else:
                    conversation.disabled_tools.append(name)
                store.save(conversation)
        for missing in toolbox.unavailable:
            st.caption(f"{BUILTIN_LABELS.get(missing.name, missing.name)} is off: {missing.reason}")
        for error in toolbox.load_errors:
            st.warning(error)
