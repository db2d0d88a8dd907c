"""Hosting for a team, driven headless (AppTest): a signed-in account's page and its end, one
user's conversations hidden from another, per-user limits as the user sees them, the warning
for an open server, and the sidebar history (search, rename, delete, export, import).
The sign-in form itself is an HTTP route (tests/test_auth_server.py); here the page gets the
session cookie a signed-in browser would send. OIDC is covered where it can be without an
identity provider (the config check)."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from glm4_app.accounts import AccountStore
from glm4_app.conversation import Conversation
from glm4_app.history import to_json
from glm4_app.identity import SESSION_COOKIE, VISITOR_COOKIE, new_visitor_token
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import identity, state
from test_chat_page import APP, bubbles, click, data_dir, open_page, send  # noqa: F401 (fixtures)

FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


@pytest.fixture(autouse=True)
def fresh_counters():
    """Limits are counted per process; each test starts from zero."""
    from glm4_app import limits

    limits._shared.cache_clear()


@pytest.fixture
def accounts(monkeypatch, data_dir):
    """Password mode with the accounts alice and bob; ``browser`` holds the cookies the
    page's connection sends (what a signed-in browser would)."""
    monkeypatch.setenv("GLM4_AUTH", "password")
    store = AccountStore(data_dir / "conversations.sqlite3", hasher=FAST_HASH)
    store.add_user("Alice", "alice's password")
    store.add_user("bob", "bob's password")
    browser: dict[str, str] = {}
    monkeypatch.setattr(identity, "cookies", lambda: dict(browser))
    store.browser = browser
    return store


def signed_in(store: AccountStore, at: AppTest | None, name: str, open_page=None) -> AppTest:
    """The page as ``name``'s browser sees it: a new page (``at`` None) or a rerun of ``at``."""
    store.browser[SESSION_COOKIE] = store.start_session(store.user(name), days=1)
    if at is None:
        return open_page(ScriptedBackend(["A"]))
    at.run()
    assert not at.exception
    return at


def sidebar_titles(at: AppTest) -> list[str]:
    return [b.label.removeprefix("▸ ") for b in at.sidebar.button if b.key and b.key.startswith("open_")]


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# --- Signed in, signed out ------------------------------------------------------------------


def test_without_a_session_the_page_asks_to_sign_in(open_page, accounts):
    at = open_page(ScriptedBackend(["A1"]))
    assert at.markdown[0].value == "### Sign in"
    assert "Sign in to continue" in at.info[0].value
    assert not at.chat_input and not at.chat_message  # nothing of the app
    accounts.browser[SESSION_COOKIE] = "forged-" + "x" * 40
    at.run()
    assert not at.chat_input and at.markdown[0].value == "### Sign in"


def test_a_signed_in_user_owns_what_they_write_until_the_session_ends(open_page, accounts, data_dir):
    at = signed_in(accounts, None, "alice", open_page)
    assert "Signed in as **Alice**" in [c.value for c in at.sidebar.caption]
    send(at, "alice's question")
    assert bubbles(at)[0] == ("user", "alice's question")
    assert "u" not in at.query_params  # the account, not a link key, owns it
    owner = ConversationStore(data_dir / "conversations.sqlite3").load(at.query_params["c"]).owner
    assert owner == "user:alice"

    accounts.end_all_sessions("alice")  # "Sign out everywhere" from another device
    at.run()
    assert not at.chat_input and "Sign in to continue" in at.info[0].value


def test_a_removed_account_is_signed_out_at_its_next_click(open_page, accounts):
    at = signed_in(accounts, None, "bob", open_page)
    assert at.chat_input
    accounts.remove_user("bob")
    at.run()
    assert not at.chat_input and at.markdown[0].value == "### Sign in"


def test_two_users_see_disjoint_conversations(open_page, accounts):
    alice = signed_in(accounts, None, "alice", open_page)
    send(alice, "alice's secret")
    alice_link = alice.query_params["c"]
    bob = signed_in(accounts, None, "bob", open_page)
    send(bob, "bob's plan")

    assert sidebar_titles(signed_in(accounts, alice, "alice")) == ["alice's secret"]
    assert sidebar_titles(signed_in(accounts, bob, "bob")) == ["bob's plan"]

    # Bob opening Alice's link sees a warning, not her conversation.
    accounts.browser[SESSION_COOKIE] = accounts.start_session(accounts.user("bob"), days=1)
    snooper = open_page(ScriptedBackend(["unused"]), c=alice_link)
    assert "belongs to another user" in "\n".join(w.value for w in snooper.warning)
    assert all("alice's secret" not in text for _, text in bubbles(snooper))
    # Alice signing in again (a new session) gets hers back.
    assert sidebar_titles(signed_in(accounts, None, "alice", open_page)) == ["alice's secret"]


def test_a_visitor_opening_another_visitors_link_keeps_their_own_list(open_page, monkeypatch):
    """Without a login a conversation link opens for whoever has it, but the sidebar lists the
    visitor's own conversations, and the one opened by its link has no menu to rename, share
    or delete it."""
    browser: dict[str, str] = {}
    monkeypatch.setattr(identity, "cookies", lambda: dict(browser))
    browser[VISITOR_COOKIE] = new_visitor_token()
    owner = open_page(ScriptedBackend(["A"]))
    send(owner, "the owner's other chat")
    owner = open_page(ScriptedBackend(["A"]))
    send(owner, "the linked chat")
    link = owner.query_params["c"]

    browser[VISITOR_COOKIE] = new_visitor_token()  # another browser
    visitor = open_page(ScriptedBackend(["A"]))
    send(visitor, "the visitor's own chat")
    visitor = open_page(ScriptedBackend(["unused"]), c=link)
    assert bubbles(visitor)[0] == ("user", "the linked chat")  # the link opens
    assert sidebar_titles(visitor) == ["the visitor's own chat"]
    assert "📝 This conversation" not in [e.label for e in visitor.sidebar.expander]


def test_an_admin_adds_and_removes_accounts_from_the_sidebar(open_page, accounts):
    accounts.set_role("alice", "admin")
    bob = signed_in(accounts, None, "bob", open_page)
    assert not [e for e in bob.sidebar.expander if e.label == "👥 Accounts"]  # admins only

    alice = signed_in(accounts, None, "alice", open_page)
    assert "Signed in as **Alice** · admin" in [c.value for c in alice.sidebar.caption]
    alice.session_state["accounts_panel"] = True  # open 👥 Accounts
    alice.run()
    alice.text_input(key="user_add_name").set_value("dave")
    alice.text_input(key="user_add_password").set_value("short")
    alice.button(key="FormSubmitter:user_add-Add account").click().run()
    assert "A password has at least 8 characters." in errors(alice) and accounts.user("dave") is None
    alice.text_input(key="user_add_name").set_value("dave")
    alice.text_input(key="user_add_password").set_value("dave's password")
    alice.button(key="FormSubmitter:user_add-Add account").click().run()
    assert accounts.verify("dave", "dave's password").role == "user"
    click(alice, "user_remove_bob")
    assert accounts.user("bob") is not None and "Remove bob?" in alice.sidebar.warning[0].value
    click(alice, "user_remove_yes")
    assert accounts.user("bob") is None
    assert not [b for b in alice.sidebar.button if b.key == "user_remove_Alice"]  # not oneself


def test_oidc_without_configuration_explains_what_is_missing(open_page, monkeypatch):
    monkeypatch.setenv("GLM4_AUTH", "oidc")
    at = open_page(ScriptedBackend(["A"]))
    assert "not configured" in errors(at) and "[auth]" in errors(at)
    assert not at.chat_input


# --- The open-server warning --------------------------------------------------------------


@pytest.fixture
def server_address():
    before = st_config.get_option("server.address")
    yield lambda address: st_config.set_option("server.address", address)
    st_config.set_option("server.address", before)


@pytest.mark.parametrize("address,warned", [("0.0.0.0", True), ("127.0.0.1", False), ("localhost", False)])
def test_open_server_without_login_shows_a_banner(open_page, server_address, address, warned):
    server_address(address)
    at = open_page(ScriptedBackend(["A"]))
    assert ("without a login" in errors(at)) == warned
    assert at.chat_input  # a warning, not a lock-out


def test_no_banner_once_login_is_on(open_page, server_address, accounts):
    server_address("0.0.0.0")
    assert "without a login" not in errors(open_page(ScriptedBackend(["A"])))


# --- Limits -----------------------------------------------------------------------------------


def test_over_the_rate_limit_the_message_is_kept_and_others_are_unaffected(open_page, monkeypatch, accounts, data_dir):
    monkeypatch.setenv("GLM4_USER_REQUESTS_PER_MINUTE", "1")
    backend = ScriptedBackend(["first answer", "second answer"])
    accounts.browser[SESSION_COOKIE] = accounts.start_session(accounts.user("alice"), days=1)
    at = open_page(backend)
    send(at, "Q1")
    send(at, "Q2")

    warning = "\n".join(w.value for w in at.warning)
    assert "1 answers in the last minute" in warning and "Try again in" in warning
    assert bubbles(at) == [("user", "Q1"), ("assistant", "first answer"), ("user", "Q2")]
    assert len(backend.calls) == 1  # the model was never asked
    stored = ConversationStore(data_dir / "conversations.sqlite3")
    assert stored.load(at.query_params["c"]).messages[-1].content == "Q2"  # saved, not lost
    assert at.button(key="regenerate").label == "▶️ Answer"  # the retry

    bob_backend = ScriptedBackend(["for bob"])
    accounts.browser[SESSION_COOKIE] = accounts.start_session(accounts.user("bob"), days=1)
    bob = open_page(bob_backend)
    send(bob, "Q")
    assert bubbles(bob)[-1] == ("assistant", "for bob")


def test_over_the_context_limit_says_so(open_page, monkeypatch):
    monkeypatch.setenv("GLM4_USER_CONTEXT_TOKENS", "20")
    backend = ScriptedBackend(["short"])
    at = open_page(backend)
    send(at, "x" * 200)
    assert "tokens of context per request" in "\n".join(w.value for w in at.warning)
    assert backend.calls == []
    assert bubbles(at) == [("user", "x" * 200)]


def test_answers_record_model_and_parameters(open_page, data_dir):
    at = open_page(ScriptedBackend(["A1"]))
    send(at, "Q1")
    answer = ConversationStore(data_dir / "conversations.sqlite3").load(at.query_params["c"]).messages[1]
    assert answer.model == "scripted"
    assert answer.params["max_new_tokens"] >= 1 and "temperature" in answer.params


# --- Sidebar history --------------------------------------------------------------------------


def test_search_rename_delete_from_the_sidebar(open_page, data_dir):
    at = open_page(ScriptedBackend(["Bread needs flour.", "Cats sleep a lot."]))
    send(at, "How do I bake bread?")
    first_id = at.query_params["c"]
    (data_dir / "media" / first_id).mkdir(parents=True)
    (data_dir / "media" / first_id / "plot.png").write_bytes(b"png")
    next(b for b in at.sidebar.button if b.label == "➕ New chat").click().run()
    send(at, "Tell me about cats")
    assert sidebar_titles(at) == ["Tell me about cats", "How do I bake bread?"]  # newest first

    at.text_input(key="history_query").set_value("FLOUR").run()  # an answer's words, any case
    assert sidebar_titles(at) == ["How do I bake bread?"]
    at.text_input(key="history_query").set_value("dogs").run()
    assert sidebar_titles(at) == [] and "Nothing found" in at.sidebar.caption[-1].value
    at.text_input(key="history_query").set_value("").run()

    at.session_state["conversation_menu"] = True  # open 📝 This conversation
    at.run()
    at.text_input(key=f"title_{at.query_params['c']}").set_value("Cat facts")
    click(at, "rename")
    assert sidebar_titles(at) == ["Cat facts", "How do I bake bread?"]

    at.button(key=f"open_{first_id}").click().run()
    at.session_state["conversation_menu"] = True
    at.run()
    click(at, "delete")
    assert sidebar_titles(at) == ["Cat facts", "How do I bake bread?"]  # not before confirming
    click(at, "delete_yes")
    assert sidebar_titles(at) == ["Cat facts"]
    assert not at.chat_message  # a new, empty chat instead of the deleted one
    assert not (data_dir / "media" / first_id).exists()  # its files went with it
    assert ConversationStore(data_dir / "conversations.sqlite3").load(first_id) is None


def test_import_a_json_export_and_refuse_a_broken_file(open_page, data_dir):
    source = Conversation(title="Imported chat")
    source.add_user("hello from elsewhere")
    source.add_answer("hi there")
    at = open_page(ScriptedBackend(["unused"]))
    send(at, "my own chat")

    broken = json.loads(to_json(source))
    broken["conversation"]["messages"][1]["role"] = "robot"
    at.file_uploader(key="import_0").set_value(("bad.json", json.dumps(broken).encode(), "application/json")).run()
    assert "**bad.json** was not imported: Message 2 is not a message" in errors(at)
    assert sidebar_titles(at) == ["my own chat"]  # nothing changed
    assert bubbles(at)[0] == ("user", "my own chat")

    at.file_uploader(key="import_0").set_value(("good.json", to_json(source).encode(), "application/json")).run()
    assert not at.exception
    assert sidebar_titles(at) == ["Imported chat", "my own chat"]
    assert bubbles(at) == [("user", "hello from elsewhere"), ("assistant", "hi there")]  # opened
    assert at.query_params["c"] != source.id  # a copy with its own id


def test_export_buttons_offer_markdown_and_json(open_page):
    at = open_page(ScriptedBackend(["An answer."]))
    send(at, "A question")
    at.session_state["conversation_menu"] = True
    at.run()
    labels = [e.proto.label for e in at.sidebar.get("download_button")]
    assert labels == ["⬇️ Markdown", "⬇️ JSON"]


# --- OIDC identity (st.user seeded as Streamlit's provider callback would) ------------------

OIDC_SECRETS = {
    "redirect_uri": "https://chat.example.org/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}


@pytest.fixture
def open_oidc_page(open_page, monkeypatch):
    """open_oidc_page(user) -> the Chat page with OIDC configured and ``st.user`` = user."""
    import streamlit.auth_util

    monkeypatch.setenv("GLM4_AUTH", "oidc")
    monkeypatch.setattr(streamlit.auth_util, "is_authlib_installed", lambda: True)  # CI has it; this venv may not
    monkeypatch.setattr(state, "chat_backend", lambda settings: ScriptedBackend(["answer"]))

    def open_(user: dict) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        at.secrets["auth"] = OIDC_SECRETS
        at.user = user
        at.run()
        assert not at.exception
        return at

    return open_


def test_oidc_user_owns_their_conversations(open_oidc_page, data_dir):
    visitor = open_oidc_page({"is_logged_in": False})
    assert [b.label for b in visitor.button] == ["Sign in"] and not visitor.chat_input

    ann = open_oidc_page({"is_logged_in": True, "email": "Ann@Example.org", "sub": "1"})
    assert "Signed in as **Ann@Example.org**" in [c.value for c in ann.sidebar.caption]
    send(ann, "ann's question")
    owner = ConversationStore(data_dir / "conversations.sqlite3").load(ann.query_params["c"]).owner
    assert owner == "oidc:ann@example.org"

    ben = open_oidc_page({"is_logged_in": True, "email": "ben@example.org", "sub": "2"})
    assert sidebar_titles(ben) == []
    assert sidebar_titles(open_oidc_page({"is_logged_in": True, "email": "ann@example.org"})) == ["ann's question"]
