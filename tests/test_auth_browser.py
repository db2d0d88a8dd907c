"""Who is who, in a real browser against a real server (`streamlit run app.py`, Playwright in
Debian's chromium), on one data folder the server is restarted on, as an admin would:

1. No login: a browser keeps its conversations across reloads through a visitor cookie, with
   no key in the URL; another browser does not see them; an old ``?u=`` link is adopted once.
2. Accounts: the sign-in page, wrong passwords (Bob's password does not open Alice's account),
   reload and new tab stay signed in, an API key made in the sidebar works with the API.
3. After a server restart Alice is still signed in; sign out (and sign out everywhere) end it.
4. Behind an authenticating proxy: the header names the user only from a trusted address.

The first sign-up (GLM4_SIGNUP=first) and cookie and form abuse (forged, expired and orphaned
sessions, throttling, forms from another site) are checked over plain HTTP. The model is the tiny random GLM:
only identity matters here. Set GLM4_TEST_SCREENSHOT_DIR to a folder to keep screenshots.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from browser_helpers import REPO, needs_chromium, new_page, screenshot, serve_app, sign_in, wait_for
from glm4_app.accounts import AccountStore
from glm4_app.conversation import Conversation
from glm4_app.store import ConversationStore

pytestmark = [needs_chromium, pytest.mark.timeout(600)]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_sync.expect

OLD_LINK_KEY = "0123456789abcdef"  # a visitor key of earlier versions, as in old ?u= links
PASSWORDS = {"alice": "alice's password", "bob": "bob's password", "carol": "carol's password"}


def users(data_dir: Path, *argv: str, password: str = "") -> str:
    """`python -m glm4_app.users ...`, as an admin runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "glm4_app.users", "--data-dir", str(data_dir), *argv],
        cwd=REPO,
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def chat_box(page):
    return page.get_by_test_id("stChatInputTextArea")


def send(page, text: str) -> None:
    expect(chat_box(page)).to_be_enabled(timeout=60_000)
    chat_box(page).fill(text)
    chat_box(page).press("Enter")


def listed(page, title: str):
    return page.get_by_test_id("stSidebar").get_by_role("button", name=title)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("identity_data")
    old = Conversation(mode="chat", owner=OLD_LINK_KEY)
    old.add_user("from the old link")
    old.add_answer("kept")
    ConversationStore(data_dir / "conversations.sqlite3").save(old)
    return data_dir


@pytest.fixture(scope="module")
def env(data_dir, tiny_glm_path):
    return {
        "GLM4_DATA_DIR": str(data_dir),
        "GLM4_CHAT_MODEL": str(tiny_glm_path),
        "GLM4_MAX_NEW_TOKENS": "8",
    }


# --- 1. No login: the visitor cookie ---------------------------------------------------------------


def test_a_visitor_cookie_keeps_conversations_without_a_key_in_the_url(
    browser, env, tmp_path_factory
):
    with serve_app(env, tmp_path_factory.mktemp("open_server")) as url:
        visitor = new_page(browser, url)
        send(visitor, "visitor question")
        expect(listed(visitor, "visitor question")).to_have_count(1, timeout=60_000)
        (cookie,) = [c for c in visitor.context.cookies() if c["name"] == "glm4_visitor"]
        assert (
            cookie["httpOnly"]
            and cookie["sameSite"] == "Lax"
            and cookie["expires"] > time.time() + 300 * 86400
        )
        visitor.reload()
        expect(listed(visitor, "visitor question")).to_have_count(1, timeout=60_000)
        assert "u=" not in visitor.url

        stranger = new_page(browser, url)  # another browser
        expect(chat_box(stranger)).to_be_visible(timeout=60_000)
        expect(listed(stranger, "visitor question")).to_have_count(0)

        adopter = new_page(browser, f"{url}/?u={OLD_LINK_KEY}")  # an old bookmark
        expect(listed(adopter, "from the old link")).to_have_count(1, timeout=60_000)
        wait_for(lambda: "u=" not in adopter.url, 30, "the old key to leave the URL")
        adopter.reload()
        expect(listed(adopter, "from the old link")).to_have_count(1, timeout=60_000)
        latecomer = new_page(browser, f"{url}/?u={OLD_LINK_KEY}")  # adopted once: not again
        expect(chat_box(latecomer)).to_be_visible(timeout=60_000)
        expect(listed(latecomer, "from the old link")).to_have_count(0)

        off = httpx.get(url + "/v1/models")  # the API is off unless GLM4_API=on
        assert off.status_code == 404 and off.json()["error"]["code"] == "api_off"
        for page in (visitor, stranger, adopter, latecomer):
            page.context.close()


# --- 2 and 3. Accounts -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts_env(env, data_dir):
    for name in ("alice", "bob"):
        users(
            data_dir,
            "add",
            name,
            *(["--admin"] if name == "alice" else []),
            password=PASSWORDS[name],
        )
    return {**env, "GLM4_AUTH": "password", "GLM4_API": "on"}


def test_sign_in_stays_through_reload_tab_and_restart_until_signed_out(
    browser, accounts_env, data_dir, tmp_path_factory
):
    logs = tmp_path_factory.mktemp("accounts_server")
    with serve_app(accounts_env, logs) as url:
        page = new_page(browser, url + "/tools")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert "/signin?next=%2Ftools" in page.url
        screenshot(page, "signin.png")
        sign_in(page, "alice", "not it")
        expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        sign_in(page, "alice", PASSWORDS["bob"])  # Bob's password does not open Alice's account
        expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        sign_in(page, "alice", PASSWORDS["alice"])
        expect(page.get_by_test_id("stSidebar")).to_contain_text(
            "Signed in as alice · admin", timeout=60_000
        )
        assert page.url == url + "/tools"  # back where she wanted to go
        cookie = next(c for c in page.context.cookies() if c["name"] == "glm4_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
        assert "alice" not in cookie["value"] and "password" not in cookie["value"]

        page.goto(url)
        send(page, "alice's private question")
        expect(listed(page, "alice's private question")).to_have_count(1, timeout=60_000)
        wait_for(lambda: "c=" in page.url, 30, "the conversation link")
        alices_link = page.url.removeprefix(url)
        page.reload()
        expect(listed(page, "alice's private question")).to_have_count(1, timeout=60_000)
        tab = page.context.new_page()
        tab.goto(url + "/documents")
        expect(tab.get_by_test_id("stSidebar")).to_contain_text(
            "Signed in as alice", timeout=60_000
        )

        key = make_api_key(page)
        models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200 and models.json()["data"][0]["object"] == "model"
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name="Revoke").click()
        expect(sidebar.get_by_text("my editor")).to_have_count(0)
        assert (
            httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        )

    with serve_app(accounts_env, logs) as url:  # the server restarts: sessions are in SQLite
        page.goto(url + alices_link)
        expect(page.get_by_test_id("stSidebar")).to_contain_text(
            "Signed in as alice", timeout=60_000
        )
        expect(page.get_by_test_id("stChatMessage").first).to_contain_text(
            "alice's private question"
        )

        page.get_by_test_id("stSidebar").get_by_role("link", name="Sign out", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        tab.goto(url + "/documents")
        expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()

        sign_in(page, "bob", PASSWORDS["bob"])
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as bob", timeout=60_000)
        expect(listed(page, "alice's private question")).to_have_count(0)
        page.goto(url + alices_link)
        expect(page.get_by_text("belongs to another user")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("alice's private question")).to_have_count(0)

        bobs_laptop = new_page(browser, url)
        sign_in(bobs_laptop, "bob", PASSWORDS["bob"])
        expect(chat_box(bobs_laptop)).to_be_visible(timeout=60_000)
        page.goto(url)
        page.get_by_test_id("stSidebar").get_by_role("link", name="Sign out everywhere").click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        bobs_laptop.reload()
        expect(bobs_laptop.get_by_role("heading", name="Sign in")).to_be_visible()
        page.context.close()
        bobs_laptop.context.close()


def make_api_key(page) -> str:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("🔑 API keys").click()
    sidebar.get_by_label("Name of a new key").fill("my editor")
    sidebar.get_by_role("button", name="➕ Create key").click()
    expect(sidebar.get_by_text("Copy your new key now")).to_be_visible()
    expect(sidebar.get_by_text("my editor")).to_be_visible()
    expect(sidebar.get_by_test_id("stCode")).to_contain_text("sk-glm4-")
    screenshot(page, "api-keys.png")
    return sidebar.get_by_test_id("stCode").inner_text().strip()


def test_first_sign_up_then_cookies_and_forms_that_must_not_work(env, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fresh_data")
    fresh = {**env, "GLM4_DATA_DIR": str(data_dir), "GLM4_AUTH": "password", "GLM4_SIGNUP": "first"}
    with serve_app(fresh, tmp_path_factory.mktemp("abuse_server")) as url:
        html = {"Accept": "text/html"}
        to_signin = httpx.get(url + "/tools?c=1", headers=html)
        assert (
            to_signin.status_code == 303
            and to_signin.headers["location"] == "/signin?next=%2Ftools%3Fc%3D1"
        )
        zh = httpx.get(url + "/signin", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert (
            "<title>登录 · GLM-4</title>" in zh.text
            and "用户名" in zh.text
            and "创建账号" in zh.text
        )

        first = {"name": "root", "password": "the first one", "again": "the first one", "next": "/"}
        assert (
            "passwords differ" in httpx.post(url + "/signup", data={**first, "again": "typo"}).text
        )
        made = httpx.post(url + "/signup", data=first)
        assert made.status_code == 303 and "glm4_session=" in made.headers["set-cookie"]
        assert users(data_dir, "list") == "root\tadmin\n"  # the first account is the admin
        closed = httpx.get(url + "/signup")  # and sign-up closes behind it
        assert closed.status_code == 303 and closed.headers["location"] == "/signin"
        assert "Create an account" not in httpx.get(url + "/signin").text
        for name in ("alice", "carol"):
            users(data_dir, "add", name, password=PASSWORDS[name])

        store = AccountStore(data_dir / "conversations.sqlite3")
        expired = AccountStore(
            data_dir / "conversations.sqlite3", clock=lambda: time.time() - 8 * 86400
        )
        carol = store.user("carol")
        stale = {
            "forged": "x" * 43,
            "expired": expired.start_session(carol, days=7),
            "removed user": store.start_session(carol, days=7),
        }
        users(data_dir, "remove", "carol")
        for what, token in stale.items():
            response = httpx.get(url + "/", headers=html, cookies={"glm4_session": token})
            assert response.status_code == 303, what
            assert response.headers["location"] == "/signin?next=%2F&expired=1", what
            assert (
                'glm4_session=""' in response.headers["set-cookie"]
                and "Max-Age=0" in response.headers["set-cookie"]
            )

        form = {"name": "alice", "password": PASSWORDS["alice"], "next": "/"}
        evil = httpx.post(url + "/signin", data=form, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403 and "glm4_session" not in evil.headers.get("set-cookie", "")
        offsite = httpx.post(url + "/signin", data={**form, "next": "https://evil.example/"})
        assert offsite.status_code == 303 and offsite.headers["location"] == "/"
        secure = httpx.post(url + "/signin", data=form, headers={"X-Forwarded-Proto": "https"})
        cookie = secure.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/", "Max-Age=604800"):
            assert flag in cookie, cookie

        for _ in range(5):
            assert (
                httpx.post(
                    url + "/signin", data={**form, "name": "root", "password": "guess"}
                ).status_code
                == 401
            )
        throttled = httpx.post(
            url + "/signin", data={**form, "name": "root", "password": "the first one"}
        )
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in throttled.text  # even the right password waits
        assert httpx.post(url + "/signin", data=form).status_code == 303  # alice is not affected


# --- 4. Behind an authenticating proxy -------------------------------------------------------------


def test_a_trusted_proxy_names_the_user(browser, env, tmp_path_factory):
    header_env = {
        **env,
        "GLM4_AUTH": "header",
        "GLM4_AUTH_HEADER": "X-Forwarded-Email",
        "GLM4_TRUSTED_PROXIES": "127.0.0.1",
        "FORWARDED_ALLOW_IPS": "",
    }
    with serve_app(header_env, tmp_path_factory.mktemp("proxy_server")) as url:
        ann = new_page(browser, url, extra_http_headers={"X-Forwarded-Email": "Ann@Example.org"})
        expect(ann.get_by_test_id("stSidebar")).to_contain_text(
            "Signed in as Ann@Example.org", timeout=60_000
        )
        send(ann, "ann's question")
        expect(listed(ann, "ann's question")).to_have_count(1, timeout=60_000)
        nobody = new_page(browser, url)  # not through the proxy: no name, no app
        expect(nobody.get_by_text("signs people in through a proxy")).to_be_visible(timeout=60_000)
        expect(chat_box(nobody)).to_have_count(0)
        ann.context.close()
        nobody.context.close()
    untrusted_env = {**header_env, "GLM4_TRUSTED_PROXIES": "10.9.9.9"}
    with serve_app(untrusted_env, tmp_path_factory.mktemp("untrusted_server")) as url:
        mallory = new_page(
            browser, url, extra_http_headers={"X-Forwarded-Email": "ann@example.org"}
        )
        expect(mallory.get_by_text("signs people in through a proxy")).to_be_visible(timeout=60_000)
        expect(listed(mallory, "ann's question")).to_have_count(0)
        mallory.context.close()
