"""The All Tools loop: generate, parse, run the tool, send the observation back, repeat.

Plain Python generators of typed events, free of Streamlit. Each step streams the model's
prose and its tool call as they are written; tools run on a worker thread while heartbeats
keep the consumer responsive, so Stop works at any step (closing this generator cancels the
model request or interrupts the tool). A tool failure is an observation the model reads,
never an exception that ends the turn.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Iterator

from .events import (
    Done,
    Error,
    Event,
    Stats,
    TextDelta,
    ToolOutcome,
    ToolRunning,
)
from .generation import ChatBackend, GenerationParams, Message
from .tools.base import Tool, ToolCall, ToolResult
from .tools.parser import StreamingToolParser
from .tool_steps import call_messages

HEARTBEAT_S = 0.25


def run_agent(
    backend: ChatBackend,
    messages: list[Message],
    params: GenerationParams,
    tools: dict[str, Tool],
    max_steps: int = 10,
    cache_key: str | None = None,
) -> Iterator[Event]:
    """Events of one answer that may chain up to ``max_steps`` tool calls.

    Besides the model's events it yields ToolCallStart/ToolCallDelta while a call is
    written, ToolRunning heartbeats and a ToolOutcome per executed call; the final Done
    carries the tokens of every step. ``messages`` is not modified: the tool steps to keep
    in history are the ToolOutcome events (see ``history_messages``).
    """
    history = list(messages)
    declarations = [tool.declaration() for tool in tools.values()] or None
    totals: list[Stats] = []
    for step in range(1, max_steps + 2):
        parser = StreamingToolParser(tools.keys())
        stats = None
        for event in backend.stream(history, params, declarations, cache_key):
            if isinstance(event, TextDelta):
                yield from parser.feed(event.text)
            elif isinstance(event, Done):
                stats = event.stats
            elif isinstance(event, Error):
                yield event
                return
            else:
                yield event
        yield from parser.flush()  # text held back while it might have been a tool name
        output = parser.finish()
        totals.append(stats)
        if not output.calls:
            yield Done(_combined(totals))
            return
        if stats.finish_reason in ("length", "context", "cancelled"):
            yield Error(_CUT_OFF[stats.finish_reason], "backend")
            return
        if step > max_steps:
            yield Error(
                f"Stopped after {max_steps} tool steps without a final answer "
                "(GLM4_TOOL_MAX_STEPS). Ask again, or raise the limit.",
                "backend",
            )
            return
        if output.text:
            history.append({"role": "assistant", "content": output.text})
        for call in output.calls:
            result = yield from run_tool(tools.get(call.name), call, tools)
            yield ToolOutcome(step, call, result)
            history += call_messages(call, result)


_CUT_OFF = {
    "length": "The answer reached the max new tokens limit in the middle of a tool call; "
    "nothing was run. Raise max new tokens and regenerate.",
    "context": "The context window filled up in the middle of a tool call; nothing was run. "
    "Start a new chat or remove earlier turns.",
    "cancelled": "Stopped.",
}


def run_tool(tool: Tool | None, call: ToolCall, tools: dict[str, Tool]) -> Iterator[Event]:
    """Run ``call`` on a worker thread, yielding heartbeats; returns the ToolResult.

    If the consumer stops listening (Stop, a closed tab), the tool is told to cancel.
    """
    if tool is None:
        names = ", ".join(tools) or "none"
        return ToolResult(
            f"There is no tool named {call.name!r}. Available tools: {names}.", is_error=True
        )
    cancel = threading.Event()
    box: dict[str, ToolResult] = {}
    worker = threading.Thread(
        target=lambda: box.setdefault("result", _safe_run(tool, call, cancel)),
        name=f"tool-{call.name}",
        daemon=True,
    )
    started = time.monotonic()
    worker.start()
    try:
        while worker.is_alive():
            worker.join(HEARTBEAT_S)
            if worker.is_alive():
                yield ToolRunning(call.name, time.monotonic() - started)
    finally:
        if worker.is_alive():
            cancel.set()
    return box["result"]


def _safe_run(tool: Tool, call: ToolCall, cancel: threading.Event) -> ToolResult:
    try:
        return tool.run(call, cancel)
    except Exception as exc:  # tools promise not to raise; a bug still must not end the turn
        return ToolResult(f"The tool failed: {type(exc).__name__}: {exc}", is_error=True)


def _combined(steps: list[Stats]) -> Stats:
    """One line of stats for the whole answer: the last prompt (the context used), every
    step's new tokens, the first step's time to first token."""
    last = steps[-1]
    return replace(
        last,
        completion_tokens=sum(s.completion_tokens for s in steps),
        ttft_s=steps[0].ttft_s,
        decode_s=sum(s.decode_s for s in steps),
    )
