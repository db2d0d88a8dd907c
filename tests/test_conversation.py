"""Conversation edits and their persistence in a real SQLite file."""

from __future__ import annotations

import threading

import pytest

from glm4_app.conversation import Conversation, stats_of
from glm4_app.events import Stats
from glm4_app.markdown import to_streamlit_markdown
from glm4_app.store import ConversationStore


def chat() -> Conversation:
    c = Conversation(system_prompt="Be brief.")
    c.add_user("first")
    c.add_answer("one", stats=Stats(10, 2, 4096, 0.1, 0.2, "stop"))
    c.add_user("second")
    c.add_answer("two")
    return c


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_messages_are_ignored(text):
    c = Conversation()
    assert not c.add_user(text)
    assert c.messages == []


def test_regenerate_drops_only_the_last_answer():
    c = chat()
    c.drop_last_answer()
    assert [m.content for m in c.messages] == ["first", "one", "second"]
    assert c.awaiting_answer


def test_edit_replaces_the_last_question_and_forgets_its_answer():
    c = chat()
    assert c.edit_last_user("second, edited")
    assert [m.content for m in c.messages] == ["first", "one", "second, edited"]
    assert not c.edit_last_user("   ")


def test_prompt_has_system_prompt_and_leaves_failed_answers_out():
    c = Conversation(system_prompt="Be brief.")
    c.add_user("too long")
    c.add_answer("", error="This conversation is too long")
    c.add_user("shorter")
    assert c.prompt_messages() == [  # never two user turns in a row: the unanswered one goes
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "shorter"},
    ]


def test_a_question_stopped_before_any_word_leaves_the_prompt_with_its_empty_answer():
    c = chat()
    c.add_user("third")
    c.add_answer("", stopped=True)  # Stop before the first token
    c.add_user("fourth")
    c.add_user("fifth")  # sent again without waiting (e.g. after a refused request)
    roles = [(m["role"], m["content"]) for m in c.prompt_messages()]
    assert roles == [
        ("system", "Be brief."), ("user", "first"), ("assistant", "one"), ("user", "second"),
        ("assistant", "two"), ("user", "fifth"),
    ]
    c.messages[-1:] = []  # the last question always goes, even before any answer
    assert c.prompt_messages()[-1] == {"role": "user", "content": "fourth"}


def test_a_stopped_answer_with_words_stays_in_the_prompt():
    c = Conversation()
    c.add_user("story")
    c.add_answer("Once upon", stopped=True)
    c.add_user("go on")
    assert [m["content"] for m in c.prompt_messages()] == ["story", "Once upon", "go on"]


def test_messages_keep_their_ids_and_unknown_fields_through_the_store(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    old = Conversation.from_dict(  # as saved before messages had ids, plus a future field
        {"id": "old", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "mood": 1}]}
    )
    ids = [m.id for m in old.messages]
    assert len(set(ids)) == 2 and [m.id for m in Conversation.from_dict(old.to_dict()).messages] == ids
    store.save(old)
    again = store.load("old")
    assert [m.id for m in again.messages] == ids
    assert again.messages[1].to_dict() == {"role": "assistant", "content": "yo", "id": ids[1], "parent": ids[0], "mood": 1}
    fresh = Conversation()
    fresh.add_user("a")
    fresh.add_user("b")
    assert fresh.messages[0].id != fresh.messages[1].id


def test_title_comes_from_the_first_message():
    c = Conversation()
    c.add_user("  How do   I bake bread at home with only flour, water and salt please?")
    assert c.title.startswith("How do I bake bread") and c.title.endswith("…") and len(c.title) <= 48


def test_store_round_trips_and_lists_newest_first(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    older, newer, someone_elses = chat(), Conversation(), Conversation(owner="other")
    older.owner = newer.owner = "me"
    someone_elses.add_user("private")
    store.save(someone_elses)
    newer.add_user("你好")
    store.save(older)
    store.save(newer)
    again = ConversationStore(tmp_path / "db.sqlite3").load(older.id)  # a restart
    assert again == older
    assert stats_of(again.messages[1]).tokens_per_s == pytest.approx(5.0)
    assert [cid for cid, _ in store.recent("chat", "me")] == [newer.id, older.id]
    assert store.recent("chat", "other") == [(someone_elses.id, "private")]
    assert store.recent("vision", "me") == []
    store.delete(older.id)
    assert store.load(older.id) is None


def test_store_takes_concurrent_writers(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    conversations = [chat() for _ in range(8)]
    threads = [threading.Thread(target=store.save, args=(c,)) for c in conversations]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.recent("chat", "", limit=100)) == 8


@pytest.mark.parametrize(
    "raw,expected",
    [
        (r"Area is \(\pi r^2\).", r"Area is $\pi r^2$."),
        ("\\[\nE = mc^2\n\\]", "$$\nE = mc^2\n$$"),
        (r"Keep `\(x\)` in code", r"Keep `\(x\)` in code"),
        ("```latex\n\\[ a \\]\n```", "```latex\n\\[ a \\]\n```"),
        ("plain $x$ stays", "plain $x$ stays"),
    ],
    ids=["inline", "display", "inline-code", "fenced-code", "dollars"],
)
def test_latex_delimiters_become_streamlit_markdown(raw, expected):
    assert to_streamlit_markdown(raw) == expected
