"""OpenAI's tool calling onto the checkpoint's own tool format, and back: the only module of
the API that knows tool formats exist. Every format-specific line lives in glm4_app/formats;
this module only connects the API to it, exactly as the page's agent loop does.

- OpenAI ``tools`` are function specs, which is what every format takes as declarations.
- OpenAI messages become the app's stored messages (``from_openai_messages``: assistant
  ``tool_calls`` become call messages, ``tool`` messages observations); the backend renders
  them and the declarations through its format's ``template_inputs``, as for the page.
- The model's output is parsed as it streams by the backend's own format (``format_of``: GLM-4's
  ``name\\n{...}``, GLM-4.5's ``<tool_call>`` XML with typed arguments, native ``tool_calls``
  of a chat-completions backend) into prose (``content``) and calls (``tool_calls``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from ..events import TextDelta, ToolCallChunk
from ..formats import format_of, from_openai_messages, names_of, openai_tool_calls
from ..generation import ModelInfo


class ToolChoiceError(ValueError):
    pass


def declarations(tools: list[dict] | None, tool_choice: Any) -> list[dict] | None:
    """The declarations to put in the prompt for OpenAI ``tools`` / ``tool_choice``.

    ``none`` offers nothing; a named function offers only that one. ``required`` and a named
    function cannot force a call in GLM's formats: the model is offered the tools and decides.
    """
    if not tools or tool_choice == "none":
        return None
    specs = [{"type": "function", "function": tool["function"]} for tool in tools]
    if isinstance(tool_choice, dict):
        wanted = tool_choice.get("function", {}).get("name")
        specs = [s for s in specs if s["function"]["name"] == wanted]
        if not specs:
            raise ToolChoiceError(f"tool_choice names {wanted!r}, which is not among the tools.")
    return specs


class OutputSplitter:
    """Raw model output in, the answer's text out as it streams; the tool calls at the end,
    as OpenAI ``tool_calls``. Parsed by the model's own format (the one the page uses)."""

    def __init__(self, info: ModelInfo, offered: list[dict]) -> None:
        self._parser = format_of(info).parser(names_of(offered), offered)

    def feed(self, event: TextDelta | ToolCallChunk) -> str:
        """The prose this piece of output completes (a chat-completions backend's native
        calls arrive as ToolCallChunk events)."""
        if isinstance(event, ToolCallChunk):
            return _prose(self._parser.feed_call(event))
        return _prose(self._parser.feed(event.text))

    def finish(self) -> tuple[str, list[dict]]:
        """(the last of the text, the calls as OpenAI ``tool_calls``)."""
        tail = _prose(self._parser.flush())
        calls = [replace(c, id=c.id or "call_" + uuid.uuid4().hex[:24]) for c in self._parser.finish().calls]
        return tail, openai_tool_calls(calls)


def _prose(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))
