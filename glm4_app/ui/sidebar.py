"""The chat sidebar: model facts, conversations, generation settings, token meter."""

from __future__ import annotations

import streamlit as st

from ..builtin_tools import BUILTINS, FUNCTION_ICON
from ..conversation import Conversation
from ..doc_budget import answer_reserve
from ..generation import ChatBackend, GenerationParams
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from . import history, state
from .i18n import t, tm


def model_card(backend: ChatBackend) -> None:
    info = backend.info
    st.markdown(t("**Model** `{name}`", name=info.name))
    facts = [tm(info.device), tm(info.precision), t("{window:,} tokens context", window=info.context_window)]
    if info.reasoning:
        facts.append(t("reasons before answering"))
    st.caption(" · ".join(f for f in facts if f))


def conversations(store: ConversationStore, current: Conversation, settings: Settings) -> None:
    if st.button(t("➕ New chat"), use_container_width=True):
        state.new_conversation(current.mode)
        st.rerun()
    history.panel(store, current, settings)  # search, open, rename, share, delete, export, import


def generation_params(settings: Settings, conversation: Conversation) -> GenerationParams:
    with st.expander(t("⚙️ Generation"), expanded=False):
        conversation.system_prompt = st.text_area(
            t("System prompt"),
            value=conversation.system_prompt,
            placeholder=t("You are a helpful assistant."),
            key=f"system_{conversation.id}",
        )
        # Keys keep the values when the language (so the label) changes.
        hint = t("0 = always the most likely token")
        temperature = st.slider(t("Temperature"), 0.0, 2.0, 0.8, 0.05, help=hint, key="gen_temperature")
        top_p = st.slider(t("Top p"), 0.05, 1.0, 0.8, 0.05, key="gen_top_p")
        top_k = st.number_input(t("Top k (0 = off)"), 0, 1000, 0, key="gen_top_k")
        repetition_penalty = st.slider(
            t("Repetition penalty"), 1.0, 2.0, 1.0, 0.05, key="gen_repetition_penalty"
        )
        max_new_tokens = st.number_input(
            t("Max new tokens"), 1, 131072, settings.max_new_tokens, 64, key="gen_max_new_tokens"
        )
        same = t("Same seed and settings give the same answer")
        fixed_seed = st.checkbox(t("Fixed seed"), help=same, key="gen_fixed_seed")
        seed = st.number_input(t("Seed"), 0, 2**31 - 1, 42, disabled=not fixed_seed, key="gen_seed")
    return GenerationParams(
        temperature=temperature,
        top_p=top_p,
        top_k=int(top_k),
        repetition_penalty=repetition_penalty,
        max_new_tokens=int(max_new_tokens),
        seed=int(seed) if fixed_seed else None,
    )


OVER = ":red[{}]"  # the meter's text when the prompt does not fit


def token_meter(backend: ChatBackend, used: int, params: GenerationParams) -> None:
    """How much of the context window the next prompt takes (``used`` tokens, counted once
    per distinct prompt: see token_counts.py); red, saying why, past what leaves the answer
    its room: where the Long document page asks what gives."""
    window = backend.info.context_window
    budget = window - answer_reserve(window, params.max_new_tokens)
    if getattr(backend.info, "exact_counts", True):
        text = t("Context: {used:,} / {window:,} tokens", used=used, window=window)
    else:  # no local tokenizer (a chat-completions API): the answer's stats hold the real count
        text = t("Context: about {used:,} / {window:,} tokens (estimate)", used=used, window=window)
    if used > budget:
        text = OVER.format(t("{meter}: over the {budget:,} that leave room for the answer", meter=text, budget=budget))
    st.progress(min(used / window, 1.0), text=text)


def tool_label(name: str) -> str:
    if name in BUILTINS:
        return t(BUILTINS[name].label)
    # Search is no tool of its own (the browser's search command), but it can be missing.
    return t("🔎 Web search") if name == "search" else f"{FUNCTION_ICON} {name}"


def tool_switches(toolbox, conversation: Conversation, store: ConversationStore) -> None:
    """Per-conversation switches for every tool, and why missing ones are missing."""
    if toolbox.kernel_notice:  # hosted: how Python is isolated, or why it is off
        isolated = toolbox.python is not None and toolbox.python.sandboxed
        (st.caption if isolated else st.warning)(tm(toolbox.kernel_notice))
    with st.expander(t("🧰 Tools"), expanded=False):
        for name in toolbox.local_tools:
            _switch(name, tool_label(name), conversation, store)
        for missing in toolbox.unavailable:
            label = tool_label(missing.name)
            st.caption(t("{tool} is off: {reason}", tool=label, reason=tm(missing.reason)))
        for error in toolbox.load_errors:
            st.warning(tm(error))
    if toolbox.mcp is not None:
        mcp_servers(toolbox.mcp, conversation, store)


def _switch(name: str, label: str, conversation: Conversation, store: ConversationStore) -> None:
    on = st.toggle(label, value=name not in conversation.disabled_tools, key=f"tool_{conversation.id}_{name}")
    if on == (name in conversation.disabled_tools):
        if on:
            conversation.disabled_tools.remove(name)
        else:
            conversation.disabled_tools.append(name)
        store.save(conversation)


_MCP_STATES = {
    "idle": N_("⚪ not started"),
    "starting": N_("⏳ starting…"),
    "ready": N_("🟢 ready"),
    "failed": N_("🔴 failed"),
    "stopped": N_("🟠 stopped"),
    "off": N_("⚫ off"),
}


def mcp_servers(session, conversation: Conversation, store: ConversationStore) -> None:
    """Each MCP server: its state (and why it is not ready), its tools' switches, Restart.
    Redrawn every second while a server starts, so "ready" shows without a click."""
    starting = any(s.state == "starting" for s in session.statuses())

    @st.fragment(run_every=1.0 if starting else None)
    def panel() -> None:
        statuses = session.statuses()
        if starting and not any(s.state == "starting" for s in statuses):
            st.rerun()  # all settled: redraw the page once (its meter too) and stop polling
        ready = sum(s.state == "ready" for s in statuses)
        with st.expander(t("🔌 MCP servers ({ready}/{count} ready)", ready=ready, count=len(statuses))):
            for problem in session.problems:
                st.warning(tm(problem))
            for status in statuses:
                _mcp_server(session, status, conversation, store)

    panel()


def _mcp_server(session, status, conversation: Conversation, store: ConversationStore) -> None:
    where = t("remote, shared") if status.shared else t("local, sandboxed") if status.sandboxed else t("local")
    st.markdown(f"**{status.name}** · {t(_MCP_STATES[status.state])} · {where}")
    if status.problem:
        (st.caption if status.state == "stopped" else st.error)(tm(status.problem))
    if status.stderr:
        st.caption(t("It wrote: {output}", output=status.stderr))
    for note in status.notes:
        st.caption(tm(note))
    for name in status.tools:
        _switch(name, f"🔌 {name.split('__', 1)[-1]}", conversation, store)
    if status.state in ("ready", "failed", "stopped"):
        st.button(t("🔄 Restart {name}", name=status.name), key=f"mcp_restart_{status.name}",
                  on_click=session.restart, args=(status.name,))
