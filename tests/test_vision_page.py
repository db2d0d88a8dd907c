"""The Vision page driven headless (AppTest): uploads, thumbnails, and each checkpoint's rules
enforced with clear words on a scripted backend."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from page_helpers import send, upload
from PIL import Image
from streamlit.testing.v1 import AppTest

from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state
from glm4_app.vision.profiles import GLM_4V_9B, GLM_41V

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def png(colour: str, size=(48, 32)) -> tuple[str, bytes, str]:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return (f"{colour}.png", buffer.getvalue(), "image/png")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GLM4_VISION_MODEL", raising=False)
    return tmp_path


@pytest.fixture
def open_page(data_dir, monkeypatch):
    def open_(backend, c: str | None = None) -> AppTest:
        monkeypatch.setattr(state, "vision_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=60)
        if c is not None:
            at.query_params["c"] = c
        at.switch_page("pages/vision.py").run()
        assert not at.exception, at.exception
        return at

    return open_


def scripted(profile, *replies) -> ScriptedBackend:
    backend = ScriptedBackend(list(replies) or ["It is a picture."])
    backend.profile = profile
    return backend


def _images(node) -> int:
    own = 1 if getattr(node, "type", None) == "image" else 0
    return own + sum(_images(c) for c in getattr(node, "children", {}).values())


def images_in_bubbles(at: AppTest) -> int:
    """Images drawn inside chat bubbles (a thumbnail and its full-size popover each)."""
    return sum(_images(m) for m in at.chat_message)


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def test_without_a_vision_model_the_page_says_what_to_configure(data_dir):
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/vision.py").run()
    assert not at.exception
    text = " ".join(i.value for i in at.info)
    assert "GLM4_VISION_MODEL=THUDM/glm-4v-9b" in text and "zai-org/GLM-4.1V-9B-Thinking" in text
    assert "4bit" in text and not at.chat_input


def test_an_uploaded_image_is_sent_shown_as_thumbnail_and_kept_after_refresh(open_page, data_dir):
    backend = scripted(GLM_41V)
    at = upload(open_page(backend), png("red"))
    assert "1 attached" in at.expander[0].label
    send(at, "What colour is it?")
    sent = backend.calls[0][-1]
    assert sent["content"] == "What colour is it?" and len(sent["images"]) == 1
    path = Path(sent["images"][0])
    assert path.is_file() and path.is_relative_to(data_dir) and Image.open(path).size == (48, 32)
    assert images_in_bubbles(at) >= 1 and "0 attached" in at.expander[0].label
    conversation_id = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    stored = ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id)
    assert [image.path for image in stored.messages[0].images] == sent["images"]
    again = open_page(backend, c=conversation_id)  # a refresh: a new session, same link
    assert images_in_bubbles(again) >= 1


def test_the_first_upload_links_the_conversation_and_a_reload_keeps_the_image_attached(open_page):
    backend = scripted(GLM_41V)
    at = upload(open_page(backend), png("red"))
    conversation_id = at.query_params["c"]  # linked before any message
    again = open_page(backend, c=conversation_id)  # a reload before sending
    assert "1 attached" in again.expander[0].label
    send(again, "What colour is it?")
    assert len(backend.calls[0][-1]["images"]) == 1


def test_glm41v_takes_several_images_in_later_turns(open_page):
    backend = scripted(GLM_41V, "Red.", "Blue and green.")
    at = send(upload(open_page(backend), png("red")), "First?")
    send(upload(at, png("blue"), png("green")), "And these two?")
    assert len(backend.calls) == 2 and not at.warning
    last = backend.calls[1]
    assert len(last[0]["images"]) == 1 and len(last[-1]["images"]) == 2


def test_glm4v_9b_offers_a_new_conversation_for_a_second_image(open_page):
    backend = scripted(GLM_4V_9B, "A red square.", "A blue square.")
    at = send(upload(open_page(backend), png("red")), "What is this?")
    first_id = at.session_state["conversation_vision"].id
    send(upload(at, png("blue")), "And this one?")
    assert len(backend.calls) == 1  # nothing reached the model
    assert "one image per conversation" in warnings(at)
    assert any("And this one?" in c.value for c in at.caption)  # the text is not lost
    at.button(key="vision_new").click().run()
    assert not at.exception, at.exception
    assert len(backend.calls) == 2
    fresh = backend.calls[1]
    assert len(fresh) == 1 and fresh[0]["content"] == "And this one?" and len(fresh[0]["images"]) == 1
    assert at.session_state["conversation_vision"].id != first_id and not at.warning


def test_glm4v_9b_reads_an_image_only_with_the_first_message(open_page):
    backend = scripted(GLM_4V_9B, "Hello.")
    at = send(open_page(backend), "Hi there")
    send(upload(at, png("red")), "Now look at this")
    assert len(backend.calls) == 1 and "only with the first message" in warnings(at)
    at.button(key="vision_dismiss").click().run()
    assert not at.warning
    send(at, "Text follow-ups are fine")  # the image stays attached, but the rule still holds
    assert len(backend.calls) == 1
    at.button(key="clear_attached").click().run()
    send(at, "Text follow-ups are fine")
    assert len(backend.calls) == 2


def test_glm4v_9b_refuses_a_system_prompt_with_clear_words(open_page):
    backend = scripted(GLM_4V_9B)
    at = open_page(backend)
    at.text_area(key=f"system_{at.session_state['conversation_vision'].id}").set_value("Be terse.").run()
    send(upload(at, png("red")), "What is it?")
    assert not backend.calls and "takes no system prompt" in warnings(at)
    assert not [b for b in at.button if b.key == "vision_new"]  # a new chat would not help


def test_a_bad_file_gets_a_message_and_keeps_what_was_attached(open_page):
    backend = scripted(GLM_41V)
    at = upload(open_page(backend), png("red"))
    upload(at, ("broken.png", b"not really a png", "image/png"))
    assert any("broken.png" in e.value and "not an image" in e.value for e in at.error)
    assert "1 attached" in at.expander[0].label
