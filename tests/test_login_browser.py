"""Password login in a real browser: `streamlit run app.py` with GLM4_AUTH=password, driven
by Playwright in Debian's chromium (helpers shared with test_browser.py). A wrong password is
refused, the right one opens the chat, and after logging out another user does not see the
first user's conversation. The model is the tiny random GLM: only the login flow matters here."""

from __future__ import annotations

import time

import pytest

from test_browser import CHROMIUM, browser_page, expect, serve_app  # noqa: F401 (skips as it does)
from test_browser import _messages, _send, _wait_for

pytestmark = pytest.mark.timeout(300)
PASSWORD = "team password"


@pytest.fixture(scope="module")
def login_url(tiny_glm_path, tmp_path_factory):
    env = {
        "GLM4_DATA_DIR": str(tmp_path_factory.mktemp("login_data")),
        "GLM4_CHAT_MODEL": str(tiny_glm_path),
        "GLM4_MAX_NEW_TOKENS": "8",
        "GLM4_AUTH": "password",
        "GLM4_PASSWORD": PASSWORD,
    }
    with serve_app(env, tmp_path_factory.mktemp("login_server")) as url:
        yield url


def log_in(page, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_password_login_and_separate_users(login_url):
    with browser_page(login_url) as page:
        started = time.monotonic()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)

        log_in(page, "alice", "not it")
        expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
        expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)

        log_in(page, "alice", PASSWORD)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=120_000)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("Signed in as alice")
        _send(page, "alice's private question")
        expect(_messages(page)).to_have_count(2, timeout=30_000)
        alices = sidebar.get_by_role("button", name="alice's private question")
        expect(alices).to_have_count(1, timeout=60_000)  # listed once the answer is saved
        _wait_for(lambda: "c=" in page.url, 30, "the conversation link")
        alice_link = page.url

        sidebar.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        log_in(page, "bob", PASSWORD)
        expect(sidebar).to_contain_text("Signed in as bob")
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
        expect(sidebar.get_by_role("button", name="alice's private question")).to_have_count(0)

        page.goto(alice_link)  # a fresh page load asks to log in again; bob still cannot read it
        log_in(page, "bob", PASSWORD)
        expect(page.get_by_text("belongs to another user")).to_be_visible()
        expect(page.get_by_text("alice's private question")).to_have_count(0)
        print(f"login flow took {time.monotonic() - started:.1f} s")
