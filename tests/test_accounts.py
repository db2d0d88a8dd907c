"""Accounts, sessions and API keys on a real SQLite file; the identities the server and the
page derive from cookies and headers; the `python -m glm4_app.users` command."""

from __future__ import annotations

import io
import sqlite3
import threading

import pytest
from argon2 import PasswordHasher

from glm4_app import shares, users
from glm4_app.accounts import AccountError, AccountStore
from glm4_app.conversation import Conversation
from glm4_app.identity import (
    adoptable_link_key,
    from_trusted_proxy,
    header_identity,
    new_visitor_token,
    proxy_networks,
    visitor_identity,
)
from glm4_app.store import ConversationStore

FAST = PasswordHasher(
    time_cost=1, memory_cost=1024, parallelism=1
)  # tests only; real defaults in the app


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store(db, clock):
    return AccountStore(db, hasher=FAST, clock=clock)


# --- Accounts --------------------------------------------------------------------------------


def test_passwords_are_argon2_hashes_and_names_are_case_insensitive(store, db):
    store.add_user("Alice", "correct horse")
    (stored,) = sqlite3.connect(db).execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.verify("alice", "correct horse").name == "Alice"
    assert (
        store.verify("ALICE", "correct horse").owner == "user:alice"
    )  # the shared-password era's key
    assert store.verify("alice", "Correct horse") is None
    assert store.verify("nobody", "correct horse") is None


def test_bad_accounts_are_refused_with_a_reason(store):
    store.add_user("bob", "bob's password")
    for name, password, reason in [
        ("BOB", "another password", "taken"),
        ("two words", "long enough", "user name"),
        ("carol", "short", "at least 8"),
    ]:
        with pytest.raises(AccountError, match=reason):
            store.add_user(name, password)
    with pytest.raises(AccountError, match="role"):
        store.add_user("carol", "long enough", role="root")
    assert [u.name for u in store.users()] == ["bob"]


def test_only_one_first_sign_up_wins(store):
    """Two people racing for the first (admin) account: exactly one gets it."""
    results, barrier = [], threading.Barrier(4)

    def sign_up(name):
        barrier.wait()
        try:
            results.append(store.add_user(name, "a long password", "admin", only_if_none=True).name)
        except AccountError as err:
            results.append(str(err))

    threads = [threading.Thread(target=sign_up, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count_users() == 1 and [u.role for u in store.users()] == ["admin"]
    assert sum("closed" in r for r in results) == 3


# --- Sessions --------------------------------------------------------------------------------


def test_a_session_lasts_its_days_and_is_stored_hashed(store, db, clock):
    alice = store.add_user("alice", "alice's password")
    token = store.start_session(alice, days=7)
    assert store.session_user(token) == alice
    (stored,) = sqlite3.connect(db).execute("SELECT token_hash FROM sessions").fetchone()
    assert token not in stored and len(stored) == 64  # a copy of the database signs nobody in
    clock.now += 7 * 86400 - 1
    assert store.session_user(token) == alice
    clock.now += 2
    assert store.session_user(token) is None  # expired


def test_forged_ended_and_orphaned_sessions_sign_nobody_in(store):
    alice = store.add_user("alice", "alice's password")
    bob = store.add_user("bob", "bob's password")
    phone, laptop, bobs = (
        store.start_session(alice, 7),
        store.start_session(alice, 7),
        store.start_session(bob, 7),
    )
    for forged in ("", None, "x" * 43, phone[:-1] + ("A" if phone[-1] != "A" else "B"), "y" * 5000):
        assert store.session_user(forged) is None
    store.end_session(phone)
    assert store.session_user(phone) is None and store.session_user(laptop) == alice
    assert store.end_all_sessions("ALICE") == 1  # "sign out everywhere"
    assert store.session_user(laptop) is None and store.session_user(bobs) == bob
    store.remove_user("bob")
    assert store.session_user(bobs) is None


def test_a_new_password_ends_every_session(store):
    alice = store.add_user("alice", "alice's password")
    token = store.start_session(alice, 7)
    store.set_password("alice", "a brand new one")
    assert store.session_user(token) is None
    assert store.verify("alice", "alice's password") is None and store.verify(
        "alice", "a brand new one"
    )
    with pytest.raises(AccountError, match="no user"):
        store.set_password("nobody", "whatever long")


# --- API keys ---------------------------------------------------------------------------------


def test_api_keys_belong_to_one_owner_and_only_they_revoke_them(store, db):
    store.add_user("alice", "alice's password")
    secret, key = store.create_api_key("user:alice", "my editor")
    assert secret.startswith("sk-glm4-") and len(secret) > 40 and key.shown.startswith(secret[:12])
    assert secret not in str(sqlite3.connect(db).execute("SELECT * FROM api_keys").fetchall())
    assert store.api_key_owner(secret) == "user:alice"
    assert store.api_key_owner(secret + "x") is None and store.api_key_owner("sk-other") is None
    assert store.api_keys("user:alice")[0].last_used_at is not None
    assert store.api_keys("user:bob") == []

    assert not store.revoke_api_key(key.id, owner="user:bob")  # bob cannot revoke alice's key
    assert store.api_key_owner(secret) == "user:alice"
    assert store.revoke_api_key(key.id, owner="user:alice")
    assert store.api_key_owner(secret) is None


def test_removing_an_account_removes_its_keys_but_keeps_its_conversations(store, db):
    conversations = ConversationStore(db)
    mine = Conversation(mode="chat", owner="user:alice")
    mine.add_user("keep me")
    conversations.save(mine)
    store.add_user("alice", "alice's password")
    secret, _ = store.create_api_key("user:alice")
    store.remove_user("alice")
    assert store.api_key_owner(secret) is None
    store.add_user("Alice", "back again!")
    assert conversations.recent("chat", store.user("alice").owner) == [(mine.id, "keep me")]


# --- The shared-password era -------------------------------------------------------------------


def test_migrate_gives_every_old_name_an_account_that_owns_its_conversations(
    db, monkeypatch, capsys
):
    conversations = ConversationStore(db)
    for owner in ("user:alice", "user:bob", "user:bob", "3f2a9c0d1e2b4a5f", "oidc:ann@example.org"):
        conversation = Conversation(mode="chat", owner=owner)
        conversation.add_user(f"from {owner}")
        conversations.save(conversation)
    monkeypatch.setattr(users, "AccountStore", lambda path: AccountStore(path, hasher=FAST))
    assert users.main(["--data-dir", str(db.parent), "migrate"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    passwords = dict(line.split("\t") for line in lines)
    assert sorted(passwords) == ["alice", "bob"]  # only the password mode's names
    store = AccountStore(db, hasher=FAST)
    bob = store.verify("bob", passwords["bob"])
    assert [t for _, t in conversations.recent("chat", bob.owner)] == [
        "from user:bob",
        "from user:bob",
    ]
    assert [u.role for u in store.users()] == ["admin", "user"]  # the first becomes admin
    assert users.main(["--data-dir", str(db.parent), "migrate"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_the_users_command(db, monkeypatch, capsys):
    monkeypatch.setattr(users, "AccountStore", lambda path: AccountStore(path, hasher=FAST))

    def run(*argv, stdin="a long password\n"):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = users.main(["--data-dir", str(db.parent), *argv])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    assert run("add", "carol", "--admin") == (0, "added carol (admin)\n")
    assert run("add", "carol")[0] == 1 and "taken" in run("add", "carol")[1]
    assert (
        run("add", "dave", stdin="short\n")[1] == "error: A password has at least 8 characters.\n"
    )
    code, out = run("key-add", "carol", "--label", "ci")
    secret = out.splitlines()[0]
    assert code == 0 and AccountStore(db, hasher=FAST).api_key_owner(secret) == "user:carol"
    assert "ci" in run("key-list", "carol")[1]
    assert run("role", "carol", "user")[0] == 0 and run("list")[1] == "carol\tuser\n"
    assert run("passwd", "carol", stdin="another password\n")[0] == 0
    assert AccountStore(db, hasher=FAST).verify("carol", "another password")
    assert run("key-revoke", "999")[0] == 1
    assert run("remove", "carol")[0] == 0 and run("list")[1] == ""
    assert AccountStore(db, hasher=FAST).api_key_owner(secret) is None


# --- Identities --------------------------------------------------------------------------------


def test_visitor_cookies_name_nobody_and_cannot_be_guessed_from_the_owner_key():
    token = new_visitor_token()
    visitor = visitor_identity(token)
    assert visitor.owner.startswith("anon:") and token not in visitor.owner
    assert visitor_identity(token) == visitor and visitor_identity(new_visitor_token()) != visitor
    for bad in (None, "", "short", "x" * 200, "user:alice" + "x" * 40, token + ";"):
        assert visitor_identity(bad) is None


def test_header_identities_and_trusted_proxies():
    assert header_identity(" Ann@Example.org ").owner == "user:ann@example.org"
    assert header_identity("ann@example.org").name == "ann@example.org"
    for bad in (None, "", "   ", "two words", "x" * 300, "bell\x07"):
        assert header_identity(bad) is None
    networks, bad = proxy_networks("10.0.0.0/8, 127.0.0.1, ::1, proxy.example.org")
    assert bad == ("proxy.example.org",)
    assert from_trusted_proxy("10.2.3.4", networks) and from_trusted_proxy("127.0.0.1", networks)
    assert from_trusted_proxy("::ffff:10.1.1.1", networks) and from_trusted_proxy("::1", networks)
    assert not from_trusted_proxy("192.168.1.5", networks) and not from_trusted_proxy(
        None, networks
    )
    assert not from_trusted_proxy("not an address", networks)
    assert not from_trusted_proxy("10.0.0.1", proxy_networks("")[0])


def test_only_old_link_keys_can_be_adopted(db):
    assert adoptable_link_key("0123456789abcdef")
    for key in ("user:alice", "anon:" + "0" * 32, "0123456789ABCDEF", "0123", None, ""):
        assert not adoptable_link_key(key)
    conversations = ConversationStore(db)
    old = Conversation(mode="chat", owner="0123456789abcdef")
    old.add_user("from the old link")
    old.add_answer("kept")
    conversations.save(old)
    link = shares.create(conversations, old)
    assert conversations.reassign_owner("0123456789abcdef", "anon:new") == 1
    assert conversations.load(old.id).owner == "anon:new"
    assert conversations.recent("chat", "anon:new") == [(old.id, "from the old link")]
    # Its share links go with it: listed in its menu, and revocable, by the new owner.
    assert [s.id for s in shares.of_conversation(conversations, old.id, "anon:new")] == [link.id]
    assert shares.revoke(conversations, link.id, "anon:new")
    assert conversations.reassign_owner("0123456789abcdef", "anon:other") == 0  # once
