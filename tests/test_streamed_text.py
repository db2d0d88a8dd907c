"""streamed_text.held_back, the check every streaming parser runs on every chunk, against
its plain definition on many random texts and tag sets, whole and at every split."""

from __future__ import annotations

import random

from glm4_app.streamed_text import held_back


def simply_held_back(text: str, tags: tuple[str, ...]) -> int:
    """The definition: the longest suffix of ``text`` that is a proper prefix of a tag."""
    return max(
        (n for tag in tags for n in range(1, len(tag)) if text.endswith(tag[:n])),
        default=0,
    )


def test_held_back_matches_its_definition_on_random_texts_at_every_split():
    rng = random.Random(20261130)
    alphabet = "<</>ab|"  # few letters: tags start, repeat and overlap often
    for _ in range(400):
        tags = tuple(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 4))
        )
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for end in range(len(text) + 1):  # every chunk boundary of the streamed text
            assert held_back(text[:end], tags) == simply_held_back(text[:end], tags), (text[:end], tags)


def test_held_back_on_the_tags_parsers_use():
    tags = ("</think>", "<tool_call>", "<|observation|>")
    assert held_back("So the answer is 42", tags) == 0
    assert held_back("Done.</thi", tags) == 5
    assert held_back("x <tool_c", tags) == 7
    assert held_back("a < b <", tags) == 1
    assert held_back("<|observation|", tags) == 14
    assert held_back("</think>", tags) == 0  # a whole tag is found, not held
    assert held_back("", tags) == 0
