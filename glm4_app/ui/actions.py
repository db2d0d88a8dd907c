"""What can be done under each message: ‹ 2/3 › between its versions, Copy (its raw Markdown),
Edit (a question), Regenerate (an answer), ▶️ Continue (a stopped last answer).

Edits and regenerations never replace anything: they add a version (tree.py) and show it.
Every change is a click callback that first checks no answer is being written in the
conversation (from this tab or another): one is refused with a message, and nothing changes.
The buttons of the last turn keep the short keys ``edit``, ``regenerate`` and ``continue``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from .. import tree
from ..conversation import Conversation
from ..messages import Message
from ..store import ConversationStore
from ..turns import TURNS
from .i18n import t
from .session import session

_COPY_JS = """
export default function ({ data, parentElement }) {
  const button = parentElement.querySelector("button");
  const idle = "⧉ " + data.label;
  button.textContent = idle;
  button.title = data.hint;
  button.onclick = async () => {
    try {
      await navigator.clipboard.writeText(data.text);
    } catch (e) {  // no clipboard API outside https and localhost: the old way
      const area = document.createElement("textarea");
      area.value = data.text;
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "✓ " + data.done;
    setTimeout(() => { button.textContent = idle; }, 1500);
  };
}
"""
_COPY_CSS = """
button { border: none; background: none; cursor: pointer; padding: 0.25rem 0.5rem;
         font: inherit; font-size: 0.875rem; color: var(--st-text-color); opacity: 0.75; }
button:hover { opacity: 1; color: var(--st-primary-color); }
"""
# Registered once per process; each message mounts it with its own text (no iframe, no rerun).
_copy = st.components.v2.component("glm4_copy", html="<button type='button'></button>", css=_COPY_CSS, js=_COPY_JS)


@dataclass(frozen=True)
class Labels:
    """The bar's words, translated once per page run (not once per message)."""

    copy: dict
    edit: str
    regenerate: str
    answer: str
    carry_on: str
    previous: str
    next: str


def labels() -> Labels:
    return Labels(
        {"label": t("Copy"), "done": t("Copied"), "hint": t("Copy as Markdown")},
        t("✏️ Edit"), t("🔄 Regenerate"), t("▶️ Answer"), t("▶️ Continue"), t("Previous version"), t("Next version"),
    )


def bar(
    conversation: Conversation,
    store: ConversationStore,
    group: list[Message],
    index: int,
    kids: dict[str, list[Message]],
    words: Labels,
    last: bool,
    carry_on: bool = False,
) -> None:
    """The actions under one bubble: ``group`` (a question, or the messages of one answer)
    starts at ``conversation.messages[index]``; ``last``: the conversation's last bubble."""
    first = group[0]
    user = first.role == "user"
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        versions = tree.versions(kids, first)
        if len(versions) > 1:
            navigation(conversation, store, first, versions, words)
        text = first.content if user else "\n\n".join(m.content for m in group if m.is_answer and m.content)
        if text:
            _copy(data={"text": text, **words.copy}, key=f"copy_{first.id}", width="content")
        after = index + len(group)
        last_user = user and all(m.role != "user" for m in conversation.messages[after:])
        if user:
            st.button(
                words.edit, key="edit" if last_user else f"edit_{first.id}", type="tertiary",
                on_click=_start_edit, args=(first.id,),
            )
        answers = not user and index > 0 and conversation.messages[index - 1].role == "user"
        if last and carry_on:
            st.button(words.carry_on, key="continue", type="tertiary", on_click=_continue, args=(conversation,))
        if answers or (last and user):
            label = words.answer if user else words.regenerate
            st.button(
                label, key="regenerate" if last else f"regenerate_{first.id}", type="tertiary",
                on_click=_regenerate, args=(conversation, store, after if user else index),
            )


def navigation(
    conversation: Conversation, store: ConversationStore, message: Message, versions: list[Message], words: Labels
) -> None:
    """‹ 2/3 ›: show the previous or next version of ``message`` (and the rest of its branch)."""
    at = versions.index(message)
    earlier = versions[at - 1].id if at else None
    later = versions[at + 1].id if at + 1 < len(versions) else None
    st.button("‹", key=f"prev_{message.id}", type="tertiary", disabled=earlier is None,
              help=words.previous, on_click=_switch, args=(conversation, store, earlier))
    st.caption(f"{at + 1}/{len(versions)}", width="content")
    st.button("›", key=f"next_{message.id}", type="tertiary", disabled=later is None,
              help=words.next, on_click=_switch, args=(conversation, store, later))


def edit_box(conversation: Conversation, store: ConversationStore, message: Message) -> None:
    """A question being edited: Send adds it as a new version and answers it."""
    text = st.text_area(t("Edit your message"), value=message.content, key="edit_text")
    if message.documents:
        kept = list(range(len(message.documents)))  # by position: two files may share a name
        st.multiselect(t("Documents sent with it"), kept, default=kept, key="edit_documents",
                       format_func=lambda i: message.documents[i]["name"])
    send, cancel = st.columns([1, 1])
    send.button(t("Send"), key="edit_send", type="primary", on_click=_resend, args=(conversation, store, message.id, text))
    cancel.button(t("Cancel"), key="edit_cancel", on_click=session.forget, args=("editing",))


def busy(conversation: Conversation) -> bool:
    """An answer is being written here (maybe in another tab): branches must not change under
    it. Says so to the user."""
    if TURNS.live(conversation.id) is None:
        return False
    st.toast(t("An answer is being written in this conversation: wait for it or stop it first. Nothing was changed."))
    return True


def _start_edit(message_id: str) -> None:
    session.editing = message_id


def _resend(conversation: Conversation, store: ConversationStore, message_id: str, text: str) -> None:
    text = st.session_state.get("edit_text", text)  # the widget's value at the click
    if busy(conversation):
        return  # the edit box stays open with the text
    index = next((i for i, m in enumerate(conversation.messages) if m.id == message_id), None)
    documents = None
    if index is not None and "edit_documents" in st.session_state:
        keep = set(st.session_state["edit_documents"])
        documents = [d for i, d in enumerate(conversation.messages[index].documents) if i in keep]
    if index is not None and tree.edit(conversation, index, text, documents) is not None:
        conversation.waiting_for = ""
        store.save(conversation)
        session.answer_wanted = True
    del session.editing


def _regenerate(conversation: Conversation, store: ConversationStore, index: int) -> None:
    """A new answer to the question before ``messages[index]``; the old one stays a version."""
    if busy(conversation):
        return
    tree.cut(conversation, index)
    store.save(conversation)
    session.answer_wanted = True


def _switch(conversation: Conversation, store: ConversationStore, message_id: str | None) -> None:
    if message_id is None or busy(conversation):
        return
    if tree.switch(conversation, message_id):
        conversation.waiting_for = ""  # a question waiting on another branch waits for ▶️ Answer
        store.save(conversation)
    del session.editing


def _continue(conversation: Conversation) -> None:
    if not busy(conversation):
        session.continue_wanted = True
