"""Vision mode: attaching images, the checkpoint's rules before sending, and the page shown
when no vision model is configured."""

from __future__ import annotations

import shutil
from pathlib import Path

import streamlit as st

from ..conversation import Conversation
from ..doc_budget import answer_reserve
from ..i18n import N_
from ..settings import Settings
from ..store import ConversationStore
from ..vision.images import EXTENSIONS, ImageError, ImageLimits, save_upload
from ..vision.pages import EXTENSIONS as DOCUMENT_EXTENSIONS
from ..vision.pages import PagesError, render_pages
from ..vision.profiles import check_context, check_send
from . import quota, state
from .i18n import t, tm
from .session import VisionRefusal, session
from .thumbnails import thumbnails

SETUP = N_("""\
**Vision mode needs a vision model, and none is configured.**

Set `GLM4_VISION_MODEL` and restart the app:

| Model | Setting | GPU memory (weights) |
|---|---|---|
| GLM-4V-9B (one image per conversation, 8K context) | `GLM4_VISION_MODEL=THUDM/glm-4v-9b` | ~28 GB in bf16, ~10 GB with `GLM4_VISION_QUANTIZATION=4bit` |
| GLM-4.1V-9B-Thinking (up to 10 images, PDFs as pages, boxes, reasons first) | `GLM4_VISION_MODEL=zai-org/GLM-4.1V-9B-Thinking` | ~22 GB in bf16, ~8 GB with `GLM4_VISION_QUANTIZATION=4bit` |
| GLM-4.6V-Flash (as GLM-4.1V, plus tools and a thinking switch) | `GLM4_VISION_MODEL=zai-org/GLM-4.6V-Flash` | ~22 GB in bf16, ~8 GB in 4-bit |
| GLM-4.5V / GLM-4.6V (106B mixture of experts) | serve them with vLLM and `GLM4_BACKEND=openai-chat` (for tools: `vllm serve ... --tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`) | ~216 GB in bf16, ~60 GB in 4-bit |

A local folder holding the checkpoint works too. The chat model and the vision model can both
stay loaded; set `GLM4_MODEL_MEMORY_MB` to unload one when the other is needed and both would
not fit.
""")


SERVED_SETUP = N_("""\
**Vision mode needs a vision model, and none is configured.**

Answers come from a model server here (`GLM4_BACKEND={backend}`): no weights are loaded in this
app, so serve a vision model and name it. Set `GLM4_VISION_MODEL` to the model name the server
serves (as `/v1/models` lists it, e.g. `THUDM/glm-4v-9b`, `zai-org/GLM-4.1V-9B-Thinking`,
`zai-org/GLM-4.5V`), and `GLM4_OPENAI_VISION_BASE_URL` to that server's address when it is not
the chat model's server (`{chat_server}`). Then restart the app.

GLM-4.5V and GLM-4.6V call tools here only with `GLM4_BACKEND=openai-chat`, from a server
that parses their calls (vLLM:
`--tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`; SGLang: the
same parsers). With `GLM4_BACKEND=openai` they answer without tools.
""")


def require_model(settings: Settings) -> None:
    """Explain what is needed (and stop the page) when no vision model is configured: the
    checkpoints to load, or (answers from a server) the settings that name the served model."""
    if not settings.vision_model:
        if settings.backend in ("openai", "openai-chat"):
            text = t(SERVED_SETUP, backend=settings.backend, chat_server=settings.openai_base_url)
        else:
            text = t(SETUP)
        st.info(text, icon="🖼️")
        st.stop()


def pending(conversation: Conversation) -> list[str]:
    """Images attached to the next message (not sent yet), document pages included; kept in
    the conversation, so a reload keeps them attached."""
    return conversation.attached


def pending_pages(conversation: Conversation) -> list[str]:
    """Which of the attached images are pages of a PDF or slide deck."""
    return conversation.attached_pages


def limits(settings: Settings) -> ImageLimits:
    return ImageLimits(max_side=settings.vision_image_max_side, max_upload_mb=settings.vision_max_upload_mb)


def image_folder(settings: Settings, conversation: Conversation) -> Path:
    # Under the conversation's media folder, so deleting the conversation deletes them too.
    return settings.data_dir / "media" / conversation.id / "images"


def panel(conversation: Conversation, store: ConversationStore, backend, settings: Settings) -> None:
    """The uploader and the images waiting for the next message; a bad file gets a message
    and changes nothing."""
    attached = pending(conversation)
    profile = backend.profile
    refusal_box(conversation, store, settings)
    with st.expander(t("🖼 Attach images ({count} attached)", count=len(attached)), expanded=True):
        generation = session.image_upload_generation
        images_mb = quota.upload_mb(settings, settings.vision_max_upload_mb)
        if profile.documents:
            documents_mb = quota.upload_mb(settings, settings.doc_max_file_mb)
            label = t("Images up to {images} MB, or a PDF or PowerPoint up to {documents} MB sent as page "
                      "images; {model} rules apply when you send",
                      images=images_mb, documents=documents_mb, model=profile.label)
        else:
            documents_mb = 0
            label = t("PNG, JPEG, BMP, TIFF, WEBP or GIF, up to {images} MB; {model} rules apply when you send",
                      images=images_mb, model=profile.label)
        files = st.file_uploader(
            label,
            type=EXTENSIONS + (DOCUMENT_EXTENSIONS if profile.documents else []),
            accept_multiple_files=True,
            key=f"image_upload_{conversation.id}_{generation}",
            max_upload_size=max(images_mb, documents_mb),  # each kind's own limit is checked on arrival
        )
        if files:
            for upload in files:
                refusal = quota.limiter(settings).check_upload(upload.size, f"**{upload.name}**")
                if refusal:
                    session.image_errors.append(refusal.message)
                    continue
                try:
                    paths = _attach(upload, conversation, profile, settings)
                except (ImageError, PagesError) as err:
                    session.image_errors.append(err.notice)
                    continue
                new = [p for p in paths if p not in attached]
                if new:
                    attached += new
                    store.save(conversation)  # the first upload creates the conversation (and its link)
            session.image_upload_generation = generation + 1  # a fresh, empty uploader
            st.rerun()
        for error in session.image_errors:
            st.error(tm(error))
        del session.image_errors
        if attached:
            pages = len(pending_pages(conversation))
            if pages:
                st.caption(t("📄 {pages} of them are document pages", pages=pages))
            thumbnails(attached)
            if st.button(t("✕ Remove attached images"), key="clear_attached"):
                attached.clear()
                pending_pages(conversation).clear()
                store.save(conversation)
                st.rerun()


def _attach(upload, conversation: Conversation, profile, settings: Settings) -> list[str]:
    """An uploaded image saved, or a PDF/PPTX saved as its pages (remembered as pages)."""
    folder = image_folder(settings, conversation)
    if upload.name.lower().rsplit(".", 1)[-1] in DOCUMENT_EXTENSIONS:
        with st.spinner(t("Drawing the pages of {name}…", name=upload.name)):
            pages = render_pages(upload.name, upload.getvalue(), folder, profile.page_dpi,
                                 settings.vision_image_max_side, max_mb=settings.doc_max_file_mb,
                                 timeout_s=settings.doc_timeout_s, memory_mb=settings.doc_memory_mb)
        paths = [str(p) for p in pages]
        pending_pages(conversation).extend(p for p in paths if p not in pending_pages(conversation))
        return paths
    return [str(save_upload(upload.getvalue(), upload.name, folder, limits(settings)))]


def send(conversation: Conversation, store: ConversationStore, backend, text: str) -> bool:
    """Send the text with the attached images, or say which rule stops it (keeping both)."""
    if not text.strip():
        st.toast(t("Empty message ignored."))
        return False
    attached = pending(conversation)
    pages = [p for p in pending_pages(conversation) if p in attached]
    earlier = [m.to_dict() for m in conversation.messages]
    refusal = check_send(backend.profile, earlier, attached, conversation.system_prompt, len(pages))
    if refusal is None and attached:  # are the images (a document's pages) more than the window?
        window = backend.info.context_window
        new = {"role": "user", "content": text, "images": list(attached)}
        tokens = backend.count_tokens([*conversation.prompt_messages(), new])
        reserve = answer_reserve(window, state.settings().max_new_tokens)
        refusal = check_context(tokens, window, reserve, len(pages))
    if refusal is not None:
        session.vision_refusal = VisionRefusal(conversation.id, refusal.message, refusal.offer_new_conversation, text)
        st.rerun()  # the panel above the input shows it
    message = conversation.add_user(text, list(attached))
    message.pages = pages  # they count against the context, not against the image limit
    attached.clear()
    pending_pages(conversation).clear()
    store.save(conversation)
    return True


def refusal_box(conversation: Conversation, store: ConversationStore, settings: Settings) -> None:
    refusal = session.vision_refusal
    if refusal is None or refusal.conversation != conversation.id:
        return
    st.warning(tm(refusal.message))
    st.caption(t("Your message, not sent: {message}", message=refusal.text))
    left, right = st.columns(2)
    if refusal.offer_new_conversation and left.button(
        t("🆕 Start a new conversation with it"), key="vision_new", type="primary"
    ):
        _start_over(conversation, store, settings, refusal.text)
    if right.button(t("Keep this conversation"), key="vision_dismiss"):
        del session.vision_refusal
        st.rerun()


def _start_over(old: Conversation, store: ConversationStore, settings: Settings, text: str) -> None:
    """A new conversation whose first message is the refused text with the attached images."""
    images, pages = pending(old), pending_pages(old)
    new = state.new_conversation(old.mode)
    folder = image_folder(settings, new)
    folder.mkdir(parents=True, exist_ok=True)
    copies = {path: str(Path(shutil.copy2(path, folder / Path(path).name)).resolve()) for path in images}
    message = new.add_user(text, list(copies.values()))
    message.pages = [copies[p] for p in pages if p in copies]
    store.save(new)
    images.clear()
    pages.clear()
    store.save(old)
    del session.vision_refusal
    session.answer_wanted = True
    st.rerun()
