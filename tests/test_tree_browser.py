"""Conversation trees and share links in a real browser (Playwright in Debian's chromium,
accounts with ``GLM4_AUTH=password``, the tiny random GLM sampling its answers): regenerate
twice, walk ‹ 1/3 › to ‹ 3/3 ›, edit the first question, copy it, share the branch shown, and
open the link in a second browser as another user, who is sent to sign in, lands on the link
and continues it in their own chats. A link the owner opened to anyone opens signed out, and
its Sign in comes back to it."""

from __future__ import annotations

import re

import httpx
import pytest

from browser_helpers import needs_chromium

pytestmark = [needs_chromium, pytest.mark.timeout(300)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from browser_helpers import (  # noqa: E402 (after the skips: it imports playwright)
    add_accounts,
    answer_text,
    expect,
    finished,
    messages,
    new_page,
    run_server,
    screenshot,
    send,
    sign_in,
    wait_for,
)

PASSWORDS = {"alice": "alice's password", "bob": "bob's password", "carol": "carol's password"}


@pytest.fixture(scope="module")
def server(tiny_glm_path, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tree_data")
    add_accounts(data_dir, PASSWORDS)
    env = {
        "GLM4_DATA_DIR": str(data_dir),
        "GLM4_CHAT_MODEL": str(tiny_glm_path),
        "GLM4_MAX_NEW_TOKENS": "12",
        "GLM4_AUTH": "password",
        "GLM4_PUBLIC_SHARES": "true",
    }
    with run_server(env, tmp_path_factory.mktemp("tree_server")) as server:
        yield server


def open_signed_out(browser, url: str):
    """A browser of its own (cookies, clipboard), signed out, at ``url``."""
    return new_page(browser, url, 60_000, permissions=["clipboard-read", "clipboard-write"])


def sign_in_as(page, name: str) -> None:
    """On the sign-in page: sign in as ``name``; the page it leads back to shows them."""
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, name, PASSWORDS[name])
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {name}")


def test_versions_edit_copy_and_a_share_link_opened_by_another_user(server, browser):
    alice = open_signed_out(browser, server.url)
    sign_in_as(alice, "alice")
    send(alice, "What is the capital of France?")
    versions = [answer_text(finished(alice, 2))]
    for n in (2, 3):
        alice.get_by_role("button", name="🔄 Regenerate").click()
        expect(alice.get_by_text(f"{n}/{n}", exact=True)).to_be_visible()
        versions.append(answer_text(finished(alice, 2)))
    assert len(set(versions)) == 3, versions  # sampled: three different answers, all kept

    for shown, arrow in ((2, "‹"), (1, "‹"), (2, "›"), (3, "›")):  # walk ‹ 1/3 › ... ‹ 3/3 ›
        button = alice.get_by_role("button", name=arrow)
        expect(button).to_have_count(1)  # a rerun may still show the last run's arrows beside the new
        button.click()
        expect(alice.get_by_text(f"{shown}/3", exact=True)).to_be_visible()
        wait_for(lambda: answer_text(messages(alice).nth(1)) == versions[shown - 1], 30, f"version {shown}")
        back = alice.get_by_role("button", name="‹")
        expect(back).to_have_count(1)  # the page has settled (no element of the last run left)
        assert back.is_disabled() is (shown == 1)

    alice.get_by_role("button", name="✏️ Edit").click()
    alice.get_by_label("Edit your message").fill("What is the capital of Italy?")
    alice.get_by_role("button", name="Send", exact=True).click()
    expect(messages(alice).first).to_contain_text("What is the capital of Italy?")
    expect(alice.get_by_text("2/2", exact=True)).to_be_visible()  # two versions of the question
    edited = answer_text(finished(alice, 2))

    alice.get_by_role("button", name="⧉ Copy").first.click()  # the question, as Markdown
    expect(alice.get_by_role("button", name="✓ Copied").first).to_be_visible()
    assert alice.evaluate("navigator.clipboard.readText()") == "What is the capital of Italy?"

    sidebar = alice.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="⋯").first.click()  # the conversation's menu
    alice.get_by_role("button", name="🔗 Share the branch shown").click()
    code = alice.get_by_test_id("stCode").filter(has_text="?share=").first
    expect(code).to_be_visible()
    link = re.search(r"\S+\?share=[\w-]+", code.inner_text()).group(0)
    assert link.startswith(server.url) and "u=" not in link and "c=" not in link

    share_id = link.split("?share=")[1]
    bob = open_signed_out(browser, link)  # another browser, signed out: sent to sign in first
    assert f"/signin?next=%2F%3Fshare%3D{share_id}" in bob.url
    sign_in_as(bob, "bob")
    assert bob.url == link  # back on the link
    expect(messages(bob)).to_have_count(2)
    expect(messages(bob).first).to_contain_text("What is the capital of Italy?")
    assert answer_text(messages(bob).nth(1)) == edited
    for earlier in versions:  # only the branch shown was shared
        expect(bob.get_by_text(earlier, exact=True)).to_have_count(0)
    expect(bob.get_by_test_id("stChatInputTextArea")).to_have_count(0)  # read-only
    bob.get_by_role("button", name="💬 Continue in my chats").click()
    expect(bob.get_by_test_id("stChatInputTextArea")).to_be_visible()
    expect(messages(bob)).to_have_count(2)
    wait_for(lambda: "c=" in bob.url and "share=" not in bob.url, 30, "bob's own copy in the URL")
    mine = bob.get_by_test_id("stSidebar").get_by_role("button", name="What is the capital of Italy?")
    expect(mine).to_be_visible()  # in bob's own list, named by the question shared (not France's)


def test_a_link_open_to_anyone_opens_signed_out_and_sign_in_comes_back_to_it(server, browser):
    alice = open_signed_out(browser, server.url)
    sign_in_as(alice, "alice")
    send(alice, "Who may read this?")
    answer = answer_text(finished(alice, 2))
    sidebar = alice.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="⋯").first.click()
    alice.get_by_text("Anyone with the link, without signing in").click()
    alice.get_by_role("button", name="🔗 Share the branch shown").click()
    expect(alice.get_by_text("opens for anyone with the link")).to_be_visible()
    code = alice.get_by_test_id("stCode").filter(has_text="?share=").first
    public = re.search(r"\S+\?share=[\w-]+", code.inner_text()).group(0)

    page = {"Accept": "text/html"}  # the server's gate, before any page is served
    assert httpx.get(public, headers=page).status_code == 200
    revoked_or_wrong = httpx.get(server.url + "/?share=NoSuchShareLinkAtAll123", headers=page)
    assert revoked_or_wrong.status_code == 303 and revoked_or_wrong.headers["location"].startswith("/signin?next=")

    stranger = open_signed_out(browser, public)  # signed out, and stays so
    expect(messages(stranger)).to_have_count(2)
    assert stranger.url == public
    expect(messages(stranger).first).to_contain_text("Who may read this?")
    assert answer_text(messages(stranger).nth(1)) == answer
    expect(stranger.get_by_test_id("stChatInputTextArea")).to_have_count(0)
    expect(stranger.get_by_test_id("stSidebar")).not_to_contain_text("Signed in")
    expect(stranger.get_by_role("button", name="💬 Continue in my chats")).to_have_count(0)
    expect(stranger.get_by_role("link", name="Sign in")).to_be_visible()
    screenshot(stranger, "public-share-signed-out.png")
    stranger.get_by_role("link", name="Sign in").click()
    sign_in_as(stranger, "carol")
    assert stranger.url == public  # back on the link, signed in
    stranger.get_by_role("button", name="💬 Continue in my chats").click()
    expect(stranger.get_by_test_id("stChatInputTextArea")).to_be_visible()
    mine = stranger.get_by_test_id("stSidebar").get_by_role("button", name="Who may read this?")
    expect(mine).to_be_visible()  # in carol's own list
