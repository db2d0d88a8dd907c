"""The All Tools loop: generate, parse, run the tool, send the observation back, repeat.

Plain Python generators of typed events, free of Streamlit. Each step streams the model's
prose and its tool call as they are written; the backend's format (formats/) parses its
output, whether calls come inside the text (GLM-4) or as native ``tool_calls`` (chat APIs).
Tools run on a worker thread while heartbeats keep the consumer responsive, so Stop works at
any step (closing this generator cancels the model request or interrupts the tool). A tool
failure is an observation the model reads, never an exception that ends the turn.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Iterator

from . import runner
from .builtin_tools import BUILTINS
from .events import (
    Done, Error, Event, ReasoningDelta, Stats, TextDelta, ToolCallChunk, ToolOutcome, ToolRunning,
)
from .formats import format_of
from .generation import ChatBackend, GenerationParams, Message
from .notices import Notice
from .tool_steps import call_messages
from .tool_types import ToolCall, ToolResult
from .tools.base import Tool

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
    tool_format = format_of(backend.info)
    totals: list[Stats] = []
    for step in range(1, max_steps + 2):
        parser = tool_format.parser(tools.keys(), declarations)
        stats, reasoning = None, []
        for event in backend.stream(history, params, declarations, cache_key):
            if isinstance(event, TextDelta):
                yield from parser.feed(event.text)
            elif isinstance(event, ToolCallChunk):
                yield from parser.feed_call(event)
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
                yield event
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
            yield Error(Notice("agent.too_many_steps", steps=max_steps), "backend")
            return
        # The step goes back as written, its thinking too: templates that keep the thinking
        # of the answer in progress (GLM-4.5) render it, the others drop it.
        thought = {"reasoning": "".join(reasoning)} if reasoning else {}
        if output.text:
            history.append({"role": "assistant", "content": output.text, **thought})
            thought = {}
        for call in output.calls:
            result = yield from run_tool(tools.get(call.name), call, tools)
            yield ToolOutcome(step, call, result)
            steps = call_messages(call, result, step)
            steps[0].update(thought)
            history += steps
            thought = {}


_CUT_OFF = {
    "length": Notice("agent.call_cut_by_length"),
    "context": Notice("agent.call_cut_by_context"),
    "cancelled": Notice("agent.stopped"),
}


def run_tool(tool: Tool | None, call: ToolCall, tools: dict[str, Tool]) -> Iterator[Event]:
    """Run ``call`` on a worker thread, yielding heartbeats; returns the ToolResult.

    If the consumer stops listening (Stop, a closed tab), the tool is told to cancel.
    """
    if tool is None:
        return not_offered(call, tools)
    cancel = threading.Event()
    job = runner.start(lambda: _safe_run(tool, call, cancel), name=f"tool-{call.name}")
    try:
        return (yield from runner.heartbeats(job, HEARTBEAT_S, lambda s: ToolRunning(call.name, s)))
    finally:
        if not job.done():
            cancel.set()


def not_offered(call: ToolCall, tools: dict[str, Tool]) -> ToolResult:
    """The observation for a call to a tool this conversation does not offer."""
    names = tuple(tools) or Notice("tool.no_tools")
    if call.name in BUILTINS:
        notice = Notice("tool.switched_off", name=call.name, tools=names)
        return replace(ToolResult.failure(notice), not_run="switched_off")
    notice = Notice("tool.no_such_tool", name=repr(call.name), tools=names)
    return replace(ToolResult.failure(notice), not_run="unknown")


def _safe_run(tool: Tool, call: ToolCall, cancel: threading.Event) -> ToolResult:
    try:
        return tool.run(call, cancel)
    except Exception as exc:  # tools promise not to raise; a bug still must not end the turn
        return ToolResult.failure(Notice("tool.failed", error=f"{type(exc).__name__}: {exc}"))


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
