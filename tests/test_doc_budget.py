"""Documents and turns against the context window: in the reference layout, exact, chosen by
the user, never silent."""

from __future__ import annotations

import pytest

from glm4_app.doc_budget import DoesNotFit, Doc, build_messages, documents_block, fit


def words(messages):  # a stand-in tokenizer: one token per word, four per message
    return sum(len(m["content"].split()) + 4 for m in messages)


DOCS = [Doc("a.txt", " ".join(f"alpha{i}" for i in range(400))), Doc("b.md", " ".join(f"beta{i}" for i in range(200)))]
TURNS = [
    {"role": "user", "content": "first question " * 20, "documents": DOCS},
    {"role": "assistant", "content": "first answer " * 20},
    {"role": "user", "content": "second question"},
]


def test_documents_go_into_the_turn_they_came_with_in_the_reference_layout():
    messages = build_messages("Be precise.", TURNS)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert all("documents" not in m for m in messages)
    first = messages[1]["content"]
    assert first == documents_block(DOCS) + "\n\n\n2 files uploaded.\n" + "first question " * 20
    assert first.startswith("[File Name]\na.txt\n[File Content]\nalpha0 ")
    assert "alpha399\n\n[File Name]\nb.md\n[File Content]\nbeta0" in first
    assert messages[3] == TURNS[2]  # a turn without documents is left as it is


def test_an_upload_at_a_later_turn_leaves_the_earlier_turns_unchanged():
    before = build_messages("Be precise.", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    later = {"role": "user", "content": "what is in it?", "documents": DOCS[1:]}
    after = build_messages("Be precise.", [*before[1:], later])
    assert after[: len(before)] == before  # the prompt's start, and so its cached prefix, holds
    assert after[-1]["content"].endswith("\n\n\n1 files uploaded.\nwhat is in it?")


def test_fitting_prompt_is_returned_unchanged():
    result = fit("", TURNS, window=2000, reserve=100, count=words, strategy=None)
    assert result.messages == build_messages("", TURNS) and result.note == ""
    assert result.tokens == words(result.messages)


def test_too_long_without_a_choice_is_never_cut_silently():
    tokens = words(build_messages("", TURNS))
    with pytest.raises(DoesNotFit, match=f"take {tokens:,} tokens; the model reads 500"):
        fit("", TURNS, window=500, reserve=100, count=words, strategy=None)


def test_truncate_keeps_head_and_tail_with_a_marker_in_the_same_place():
    result = fit("", TURNS, window=500, reserve=100, count=words, strategy="truncate")
    assert result.tokens <= 400 and words(result.messages) == result.tokens
    docs_text = result.messages[0]["content"]
    assert "alpha0 " in docs_text and "alpha399" in docs_text  # start and end of each kept
    assert "beta0 " in docs_text and "beta199" in docs_text
    assert docs_text.count("left out to fit the context") == 2
    assert docs_text.endswith("\n\n\n2 files uploaded.\n" + "first question " * 20)  # the question is whole
    assert result.messages[1:] == TURNS[1:]  # the rest of the conversation is untouched
    assert "shortened" in str(result.note)


def test_drop_turns_keeps_the_documents_in_the_first_turn_kept():
    result = fit("", TURNS, window=760, reserve=100, count=words, strategy="drop_turns")
    assert [m["role"] for m in result.messages] == ["user"]
    assert result.messages[0]["content"] == documents_block(DOCS) + "\n\n\n2 files uploaded.\nsecond question"
    assert "1 oldest turn" in str(result.note)


def test_drop_turns_cannot_help_when_documents_alone_are_too_long():
    with pytest.raises(DoesNotFit, match="documents themselves are too long"):
        fit("", TURNS, window=300, reserve=100, count=words, strategy="drop_turns")
