"""Live output of a running tool: what it prints reaches the page while it still runs.

The answer's owner (turns.py) runs a tool inside ``output_to(sink)``; a tool that produces
output bit by bit (the Python kernel's prints and progress) calls ``emit(text)`` as each bit
arrives. A context variable, not an argument, so the Tool protocol and the agent loop stay
as they are; it holds for the thread that runs the tool. Without a sink ``emit`` does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

_sink: ContextVar[Callable[[str], None] | None] = ContextVar("tool_output_sink", default=None)


@contextmanager
def output_to(sink: Callable[[str], None]) -> Iterator[None]:
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def emit(text: str) -> None:
    sink = _sink.get()
    if sink is None or not text:
        return
    try:
        sink(text)
    except Exception:  # showing output live must never break the tool itself
        log.exception("live tool output sink failed")
