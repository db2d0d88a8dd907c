"""Conversation trees on the page (AppTest, scripted model): ‹ n/m › between the versions of
an answer or a question, the actions under every message (Copy, Edit, Regenerate), branch
changes refused while an answer is written, the history list grouped by day with a menu per
item, and share links opened by another visitor."""

from __future__ import annotations

import json
import re
import time
from contextlib import closing
import sqlite3

import pytest
from page_helpers import send
from streamlit.testing.v1 import AppTest
from test_chat_page import (  # noqa: F401 (fixtures)
    APP,
    HeldBackend,
    bubbles,
    click,
    clicks_during_streaming,
    data_dir,
    open_page,
    stored,
    user,
)

from glm4_app import store as conversation_store
from glm4_app.conversation import Conversation
from glm4_app.identity import SESSION_COOKIE
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.turns import TURNS
from glm4_app.ui import state
from test_hosting_page import accounts  # noqa: F401 (fixture)


def shown(at: AppTest) -> list[str]:
    return [text for _, text in bubbles(at)]


def position(at: AppTest) -> list[str]:
    """The ‹ n/m › counters on the page, top to bottom."""
    return [c.value for c in at.main.caption if re.fullmatch(r"\d+/\d+", c.value)]


def nav(at: AppTest, direction: str, index: int = 0) -> AppTest:
    """Click ‹ (prev) or › (next) of the ``index``-th counter on the page."""
    buttons = [b for b in at.main.button if b.key and b.key.startswith(direction + "_")]
    buttons[index].click().run()
    assert not at.exception, at.exception
    return at


def copies(at: AppTest) -> list[str]:
    """What each Copy button under a bubble copies."""
    found = [e for e in at.main if e.type == "bidi_component" and e.proto.component_name == "glm4_copy"]
    return [json.loads(e.proto.json)["text"] for e in found]


def test_regenerate_twice_then_walk_the_versions_and_the_choice_persists(open_page, data_dir):
    backend = ScriptedBackend(["First answer", "Second answer", "Third answer"])
    at = open_page(backend)
    send(at, "Hi")
    click(at, "regenerate")
    click(at, "regenerate")
    assert shown(at) == ["Hi", "Third answer"] and position(at) == ["3/3"]
    assert backend.calls == [[user("Hi")]] * 3  # no earlier version is sent back

    nav(at, "prev")
    assert shown(at) == ["Hi", "Second answer"] and position(at) == ["2/3"]
    nav(at, "prev")
    assert shown(at) == ["Hi", "First answer"] and position(at) == ["1/3"]
    assert at.button(key=[b.key for b in at.main.button if b.key.startswith("prev_")][0]).disabled
    nav(at, "next")
    assert position(at) == ["2/3"]

    conversation_store.shared.cache_clear()  # a reload reads SQLite: the version chosen is still shown
    again = open_page(ScriptedBackend(["unused"]), c=at.query_params["c"])
    assert shown(again) == ["Hi", "Second answer"] and position(again) == ["2/3"]
    saved = stored(data_dir, at.query_params["c"])
    assert saved.messages[-1].content == "Second answer" and len(saved.others) == 2


def test_editing_the_first_question_starts_a_branch_and_the_old_one_is_one_click_away(open_page):
    backend = ScriptedBackend(["A1", "A2", "A1 for the edited question"])
    at = open_page(backend)
    send(at, "Q1")
    send(at, "Q2")
    first = stored_first_id(at)
    click(at, f"edit_{first}")  # not the last question: any question can be edited
    at.text_area(key="edit_text").set_value("Q1, edited")
    click(at, "edit_send")

    assert shown(at) == ["Q1, edited", "A1 for the edited question"] and position(at) == ["2/2"]
    assert backend.calls[-1] == [user("Q1, edited")]
    nav(at, "prev")
    assert shown(at) == ["Q1", "A1", "Q2", "A2"] and position(at) == ["1/2"]  # the old branch, whole


def stored_first_id(at: AppTest) -> str:
    return at.session_state["conversation"].messages[0].id


def test_every_message_has_copy_and_its_own_edit_or_regenerate(open_page):
    backend = ScriptedBackend(["Hello **there**!", "It is `42`.", "Hi again."])
    at = open_page(backend)
    send(at, "Hi")
    send(at, "What is *the* answer?")
    assert copies(at) == ["Hi", "Hello **there**!", "What is *the* answer?", "It is `42`."]  # raw Markdown
    conversation = at.session_state["conversation"]
    q1, a1, q2, a2 = conversation.messages
    keys = {b.key for b in at.main.button}
    assert {f"edit_{q1.id}", "edit", f"regenerate_{a1.id}", "regenerate"} <= keys
    assert at.button(key=f"edit_{q1.id}").label == "✏️ Edit" and at.button(key=f"regenerate_{a1.id}").label == "🔄 Regenerate"

    click(at, f"regenerate_{a1.id}")  # an earlier answer: a new version of it, the branch ends there
    assert shown(at) == ["Hi", "Hi again."] and position(at) == ["2/2"]
    assert backend.calls[-1] == [user("Hi")]


def test_branches_do_not_change_while_an_answer_is_written(open_page, data_dir, clicks_during_streaming, monkeypatch):
    at = open_page(ScriptedBackend(["A1", "A2"]))
    send(at, "Q1")
    click(at, "regenerate")
    conversation_id = at.query_params["c"]
    other = open_page(ScriptedBackend(["unused"]), c=conversation_id)  # a second tab, drawn before
    click(other, "edit")
    other.text_area(key="edit_text").set_value("Q1, edited in the other tab")

    held = HeldBackend(["never finished"], pieces=1)
    monkeypatch.setattr(state, "chat_backend", lambda settings: held)
    clicks_during_streaming(0)
    send(at, "Q2")  # an answer is being written now
    assert TURNS.live(conversation_id) is not None
    before = stored(data_dir, conversation_id).to_dict()

    refused = "An answer is being written in this conversation: wait for it or stop it first. Nothing was changed."
    nav(other, "prev")  # switching branches under it (from the page drawn before)
    assert [t.value for t in other.toast] == [refused]
    click(other, "edit_send")  # editing a message of the branch being answered
    assert [t.value for t in other.toast] == [refused]
    assert other.text_area(key="edit_text").value == "Q1, edited in the other tab"  # the text is kept
    assert stored(data_dir, conversation_id).to_dict() == before and len(held.calls) == 1
    click(at, "stop")
    assert held.closed.wait(5)


def _age(data_dir, conversation_id: str, days: float) -> None:
    with closing(sqlite3.connect(data_dir / "conversations.sqlite3")) as db, db:
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time() - days * 86400, conversation_id))


def test_history_is_grouped_by_day_with_a_menu_per_item(open_page, data_dir):
    at = open_page(ScriptedBackend(["ok"]))
    owner = at.query_params["u"]
    store = ConversationStore(data_dir / "conversations.sqlite3")
    ids = {}
    for title, days in [("Old plan", 40), ("Last week", 4), ("Yesterday's", 1.01), ("Fresh", 0)]:
        c = Conversation(owner=owner)
        c.add_user(title)
        store.save(c)
        _age(data_dir, c.id, days)
        ids[title] = c.id
    at.run()
    days = ("Today", "Yesterday", "Previous 7 days", "Older")
    sidebar = [getattr(e, "value", None) if e.type == "caption" else e.label for e in at.sidebar
               if (e.type == "caption" and e.value in days) or (e.type == "button" and (e.key or "").startswith("open_"))]
    assert sidebar == ["Today", "Fresh", "Yesterday", "Yesterday's", "Previous 7 days", "Last week", "Older", "Old plan"]

    at.session_state[f"menu_{ids['Old plan']}"] = True  # open its ⋯ menu
    at.run()
    menu = f"_{ids['Old plan']}"
    at.text_input(key=f"title_{ids['Old plan']}{menu}").set_value("Older plan")
    click(at, f"rename{menu}")
    assert store.load(ids["Old plan"]).title == "Older plan"
    click(at, f"delete{menu}")
    click(at, f"delete_yes{menu}")
    assert store.load(ids["Old plan"]) is None
    assert "Older plan" not in [b.label for b in at.sidebar.button]


def test_two_tabs_of_one_conversation_never_save_over_each_other(open_page, data_dir):
    """Tab B opened the conversation, then tab A asked more; B, not reloaded, regenerates.
    Each tab holding a copy of its own, B saved its old copy and A's question and answer were
    gone from the database."""
    c = Conversation(owner="me")
    c.add_user("Q1")
    c.add_answer("A1")
    ConversationStore(data_dir / "conversations.sqlite3").save(c)
    TURNS._shared.pop(c.id, None)  # as after a restart: no page of this process holds it yet
    backend = ScriptedBackend(["A2", "A2, again"])
    a, b = open_page(backend, c=c.id), open_page(backend, c=c.id)
    send(a, "Q2")
    assert [m.content for m in stored(data_dir, c.id).messages] == ["Q1", "A1", "Q2", "A2"]
    click(b, "regenerate")
    saved = stored(data_dir, c.id)
    every = [m.content for m in [*saved.messages, *saved.others]]
    assert {"Q1", "A1", "Q2", "A2"} <= set(every), every
    assert shown(b) == [m.content for m in saved.messages] == shown(a.run())


def test_a_share_link_opens_read_only_for_another_visitor_who_can_continue_it_until_revoked(open_page, data_dir):
    at = open_page(ScriptedBackend(["First answer", "Second answer"]))
    send(at, "Share me")
    click(at, "regenerate")  # two versions: only the one shown is shared
    conversation_id = at.query_params["c"]
    at.session_state[f"menu_{conversation_id}"] = True
    at.run()
    click(at, f"share_{conversation_id}")
    (link,) = {c.value for c in at.sidebar.code if "?share=" in c.value}  # in its menu and under 📝
    share_id = link.split("?share=")[1]

    viewer = AppTest.from_file(APP, default_timeout=30)
    viewer.query_params["share"] = share_id
    viewer.run()
    assert not viewer.exception
    assert shown(viewer) == ["Share me", "Second answer"] and viewer.chat_input.len == 0  # read-only
    assert "First answer" not in json.dumps([e.value for e in viewer.main.markdown])
    viewer.button(key="share_continue").click().run()
    assert not viewer.exception
    copied = stored(data_dir, viewer.query_params["c"])
    assert copied.id != conversation_id and copied.owner == viewer.query_params["u"] != at.query_params["u"]
    assert [m.content for m in copied.messages] == ["Share me", "Second answer"]

    at.session_state[f"menu_{conversation_id}"] = True
    at.run()
    click(at, f"revoke_{share_id}_{conversation_id}")  # from the item's menu
    for share in (share_id, "NoSuchShareLinkAtAll123"):
        gone = AppTest.from_file(APP, default_timeout=30)
        gone.query_params["share"] = share
        gone.run()
        assert "This shared link does not exist, or its owner revoked it." in [e.value for e in gone.error]
        assert gone.chat_message.len == 0


@pytest.fixture
def public_shares(monkeypatch):
    monkeypatch.setenv("GLM4_PUBLIC_SHARES", "true")


def browser_of(accounts, name: str | None) -> None:
    """The cookies the next page's connection sends: ``name``'s session, or none."""
    accounts.browser.clear()
    if name is not None:
        accounts.browser[SESSION_COOKIE] = accounts.start_session(accounts.user(name), days=1)


def sign_in_links(at: AppTest) -> list[str]:
    """Where the page's Sign in links lead."""
    return re.findall(r'href="([^"]*signin[^"]*)"', "".join(h.proto.body for h in at.html))


def test_with_a_login_only_signed_in_users_open_links_unless_the_owner_made_one_public(
    open_page, accounts, public_shares, data_dir
):
    browser_of(accounts, "alice")
    at = open_page(ScriptedBackend(["Answer"]))
    send(at, "Team question")
    conversation_id = at.query_params["c"]
    at.session_state[f"menu_{conversation_id}"] = True
    at.run()
    click(at, f"share_{conversation_id}")  # for users of this server
    at.checkbox(key=f"share_public_{conversation_id}").check().run()
    click(at, f"share_{conversation_id}")  # for anyone with the link
    links = list(dict.fromkeys(c.value.split("?share=")[1] for c in at.sidebar.code if "?share=" in c.value))
    public, private = links  # newest first

    browser_of(accounts, None)  # someone signed out
    for share, opens in ((private, False), (public, True)):
        stranger = AppTest.from_file(APP, default_timeout=30)
        stranger.query_params["share"] = share
        stranger.run()
        assert not stranger.exception
        assert (shown(stranger) == ["Team question", "Answer"]) is opens
        assert ("### Sign in" in [m.value for m in stranger.markdown]) is not opens  # else: asked to sign in
        assert not stranger.chat_input and "share_continue" not in [b.key for b in stranger.button]
        # Either way, signing in comes back to the link.
        assert sign_in_links(stranger) == [f"/signin?next=%2F%3Fshare%3D{share}"]
    assert not [c for c in stranger.sidebar.caption if "Signed in" in c.value]

    for share in (private, public):  # signed in, another user opens either, and continues it
        browser_of(accounts, "bob")
        bob = AppTest.from_file(APP, default_timeout=30)
        bob.query_params["share"] = share
        bob.run()
        assert shown(bob) == ["Team question", "Answer"] and not sign_in_links(bob)
        assert "Signed in as **bob**" in [c.value for c in bob.sidebar.caption]
        bob.button(key="share_continue").click().run()
        assert not bob.exception
        copied = stored(data_dir, bob.query_params["c"])
        assert copied.owner == "user:bob" and "u" not in bob.query_params  # bob's account owns it
        assert [m.content for m in copied.messages] == ["Team question", "Answer"]


def test_a_long_conversation_opens_on_its_last_turns_and_shows_earlier_ones_on_request(open_page):
    backend = ScriptedBackend(["A1", "A2", "A3", "A4"])
    at = open_page(backend)
    for question in ("Q1", "Q2", "Q3"):
        send(at, question)
    assert shown(at) == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]  # said in this session: all in view
    again = open_page(ScriptedBackend(["A4"]), c=at.query_params["c"])  # opened again later
    assert shown(again) == ["Q2", "A2", "Q3", "A3"]
    assert again.button(key="show_earlier").label == "⬆️ Show earlier messages (2 more)"
    click(again, "show_earlier")
    assert shown(again) == ["Q1", "A1", "Q2", "A2", "Q3", "A3"] and "show_earlier" not in [b.key for b in again.button]
