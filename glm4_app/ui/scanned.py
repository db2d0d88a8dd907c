"""Long document: a scanned PDF (no text layer) read by the configured vision model.

The upload that turned out to be a scan is kept in the session (``session.scanned_upload``);
the panel offers to read it with the vision model, or says how to configure one. Reading shows each page's progress; a
click anywhere (⏹ Stop) ends the run, and the pages read so far can then be kept, the
reading continued, or everything dropped. The recognised text becomes a document like any
other, marked as recognised on its card and in its text (documents_ocr.py).
"""

from __future__ import annotations

import streamlit as st

from ..conversation import Conversation
from ..documents_ocr import PageText, Reading, RecognitionError, document_text, recognise
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from ..vision.pages import PagesError, render_pages
from . import state
from .i18n import t, tm
from .session import ScannedUpload, session

HOW_TO = N_(
    "A vision model can read it page by page: set `GLM4_VISION_MODEL` (e.g. "
    "`zai-org/GLM-4.1V-9B-Thinking` or `zai-org/GLM-4.6V-Flash`) and restart the app, then "
    "upload it again. Or OCR it first (e.g. with OCRmyPDF) and upload the result."
)


def offer(name: str, data: bytes, conversation: Conversation) -> None:
    """Remember a scanned upload so that the panel can offer to read it."""
    session.scanned_upload = ScannedUpload(conversation.id, name, data)


def panel(
    conversation: Conversation, store: ConversationStore, backend, settings: Settings, add_document
) -> None:
    """``add_document(conversation, store, backend, name, kind, pages, text, size, **extra)``
    adds the recognised text as ui/documents.py adds any document."""
    item = session.scanned_upload
    if item is None or item.conversation != conversation.id:
        return
    name = item.name

    def finish() -> None:
        _add(item, conversation, store, backend, add_document)

    if item.interrupted:
        _stopped(item, conversation, settings, finish)
        return
    st.warning(t("**{name}** has no text layer: its pages are pictures (a scan).", name=name))
    left, right = st.columns(2)
    if not settings.vision_model:
        st.info(t(HOW_TO))
    elif left.button(t("📷 Read it with {model}", model=settings.vision_model), key="scan_read",
                     type="primary"):
        _read(item, conversation, settings, finish)
    right.button(t("Dismiss"), key="scan_dismiss", on_click=session.forget, args=("scanned_upload",))


def _stopped(item: ScannedUpload, conversation: Conversation, settings: Settings, finish) -> None:
    done, total = len(item.read), len(item.pages)
    st.warning(t("Reading **{name}** stopped after {done} of {total} pages.",
                 name=item.name, done=done, total=total))
    keep, more, drop = st.columns(3)
    if done and keep.button(t("Keep the {done} pages read", done=done), key="scan_keep", type="primary"):
        finish()
    if more.button(t("Continue reading"), key="scan_continue"):
        _read(item, conversation, settings, finish)
    drop.button(t("Dismiss"), key="scan_drop", on_click=session.forget, args=("scanned_upload",))


def _read(item: ScannedUpload, conversation: Conversation, settings: Settings, finish) -> None:
    vision = state.vision_backend(settings)  # loads it (with progress) the first time
    item.model = vision.profile.label
    if item.read is None:
        folder = settings.data_dir / "media" / conversation.id / "scans"
        try:
            with st.spinner(t("Drawing the pages of {name}…", name=item.name)):
                item.pages = render_pages(item.name, item.data, folder, vision.profile.page_dpi,
                                          settings.vision_image_max_side, settings.doc_max_pages,
                                          settings.doc_max_file_mb, settings.doc_timeout_s,
                                          settings.doc_memory_mb)
        except PagesError as err:
            st.error(tm(err))
            return
        item.read = []
    st.button(t("⏹ Stop reading"), key="scan_stop", help=t("Stop here; the pages read so far can be kept"))
    bar = st.progress(0.0, text=t("Starting…"))
    reading = recognise(item.pages, vision, start=len(item.read))
    try:
        for step in reading:
            if isinstance(step, Reading):
                bar.progress((step.page - 1) / step.pages, text=t(
                    "📷 Reading page {page} of {pages} with {model}… {chars:,} characters",
                    page=step.page, pages=step.pages, model=item.model, chars=step.chars))
            elif isinstance(step, PageText):
                item.read.append(step)
    except RecognitionError as err:
        st.error(tm(err))
        return
    finally:
        reading.close()  # also when a click ends this run: the page being read is cancelled
    finish()


def _add(
    item: ScannedUpload, conversation: Conversation, store: ConversationStore, backend, add_document
) -> None:
    text = document_text(item.read, item.model)
    add_document(conversation, store, backend, item.name, "pdf", len(item.pages), text,
                 len(item.data), ocr=item.model)
    del session.scanned_upload
    st.rerun()
