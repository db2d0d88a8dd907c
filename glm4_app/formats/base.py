"""What a model format is: how tools are declared, how tool steps are written back into the
messages, how the model's output is parsed, and whether the output starts inside reasoning.

Conversations store tool steps in one neutral shape (tool_steps.call_messages): the call as
``{"role": "assistant", "metadata": name, "content": body}`` and the result as
``{"role": "observation", "metadata": ..., "content": ...}``, both with ``call_id`` when the
API gave the call an id. A call may carry ``step`` (calls of one output share it: parallel
calls) and, inside the answer being written, prose and calls carry the step's ``reasoning``
(templates that keep the current turn's thinking use it; the others drop it). Each format
renders that history its own way, so a conversation keeps working when the backend or
checkpoint changes. Pure: no torch, no Streamlit, no I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Collection, Union

from ..builtin_tools import BUILTINS
from ..events import TextDelta, ToolCallChunk, ToolCallDelta, ToolCallStart
from ..tool_types import ToolCall

StreamEvent = Union[TextDelta, ToolCallStart, ToolCallDelta]
Message = dict


@dataclass(frozen=True)
class ParsedOutput:
    text: str  # the prose for the user (prose segments, stripped, joined by a blank line)
    calls: tuple[ToolCall, ...]  # in order; may name tools that were not offered


class OutputParser(ABC):
    """One model output, fed as it streams. The TextDeltas of ``feed``/``feed_call`` +
    ``flush`` concatenate to ``finish().text``; the same result whole or in any chunks."""

    @abstractmethod
    def feed(self, text: str) -> list[StreamEvent]:
        """More raw output text."""

    @abstractmethod
    def feed_call(self, chunk: ToolCallChunk) -> list[StreamEvent]:
        """More of a native tool call (chat-completions ``tool_calls`` deltas)."""

    @abstractmethod
    def flush(self) -> list[StreamEvent]:
        """The output has ended: emit what was held back."""

    @abstractmethod
    def finish(self) -> ParsedOutput:
        """The parsed output (flushes first if needed)."""


class ToolFormat(ABC):
    name: str  # the registry key (formats/__init__.py)
    native: bool = False  # calls arrive as API tool_calls, not inside the text

    @abstractmethod
    def template_inputs(
        self, messages: list[Message], tools: list[dict] | None
    ) -> tuple[list[dict], dict[str, Any]]:
        """The messages and extra arguments (``tools=``) for the chat template or the API,
        from stored messages (tool steps in the neutral shape) and tool declarations
        (``{"type": "python"}`` or OpenAI-style function specs)."""

    @abstractmethod
    def parser(self, tool_names: Collection[str], declarations: list[dict] | None = None) -> OutputParser:
        """A parser for one output; ``tool_names`` are the tools offered in this conversation,
        ``declarations`` their declarations (formats whose calls write raw values type them
        by the declared schemas)."""

    def parse(
        self, raw: str, tool_names: Collection[str], declarations: list[dict] | None = None
    ) -> ParsedOutput:
        """A whole raw output at once."""
        parser = self.parser(tool_names, declarations)
        parser.feed(raw)
        return parser.finish()

    def starts_in_reasoning(self, prompt: str) -> bool:
        """Whether the output continues a ``<think>`` the prompt opened (GLM-Z1)."""
        return prompt.rstrip().endswith("<think>")


def plain_messages(messages: list[Message]) -> list[dict]:
    """Only what a template should see: earlier reasoning and UI-only fields are never sent
    back; tool calls and observations keep their metadata (the tool name, ``browser_result``)."""
    out = []
    for m in messages:
        message = {"role": m["role"], "content": m["content"]}
        if m.get("metadata"):
            message["metadata"] = m["metadata"]
        out.append(message)
    return out


def function_spec(declaration: dict) -> dict:
    """An OpenAI-style function spec for any declaration (a built-in gets one string argument)."""
    kind = declaration["type"]
    return declaration if kind == "function" else BUILTINS[kind].as_function()
