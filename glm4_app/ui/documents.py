"""Long document mode: uploads at any turn, document cards, and the fit-or-choose step."""

from __future__ import annotations

import streamlit as st

from .. import metrics
from ..conversation import Conversation
from ..doc_budget import Doc, DoesNotFit, Fit, build_messages, documents_block, fit
from .. import doc_worker
from ..documents import DocumentError, DocumentLimits, check_total
from ..documents.pdf import ScannedPdf
from ..generation import ChatBackend, GenerationParams
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from . import quota, scanned
from .session import session
from .i18n import t, tm

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
    with st.expander(t("📎 Documents ({count})", count=len(conversation.documents)), expanded=not conversation.documents):
        generation = session.upload_generation
        files = st.file_uploader(
            t("Add PDF, Word, PowerPoint, Excel, CSV, text, Markdown or code files"),
            accept_multiple_files=True,
            key=f"upload_{conversation.id}_{generation}",
        )
        doc_worker.warm()  # a reader process ready before the first upload
        if files:
            files = quota.allowed_uploads(files, settings)  # the per-user upload size
            _add(files, conversation, store, backend, settings)
            session.upload_generation = generation + 1  # a fresh, empty uploader
        for i, doc in enumerate(conversation.documents):
            card(doc, conversation, store, i)
        scanned.panel(conversation, store, backend, settings, add_document)  # a scan to read by looking


def _add(files, conversation: Conversation, store: ConversationStore, backend: ChatBackend, settings: Settings) -> None:
    lim = limits(settings)
    for upload in files:
        data = upload.getvalue()
        bar = None
        try:
            check_total(sum(d["bytes"] for d in conversation.documents), len(data), lim)
            bar = st.progress(0.0, text=t("Reading {name}…", name=upload.name))
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
            if bar is not None:
                bar.empty()
            st.error(t("**{name}**: {error}", name=upload.name, error=tm(str(err))))
            continue
        add_document(
            conversation, store, backend, document.name, document.kind, document.pages, document.text, len(data),
            notes=list(document.notes),  # e.g. a repaired PDF's pages that came out empty
        )


def add_document(
    conversation: Conversation, store: ConversationStore, backend: ChatBackend,
    name: str, kind: str, pages: int | None, text: str, size: int, **extra,
) -> None:
    """A read document joins the conversation, its tokens counted by the model's tokenizer;
    ``extra`` keeps more about it (``ocr``: the vision model that recognised its text)."""
    block = documents_block([Doc(name, text)])
    conversation.documents.append(
        {
            "name": name,
            "kind": kind,
            "pages": pages,
            "text": text,
            "bytes": size,
            "tokens": backend.count_tokens([{"role": "system", "content": block}]),
            **extra,
        }
    )
    store.save(conversation)


def card(doc: dict, conversation: Conversation, store: ConversationStore, index: int) -> None:
    facts = [doc["kind"].upper()]
    if doc.get("pages"):
        facts.append(t("{pages:,} pages", pages=doc["pages"]))
    if doc.get("ocr"):
        facts.append(t("📷 text recognised by {model}", model=doc["ocr"]))
    facts.append(t("{tokens:,} tokens", tokens=doc["tokens"]))
    cols = st.columns([12, 1])
    with cols[0].expander(f"📄 **{doc['name']}** · {' · '.join(facts)}", expanded=bool(doc.get("notes"))):
        for note in doc.get("notes", ()):
            st.caption(tm(note))
        preview = doc["text"][:3000]
        st.text(preview + ("\n…" if len(doc["text"]) > len(preview) else ""))
    if cols[1].button("✕", key=f"remove_doc_{conversation.id}_{index}", help=t("Remove {name}", name=doc["name"])):
        conversation.documents.pop(index)
        store.save(conversation)
        st.rerun()


def docs_of(conversation: Conversation) -> list[Doc]:
    return [Doc(d["name"], d["text"]) for d in conversation.documents]


def uncut_messages(conversation: Conversation) -> list[dict]:
    """What the next prompt holds before any cut: system prompt, documents, history."""
    turns = conversation.prompt_messages(with_system=False)
    return build_messages(conversation.system_prompt, docs_of(conversation), turns)


def prompt(conversation: Conversation, backend: ChatBackend, params: GenerationParams) -> Fit:
    """The messages to send, fitted to the context window; DoesNotFit when the user must choose."""
    window = backend.info.context_window
    reserve = min(params.max_new_tokens, window // 4)
    return fit(
        conversation.system_prompt,
        docs_of(conversation),
        conversation.prompt_messages(with_system=False),
        window,
        reserve,
        backend.count_tokens,
        conversation.fit_strategy,
    )


def choose_fit(conversation: Conversation, store: ConversationStore, problem: DoesNotFit) -> None:
    """Ask what gives, instead of cutting anything silently. The question stays until it is
    answered (``conversation.waiting_for``), across reruns and reloads."""
    with st.chat_message("assistant"):
        st.warning(t("{problem} What should give?", problem=tm(str(problem))))
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
