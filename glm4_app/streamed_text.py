"""Text streamed in chunks. A chunk may end in the first characters of ``</think>``,
``<tool_call>``, a stop sequence... which the next chunk completes: every streaming parser
finds the first whole tag and holds back an end that may be the start of one. Whitespace at
the edges is held the same way (``Stripped``), so whole and chunked text parse alike."""

from __future__ import annotations


def first_tag(text: str, tags: tuple[str, ...]) -> tuple[int, str | None]:
    """Where the first of ``tags`` in ``text`` starts, and which; (-1, None) for none."""
    found = [(at, tag) for tag in tags if (at := text.find(tag)) >= 0]
    return min(found) if found else (-1, None)


def held_back(text: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of one of ``tags``:
    what to hold back until the next chunk says whether a tag starts there. Runs on every
    streamed chunk, so only the last ``len(tag) - 1`` characters are looked at, from the
    first place a tag's first character occurs there (the earliest match is the longest)."""
    longest = 0
    for tag in tags:
        if len(tag) < 2:
            continue  # no proper prefix to hold
        at = text.find(tag[0], max(0, len(text) - len(tag) + 1))
        while at >= 0 and len(text) - at > longest:
            if tag.startswith(text[at:]):
                longest = len(text) - at
                break
            at = text.find(tag[0], at + 1)
    return longest


class Stripped:
    """Text streamed stripped: leading whitespace dropped, trailing whitespace held until more
    text follows it (so whole and chunked give the same pieces' concatenation)."""

    def __init__(self) -> None:
        self.text = ""  # what was let through
        self.held = ""

    def feed(self, text: str) -> str:
        text = self.held + text
        if not self.text:
            text = text.lstrip()
        body = text.rstrip()
        self.held = text[len(body) :]
        self.text += body
        return body
