"""GLM-4.1V-Thinking (and at times GLM-4.5V/4.6V) write their answer inside ``<answer>`` …
``</answer>`` after the reasoning. The tags are markup: every vision backend, in-process or
served (raw completions or chat completions), streams the answer through here, so neither the
page nor the history ever shows them. Pure: events in, events out.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..events import Event, TextDelta
from ..streamed_text import held_back

ANSWER_TAGS = ("<answer>", "</answer>")


def without_answer_tags(events: Iterable[Event], tags: tuple[str, ...] = ANSWER_TAGS) -> Iterator[Event]:
    """The events with the tags dropped from the answer text, also when a tag is split across
    chunks (a possible start of one is held back until the next text or event)."""
    pending = ""
    for event in events:
        if not isinstance(event, TextDelta):
            if pending:
                yield TextDelta(pending)
                pending = ""
            yield event
            continue
        pending += event.text
        for tag in tags:
            pending = pending.replace(tag, "")
        keep = held_back(pending, tuple(tags))
        text, pending = (pending[:-keep], pending[-keep:]) if keep else (pending, "")
        if text:
            yield TextDelta(text)
    if pending:
        yield TextDelta(pending)
