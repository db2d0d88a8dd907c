"""OpenAI's tool calling onto the checkpoint's own tool format, and back. The only module of
the API that knows a tool format: the API speaks OpenAI on one side, this module speaks the
app's (GLM's) on the other.

- OpenAI ``tools`` are function specs, which is what the backends already take as tool
  declarations (glm-4-9b-chat's template writes ``{"type": "function", ...}`` entries into its
  system turn; GLM-4-0414/Z1 and other templates get them through ``tools=``).
- An assistant message with ``tool_calls`` becomes one assistant turn per call whose metadata
  is the function name and whose content is the JSON arguments, as GLM writes a call; a
  ``tool`` message becomes an ``observation`` turn.
- The model's raw output is split by the streaming tool parser into prose (``content``) and
  calls (``tool_calls``), whichever format the checkpoint used.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterable

from ..events import TextDelta
from ..tools.parser import StreamingToolParser


class ToolChoiceError(ValueError):
    pass


def declarations(tools: list[dict] | None, tool_choice: Any) -> list[dict] | None:
    """The declarations to put in the prompt for OpenAI ``tools`` / ``tool_choice``.

    ``none`` offers nothing; a named function offers only that one. ``required`` and a named
    function cannot force a call in GLM's format: the model is offered the tools and decides.
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


def prompt_messages(messages: Iterable[dict]) -> list[dict]:
    """OpenAI chat messages (content already flattened to text) as the app's messages."""
    out: list[dict] = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            out.append(
                {"role": "observation", "metadata": "", "content": m["content"] or "[no output]"}
            )
            continue
        if role == "assistant" and m.get("tool_calls"):
            if m["content"]:
                out.append({"role": "assistant", "content": m["content"]})
            for call in m["tool_calls"]:
                function = call["function"]
                out.append(
                    {
                        "role": "assistant",
                        "metadata": function["name"],
                        "content": function["arguments"] or "{}",
                    }
                )
            continue
        message = {"role": role, "content": m["content"] or ""}
        if m.get("images"):
            message["images"] = m["images"]
        out.append(message)
    return out


class OutputSplitter:
    """Raw model output in, answer text out as it streams; the tool calls at the end."""

    def __init__(self, tool_names: Iterable[str]) -> None:
        self._parser = StreamingToolParser(tool_names)

    def feed(self, text: str) -> str:
        return _text(self._parser.feed(text))

    def finish(self) -> tuple[str, list[dict]]:
        """(the last of the text, the calls as OpenAI ``tool_calls``)."""
        tail = _text(self._parser.flush())
        calls = self._parser.finish().calls
        return tail, [_openai_call(call) for call in calls]


def _text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def _openai_call(call) -> dict:
    if call.arguments is not None:
        arguments = json.dumps(call.arguments, ensure_ascii=False)
    else:
        arguments = call.body  # what the model wrote, when it is not a JSON object
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }
