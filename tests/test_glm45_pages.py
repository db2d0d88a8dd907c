"""The pages with the GLM-4.5 generation's features, headless (AppTest) on scripted backends:
the per-conversation Thinking switch, boxes drawn under a vision answer, a PDF sent to a vision
model as page images, and a scanned PDF read by the vision model in Long document mode."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pymupdf
import pytest
from page_helpers import send, upload
from PIL import Image
from streamlit.testing.v1 import AppTest

from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state
from glm4_app.vision.profiles import GLM_41V

APP = str(Path(__file__).resolve().parent.parent / "app.py")
BOXED = "<think>Two shapes.</think>cat: <|begin_of_box|>[[100,100,500,500]]<|end_of_box|>, dog: <|begin_of_box|>[[600,200,900,800]]<|end_of_box|>"


class Recording(ScriptedBackend):
    """A scripted backend that also records the generation parameters of each request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = []

    def stream(self, messages, params, tools=None, cache_key=None):
        self.params.append(params)
        yield from super().stream(messages, params, tools, cache_key)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GLM4_VISION_MODEL", raising=False)
    return tmp_path


@pytest.fixture
def open_page(data_dir, monkeypatch):
    def open_(page, backend, c=None, vision=None) -> AppTest:
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        monkeypatch.setattr(state, "vision_backend", lambda settings: vision or backend)
        at = AppTest.from_file(APP, default_timeout=60)
        if c is not None:
            at.query_params["c"] = c
        at.switch_page(page).run() if page else at.run()
        assert not at.exception, at.exception
        return at

    return open_


def conversation_id(at: AppTest) -> str:
    c = at.query_params["c"]
    return c[0] if isinstance(c, list) else c


def pdf(pages: int, scanned: bool = False) -> bytes:
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=300, height=400)
        if scanned:
            buffer = io.BytesIO()
            Image.new("RGB", (60, 80), "grey").save(buffer, "PNG")
            page.insert_image(page.rect, stream=buffer.getvalue())
        else:
            page.insert_text((40, 60), f"Page {n}")
    return doc.tobytes()


def test_the_thinking_switch_is_kept_with_the_conversation_and_reaches_the_model(open_page, data_dir):
    info = ModelInfo(name="glm-4.6", context_window=8192, tools=True, tool_format="glm45", thinking_switch=True)
    backend = Recording(["<think>Hmm.</think>Hi!", "Hello again."], info=info)
    at = open_page(None, backend)
    (switch,) = [t for t in at.toggle if t.label == "💭 Thinking"]
    assert switch.value is True
    send(at, "Hi")
    switch = next(t for t in at.toggle if t.label == "💭 Thinking")
    switch.set_value(False).run()
    send(at, "Hi again")
    assert [p.thinking for p in backend.params] == [True, False]
    stored = ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id(at))
    assert stored.thinking is False
    again = open_page(None, backend, c=conversation_id(at))  # a refresh keeps it off
    assert next(t for t in again.toggle if t.label == "💭 Thinking").value is False
    plain = open_page(None, Recording(["ok"]))  # models without the switch show none
    assert not [t for t in plain.toggle if t.label == "💭 Thinking"]


def images(node) -> int:
    own = 1 if getattr(node, "type", None) == "image" else 0
    return own + sum(images(c) for c in getattr(node, "children", {}).values())


def png(colour="white", size=(200, 100)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return ("photo.png", buffer.getvalue(), "image/png")


def test_boxes_of_a_vision_answer_are_labelled_and_drawn_under_it(open_page, data_dir):
    backend = Recording([BOXED])
    backend.profile = GLM_41V
    at = send(upload(open_page("pages/vision.py", backend), png()), "Find the animals.")
    answer = at.chat_message[-1]
    shown = " ".join(m.value for m in answer.markdown)
    assert "cat: :red-background[**1**], dog: :blue-background[**2**]" in shown
    assert "begin_of_box" not in shown
    (toggle,) = [t for t in answer.toggle if "boxes" in t.label]
    assert toggle.label == "🔲 Show 2 boxes on the image" and toggle.value is True
    assert images(answer) == 1
    toggle.set_value(False).run()
    assert not at.exception and images(at.chat_message[-1]) == 1  # the plain image instead
    # History keeps the raw boxes for the model.
    stored = ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id(at))
    assert "<|begin_of_box|>[[100,100,500,500]]<|end_of_box|>" in stored.messages[-1].content


def test_a_pdf_goes_to_the_vision_model_as_page_images(open_page, data_dir):
    backend = Recording(["Three pages about pages."])
    backend.profile = GLM_41V
    at = upload(open_page("pages/vision.py", backend), ("report.pdf", pdf(3), "application/pdf"))
    assert "3 attached" in at.expander[0].label
    at = open_page("pages/vision.py", backend, c=conversation_id(at))  # a reload keeps them, as pages
    assert "3 attached" in at.expander[0].label
    assert any("3 of them are document pages" in c.value for c in at.caption)
    send(at, "Summarise.")
    sent = backend.calls[0][-1]
    assert len(sent["images"]) == 3 and all(Path(p).is_file() for p in sent["images"])
    stored = ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id(at))
    assert stored.messages[0].pages == sent["images"]  # pages: not counted as photos


def test_pages_that_would_not_fit_the_context_are_refused_before_sending(open_page):
    class Counting(Recording):
        def count_tokens(self, messages, tools=None):  # 300 tokens an image, as a real model counts
            return super().count_tokens(messages, tools) + 300 * sum(len(m.get("images", ())) for m in messages)

    backend = Counting(["never"], info=ModelInfo(name="vision", context_window=2048))
    backend.profile = GLM_41V
    at = send(upload(open_page("pages/vision.py", backend), ("long.pdf", pdf(6), "application/pdf")), "Read it all.")
    assert not backend.calls
    warning = " ".join(w.value for w in at.warning)
    assert "With its 6 pages this message makes a prompt of" in warning and "2,048" in warning


def test_a_scanned_pdf_is_offered_to_the_vision_model_and_becomes_a_recognised_document(open_page, monkeypatch, data_dir):
    monkeypatch.setenv("GLM4_VISION_MODEL", "zai-org/GLM-4.1V-9B-Thinking")
    chat = Recording(["It says hello."])
    vision = Recording(["Hello from page one.", "And page two."])
    vision.profile = replace(GLM_41V, page_dpi=36)
    at = upload(open_page("pages/documents.py", chat, vision=vision), ("scan.pdf", pdf(2, scanned=True), "application/pdf"))
    assert any("has no text layer" in w.value for w in at.warning)
    assert not [e for e in at.error if "scan.pdf" in e.value]  # an offer, not a failure
    at.button(key="scan_read").click().run()
    assert not at.exception, at.exception
    assert len(vision.calls) == 2 and all(len(c[-1]["images"]) == 1 for c in vision.calls)  # one page each
    (card,) = [e.label for e in at.expander if e.label.startswith("📄")]
    assert "scan.pdf" in card and "text recognised by GLM-4.1V" in card
    send(at, "What does it say?")
    prompt = "".join(m["content"] for m in chat.calls[0])  # the document, as the chat model reads it
    assert "[Page 1]\nHello from page one." in prompt and "[Page 2]\nAnd page two." in prompt
    assert "Text recognised by GLM-4.1V" in prompt


def test_without_a_vision_model_a_scan_says_how_to_configure_one(open_page):
    at = upload(open_page("pages/documents.py", Recording(["ok"])), ("scan.pdf", pdf(1, scanned=True), "application/pdf"))
    assert any("has no text layer" in w.value for w in at.warning)
    assert any("GLM4_VISION_MODEL" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "scan_read"]


@pytest.mark.parametrize("choice", ["scan_keep", "scan_continue"])
def test_a_stopped_reading_keeps_its_pages_or_continues(open_page, monkeypatch, tmp_path, choice):
    """A click during the reading (⏹ Stop) ends that run with page 1 of 2 read; the next run
    offers to keep it or to read on from page 2."""
    from glm4_app.documents_ocr import PageText
    from glm4_app.ui.session import ScannedUpload
    from glm4_app.vision.pages import render_pages

    monkeypatch.setenv("GLM4_VISION_MODEL", "zai-org/GLM-4.1V-9B-Thinking")
    data = pdf(2, scanned=True)
    vision = Recording(["Second page text."])
    vision.profile = GLM_41V
    at = open_page("pages/documents.py", Recording(["ok"]), vision=vision)
    at.session_state["scanned_pdf"] = ScannedUpload(
        at.session_state["conversation_documents"].id, "scan.pdf", data, model="GLM-4.1V",
        pages=render_pages("scan.pdf", data, tmp_path, 36, 300), read=[PageText(1, 2, "First page text.")],
    )
    at.run()
    assert any("stopped after 1 of 2 pages" in w.value for w in at.warning)
    at.button(key=choice).click().run()
    assert not at.exception, at.exception
    (doc,) = at.session_state["conversation_documents"].documents
    assert doc["ocr"] == "GLM-4.1V" and "[Page 1]\nFirst page text." in doc["text"]
    if choice == "scan_keep":
        assert "pages 1-1 of 2" in doc["text"] and not vision.calls
    else:
        assert "[Page 2]\nSecond page text." in doc["text"] and "all 2 pages" in doc["text"]
        assert len(vision.calls) == 1  # only the page not read yet
