"""End to end in a real browser: `streamlit run app.py` driven by Playwright in Debian's chromium.

One test walks the main path of the Chat page with the bundled offline model (SmolLM2-135M):
the model is ready, the offline banner shows, an answer streams in, a long answer is stopped
half-way and kept, and the page takes further messages.

Needs /usr/bin/chromium (Debian's `chromium` package; `.ci/run` and `scripts/test.sh` install
it as root). Playwright's own browser download is never used. Set GLM4_TEST_SCREENSHOT to
keep the final screenshot at that path (to look at the page).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from browser_helpers import needs_chromium
from glm4_app.backend.offline import OFFLINE_MODEL_NAME

pytestmark = [needs_chromium, pytest.mark.timeout(600)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from browser_helpers import (  # noqa: E402 (after the skips: it imports playwright)
    browser_page,
    expect,
    offline_model_data_dir,
    serve_app,
    wait_for,
)
from browser_helpers import answer_text as _answer_text  # noqa: E402
from browser_helpers import messages as _messages  # noqa: E402
from browser_helpers import send as _send  # noqa: E402
from browser_helpers import watch_answer as _watch_answer  # noqa: E402


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_data_dir(offline_data_dir, tmp_path_factory) -> Path:
    """A fresh GLM4_DATA_DIR (empty conversations) sharing the converted offline model."""
    return offline_model_data_dir(offline_data_dir, tmp_path_factory.mktemp("browser_data"))


@pytest.fixture(scope="module")
def app_url(browser_data_dir, tmp_path_factory):
    env = {
        "GLM4_DATA_DIR": str(browser_data_dir),
        # The offline model even on a GPU machine: the test must not reach for the hub.
        "GLM4_CHAT_MODEL": "offline:smollm2",
        # Bounds every answer (~50-100 ms a token on 2 cores); plenty to stop one half-way.
        "GLM4_MAX_NEW_TOKENS": "400",
    }
    with serve_app(env, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    with browser_page(app_url) as page:
        yield page


# --- The test --------------------------------------------------------------------------------


def test_chat_streams_stops_and_continues(page):
    started = time.monotonic()
    # 1. The model started loading with the server (tests/test_server_start.py shows an early
    #    visitor its progress); the chat box is drawn once it is ready.
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
    print(f"model ready after {time.monotonic() - started:.1f} s")
    banner = page.get_by_test_id("stAlert").filter(has_text=OFFLINE_MODEL_NAME)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("bundled model")
    expect(page.get_by_text("What can I help you with?")).to_be_visible()

    # 2. A first answer streams in: the text in the last bubble grows, then gets its stats.
    _send(page, "Name three colours and write one sentence about each.")
    expect(_messages(page)).to_have_count(2, timeout=30_000)
    expect(_messages(page).nth(0)).to_contain_text("Name three colours")
    lengths = _watch_answer(page, 2)
    print(f"first answer done after {time.monotonic() - started:.1f} s; lengths seen {lengths}")
    assert len(lengths) >= 2, f"the answer did not stream (lengths seen: {lengths})"
    # (Not strictly increasing: half-written markdown such as "**bo" re-renders shorter once
    # its closing marks arrive.)
    assert lengths[-1] > lengths[0], f"the streamed answer did not grow: {lengths}"
    assert _answer_text(_messages(page).nth(1)), "the finished answer is empty"

    # 3. A long answer is stopped half-way: what was written is kept and marked stopped.
    _send(page, "Write a long story about a dragon, at least 500 words.")
    expect(_messages(page)).to_have_count(4, timeout=30_000)
    streaming = _messages(page).nth(3)
    wait_for(lambda: len(_answer_text(streaming)) >= 80, 120, "the long answer to start")
    stop = page.get_by_role("button", name="⏹ Stop")
    expect(stop).to_be_visible()
    stop.click()
    print(f"stopped after {time.monotonic() - started:.1f} s")
    stopped = _messages(page).nth(3)
    expect(stopped).to_contain_text("⏹ stopped", timeout=30_000)
    expect(page.get_by_role("button", name="⏹ Stop")).to_have_count(0)
    kept = _answer_text(stopped)
    assert len(kept) >= 80, f"the stopped answer lost its text: {kept!r}"
    time.sleep(2.0)
    assert _answer_text(_messages(page).nth(3)) == kept, "the answer kept growing after Stop"

    # 4. The page is usable again: the chat box takes another message and it gets an answer.
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled()
    _send(page, "Say hello in one short sentence.")
    expect(_messages(page)).to_have_count(6, timeout=30_000)
    _watch_answer(page, 6)
    assert _answer_text(_messages(page).nth(5)), "no answer after the stopped one"
    expect(_messages(page).nth(3)).to_contain_text("⏹ stopped")  # still there, still stopped

    print(f"third answer done after {time.monotonic() - started:.1f} s")
    if os.environ.get("GLM4_TEST_SCREENSHOT"):
        page.screenshot(path=os.environ["GLM4_TEST_SCREENSHOT"])  # Streamlit scrolls inside the page: no full_page


def test_a_chinese_browser_gets_the_chinese_ui(page, app_url):
    """GLM4_LANGUAGE=auto (the default) follows the browser's language, which only a real
    browser reports; the switch then goes back to English and puts it in the URL."""
    context = page.context.browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        zh_page = context.new_page()
        zh_page.set_default_timeout(30_000)
        zh_page.goto(app_url)
        box = zh_page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=180_000)
        expect(box).to_have_attribute("placeholder", "给模型发消息…")
        expect(zh_page.get_by_role("button", name="➕ 新对话")).to_be_visible()
        expect(zh_page.get_by_test_id("stAlert").filter(has_text="内置的小模型")).to_be_visible()
        # Streamlit's own words in its uploader (📥 Import): the button in Chinese, no English
        # "50MB per file" line (the label states the limit).
        zh_page.get_by_text("📥 导入").click()
        dropzone = zh_page.get_by_test_id("stSidebar").get_by_test_id("stFileUploaderDropzone")
        expect(zh_page.get_by_text("导出为 JSON 的对话（最大 50 MB）")).to_be_visible()
        button = dropzone.get_by_test_id("stBaseButton-secondary").locator("p")
        assert button.evaluate("p => getComputedStyle(p, '::after').content") == '"上传"'
        expect(dropzone.get_by_test_id("stFileUploaderDropzoneInstructions")).to_be_hidden()
        if os.environ.get("GLM4_TEST_SCREENSHOT"):
            zh_page.screenshot(path=os.environ["GLM4_TEST_SCREENSHOT"].replace(".png", "-zh.png"))
        zh_page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
        zh_page.get_by_role("option", name="English").click()
        expect(zh_page.get_by_role("button", name="➕ New chat")).to_be_visible()
        # (while the page reruns, the old box may still show beside the new one)
        expect(zh_page.get_by_placeholder("Message the model…")).to_be_visible()
        expect(zh_page.get_by_placeholder("给模型发消息…")).to_have_count(0, timeout=30_000)
        assert "lang=en" in zh_page.url
    finally:
        context.close()
