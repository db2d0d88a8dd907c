"""What users see of an answer's sources, images and uploads (AppTest, a scripted model, the
real browser tool on a local web site): citations ``【n†source】`` as numbered links in the
answer, in the prose before a tool call, in the answer being written and on a share link's
page; the browser step's pages as links; a thumbnail that opens the full image; uploaders
that state the true limits; the model card and the Vision setup of a served model, in
Chinese too."""

from __future__ import annotations

import http.server
import io
import threading
import time
from pathlib import Path

import pytest
from page_helpers import send, stop_toolbox
from PIL import Image
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from glm4_app import shares
from glm4_app.events import Done, Started
from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.turns import TURNS
from glm4_app.ui import state
from glm4_app.ui.turn import LiveView

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TOOLS_MODEL = ModelInfo(name="scripted-glm", context_window=8192, tools=True)
PAGES = {"/cats": "Cats sleep a lot", "/dogs": "Dogs and their naps"}


@pytest.fixture(scope="module")
def site():
    """Two small pages on 127.0.0.1 for the browser tool to open."""

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            title = PAGES.get(self.path, "Not found")
            body = f"<html><head><title>{title}</title></head><body><p>{title}.</p></body></html>".encode()
            self.send_response(200 if self.path in PAGES else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GLM4_TOOLS_DIR", str(tmp_path / "no_user_tools"))
    monkeypatch.setenv("GLM4_HOSTED", "false")
    monkeypatch.setenv("GLM4_BROWSER_ALLOWLIST", "127.0.0.1")
    return tmp_path


@pytest.fixture
def open_page(data_dir, monkeypatch):
    """open_page(backend, page, lang=None, **query) -> that page after its first run."""
    opened = []

    def open_(backend, page: str = "app.py", lang: str | None = None, **query) -> AppTest:
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=90)
        for name, value in ({"lang": lang} if lang else {}).items() | query.items():
            at.query_params[name] = value
        at.run()
        if page != "app.py":
            at.switch_page(page).run()
        assert not at.exception, at.exception
        opened.append(at)
        return at

    yield open_
    for at in opened:
        stop_toolbox(at)


def texts(element) -> str:
    return "\n".join(m.value for m in element.markdown)


def link(number: int, url: str, title: str) -> str:
    return f'[\\[{number}\\]]({url} "{title}")'


class HoldsAfterLastReply(ScriptedBackend):
    """Replays its replies; the last one holds after its text (heartbeats) until the answer
    is stopped, so the page can be read while it is being written."""

    def stream(self, messages, params, tools=None, cache_key=None):
        last = len(self.calls) + 1 >= len(self.replies)
        for event in super().stream(messages, params, tools, cache_key):
            if last and isinstance(event, Done):
                while True:
                    time.sleep(0.01)
                    yield Started(prompt_tokens=1)
            yield event


def test_citations_are_numbered_links_in_answers_prose_live_text_and_share_links(open_page, site, data_dir, monkeypatch):
    cats, dogs = f"{site}/cats", f"{site}/dogs"
    backend = HoldsAfterLastReply(
        [
            f'simple_browser\nopen_url("{cats}")',
            f'Cats sleep a lot【0†source】; now the dogs.<|assistant|>simple_browser\nopen_url("{dogs}")',
            "Cats sleep 16 hours【0†source】, dogs 12【1†source】.",
            "As I said, dogs nap【1†source】 and the rest is still coming",
        ],
        info=TOOLS_MODEL,
    )
    at = open_page(backend, "pages/tools.py")
    send(at, "How long do cats and dogs sleep?")
    answer = at.chat_message[1]
    cats_link, dogs_link = link(0, cats, PAGES["/cats"]), link(1, dogs, PAGES["/dogs"])
    shown = texts(answer)
    assert f"Cats sleep a lot{cats_link}; now the dogs." in shown  # prose before a tool call
    assert f"Cats sleep 16 hours{cats_link}, dogs 12{dogs_link}." in shown  # the answer
    assert "【" not in shown
    sources = [m.value for step in answer.get("status") for m in step.markdown]
    assert f"- \\[0\\] [{PAGES['/cats']}]({cats}) · 127.0.0.1" in sources  # the step's pages

    # A share link's page shows the same links.
    store = ConversationStore(data_dir / "conversations.sqlite3")
    share = shares.create(store, store.load(at.query_params["c"]), False)
    viewer = open_page(backend, share=share.id)
    assert f"Cats sleep 16 hours{cats_link}, dogs 12{dogs_link}." in texts(viewer.chat_message[1])

    # The answer being written links the sources of earlier turns as it streams.
    def follow_until_written(view: LiveView) -> None:
        cursor = 0
        while True:
            entries, cursor, ended = view.turn.read(cursor, 0.05)
            for entry in entries:
                view.take(entry)
            view.draw()
            if "still coming" in "".join(s.text for s in view.segments) or ended:
                raise StopException()

    monkeypatch.setattr(LiveView, "follow", follow_until_written)
    send(at, "And dogs?")
    assert f"As I said, dogs nap{dogs_link} and the rest is still coming ▌" in texts(at.chat_message[-1])
    TURNS.live(at.query_params["c"]).stop()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def vision_model(monkeypatch):
    """A GLM-4.6V-like scripted model for the Vision page."""
    from glm4_app.vision.profiles import GLM_46V

    backend = ScriptedBackend(["A teal picture."], info=TOOLS_MODEL)
    backend.profile = GLM_46V
    monkeypatch.setenv("GLM4_VISION_MODEL", "scripted-vision")
    monkeypatch.setattr(state, "vision_backend", lambda settings: backend)
    return backend


def test_a_thumbnail_and_its_full_size_button_link_to_the_image_file(open_page, vision_model):
    at = open_page(vision_model, "pages/vision.py")
    at.file_uploader[0].set_value([("wide.png", png(1800, 900), "image/png")]).run()
    assert not at.exception, at.exception
    (thumbnail,) = at.get("image")
    (button,) = at.get("link_button")
    url = button.proto.url
    assert thumbnail.proto.link == url and "/media/" in url  # a click on the thumbnail opens it too
    # (test_browser_vision.py opens the link in a real browser and reads the image's size)


def test_uploaders_state_the_true_limits(open_page, vision_model, monkeypatch):
    monkeypatch.setenv("GLM4_DOC_MAX_FILE_MB", "30")
    at = open_page(vision_model, "pages/documents.py")
    documents = at.main.file_uploader[0]
    assert documents.proto.max_upload_size_mb == 30 and "(up to 30 MB each)" in documents.label
    assert at.sidebar.file_uploader[0].proto.max_upload_size_mb == 50  # 📥 Import

    monkeypatch.setenv("GLM4_USER_UPLOAD_MB", "8")  # one user's limit is lower: that one shows
    at.run()
    assert at.main.file_uploader[0].proto.max_upload_size_mb == 8 and "(up to 8 MB each)" in at.main.file_uploader[0].label

    monkeypatch.delenv("GLM4_USER_UPLOAD_MB")
    at.switch_page("pages/vision.py").run()
    images = at.main.file_uploader[0]
    assert "Images up to 20 MB, or a PDF or PowerPoint up to 30 MB" in images.label
    assert images.proto.max_upload_size_mb == 30  # the larger: each kind's own is checked on arrival


def test_a_served_model_is_described_in_chinese_and_vision_asks_for_the_served_name(open_page, monkeypatch):
    from glm4_app.backend.openai_backend import OpenAIBackend

    served = OpenAIBackend(None, "http://gpu-box:8000/v1", "glm-4-9b-chat", context_window=131072)
    at = open_page(ScriptedBackend(["Hi"], info=served.info), lang="zh")
    captions = [c.value for c in at.sidebar.caption]
    assert "由 http://gpu-box:8000/v1 提供 · OpenAI 兼容 API · 上下文 131,072 token" in captions
    assert not any("served by" in c or "OpenAI-compatible" in c for c in captions)

    monkeypatch.setenv("GLM4_BACKEND", "openai")  # no GLM4_VISION_MODEL: what to set, not GPU sizes
    monkeypatch.delenv("GLM4_VISION_MODEL", raising=False)
    at.switch_page("pages/vision.py").run()
    setup = at.info[0].value
    assert "GLM4_VISION_MODEL" in setup and "GLM4_OPENAI_VISION_BASE_URL" in setup and "http://127.0.0.1:8000/v1" in setup
    assert "显存" not in setup and "GB" not in setup and "模型服务器" in setup
    # GLM-4.5V/4.6V's tools need a server that parses their calls, reached as chat completions.
    assert "`GLM4_BACKEND=openai-chat`" in setup and "--tool-call-parser glm45 --reasoning-parser glm45" in setup
    assert "才能调用工具" in setup
    switch_to_english = at.selectbox(key="ui_language_switch").set_value("en").run()
    setup = switch_to_english.info[0].value
    assert "`GLM4_BACKEND=openai`" in setup and "GPU memory" not in setup
    assert "call tools here only with `GLM4_BACKEND=openai-chat`" in setup and "--reasoning-parser glm45" in setup
