"""The conversation page behind every mode (see modes.py): the history with Regenerate, Edit
and Clear, and the answer being written, with Stop.

The page only draws and asks. An answer is a turns.Turn that lives on the server: the page
starts it, then draws it from its log; a reload, a second tab or a visit from another page
finds it again in ``TURNS`` and draws it from the start. Stop is a click callback, so it acts
whatever the page was doing when the click came.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import streamlit as st

from .. import tree
from ..conversation import Conversation
from ..doc_budget import DoesNotFit
from ..generation import ChatBackend, GenerationParams
from ..settings import Settings
from ..store import ConversationStore
from ..tool_steps import citations_of, stored_citations
from ..turns import TURNS, AnswerJob, Turn
from . import actions, artifacts, documents, grounding, quota, render, share, sidebar, state, thinking
from .frame import frame
from .i18n import t, tm
from .modes import MODES, Mode
from .session import session
from .turn import LiveView, assistant_turn


RECENT = 4  # bubbles shown of a conversation just opened (two questions and their answers)
EARLIER = 20  # bubbles added by "Show earlier messages"


def page(name: str = "chat") -> None:
    mode = MODES[name]
    frame(mode.title)
    settings = state.settings()
    store = state.store(settings.database)
    if share.requested():
        share.page(store, settings, bubble_body)  # a shared link: read-only, nothing of the viewer's own
        return
    conversation = state.conversation(store, mode.name)
    backend = mode.backend(settings)
    toolbox = _toolbox(mode, backend, settings)
    turn = TURNS.live(conversation.id)

    with st.sidebar:
        sidebar.model_card(backend)
        sidebar.conversations(store, conversation, settings)
        if toolbox is not None:
            sidebar.tool_switches(toolbox, conversation, store)
        params = sidebar.generation_params(settings, conversation)
        params = thinking.switch(backend, conversation, store, params)
        st.button(
            t("🗑 Clear conversation"), use_container_width=True, disabled=not conversation.messages,
            on_click=_clear, args=(conversation, store),
        )
        meter = st.empty()  # filled once this run has sent, fitted or started what it will

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

    with meter.container():
        used = mode.meter(conversation, backend, params, _declarations(toolbox, conversation))
        sidebar.token_meter(backend, used, params)
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
    """The branch shown; while an answer is written, the messages before it (it draws
    itself). ``controls``: each bubble gets its actions (actions.py); ``carry_on``: offer
    ▶️ Continue under the last answer. Every bubble drawn costs time on every rerun, so a
    conversation opens showing its last ``RECENT`` bubbles and what follows; "Show earlier"
    adds ``EARLIER`` more at a time."""
    messages = conversation.messages[: turn.base] if turn is not None else conversation.messages
    artifacts.use_branch(conversation.messages)
    if not messages:
        st.markdown(t("#### What can I help you with?"))
    bubbles, index = [], 0
    for role, group, image in grounding.turns_with_image(messages):
        bubbles.append((role, group, index, image))
        index += len(group)
    kids = tree.children(conversation) if controls else {}
    labels = actions.labels()
    cited = citations_of(conversation.messages)  # quote ids run through the whole conversation
    draw = partial(_bubble, conversation, store, kids, labels, cited, len(bubbles), controls, carry_on)
    # Folded: what came before the last RECENT bubbles when the conversation was opened in
    # this session; what is said after that stays in view.
    first = session.history_start.setdefault(conversation.id, max(0, len(bubbles) - RECENT))
    earlier = min(first, max(0, len(bubbles) - RECENT))
    if earlier:
        st.button(
            t("⬆️ Show earlier messages ({count} more)", count=earlier), key="show_earlier", type="tertiary",
            on_click=_show_earlier, args=(conversation.id, max(0, earlier - EARLIER)),
        )
    for n in range(earlier, len(bubbles)):
        draw(n, *bubbles[n])


def _show_earlier(conversation_id: str, start: int) -> None:
    session.history_start[conversation_id] = start


def _bubble(conversation, store, kids, labels, cited, count, controls, carry_on, n, role, group, index, image) -> None:
    with st.chat_message(role):
        if role == "user" and session.editing == group[0].id:  # kept open while an answer runs
            actions.edit_box(conversation, store, group[0])
            return
        bubble_body(role, group, image, cited)
        if controls:
            actions.bar(conversation, store, group, index, kids, labels, n == count - 1, carry_on)


def bubble_body(role: str, group: list, image, citations: dict | None = None) -> None:
    """What a bubble shows of its messages (here and on a share link's page); ``citations``:
    the conversation's sources, by quote id."""
    if role == "user":
        render.message_body(group[0])
        documents.under_question(group[0])
    else:
        assistant_turn(group, citations)
        grounding.panel(group, image)


def _clear(conversation: Conversation, store: ConversationStore) -> None:
    stop_answer(conversation.id)
    conversation.clear()
    store.save(conversation)
