"""OpenAI's native tool calls, as every chat-completions API speaks them (vLLM and SGLang with
a tool parser, Zhipu's open platform, Ollama, llama.cpp's server).

Tools go out as ``tools=[{"type": "function", ...}]`` (built-ins as functions with one string
argument); calls come back as streamed ``tool_calls`` deltas whose JSON arguments arrive in
pieces (``ToolCallChunk`` events), and results go back as ``role: tool`` messages answering
the call's id. Stored steps without an id (made by another backend) get stable ones here, so
a conversation can move between backends.

The helpers at the end are the entry points for an OpenAI-compatible API served by the app:
OpenAI messages in (``from_openai_messages``), ``tool_calls`` out (``openai_tool_calls``).
"""

from __future__ import annotations

import json
from typing import Any, Collection

from ..builtin_tools import BUILTINS
from ..events import TextDelta, ToolCallChunk, ToolCallDelta, ToolCallStart
from ..streamed_text import Stripped
from ..tool_types import NO_OUTPUT, ToolCall
from .base import Message, OutputParser, ParsedOutput, StreamEvent, ToolFormat, function_spec
from .segments import build_call, stored_arguments


class OpenAIToolsFormat(ToolFormat):
    name = "openai"
    native = True

    def template_inputs(
        self, messages: list[Message], tools: list[dict] | None
    ) -> tuple[list[dict], dict[str, Any]]:
        extra = {"tools": [function_spec(t) for t in tools]} if tools else {}
        return to_openai_messages(messages), extra

    def parser(self, tool_names: Collection[str], declarations: list[dict] | None = None) -> OutputParser:
        return NativeCallParser()

    def starts_in_reasoning(self, prompt: str) -> bool:
        return False  # reasoning comes as reasoning_content, or opens with its own <think>


class NativeCallParser(OutputParser):
    """Prose from content deltas, calls from tool_calls deltas (by index: parallel calls
    stream one after another, each opened by a chunk with its id and name)."""

    def __init__(self) -> None:
        self._prose = Stripped()
        self._calls: dict[int, dict] = {}  # index -> {"id", "name", "args": [str], "started"}
        self._current: int | None = None  # the call whose arguments stream to the UI
        self._flushed = False

    def feed(self, text: str) -> list[StreamEvent]:
        if self._flushed:
            return []
        body = self._prose.feed(text)
        return [TextDelta(body)] if body else []

    def feed_call(self, chunk: ToolCallChunk) -> list[StreamEvent]:
        if self._flushed:
            return []
        entry = self._calls.setdefault(chunk.index, {"id": None, "name": "", "args": [], "started": False})
        entry["id"] = entry["id"] or chunk.id
        entry["name"] = entry["name"] or (chunk.name or "")  # some servers repeat it: first wins
        out: list[StreamEvent] = []
        if chunk.arguments:
            entry["args"].append(chunk.arguments)
        if entry["name"] and not entry["started"]:
            entry["started"] = True
            self._current = chunk.index
            out.append(ToolCallStart(entry["name"]))
            if entry["args"]:
                out.append(ToolCallDelta("".join(entry["args"])))
        elif entry["started"] and chunk.arguments and self._current == chunk.index:
            out.append(ToolCallDelta(chunk.arguments))
        return out

    def flush(self) -> list[StreamEvent]:
        if self._flushed:
            return []
        self._flushed = True
        out: list[StreamEvent] = []
        for entry in self._calls.values():  # a call whose name never came is still a call
            if not entry["started"]:
                entry["started"] = True
                out += [ToolCallStart(entry["name"]), ToolCallDelta("".join(entry["args"]))]
        return out

    def finish(self) -> ParsedOutput:
        self.flush()
        calls = tuple(
            build_call(e["name"], "".join(e["args"]), e["id"]) for _, e in sorted(self._calls.items())
        )
        return ParsedOutput(self._prose.text, calls)


# -- Stored messages <-> OpenAI messages --------------------------------------------------------


def to_openai_messages(messages: list[Message]) -> list[dict]:
    """Stored messages as OpenAI chat messages: a call becomes an assistant ``tool_calls``
    entry (merged into the prose just before it, and with the other calls of its ``step``:
    parallel calls are one message, as the API returned them), its observation a
    ``role: tool`` message. The thinking of the answer being written (the messages after the
    last user message) goes back as ``reasoning_content``, which GLM-4.5+ templates render
    for those steps only, as vLLM and SGLang serve them; earlier answers' thinking is never
    sent. A user message keeps its ``images`` (file paths) for the backend to attach."""
    out: list[dict] = []
    pending: list[str] = []  # ids of calls still waiting for their result
    calls_of: tuple[dict, Any] | None = None  # the last assistant message with calls, its step
    current = _after_last_user(messages)
    for n, m in enumerate(messages):
        role = m["role"]
        reasoning = m.get("reasoning") if role == "assistant" and n >= current else None
        if role == "assistant" and m.get("metadata"):
            call_id = m.get("call_id") or f"call_{n}"
            entry = {"id": call_id, "type": "function", "function": {"name": m["metadata"], "arguments": _arguments_json(m)}}
            step = m.get("step")
            last = out[-1] if out else None
            if calls_of and step is not None and calls_of[1] == step:
                message = calls_of[0]  # a parallel call: its results so far stay after the message
                message["tool_calls"].append(entry)
            elif last and last["role"] == "assistant" and "tool_calls" not in last and not pending:
                message = last  # "Let me check." + the call, as the API returned them
                message["tool_calls"] = [entry]
            else:
                message = {"role": "assistant", "content": None, "tool_calls": [entry]}
                out.append(message)
            if reasoning and not message.get("reasoning_content"):
                message["reasoning_content"] = reasoning
            calls_of = (message, step)
            pending.append(call_id)
            continue
        if role == "observation":
            call_id = m.get("call_id") or (pending[0] if pending else f"call_{n}")
            if call_id in pending:
                pending.remove(call_id)
            out.append({"role": "tool", "tool_call_id": call_id, "content": m["content"]})
            continue
        out += [{"role": "tool", "tool_call_id": i, "content": "[no result]"} for i in pending]
        pending, calls_of = [], None
        message = {"role": role, "content": m["content"]}
        if reasoning:
            message["reasoning_content"] = reasoning
        if role == "user" and m.get("images"):
            message["images"] = list(m["images"])
        out.append(message)
    out += [{"role": "tool", "tool_call_id": i, "content": "[no result]"} for i in pending]
    return out


def _after_last_user(messages: list[Message]) -> int:
    """Where the answer being written starts: just after the last user message."""
    users = [n for n, m in enumerate(messages) if m["role"] == "user"]
    return users[-1] + 1 if users else 0


def _arguments_json(call_message: Message) -> str:
    args = stored_arguments(call_message["metadata"], call_message["content"])
    # Servers parse the arguments of earlier calls: malformed ones go back as an empty object
    # (the observation already told the model what was wrong with them).
    return json.dumps(args, ensure_ascii=False) if args is not None else "{}"


def from_openai_messages(messages: list[dict]) -> list[Message]:
    """OpenAI chat messages (as an API client sends them) as stored messages, ready for any
    format's ``template_inputs``, in the shape the app stores its own steps: each call
    (``tool_calls`` entry) followed by its result (the ``role: tool`` message answering its
    id), the calls of one assistant message sharing a ``step`` (parallel calls). An empty
    result reads ``[no output]``, as the app's own tools write it. An assistant message's
    ``reasoning_content`` rides on its first stored message (templates that keep the thinking
    of the answer being written use it). Content parts other than text are left to the
    caller; a user message's ``images`` (file paths) are kept for a vision backend."""
    out: list[Message] = []
    placed: set[int] = set()  # tool messages already put after their call
    for n, m in enumerate(messages):
        role, content = m.get("role"), _text(m.get("content"))
        if role == "assistant":
            start, results = len(out), _results_after(messages, n)
            if content:
                out.append({"role": "assistant", "content": content})
            for call in m.get("tool_calls") or ():
                function = call.get("function") or {}
                name, arguments = function.get("name", ""), function.get("arguments") or "{}"
                body = build_call(name, arguments).body if name in BUILTINS else arguments
                out.append({"role": "assistant", "metadata": name, "content": body, "call_id": call.get("id"), "step": n})
                result = results.pop(call.get("id"), None) if call.get("id") else None
                if result is not None:
                    placed.add(id(result))
                    out.append(_observation(result))
            if m.get("reasoning_content") and len(out) > start:
                out[start]["reasoning"] = m["reasoning_content"]
        elif role == "tool":
            if id(m) not in placed:
                out.append(_observation(m))
        else:
            message = {"role": "system" if role == "developer" else role, "content": content}
            if role == "user" and m.get("images"):
                message["images"] = list(m["images"])
            out.append(message)
    return out


def _results_after(messages: list[dict], n: int) -> dict[str, dict]:
    """The ``role: tool`` messages right after message ``n``, by the call id they answer."""
    results: dict[str, dict] = {}
    for m in messages[n + 1 :]:
        if m.get("role") != "tool":
            break
        if m.get("tool_call_id"):
            results.setdefault(m["tool_call_id"], m)
    return results


def _observation(m: dict) -> Message:
    content = _text(m.get("content")) or str(NO_OUTPUT)
    return {"role": "observation", "metadata": "", "content": content, "call_id": m.get("tool_call_id")}


def openai_tool_calls(calls: tuple[ToolCall, ...] | list[ToolCall]) -> list[dict]:
    """Parsed calls as the ``tool_calls`` of an OpenAI chat completion message."""
    out = []
    for n, call in enumerate(calls):
        builtin = BUILTINS.get(call.name)
        if builtin is not None:
            arguments = json.dumps({builtin.argument: call.body}, ensure_ascii=False)
        else:
            arguments = json.dumps(call.arguments, ensure_ascii=False) if call.arguments is not None else call.body
        out.append({"id": call.id or f"call_{n}", "type": "function", "function": {"name": call.name, "arguments": arguments}})
    return out


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content or ""
