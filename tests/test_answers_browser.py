"""Answers live on the server, seen from a real browser (Playwright in Debian's chromium,
the bundled offline model, one request at a time):

* a reload mid-answer finds the answer still there and still growing; it finishes and is saved;
* Stop right after Regenerate ends the answer: the text stops growing and the server idles;
* Stop while the answer waits for the model (before its first token) leaves a stopped answer;
* a server killed (SIGKILL) mid-answer shows, after its restart, the question and the partial
  answer saved so far, marked interrupted, with Regenerate offered.
"""

from __future__ import annotations

import os
import re
import signal
import time
from urllib.parse import parse_qs, urlparse

import pytest

from browser_helpers import needs_chromium
from glm4_app.store import ConversationStore

pytestmark = [needs_chromium, pytest.mark.timeout(600)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402

from browser_helpers import (  # noqa: E402 (after the skips: it imports playwright)
    STATS_MARK,
    expect,
    last_answer_text,
    messages,
    new_page,
    offline_model_data_dir,
    run_server,
    send,
    wait_for,
)

LONG = "Write a long story about a dragon who learns to bake bread. At least 400 words."
ENV = {
    "GLM4_CHAT_MODEL": "offline:smollm2",
    "GLM4_MAX_NEW_TOKENS": "100",  # ~10 s of writing on 2 cores: time to reload and stop
    "GLM4_MAX_BATCH": "1",  # a second answer waits in the queue: "before its first token"
}


@pytest.fixture(scope="module")
def data_dir(offline_data_dir, tmp_path_factory):
    return offline_model_data_dir(offline_data_dir, tmp_path_factory.mktemp("answers_data"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("answers_server")


@pytest.fixture(scope="module")
def server(data_dir, logs):
    with run_server({**ENV, "GLM4_DATA_DIR": str(data_dir)}, logs) as server:
        yield server


def open_page(browser, url: str):
    """A new tab of its own (its own Streamlit session), the chat box ready."""
    page = new_page(browser, url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
    return page


def conversation_id(page) -> str | None:
    return parse_qs(urlparse(page.url).query).get("c", [None])[0]


def stored(data_dir, page):
    return ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id(page))


def screenshot(page, name: str) -> None:
    folder = os.environ.get("GLM4_TEST_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def test_a_reload_mid_answer_finds_it_growing_and_stop_after_regenerate_ends_it(server, browser, data_dir):
    started = time.monotonic()
    page = open_page(browser, server.url)
    print(f"model ready after {time.monotonic() - started:.1f} s")
    send(page, LONG)
    expect(messages(page)).to_have_count(2)
    wait_for(lambda: conversation_id(page), 10, "the conversation's link")  # before the answer ends
    wait_for(lambda: len(last_answer_text(page)) >= 60, 120, "the answer to start")
    before = last_answer_text(page)

    # 1. A reload mid-answer: the answer is still there, still growing, then saved.
    print(f"reload after {time.monotonic() - started:.1f} s")
    page.reload()

    expect(messages(page)).to_have_count(2, timeout=60_000)
    expect(messages(page).nth(0)).to_contain_text("dragon who learns to bake bread")
    seen = wait_for(lambda: len(last_answer_text(page)) >= len(before) and last_answer_text(page), 30, "the answer")
    assert seen[:40] == before[:40], "the reloaded page shows another answer"
    screenshot(page, "reloaded-streaming-answer")
    assert STATS_MARK not in messages(page).nth(1).inner_text(), "the answer had ended before the reload"
    wait_for(lambda: len(last_answer_text(page)) > len(seen) + 10, 60, "the answer to keep growing")
    expect(messages(page).nth(1)).to_contain_text(STATS_MARK, timeout=120_000)
    answer = stored(data_dir, page).messages[-1]
    assert answer.stats is not None and not answer.partial and not answer.stopped
    assert answer.content.strip().startswith(before[:40]) and len(last_answer_text(page)) > len(before)

    # 2. Stop right after Regenerate, while the new answer may still say "Starting…".
    print(f"answer saved after {time.monotonic() - started:.1f} s")
    page.get_by_role("button", name="🔄 Regenerate").click()
    page.get_by_role("button", name="⏹ Stop").click()

    expect(messages(page).nth(1)).to_contain_text("⏹ stopped", timeout=30_000)
    expect(page.get_by_role("button", name="⏹ Stop")).to_have_count(0)
    kept = last_answer_text(page)
    # Writing keeps the server busy every second (most of a core or more); idle, it uses
    # next to nothing. The first second after Stop may still hold the rerun's drawing.
    busy = []
    for _ in range(3):
        cpu = server.cpu_seconds()
        time.sleep(1.0)
        busy.append(server.cpu_seconds() - cpu)
    assert last_answer_text(page) == kept, "the answer kept growing after Stop"
    assert max(busy[1:]) < 0.2, f"the server kept working after Stop (CPU seconds per second: {busy})"
    answer = stored(data_dir, page).messages[-1]
    assert answer.stopped and answer.content.strip() == kept
    expect(page.get_by_role("button", name="🔄 Regenerate")).to_be_visible()
    page.context.close()


def test_stop_before_the_first_token_leaves_a_stopped_answer(server, browser, data_dir):
    busy = open_page(browser, server.url)  # another user keeps the only slot busy
    send(busy, LONG)
    wait_for(lambda: last_answer_text(busy), 120, "the other answer to start")

    page = open_page(browser, server.url)
    send(page, "What is the capital of France?")
    expect(messages(page).nth(1)).to_contain_text(re.compile("waiting for 1 other answer"), timeout=30_000)
    page.get_by_role("button", name="⏹ Stop").click()

    expect(messages(page).nth(1)).to_contain_text("⏹ stopped", timeout=30_000)
    assert last_answer_text(page) == ""
    expect(page.get_by_role("button", name="🔄 Regenerate")).to_be_visible()
    saved = stored(data_dir, page).messages
    assert [(m.role, m.content, m.stopped) for m in saved] == [
        ("user", "What is the capital of France?", False),
        ("assistant", "", True),
    ]
    screenshot(page, "stopped-before-first-token")
    stop = busy.get_by_role("button", name="⏹ Stop")
    try:  # free the slot for the next test, unless the other answer already ended (a slow run)
        stop.click(timeout=5_000)
    except PlaywrightTimeoutError:
        pass
    expect(stop).to_have_count(0, timeout=30_000)
    busy.context.close()
    page.context.close()


def test_a_server_killed_mid_answer_shows_the_partial_answer_after_restart(server, browser, data_dir, logs):
    page = open_page(browser, server.url)
    send(page, LONG)
    wait_for(lambda: len(last_answer_text(page)) >= 80, 120, "the answer to start")
    time.sleep(2.5)  # progress is saved every 2 s of writing
    seen = last_answer_text(page)
    link = urlparse(page.url)
    page.context.close()

    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=30)

    with run_server({**ENV, "GLM4_DATA_DIR": str(data_dir)}, logs) as restarted:
        page = open_page(browser, f"{restarted.url}/?{link.query}")
        expect(messages(page)).to_have_count(2)
        expect(messages(page).nth(0)).to_contain_text("dragon who learns to bake bread")
        answer = messages(page).nth(1)
        expect(answer).to_contain_text("Interrupted")
        kept = last_answer_text(page)
        assert len(kept) >= 40 and seen.startswith(kept[:40]), (kept, seen)
        expect(page.get_by_role("button", name="🔄 Regenerate")).to_be_visible()
        expect(page.get_by_role("button", name="▶️ Answer")).to_have_count(0)
        screenshot(page, "interrupted-after-restart")
        page.context.close()
