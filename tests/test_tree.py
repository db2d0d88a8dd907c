"""Conversation trees as pure operations: every Regenerate and Edit kept, branches switched and
deleted, documents and tool steps staying in their branch, the whole tree through export and
import, share snapshots, and the upgrade of a database file made by the release before trees."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from glm4_app import shares, tree
from glm4_app.conversation import Conversation
from glm4_app.history import MAX_IMPORT_MESSAGES, ImportProblem, from_json, to_json, to_markdown
from glm4_app.messages import ImageRef, Message
from glm4_app.store import SCHEMA_VERSION, ConversationStore

DATA = Path(__file__).resolve().parent / "data"
DOC = {"name": "report.txt", "kind": "text", "pages": 0, "text": "Revenue grew by 8%.", "bytes": 19, "tokens": 9}


def shown(c: Conversation) -> list[str]:
    return [m.content for m in c.messages]


def versions_of(c: Conversation, index: int) -> list[str]:
    return [m.content for m in tree.versions(tree.children(c), c.messages[index])]


def two_turns() -> Conversation:
    c = Conversation(owner="me", system_prompt="Be brief.")
    c.add_user("Q1")
    c.add_answer("A1")
    c.add_user("Q2")
    c.add_answer("A2")
    return c


def reloaded(c: Conversation) -> Conversation:
    return Conversation.from_dict(json.loads(json.dumps(c.to_dict())))


def test_regenerate_keeps_the_old_answer_as_a_version_and_the_prompt_follows_the_branch():
    c = two_turns()
    c.drop_last_answer()
    assert shown(c) == ["Q1", "A1", "Q2"] and c.awaiting_answer
    c.add_answer("A2, again")
    c = reloaded(c)
    assert shown(c) == ["Q1", "A1", "Q2", "A2, again"]
    assert versions_of(c, 3) == ["A2", "A2, again"]  # oldest first: ‹ 2/2 ›
    assert tree.switch(c, c.others[0].id)
    assert shown(c) == ["Q1", "A1", "Q2", "A2"]
    assert [m["content"] for m in c.prompt_messages()] == ["Be brief.", "Q1", "A1", "Q2", "A2"]


def test_editing_a_question_in_the_middle_keeps_the_old_branch_whole_and_switching_back_finds_it():
    c = two_turns()
    new = tree.edit(c, 0, "Q1, better")
    assert new is not None and shown(c) == ["Q1, better"]
    c.add_answer("A1'")
    c = reloaded(c)
    assert versions_of(c, 0) == ["Q1", "Q1, better"]
    old_first = tree.versions(tree.children(c), c.messages[0])[0]
    tree.switch(c, old_first.id)
    assert shown(c) == ["Q1", "A1", "Q2", "A2"]  # the rest of the old branch follows it
    assert tree.edit(c, 1, "not a question") is None and tree.edit(c, 0, "   ") is None
    assert shown(c) == ["Q1", "A1", "Q2", "A2"]


def test_the_title_follows_an_edited_first_question_unless_the_user_chose_it():
    c = two_turns()
    tree.edit(c, 0, "What is the capital of France?")
    assert c.title == "What is the capital of France?"
    tree.edit(c, 0, "Paris facts")
    assert c.title == "Paris facts"
    c.add_answer("Paris.")
    c.add_user("And Italy?")
    tree.edit(c, 2, "And Spain?")  # not the first question
    assert c.title == "Paris facts"
    c.title = "Capitals"  # renamed by the user
    tree.edit(c, 0, "Q1 again")
    assert c.title == "Capitals"


def test_an_automatic_title_names_the_first_question_of_the_branch_shown():
    c = Conversation(owner="me")
    c.add_user("Alpha question")
    c.add_answer("A")
    tree.edit(c, 0, "Beta question")
    assert c.title == "Beta question"
    alpha = next(m for m in c.others if m.content == "Alpha question")
    tree.switch(c, alpha.id)
    assert c.title == "Alpha question"  # switching back names the question shown
    tree.edit(c, 0, "Gamma question")
    assert c.title == "Gamma question"  # not "Beta question", which this branch does not hold
    tree.delete(c, c.messages[0].id)  # the branch shown goes: its neighbour, Beta, is shown
    assert shown(c) == ["Beta question"] and c.title == "Beta question"
    c.title = "Greek letters"  # renamed by the user: no switch, edit or delete changes it
    tree.switch(c, alpha.id)
    tree.edit(c, 0, "Delta question")
    tree.delete(c, c.messages[0].id)
    assert c.title == "Greek letters"


def test_a_share_is_named_by_the_question_it_shows(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    c = Conversation(owner="alice")
    c.add_user("My salary is 120k, draft a raise request")
    c.add_answer("Dear boss...")
    tree.edit(c, 0, "Draft a raise request")
    c.add_answer("Dear manager...")
    for first in ("Draft a raise request", "My salary is 120k, draft a raise request"):
        tree.switch(c, next(m for m in tree.every(c) if m.content == first).id)
        snap = shares.get(store, shares.create(store, c).id).snapshot
        others = [m.content for m in tree.every(c) if m.role == "user" and m.content != first]
        assert snap.title == first and all(o not in json.dumps(snap.to_dict()) for o in others)
    c.title = "Raise"  # a title the user chose is kept
    assert shares.get(store, shares.create(store, c).id).snapshot.title == "Raise"


def test_switching_remembers_the_version_chosen_below():
    c = two_turns()
    c.drop_last_answer()
    c.add_answer("A2b")  # Q2 has A2 and A2b; A2b is shown
    tree.edit(c, 0, "Q1'")  # a new first question
    back = next(m for m in c.others if m.content == "Q1")
    tree.switch(c, back.id)
    assert shown(c) == ["Q1", "A1", "Q2", "A2b"]  # the version last shown there, not the oldest
    tree.switch(c, next(m for m in c.others if m.content == "A2").id)
    tree.switch(c, next(m for m in c.others if m.content == "Q1'").id)
    tree.switch(c, back.id)
    assert shown(c) == ["Q1", "A1", "Q2", "A2"]
    assert not tree.switch(c, "no-such-message")


def test_deleting_a_version_shows_its_neighbour_and_deletes_its_descendants_only():
    c = two_turns()
    tree.edit(c, 2, "Q2b")
    c.add_answer("A2b")
    c.add_user("Q3")
    c.add_answer("A3")
    q2b = c.messages[2]
    assert tree.delete(c, q2b.id)
    assert shown(c) == ["Q1", "A1", "Q2", "A2"] and c.others == []  # Q2b, A2b, Q3 and A3 are gone
    assert versions_of(c, 2) == ["Q2"]
    assert tree.delete(c, c.messages[2].id)  # the only version: the conversation ends before it
    assert shown(c) == ["Q1", "A1"]
    assert not tree.delete(c, "no-such-message")


def test_a_branch_holds_its_tool_steps_plots_and_files():
    c = Conversation(mode="tools")
    c.add_user("Plot sin(x)")
    c.messages += [
        Message("assistant", "plot(sin)", metadata="python"),
        Message("observation", "[figure]", metadata="python_result", images=[ImageRef("sin.png")], files=["sin.csv"]),
    ]
    c.add_answer("Here is sin.")
    c.drop_last_answer()
    c.messages += [Message("assistant", "plot(cos)", metadata="python"), Message("observation", "[figure]")]
    c.add_answer("Oops, cos.")
    first_version = tree.versions(tree.children(c), c.messages[1])[0]
    tree.switch(c, first_version.id)
    assert shown(c) == ["Plot sin(x)", "plot(sin)", "[figure]", "Here is sin."]
    assert c.messages[2].images == [ImageRef("sin.png")] and c.messages[2].files == ["sin.csv"]


def test_documents_belong_to_the_turn_and_branch_they_were_sent_in():
    c = Conversation(mode="documents")
    c.documents.append(dict(DOC))
    c.add_user("How much did revenue grow?")
    assert c.documents == [] and c.messages[0].documents == [DOC]
    c.add_answer("8%.")
    tree.edit(c, 0, "By how much did revenue grow?")  # an edit keeps the question's documents
    assert c.branch_documents() == [DOC]
    tree.edit(c, 0, "Just say hi", documents=[])  # ... unless the user leaves them out
    assert c.branch_documents() == [] and "[File Name]" not in c.prompt_messages()[0]["content"]
    tree.switch(c, tree.versions(tree.children(c), c.messages[0])[0].id)
    assert c.prompt_messages()[0]["content"].endswith("\n\n\n1 files uploaded.\nHow much did revenue grow?")


def test_export_and_import_carry_the_whole_tree():
    c = two_turns()
    c.drop_last_answer()
    c.add_answer("A2b")
    tree.edit(c, 0, "Q1'")
    c.add_answer("A1'")
    copy = from_json(to_json(c).encode(), "bob")
    assert copy.owner == "bob" and copy.id != c.id
    assert shown(copy) == shown(c) and sorted(m.id for m in copy.others) == sorted(m.id for m in c.others)
    tree.switch(copy, next(m for m in copy.others if m.content == "Q1").id)
    assert shown(copy) == ["Q1", "A1", "Q2", "A2b"]  # the choice made in the original came along
    md = to_markdown(c)
    assert "Q1'" in md and "A2b" not in md and "messages of other versions" in md  # the branch shown


def _export(messages: list[dict], leaf: str) -> bytes:
    conversation = {"mode": "chat", "messages": messages, "leaf": leaf}
    return json.dumps({"format": "glm4-chat-conversation", "version": 2, "conversation": conversation}).encode()


def _m(i: str, parent: str = "", role: str = "user") -> dict:
    return {"role": role, "content": f"message {i}", "id": i, "parent": parent}


@pytest.mark.parametrize(
    "messages, leaf, problem",
    [
        ([_m("a", "c"), _m("b", "a", "assistant"), _m("c", "b")], "c", "form a loop"),
        ([_m("a"), _m("b", "gone", "assistant")], "b", "Message 2 follows a message that is not in the file"),
        ([_m("a"), _m("a", "a", "assistant")], "a", "Message 2 has the same id as message 1"),
        ([_m("a"), _m("b", "a")], "zzz", "shown last is not in the file"),
    ],
    ids=["cycle", "dangling-parent", "duplicate-id", "unknown-leaf"],
)
def test_an_import_that_is_not_a_tree_is_refused_with_a_reason(messages, leaf, problem):
    with pytest.raises(ImportProblem, match=problem):
        from_json(_export(messages, leaf), "me")


def test_an_import_of_a_hundred_thousand_messages_is_refused_before_anything_is_built():
    chain = [{"role": "user", "content": "", "id": f"m{i}", "parent": f"m{i - 1}" if i else ""} for i in range(100_000)]
    with pytest.raises(ImportProblem, match=f"100,000 messages; at most {MAX_IMPORT_MESSAGES:,}"):
        from_json(_export(chain, "m99999"), "me")


def test_a_flat_export_of_the_release_before_trees_imports_as_one_branch():
    old = {"mode": "documents", "documents": [DOC], "messages": [
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]}
    imported = from_json(json.dumps({"format": "glm4-chat-conversation", "version": 1, "conversation": old}).encode(), "me")
    assert shown(imported) == ["Q1", "A1"] and imported.others == []
    assert imported.messages[0].documents == [DOC] and imported.documents == []  # sent from the start


def test_a_database_made_by_the_release_before_trees_is_upgraded_in_place(tmp_path):
    """tests/data/conversations-schema2.sqlite3 was written by the previous release's
    ConversationStore (schema 2, flat message lists, documents per conversation)."""
    path = tmp_path / "conversations.sqlite3"
    shutil.copyfile(DATA / "conversations-schema2.sqlite3", path)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        before = {cid: json.loads(data) for cid, data in db.execute("SELECT id, data FROM conversations")}

    store = ConversationStore(path)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = {cid: json.loads(data) for cid, data in db.execute("SELECT id, data FROM conversations")}
        assert db.execute("SELECT count(*) FROM shares").fetchone()[0] == 0
    assert after.keys() == before.keys()
    for cid, old in before.items():
        upgraded = store.load(cid)
        assert [(m.role, m.content) for m in upgraded.messages] == [(m["role"], m["content"]) for m in old["messages"]]
        assert upgraded.others == [] and after[cid]["leaf"] == upgraded.leaf  # one branch, nothing lost
        assert all(m.parent == (upgraded.messages[i - 1].id if i else "") for i, m in enumerate(upgraded.messages))
    tools = store.load("tools000001")
    assert tools.messages[2].images[0].caption == "Figure 1" and tools.messages[2].files
    assert tools.messages[-1].stopped and tools.disabled_tools == ["cogview"]
    docs = store.load("docs0000001")
    assert docs.messages[0].documents[0]["name"] == "report.txt" and docs.documents == []
    assert docs.messages[-1].partial and docs.fit_strategy == "truncate"
    assert store.load("docs0000002").documents[0]["name"] == "notes.md"  # not sent yet: still waiting
    assert store.recent("documents", "bob", query="report.txt")[0][0] == "docs0000001"
    ConversationStore(path)  # opening again changes nothing
    with closing(sqlite3.connect(path)) as db:
        assert {cid: json.loads(d) for cid, d in db.execute("SELECT id, data FROM conversations")} == after


def test_a_share_snapshot_holds_the_shown_branch_only_and_ends_when_revoked(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    c = Conversation(mode="tools", owner="alice", system_prompt="My private instructions.")
    c.add_user("Plot it")
    plot = store.files_dir / c.id / "plot.png"
    plot.parent.mkdir(parents=True)
    plot.write_bytes(b"\x89PNG fake")
    c.add_answer("Secret first draft")
    c.drop_last_answer()
    c.messages += [
        Message("assistant", "plot()", metadata="python"),
        Message("observation", "[figure]", images=[ImageRef(str(plot)), ImageRef("/etc/hostname")],
                files=[str(store.files_dir / c.id / "data.csv")]),
    ]
    c.add_answer("The plot.")
    c.documents.append(dict(DOC))  # uploaded, not sent
    store.save(c)

    share = shares.create(store, c)
    got = shares.get(store, share.id)
    snap = got.snapshot
    assert shown(snap) == ["Plot it", "plot()", "[figure]", "The plot."] and snap.others == []
    text = json.dumps(snap.to_dict())
    for private in ("Secret first draft", "My private instructions.", "alice", c.id, "report.txt", "data.csv", "/etc/hostname"):
        assert private not in text
    (image,) = snap.messages[2].images
    assert Path(image.path).read_bytes() == b"\x89PNG fake" and c.id not in image.path
    assert [s.id for s in shares.of_conversation(store, c.id, "alice")] == [share.id]
    assert shares.of_conversation(store, c.id, "mallory") == []

    mine = shares.copy_for(got, "bob", store.files_dir)
    assert mine.owner == "bob" and mine.id not in (c.id, snap.id) and shown(mine) == shown(snap)
    assert not shares.revoke(store, share.id, "mallory")  # only its owner revokes it
    assert shares.revoke(store, share.id, "alice")
    assert shares.get(store, share.id) is None and not Path(image.path).exists()
    assert Path(mine.messages[2].images[0].path).is_file()  # the copy keeps its own image
    assert shares.get(store, "not a share id") is None


def test_deleting_a_conversation_revokes_its_links(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    c = two_turns()
    store.save(c)
    share = shares.create(store, c)
    assert store.delete(c.id, "me")
    assert shares.get(store, share.id) is None
