"""GLM-4.5/4.6/4.7's format (Glm4Moe, Glm4MoeLite) and GLM-4.5V/4.6V's: XML-ish tool calls.

The checkpoint's template (``glm-4.6.jinja``) declares the tools as JSON lines in a system
block, writes an assistant turn as ``<think>…</think>`` + prose + ``<tool_call>`` blocks and
the results as ``<tool_response>`` blocks after one ``<|observation|>``. It takes what
OpenAI-style APIs take: ``tools=`` function specs, assistant ``tool_calls`` with arguments
as a mapping, ``role: tool`` messages, and ``reasoning_content``, which it keeps only for the
turns after the last user message (the steps of the answer being written) and drops for
earlier turns. Calls one output made together (stored with the same ``step``) go back as one
assistant turn with several calls, as the model wrote them.
"""

from __future__ import annotations

from typing import Any, Collection

from .base import Message, OutputParser, ToolFormat, function_spec
from .glm45_parser import Glm45Parser
from .segments import stored_arguments


class Glm45Format(ToolFormat):
    name = "glm45"

    def template_inputs(
        self, messages: list[Message], tools: list[dict] | None
    ) -> tuple[list[dict], dict[str, Any]]:
        out: list[dict] = []
        for m in messages:
            role = m["role"]
            if role == "assistant" and m.get("metadata"):
                _add_call(out, m)
            elif role == "observation":
                out.append({"role": "tool", "content": m["content"]})
            else:
                message = {"role": role, "content": m["content"]}
                if role == "assistant" and m.get("reasoning"):
                    message["reasoning_content"] = m["reasoning"]
                if role == "user" and m.get("images"):
                    message["images"] = list(m["images"])  # for a vision backend's content parts
                out.append(message)
        return out, ({"tools": [function_spec(t) for t in tools]} if tools else {})

    def parser(self, tool_names: Collection[str], declarations: list[dict] | None = None) -> OutputParser:
        return Glm45Parser(tool_names, schemas(declarations))


def schemas(declarations: list[dict] | None) -> dict[str, dict]:
    """Tool name -> the JSON Schema of its parameters, from declarations or function specs."""
    out = {}
    for declaration in declarations or ():
        function = function_spec(declaration)["function"]
        out[function["name"]] = function.get("parameters") or {}
    return out


def _add_call(out: list[dict], m: Message) -> None:
    """A stored call joins the prose just before it, or the calls of the same step (parallel
    calls, their results in between); otherwise it opens an assistant turn of its own."""
    entry = {"type": "function", "function": {"name": m["metadata"], "arguments": _arguments(m)}}
    step = m.get("step")
    for back in range(len(out) - 1, -1, -1):
        earlier = out[back]
        if earlier["role"] == "tool":
            continue
        calls = earlier.get("tool_calls")
        same_step = calls and step is not None and earlier.get("step") == step
        fresh_prose = earlier["role"] == "assistant" and not calls and back == len(out) - 1
        if same_step or fresh_prose:
            earlier.setdefault("tool_calls", []).append(entry)
            earlier["step"] = step
            return
        break
    message: dict = {"role": "assistant", "content": "", "tool_calls": [entry], "step": step}
    if m.get("reasoning"):
        message["reasoning_content"] = m["reasoning"]
    out.append(message)


def _arguments(call_message: Message) -> dict:
    """The call's arguments as the template writes them (a mapping; strings raw)."""
    arguments = stored_arguments(call_message["metadata"], call_message["content"])
    # Malformed arguments go back as none (the observation told the model what was wrong).
    return arguments if arguments is not None else {}
