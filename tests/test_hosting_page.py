"""Hosting for a team, driven headless (AppTest): password login and logout, one user's
conversations hidden from another, per-user limits as the user sees them, the warning for an
open server, and the sidebar history (search, rename, delete, export, import).
OIDC is covered where it can be without an identity provider (the config check)."""

from __future__ import annotations

import json

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from glm4_app.auth import hash_password
from glm4_app.conversation import Conversation
from glm4_app.history import to_json
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state
from test_chat_page import APP, bubbles, click, data_dir, open_page, send  # noqa: F401 (fixtures)

PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def fresh_counters():
    """Limits and failed logins are counted per process; each test starts from zero."""
    from glm4_app.ui import login, quota

    quota._limiter.clear()
    login.throttles.clear()


@pytest.fixture
def with_password(monkeypatch):
    monkeypatch.setenv("GLM4_AUTH", "password")
    monkeypatch.setenv("GLM4_PASSWORD", hash_password(PASSWORD, iterations=1000))


def log_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(password)
    at.button[0].click().run()  # the form's "Log in"
    assert not at.exception
    return at


def sidebar_titles(at: AppTest) -> list[str]:
    return [b.label.removeprefix("▸ ") for b in at.sidebar.button if b.key and b.key.startswith("open_")]


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# --- Login ----------------------------------------------------------------------------------


def test_password_login_then_logout(open_page, with_password):
    at = open_page(ScriptedBackend(["A1"]))
    assert [m.value for m in at.markdown] == ["### Log in"]
    assert not at.chat_input  # nothing of the app before logging in

    log_in(at, "alice", "wrong")
    assert "Wrong user name or password." in errors(at)
    assert not at.chat_input

    log_in(at, "Alice")
    assert "Signed in as **Alice**" in [c.value for c in at.sidebar.caption]
    send(at, "alice's question")
    assert bubbles(at)[0] == ("user", "alice's question")
    assert "u" not in at.query_params  # the identity, not a link key, owns it

    click(at, "logout")
    assert [m.value for m in at.markdown] == ["### Log in"]
    assert not at.chat_input and not at.chat_message


def test_failed_logins_are_throttled(open_page, with_password):
    at = open_page(ScriptedBackend(["A1"]))
    for _ in range(5):
        log_in(at, "mallory", "guess")
    log_in(at, "mallory", PASSWORD)  # even the right password waits now
    assert "Too many failed logins. Try again in" in errors(at)
    assert not at.chat_input


def test_two_users_see_disjoint_conversations(open_page, with_password, data_dir):
    alice = log_in(open_page(ScriptedBackend(["A"])), "alice")
    send(alice, "alice's secret")
    alice_link = alice.query_params["c"]
    bob = log_in(open_page(ScriptedBackend(["B"])), "bob")
    send(bob, "bob's plan")

    assert sidebar_titles(alice.run()) == ["alice's secret"]
    assert sidebar_titles(bob) == ["bob's plan"]

    # Bob opening Alice's link sees a warning, not her conversation.
    snooper = open_page(ScriptedBackend(["unused"]), c=alice_link)
    log_in(snooper, "bob")
    assert "belongs to another user" in "\n".join(w.value for w in snooper.warning)
    assert all("alice's secret" not in text for _, text in bubbles(snooper))
    # Alice logging in again (a new session) gets hers back, case-insensitive names.
    assert sidebar_titles(log_in(open_page(ScriptedBackend(["A"])), "ALICE")) == ["alice's secret"]


def test_password_mode_without_a_password_says_so(open_page, monkeypatch):
    monkeypatch.setenv("GLM4_AUTH", "password")
    at = open_page(ScriptedBackend(["A"]))
    assert "no password is set" in errors(at)
    assert not at.text_input and not at.chat_input


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


def test_no_banner_once_login_is_on(open_page, server_address, with_password):
    server_address("0.0.0.0")
    assert "without a login" not in errors(open_page(ScriptedBackend(["A"])))


# --- Limits -----------------------------------------------------------------------------------


def test_over_the_rate_limit_the_message_is_kept_and_others_are_unaffected(open_page, monkeypatch, with_password, data_dir):
    monkeypatch.setenv("GLM4_USER_REQUESTS_PER_MINUTE", "1")
    backend = ScriptedBackend(["first answer", "second answer"])
    at = log_in(open_page(backend), "alice")
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
    bob = log_in(open_page(bob_backend), "bob")
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
    assert [b.label for b in visitor.button] == ["Log in"] and not visitor.chat_input

    ann = open_oidc_page({"is_logged_in": True, "email": "Ann@Example.org", "sub": "1"})
    assert "Signed in as **Ann@Example.org**" in [c.value for c in ann.sidebar.caption]
    send(ann, "ann's question")
    owner = ConversationStore(data_dir / "conversations.sqlite3").load(ann.query_params["c"]).owner
    assert owner == "oidc:ann@example.org"

    ben = open_oidc_page({"is_logged_in": True, "email": "ben@example.org", "sub": "2"})
    assert sidebar_titles(ben) == []
    assert sidebar_titles(open_oidc_page({"is_logged_in": True, "email": "ann@example.org"})) == ["ann's question"]
