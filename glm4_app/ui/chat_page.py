"""The conversation page behind every mode (see modes.py): the history with Regenerate, Edit
and Clear, and the answer being written, with Stop.

The page only draws and asks. An answer is a turns.Turn that lives on the server: the page
starts it, then draws it from its log; a reload, a second tab or a visit from another page
finds it again in ``TURNS`` and draws it from the start. Stop is a click callback, so it acts
whatever the page was doing when the click came.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from ..conversation import Conversation
from ..doc_budget import DoesNotFit
from ..generation import ChatBackend, GenerationParams
from ..messages import Message
from ..settings import Settings
from ..store import ConversationStore
from ..tool_steps import stored_citations
from ..turns import TURNS, AnswerJob, Turn
from . import documents, grounding, quota, render, sidebar, state, thinking
from .frame import frame
from .i18n import t, tm
from .modes import MODES, Mode
from .session import session
from .turn import LiveView, assistant_turn


def page(name: str = "chat") -> None:
    mode = MODES[name]
    frame(mode.title)
    settings = state.settings()
    store = state.store(settings.data_dir / "conversations.sqlite3")
    conversation = state.conversation(store, mode.name)
    backend = mode.backend(settings)
    toolbox = _toolbox(mode, backend, settings)
    turn = TURNS.live(conversation.id)

    with st.sidebar:
        sidebar.model_card(backend)
        sidebar.conversations(store, conversation)
        if toolbox is not None:
            sidebar.tool_switches(toolbox, conversation, store)
        params = sidebar.generation_params(settings, conversation)
        params = thinking.switch(backend, conversation, store, params)
        st.button(
            t("🗑 Clear conversation"), use_container_width=True, disabled=not conversation.messages,
            on_click=_clear, args=(conversation, store),
        )
        sidebar.token_meter(backend, mode.meter(conversation), _declarations(toolbox, conversation))

    if backend.info.notice:
        st.info(tm(backend.info.notice), icon="ℹ️")
    if mode.panel is not None:
        mode.panel(conversation, store, backend, settings)

    prompt = st.chat_input(t(mode.placeholder), disabled=turn is not None)
    if prompt is not None and prompt.strip() and turn is not None:
        turn.stop()  # sent while an answer was written (before the box was disabled): it wins
        turn = None
    if prompt is not None and mode.send(conversation, store, backend, prompt):
        session.answer_wanted = True
    state.link(conversation)  # a new conversation is in the URL before its first token

    problem = None
    wanted = session.answer_wanted or conversation.waiting_for == "fit"
    carry_on = session.continue_wanted and continuable(mode, conversation, backend)
    del session.answer_wanted, session.continue_wanted
    if turn is None and (carry_on or (wanted and conversation.awaiting_answer)):
        turn, problem = start_answer(mode, conversation, store, backend, params, settings, toolbox, carry_on)

    controls = turn is None and problem is None
    history(conversation, store, turn, controls, controls and continuable(mode, conversation, backend))
    quota.show_refusal()
    if problem is not None:
        documents.choose_fit(conversation, store, problem)
    if turn is not None:
        follow(turn, conversation)
        st.rerun()  # the answer ended: draw it as saved, with its buttons


def _toolbox(mode: Mode, backend: ChatBackend, settings: Settings):
    if not mode.tools:
        return state.toolbox(settings) if mode.runs_tools(backend) else None
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
    return state.toolbox(settings)


def _declarations(toolbox, conversation: Conversation) -> list[dict] | None:
    """Tool descriptions take room in the prompt too (the token meter counts them)."""
    if toolbox is None:
        return None
    enabled = toolbox.enabled(conversation.enabled_tools(toolbox.tools))
    return [tool.declaration() for tool in enabled.values()] or None


# -- Starting and following an answer ---------------------------------------------------------


def start_answer(
    mode: Mode,
    conversation: Conversation,
    store: ConversationStore,
    backend: ChatBackend,
    params: GenerationParams,
    settings: Settings,
    toolbox,
    carry_on: bool = False,
) -> tuple[Turn | None, DoesNotFit | None]:
    """Start the answer to the last user message on the server (``carry_on``: carry on the
    stopped last answer), or say why not: the documents do not fit and the user must choose
    (kept in the conversation, so a reload asks again), or a per-user limit refused it (the
    page reruns with the message)."""
    asked = replace(conversation, messages=conversation.messages[:-1]) if carry_on else conversation
    try:
        fitted = mode.prompt(asked, backend, params)
    except DoesNotFit as problem:
        if conversation.waiting_for != "fit" and not carry_on:
            conversation.waiting_for = "fit"
            store.save(conversation)
        return None, problem
    if conversation.waiting_for:
        conversation.waiting_for = ""
        store.save(conversation)
    tools = None
    if toolbox is not None:
        toolbox.for_conversation(conversation.id, stored_citations(conversation.messages), conversation.owner)
        tools = toolbox.enabled(conversation.enabled_tools(toolbox.tools))
    slot = quota.admit(settings, backend, fitted.messages, tools, mode.name)
    job = AnswerJob(
        backend,
        fitted.messages,
        params,
        media_dir=settings.data_dir / "media" / conversation.id,
        tools=tools,
        max_steps=settings.tool_max_steps,
        note=fitted.note,
        orphan_timeout_s=settings.orphan_timeout_s,
        slot=slot,
        keep_alive=toolbox,  # the kernel lives while the answer runs, even if this tab goes
        continues=conversation.messages.pop() if carry_on else None,
    )
    try:
        return TURNS.start(conversation, store, job), None
    except RuntimeError:  # another tab started it a moment ago: follow that one
        slot.release()
        return TURNS.live(conversation.id), None


def continuable(mode: Mode, conversation: Conversation, backend: ChatBackend) -> bool:
    """▶️ Continue is offered under an answer that was stopped, cut by a crash or cut at the
    max new tokens, when the model can carry it on (not where tools run, whose steps it
    would have to redo)."""
    answer = conversation.last_answer()
    if mode.runs_tools(backend) or answer is None or not hasattr(backend, "stream_continuation"):
        return False
    cut = answer.stopped or answer.partial or (answer.stats is not None and answer.stats.finish_reason == "length")
    return cut and bool(answer.content or answer.reasoning) and not answer.error


def follow(turn: Turn, conversation: Conversation) -> None:
    with st.chat_message("assistant"):
        st.button(
            t("⏹ Stop"), key="stop", help=t("Stop the answer here; what was written is kept"),
            on_click=stop_answer, args=(conversation.id,),
        )
        if turn.job.note:
            st.caption(f"✂️ {tm(turn.job.note)}")
        LiveView(turn).follow()


def stop_answer(conversation_id: str) -> None:
    turn = TURNS.live(conversation_id)
    if turn is not None:
        turn.stop()


# -- The history and its buttons --------------------------------------------------------------


def history(
    conversation: Conversation, store: ConversationStore, turn: Turn | None, controls: bool, carry_on: bool = False
) -> None:
    """The saved messages; while an answer is written, those before it (it draws itself).
    ``carry_on``: offer ▶️ Continue under the last answer."""
    messages = conversation.messages[: turn.base] if turn is not None else conversation.messages
    if not messages:
        st.markdown(t("#### What can I help you with?"))
    groups = _turn_groups(messages)
    last_user = max((i for i, (role, _) in enumerate(groups) if role == "user"), default=None)
    image = None  # the last image sent: the one an answer's boxes are drawn on
    for i, (role, group) in enumerate(groups):
        image = grounding.latest_image(group) or image
        with st.chat_message(role):
            if role == "user":
                if i == last_user and session.editing == conversation.id and controls:
                    edit_box(conversation, store, group[0])
                    continue
                render.message_body(group[0])
            else:
                assistant_turn(group)
                grounding.panel(group, image)
            if not controls:
                continue
            if i == last_user:
                st.button(t("✏️ Edit"), key="edit", on_click=_start_edit, args=(conversation.id,))
            if i == len(groups) - 1 and conversation.can_regenerate():
                label = t("🔄 Regenerate") if role == "assistant" else t("▶️ Answer")
                if carry_on:
                    left, right, _ = st.columns([1, 1, 4])
                    left.button(t("▶️ Continue"), key="continue", on_click=_continue, args=(conversation,))
                    right.button(label, key="regenerate", on_click=_regenerate, args=(conversation, store))
                else:
                    st.button(label, key="regenerate", on_click=_regenerate, args=(conversation, store))


def _turn_groups(messages: list[Message]) -> list[tuple[str, list[Message]]]:
    """Each user message alone; the assistant's messages of a turn (prose, tool steps,
    answer) together in one bubble."""
    groups: list[tuple[str, list[Message]]] = []
    for message in messages:
        role = "user" if message.role == "user" else "assistant"
        if role == "assistant" and groups and groups[-1][0] == "assistant":
            groups[-1][1].append(message)
        else:
            groups.append((role, [message]))
    return groups


def edit_box(conversation: Conversation, store: ConversationStore, message: Message) -> None:
    text = st.text_area(t("Edit your message"), value=message.content, key="edit_text")
    send, cancel = st.columns([1, 1])
    send.button(t("Send"), key="edit_send", type="primary", on_click=_resend, args=(conversation, store, text))
    cancel.button(t("Cancel"), key="edit_cancel", on_click=session.forget, args=("editing",))


def _start_edit(conversation_id: str) -> None:
    session.editing = conversation_id


def _resend(conversation: Conversation, store: ConversationStore, text: str) -> None:
    text = st.session_state.get("edit_text", text)  # the widget's value at the click
    if TURNS.live(conversation.id) is None and conversation.edit_last_user(text):
        store.save(conversation)
        session.answer_wanted = True
    del session.editing


def _regenerate(conversation: Conversation, store: ConversationStore) -> None:
    if TURNS.live(conversation.id) is not None:
        return  # another tab is answering it already; this page will show that answer
    conversation.drop_last_answer()
    store.save(conversation)
    session.answer_wanted = True


def _continue(conversation: Conversation) -> None:
    if TURNS.live(conversation.id) is None:
        session.continue_wanted = True


def _clear(conversation: Conversation, store: ConversationStore) -> None:
    stop_answer(conversation.id)
    conversation.clear()
    store.save(conversation)
