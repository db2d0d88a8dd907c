"""Long document mode: uploads at any turn, document cards, and the fit-or-choose step.

Uploaded files wait for the next question and go into it (doc_budget: the reference layout),
so they belong to that turn and to its branch: the panel shows the documents of the branch
shown, and those waiting. The context meter counts the prompt as it will be sent.
"""

from __future__ import annotations

import streamlit as st

from .. import doc_worker, metrics
from ..conversation import Conversation, one_line
from ..doc_budget import Doc, DoesNotFit, Fit, answer_reserve, build_messages, documents_block, fit
from ..documents import DocumentError, DocumentLimits, check_total
from ..documents.pdf import ScannedPdf
from ..generation import ChatBackend, GenerationParams
from ..i18n import N_
from ..messages import Message
from ..settings import Settings
from ..store import ConversationStore
from ..token_counts import COUNTS
from . import quota, scanned
from .i18n import t, tm
from .session import session

STRATEGIES = {
    "truncate": N_("Shorten each document (keep its start and end)"),
    "drop_turns": N_("Leave out the oldest turns"),
}


def limits(settings: Settings) -> DocumentLimits:
    return DocumentLimits(
        max_file_mb=settings.doc_max_file_mb,
        max_total_mb=settings.doc_max_total_mb,
        max_pages=settings.doc_max_pages,
    )


def panel(conversation: Conversation, store: ConversationStore, backend: ChatBackend, settings: Settings) -> None:
    """The uploader and a card per document. A bad file gets a message and changes nothing."""
    sent = [(m, d) for m in conversation.messages for d in m.documents]
    count = len(sent) + len(conversation.documents)
    # Open while there is nothing yet, or something waits for the next question (just uploaded).
    with st.expander(t("📎 Documents ({count})", count=count), expanded=not count or bool(conversation.documents)):
        for error in session.document_errors:
            st.error(error)
        del session.document_errors
        generation = session.upload_generation
        most = quota.upload_mb(settings, settings.doc_max_file_mb)
        files = st.file_uploader(
            t("Add PDF, Word, PowerPoint, Excel, CSV, text, Markdown or code files (up to {mb} MB each)", mb=most),
            accept_multiple_files=True,
            key=f"upload_{conversation.id}_{generation}",
            max_upload_size=most,
            help=t("Up to {total} MB of documents per conversation.", total=settings.doc_max_total_mb),
        )
        doc_worker.warm()  # a reader process ready before the first upload
        if files:
            errors = session.document_errors
            files = quota.allowed_uploads(files, settings, report=errors.append)  # the per-user upload size
            _add(files, conversation, store, backend, settings, errors)
            session.upload_generation = generation + 1  # a fresh, empty uploader
            st.rerun()  # the count above and the meter show the new documents at once
        for message, doc in sent:
            card(doc, conversation, store, sent_with=message)
        for i, doc in enumerate(conversation.documents):
            card(doc, conversation, store, waiting=i)
        scanned.panel(conversation, store, backend, settings, add_document)  # a scan to read by looking


def _add(files, conversation: Conversation, store: ConversationStore, backend: ChatBackend, settings: Settings,
         errors: list[str]) -> None:
    """Read each upload; a bad one adds its message to ``errors`` (shown after the rerun)."""
    lim = limits(settings)
    for upload in files:
        data = upload.getvalue()
        already = sum(d["bytes"] for d in [*conversation.branch_documents(), *conversation.documents])
        try:  # refused before anything reads it: not a document that could not be read
            check_total(already, len(data), lim)
        except DocumentError as err:
            errors.append(t("**{name}**: {error}", name=upload.name, error=tm(err)))
            continue
        bar = st.progress(0.0, text=t("Reading {name}…", name=upload.name))
        try:
            # In a worker process with a deadline: this thread only waits, other users stream on.
            document = doc_worker.extract(
                upload.name, data, lim, lambda f, m: bar.progress(min(f, 1.0), text=tm(m)),
                timeout_s=settings.doc_timeout_s, memory_mb=settings.doc_memory_mb,
            )
            bar.empty()
        except ScannedPdf:
            bar.empty()
            scanned.offer(upload.name, data, conversation)
            continue
        except DocumentError as err:
            metrics.EXTRACTION_FAILURES.inc()
            bar.empty()
            errors.append(t("**{name}**: {error}", name=upload.name, error=tm(err)))
            continue
        add_document(
            conversation, store, backend, document.name, document.kind, document.pages, document.text, len(data),
            notes=list(document.notes),  # e.g. a repaired PDF's pages that came out empty
        )


def add_document(
    conversation: Conversation, store: ConversationStore, backend: ChatBackend,
    name: str, kind: str, pages: int | None, text: str, size: int, **extra,
) -> None:
    """A read document waits for the next question, its tokens counted by the model's
    tokenizer; ``extra`` keeps more about it (``ocr``: the vision model that recognised its text)."""
    block = documents_block([Doc(name, text)])
    conversation.documents.append(
        {
            "name": name,
            "kind": kind,
            "pages": pages,
            "text": text,
            "bytes": size,
            "tokens": backend.count_tokens([{"role": "user", "content": block}]),
            **extra,
        }
    )
    store.save(conversation)


def card(
    doc: dict, conversation: Conversation, store: ConversationStore, sent_with: Message | None = None,
    waiting: int | None = None,
) -> None:
    """One document: what it is, a preview; one waiting for the next question can be removed."""
    facts = [doc["kind"].upper()]
    if doc.get("pages"):
        facts.append(t("{pages:,} pages", pages=doc["pages"]))
    if doc.get("ocr"):
        facts.append(t("📷 text recognised by {model}", model=doc["ocr"]))
    facts.append(t("{tokens:,} tokens", tokens=doc["tokens"]))
    left, right = st.columns([12, 1]) if waiting is not None else (st.container(), None)
    label = f"📄 **{doc['name']}** · {' · '.join(facts)}"
    where = f"{sent_with.id}_{doc['name']}" if sent_with is not None else f"waiting_{waiting}"
    notes = doc.get("notes") or ()
    with left.expander(label, expanded=bool(notes), key=f"doc_{conversation.id}_{where}", on_change="rerun") as box:
        if box.open:  # the preview is drawn when asked for
            for note in notes:
                st.caption(tm(note))
            if sent_with is not None:
                st.caption(t("Sent with “{question}”", question=one_line(sent_with.content, 60)))
            else:
                st.caption(t("Goes with your next question"))
            preview = doc["text"][:3000]
            st.text(preview + ("\n…" if len(doc["text"]) > len(preview) else ""))
    if right is not None and right.button(
        "✕", key=f"remove_doc_{conversation.id}_{waiting}", help=t("Remove {name}", name=doc["name"])
    ):
        conversation.documents.pop(waiting)
        store.save(conversation)
        st.rerun()


def under_question(message: Message) -> None:
    """Under a question: the documents that went with it."""
    if message.documents:
        st.caption(" · ".join(f"📄 {d['name']}" for d in message.documents))


def _waiting_turn(conversation: Conversation) -> list[dict]:
    """The next question as far as it is known: the documents waiting for it."""
    if not conversation.documents:
        return []
    return [{"role": "user", "content": "", "documents": [Doc(d["name"], d["text"]) for d in conversation.documents]}]


def meter(conversation: Conversation, backend: ChatBackend, params: GenerationParams, tools=None) -> int:
    """The tokens of the next prompt as it will be sent: shortened or without its oldest
    turns when the user chose that, whole (over the window: the count the fit question gives)
    while they have not. Documents waiting for the next question are in it."""
    turns = conversation.prompt_turns() + _waiting_turn(conversation)
    count = COUNTS.counter(backend)
    if not turns:
        return count(build_messages(conversation.system_prompt, [])) if conversation.system_prompt.strip() else 0
    try:
        return _fit(conversation, turns, backend, params).tokens
    except DoesNotFit:
        return count(build_messages(conversation.system_prompt, turns))  # counted by fit: remembered


def prompt(conversation: Conversation, backend: ChatBackend, params: GenerationParams) -> Fit:
    """The messages to send, fitted to the context window; DoesNotFit when the user must choose."""
    return _fit(conversation, conversation.prompt_turns(), backend, params)


def _fit(conversation: Conversation, turns: list[dict], backend: ChatBackend, params: GenerationParams) -> Fit:
    window = backend.info.context_window
    reserve = answer_reserve(window, params.max_new_tokens)
    return fit(
        conversation.system_prompt, turns, window, reserve, COUNTS.counter(backend), conversation.fit_strategy
    )


def choose_fit(conversation: Conversation, store: ConversationStore, problem: DoesNotFit) -> None:
    """Ask what gives, instead of cutting anything silently. The question stays until it is
    answered (``conversation.waiting_for``), across reruns and reloads."""
    with st.chat_message("assistant"):
        st.warning(t("{problem} What should give?", problem=tm(problem)))
        choice = st.radio(
            t("To fit the context"), list(STRATEGIES), format_func=lambda s: t(STRATEGIES[s]), key="fit_choice"
        )
        st.button(
            t("Answer with this choice"), key="fit_go", type="primary",
            on_click=_choose, args=(conversation, store, choice),
        )


def _choose(conversation: Conversation, store: ConversationStore, choice: str) -> None:
    conversation.fit_strategy = st.session_state.get("fit_choice", choice)  # the radio's value at the click
    store.save(conversation)  # still waiting_for "fit": the next run answers with this choice
