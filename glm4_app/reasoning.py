"""Split a reasoning model's raw output into its reasoning and its answer, while streaming.

GLM-Z1's prompt ends with ``<think>``, so its output usually starts inside the reasoning and
holds only the closing ``</think>``; sometimes it writes ``<think>`` itself, and a run cut by
max tokens has no ``</think>`` at all. Other models may open with ``<think>`` unprompted.
The splitter gives the same result whether it is fed the whole text or token-sized chunks.

It removes the reasoning and nothing else: the answer's text, its leading whitespace
included, goes on verbatim, because in GLM-4 output a blank first line is meaningful (it
marks a plain answer; ``python`` on the first line marks a call). Whoever shows or stores the
answer strips it (the tool-call parser does; ``Conversation.add_answer`` does).
"""

from __future__ import annotations

from typing import Iterable, Iterator

from .events import TERMINAL, Event, ReasoningDelta, TextDelta
from .streamed_text import held_back

OPEN, CLOSE = "<think>", "</think>"


class ReasoningSplitter:
    def __init__(self, starts_inside: bool, started: bool = False) -> None:
        self._inside = starts_inside
        self._pending = ""  # text held back because it may be the start of a tag
        # ``started``: the output carries on an answer already begun (see written_so_far),
        # so its first piece keeps its leading space.
        self._reasoning_started = started
        self._answer_started = started and not starts_inside

    def feed(self, text: str) -> list[Event]:
        self._pending += text
        out: list[Event] = []
        while self._pending:
            if self._inside and not self._reasoning_started:
                # The model repeating the `<think>` its prompt already ends with.
                head = self._pending.lstrip()
                if OPEN.startswith(head):
                    break  # all whitespace, or a possible `<think>`: wait for more
                if head.startswith(OPEN):
                    self._pending = head[len(OPEN) :]
                    continue
            tag = CLOSE if self._inside else OPEN
            at = self._pending.find(tag)
            if at < 0:
                keep = held_back(self._pending, (tag,))
                cut = len(self._pending) - keep
                self._emit(self._pending[:cut], out)
                self._pending = self._pending[cut:]
                break
            self._emit(self._pending[:at], out)
            self._pending = self._pending[at + len(tag) :]
            if tag == CLOSE:
                self._inside = False
            elif self._answer_started:
                self._emit(OPEN, out)  # `<think>` inside an answer is just text
            else:
                self._inside = True
        return out

    def flush(self) -> list[Event]:
        out: list[Event] = []
        self._emit(self._pending, out)
        self._pending = ""
        return out

    def _emit(self, text: str, out: list[Event]) -> None:
        if self._inside:
            if not self._reasoning_started:
                text = text.lstrip()
            if text:
                self._reasoning_started = True
                out.append(ReasoningDelta(text))
            return
        if text:
            # Whitespace alone does not start the answer: a `<think>` may still follow it.
            self._answer_started = self._answer_started or not text.isspace()
            out.append(TextDelta(text))


def split_reasoning(
    chunks: Iterable[Event], starts_inside: bool, started: bool = False
) -> Iterator[Event]:
    """Turn TextDelta events of raw output into ReasoningDelta/TextDelta; others pass through.
    Held-back text is flushed only at the end: a heartbeat between two halves of ``</think>``
    must not print the first half as answer text."""
    splitter = ReasoningSplitter(starts_inside, started)
    for event in chunks:
        if isinstance(event, TextDelta):
            yield from splitter.feed(event.text)
        else:
            if isinstance(event, TERMINAL):
                yield from splitter.flush()
            yield event
    yield from splitter.flush()


def written_so_far(answer: str, reasoning: str, prompt_opens_think: bool) -> tuple[str, bool]:
    """The raw output an answer had when it stopped, to put after the generation prompt so
    the model carries on from there; and whether that output ends inside the reasoning."""
    if prompt_opens_think:
        return reasoning + (CLOSE + answer if answer else ""), not answer
    if reasoning:
        return OPEN + reasoning + (CLOSE + answer if answer else ""), not answer
    return answer, False
