"""History on a real SQLite file: migration of old files, search, rename, delete with files,
export and import, and a server killed mid-answer (a real process, SIGKILLed)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from glm4_app.conversation import Conversation
from glm4_app.events import Stats
from glm4_app.history import ImportProblem, from_json, to_json, to_markdown
from glm4_app.messages import ImageRef, Message
from glm4_app.store import SCHEMA_VERSION, ConversationStore
from glm4_app.tool_types import Citation

REPO = Path(__file__).resolve().parent.parent


def conversation(owner: str, question: str, answer: str = "", mode: str = "chat") -> Conversation:
    c = Conversation(owner=owner, mode=mode)
    c.add_user(question)
    if answer:
        c.add_answer(answer, stats=Stats(10, 5, 4096, 0.1, 1.0, "stop"))
    return c


def test_a_database_from_before_the_migration_opens_and_is_searchable(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    old = conversation("me", "Старый вопрос about Rust", "ok")
    with closing(sqlite3.connect(path)) as db, db:  # the schema as the first release wrote it
        db.executescript(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, mode TEXT NOT NULL, owner TEXT NOT NULL,"
            " title TEXT NOT NULL, data TEXT NOT NULL, updated_at REAL NOT NULL);"
        )
        db.execute(
            "INSERT INTO conversations VALUES (?, 'chat', 'me', ?, ?, 1.0)",
            (old.id, old.title, json.dumps(old.to_dict(), ensure_ascii=False)),
        )
    store = ConversationStore(path)
    assert store.load(old.id) == old
    assert store.recent("chat", "me", query="старый") == [(old.id, old.title)]  # non-ASCII, any case
    ConversationStore(path)  # opening again migrates nothing twice
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_search_finds_titles_and_message_text_of_one_owner_only(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    bread = conversation("me", "Baking", "Use 100% rye_flour.")
    cats = conversation("me", "Cats?", "They sleep.")
    theirs = conversation("them", "Baking too", "flour")
    for c in (bread, cats, theirs):
        store.save(c)
    assert [cid for cid, _ in store.recent("chat", "me", query="RYE_FLOUR")] == [bread.id]
    assert [cid for cid, _ in store.recent("chat", "me", query="100%")] == [bread.id]
    assert store.recent("chat", "me", query="100_") == []  # _ and % are literal, not wildcards
    assert [cid for cid, _ in store.recent("chat", "me", query="  ")] == [cats.id, bread.id]


def test_rename_and_delete_only_touch_the_owners_conversations(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    mine, theirs = conversation("me", "mine"), conversation("them", "theirs")
    store.save(mine)
    store.save(theirs)
    for c in (mine, theirs):
        (store.files_dir / c.id).mkdir(parents=True)
        (store.files_dir / c.id / "plot.png").write_bytes(b"png")

    assert store.rename(mine.id, "me", "  A   better title ")
    assert store.load(mine.id).title == "A better title"
    assert not store.rename(mine.id, "me", "   ")
    assert not store.rename(theirs.id, "me", "hijacked")
    assert store.load(theirs.id).title == "theirs"

    assert not store.delete(theirs.id, "me")
    assert (store.files_dir / theirs.id / "plot.png").exists()
    assert store.delete(mine.id, "me")
    assert store.load(mine.id) is None and not (store.files_dir / mine.id).exists()


def test_export_then_import_gives_an_equal_copy_for_the_importer(tmp_path):
    original = Conversation(mode="tools", owner="alice", title="Plot it", system_prompt="Be exact.", thinking=False)
    original.add_user("Plot sin(x)")
    original.messages += [
        Message("assistant", "import numpy", metadata="python", step=1),
        Message("observation", "[figure]", metadata="python_result"),
    ]
    answer = original.add_answer("Here it is.", reasoning="think", stats=Stats(10, 5, 4096, 0.1, 1.0, "stop"))
    answer.model, answer.params = "THUDM/glm-4-9b-chat-hf", {"temperature": 0.8}

    copy = from_json(to_json(original).encode(), "bob")
    assert copy.owner == "bob" and copy.id != original.id
    assert {**copy.to_dict(), "id": 0, "owner": 0} == {**original.to_dict(), "id": 0, "owner": 0}
    store = ConversationStore(tmp_path / "db.sqlite3")
    store.save(copy)
    assert store.recent("tools", "bob") == [(copy.id, "Plot it")]

    md = to_markdown(original)
    assert md.startswith("# Plot it\n")
    for part in ("> Be exact.", "## 🧑 User", "Plot sin(x)", "**Tool call `python`:**", "import numpy",
                 "**Tool result** (python_result):", "Here it is.", "model THUDM/glm-4-9b-chat-hf"):
        assert part in md


def test_the_markdown_export_links_citations_as_the_page_does():
    c = Conversation(mode="tools", title="Foxes")
    c.add_user("Where do red foxes live?")
    fox = Citation(3, "Red fox - Wikipedia", "https://en.wikipedia.org/wiki/Red_fox")
    c.messages += [
        Message("assistant", "search('red fox')", metadata="simple_browser"),
        Message("observation", "【3†Red fox - Wikipedia】 ...", metadata="browser_result", citations=[fox]),
    ]
    c.add_answer("Across the northern hemisphere【3†source】, and in Australia【9†source】.")
    md = to_markdown(c)
    assert 'hemisphere[\\[3\\]](https://en.wikipedia.org/wiki/Red_fox "Red fox - Wikipedia")' in md
    assert "Australia\\[9\\]" in md  # no page known for it: a plain number
    assert "```\n【3†Red fox - Wikipedia】 ...\n```" in md  # what the tool returned stays as it was


def test_an_import_never_points_at_files_of_this_server():
    crafted = Conversation(mode="tools")
    crafted.messages = [
        Message("user", "look", images=[ImageRef("/etc/hostname")], pages=["/etc/hostname"]),
        Message("observation", "done", metadata="python_result", files=["/etc/passwd"], images=[ImageRef("/etc/hostname")]),
    ]
    crafted.attached = crafted.attached_pages = ["/etc/shadow"]
    imported = from_json(to_json(crafted).encode(), "me")
    assert all(not m.files and not m.images and not m.pages for m in imported.messages)
    assert imported.attached == imported.attached_pages == []
    assert imported.messages[1].content == "done"
    assert "not imported" in str(imported.messages[1].note)


@pytest.mark.parametrize(
    "raw,problem",
    [
        (b"\xff\xfe not json", "not a JSON file"),
        (b'{"messages": []}', "not a conversation exported from this app"),
        (b'{"format": "glm4-chat-conversation", "version": 9, "conversation": {}}', "version 9"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"mode": "x"}}', "Unknown mode"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": "user"}]}}',
         "Message 1 is not a message"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"documents": [{"name": "a"}]}}',
         "Document 1 lacks"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": '
         b'[{"role": "assistant", "content": "", "stats": {"bogus": 1}}]}}', "malformed statistics"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"assistant", "content": "", "stats": {"prompt_tokens": "9", "completion_tokens": 1, '
         b'"context_window": 9, "ttft_s": null, "decode_s": 1, "finish_reason": "stop"}}]}}', "malformed statistics"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"assistant", "content": "", "reasoning": ["x"]}]}}', "should be text"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"observation", "content": "", "images": [5]}]}}', "malformed images"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"assistant", "content": "", "stopped": "yes"}]}}', "true or false"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"assistant", "content": "", "metadata": "python", "step": "1"}]}}', "step that is not a number"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"messages": [{"role": '
         b'"user", "content": "", "pages": "p.png"}]}}', "malformed images"),
        (b'{"format": "glm4-chat-conversation", "version": 1, "conversation": {"thinking": "no"}}', "true or false"),
    ],
    ids=["binary", "foreign", "version", "mode", "message", "document", "stats", "stats-types", "text-field",
         "images", "flag", "step", "pages", "thinking"],
)
def test_a_broken_import_is_refused_with_a_reason(raw, problem):
    with pytest.raises(ImportProblem, match=problem):
        from_json(raw, "me")


_WRITER = textwrap.dedent(
    """
    import sys, time
    from glm4_app.conversation import Conversation
    from glm4_app.scripted import ScriptedBackend
    from glm4_app.events import TextDelta
    from glm4_app.generation import GenerationParams
    from glm4_app.store import ConversationStore

    # What the chat page does: save the question, stream, save the answer, next question.
    store = ConversationStore(sys.argv[1])
    c = Conversation(id="killed", owner="me")
    backend = ScriptedBackend(["answer one", "answer two", "a long third answer " * 50])
    for i, question in enumerate(["question one", "question two", "question three"]):
        c.add_user(question)
        store.save(c)
        text = ""
        for event in backend.stream(c.prompt_messages(), GenerationParams()):
            if isinstance(event, TextDelta):
                text += event.text
                if i == 2 and len(text) > 30:
                    print("mid-answer", flush=True)
                    time.sleep(60)  # the parent kills us here
        c.add_answer(text)
        store.save(c)
    """
)


@pytest.mark.timeout(60)
def test_a_server_killed_mid_answer_keeps_everything_before_that_answer(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "mid-answer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    store = ConversationStore(path)  # as a restarted server opens it
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = store.load("killed")
    assert [(m.role, m.content) for m in kept.messages] == [
        ("user", "question one"),
        ("assistant", "answer one"),
        ("user", "question two"),
        ("assistant", "answer two"),
        ("user", "question three"),
    ]
    assert kept.awaiting_answer  # the page offers ▶️ Answer for it
