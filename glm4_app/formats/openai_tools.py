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
from ..tool_types import ToolCall
from .base import Message, OutputParser, ParsedOutput, StreamEvent, ToolFormat, function_spec
from .segments import build_call, json_object


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
        self._text: list[str] = []
        self._held = ""  # trailing whitespace of the prose so far
        self._calls: dict[int, dict] = {}  # index -> {"id", "name", "args": [str], "started"}
        self._current: int | None = None  # the call whose arguments stream to the UI
        self._flushed = False

    def feed(self, text: str) -> list[StreamEvent]:
        if self._flushed:
            return []
        text = self._held + text
        if not self._text:
            text = text.lstrip()
        body = text.rstrip()
        self._held = text[len(body) :]
        if not body:
            return []
        self._text.append(body)
        return [TextDelta(body)]

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
        return ParsedOutput("".join(self._text), calls)


# -- Stored messages <-> OpenAI messages --------------------------------------------------------


def to_openai_messages(messages: list[Message]) -> list[dict]:
    """Stored messages as OpenAI chat messages: a call becomes an assistant ``tool_calls``
    entry (merged into the prose just before it), its observation a ``role: tool`` message.
    A user message keeps its ``images`` (file paths) for the backend to attach."""
    out: list[dict] = []
    pending: list[str] = []  # ids of calls still waiting for their result
    for n, m in enumerate(messages):
        role = m["role"]
        if role == "assistant" and m.get("metadata"):
            call_id = m.get("call_id") or f"call_{n}"
            entry = {"id": call_id, "type": "function", "function": {"name": m["metadata"], "arguments": _arguments_json(m)}}
            last = out[-1] if out else None
            if last and last["role"] == "assistant" and "tool_calls" not in last and not pending:
                last["tool_calls"] = [entry]  # "Let me check." + the call, as the API returned them
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [entry]})
            pending.append(call_id)
            continue
        if role == "observation":
            call_id = m.get("call_id") or (pending[0] if pending else f"call_{n}")
            if call_id in pending:
                pending.remove(call_id)
            out.append({"role": "tool", "tool_call_id": call_id, "content": m["content"]})
            continue
        out += [{"role": "tool", "tool_call_id": i, "content": "[no result]"} for i in pending]
        pending = []
        message = {"role": role, "content": m["content"]}
        if role == "user" and m.get("images"):
            message["images"] = list(m["images"])
        out.append(message)
    out += [{"role": "tool", "tool_call_id": i, "content": "[no result]"} for i in pending]
    return out


def _arguments_json(call_message: Message) -> str:
    name, body = call_message["metadata"], call_message["content"]
    builtin = BUILTINS.get(name)
    if builtin is not None:
        return json.dumps({builtin.argument: body}, ensure_ascii=False)
    args = json_object(body)
    # Servers parse the arguments of earlier calls: malformed ones go back as an empty object
    # (the observation already told the model what was wrong with them).
    return json.dumps(args, ensure_ascii=False) if args is not None else "{}"


def from_openai_messages(messages: list[dict]) -> list[Message]:
    """OpenAI chat messages (as an API client sends them) as stored messages, ready for any
    format's ``template_inputs``: ``tool_calls`` become call messages, ``role: tool`` messages
    observations. Content parts other than text are left to the caller."""
    out: list[Message] = []
    for m in messages:
        role, content = m.get("role"), _text(m.get("content"))
        if role == "assistant":
            if content:
                out.append({"role": "assistant", "content": content})
            for call in m.get("tool_calls") or ():
                function = call.get("function") or {}
                name, arguments = function.get("name", ""), function.get("arguments") or "{}"
                body = build_call(name, arguments).body if name in BUILTINS else arguments
                out.append({"role": "assistant", "metadata": name, "content": body, "call_id": call.get("id")})
        elif role == "tool":
            out.append({"role": "observation", "metadata": "", "content": content, "call_id": m.get("tool_call_id")})
        else:
            out.append({"role": "system" if role == "developer" else role, "content": content})
    return out


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
