"""Documents and turns against the context window: exact, chosen by the user, never silent."""

from __future__ import annotations

import pytest

from glm4_app.doc_budget import DoesNotFit, Doc, build_messages, documents_block, fit


def words(messages):  # a stand-in tokenizer: one token per word, four per message
    return sum(len(m["content"].split()) + 4 for m in messages)


DOCS = [Doc("a.txt", " ".join(f"alpha{i}" for i in range(400))), Doc("b.md", " ".join(f"beta{i}" for i in range(200)))]
TURNS = [
    {"role": "user", "content": "first question " * 20},
    {"role": "assistant", "content": "first answer " * 20},
    {"role": "user", "content": "second question"},
]


def test_documents_use_the_reference_format_and_a_stable_place():
    block = documents_block(DOCS)
    assert block.startswith("[File Name]\na.txt\n[File Content]\nalpha0 ")
    assert "\n\n[File Name]\nb.md\n[File Content]\nbeta0" in block
    one_turn = build_messages("Be precise.", DOCS, TURNS[:1])
    three_turns = build_messages("Be precise.", DOCS, TURNS)
    assert three_turns[:2] == one_turn[:2]  # the document part never moves


def test_fitting_prompt_is_returned_unchanged():
    result = fit("", DOCS, TURNS, window=2000, reserve=100, count=words, strategy=None)
    assert result.messages == build_messages("", DOCS, TURNS) and result.note == ""
    assert result.tokens == words(result.messages)


def test_too_long_without_a_choice_is_never_cut_silently():
    with pytest.raises(DoesNotFit, match="take 708 tokens; the model reads 500"):
        fit("", DOCS, TURNS, window=500, reserve=100, count=words, strategy=None)


def test_truncate_keeps_head_and_tail_with_a_marker():
    result = fit("", DOCS, TURNS, window=500, reserve=100, count=words, strategy="truncate")
    assert result.tokens <= 400 and words(result.messages) == result.tokens
    docs_text = result.messages[0]["content"]
    assert "alpha0 " in docs_text and "alpha399" in docs_text  # start and end of each kept
    assert "beta0 " in docs_text and "beta199" in docs_text
    assert docs_text.count("left out to fit the context") == 2
    assert result.messages[1:] == TURNS  # the conversation is untouched
    assert "shortened" in result.note


def test_drop_turns_keeps_documents_and_the_latest_question():
    result = fit("", DOCS, TURNS, window=760, reserve=100, count=words, strategy="drop_turns")
    assert result.messages[-1] == TURNS[-1] and TURNS[0] not in result.messages
    assert result.messages[0]["content"] == documents_block(DOCS)
    assert "1 oldest turn" in result.note


def test_drop_turns_cannot_help_when_documents_alone_are_too_long():
    with pytest.raises(DoesNotFit, match="documents themselves are too long"):
        fit("", DOCS, TURNS, window=300, reserve=100, count=words, strategy="drop_turns")
