"""One home for model formats: how tools are declared, how tool steps go back into the
prompt, how the model's output is parsed into prose and calls (whole and streamed), and
whether the output starts inside reasoning.

One class per format, all behind the small interface of base.py:

* ``glm4``    GLM-4-9B-Chat, GLM-4-0414, GLM-Z1: ``name\\n{body}`` after an assistant header
             (glm4.py; the template decides how tools are declared: ``glm4`` or ``functions``)
* ``json``    checkpoints fine-tuned on the official data: ``{"name": ..., "arguments": ...}``
* ``openai``  chat-completions APIs with native ``tool_calls`` (openai_tools.py)

A new family (e.g. GLM-4.5's ``<tool_call>`` XML) is one more class and one more entry here.

For an adapter that serves the app's models behind an OpenAI-compatible API::

    fmt = format_for_template(tokenizer.chat_template)          # the checkpoint's format
    stored = from_openai_messages(request["messages"])           # OpenAI messages in
    messages, extra = fmt.template_inputs(stored, request["tools"])  # OpenAI specs in
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, **extra)
    parsed = fmt.parse(raw_output, names_of(request["tools"]))   # raw output in
    openai_tool_calls(parsed.calls)                              # tool_calls out
"""

from __future__ import annotations

from .base import OutputParser, ParsedOutput, ToolFormat, function_spec, plain_messages
from .glm4 import Glm4Format, Style
from .json_calls import JsonCallFormat
from .openai_tools import OpenAIToolsFormat, from_openai_messages, openai_tool_calls, to_openai_messages

__all__ = [
    "FORMAT_NAMES", "Glm4Format", "JsonCallFormat", "OpenAIToolsFormat", "OutputParser",
    "ParsedOutput", "ToolFormat", "format_for_template", "from_openai_messages", "function_spec",
    "get_format", "names_of", "openai_tool_calls", "plain_messages", "template_style",
    "to_openai_messages",
]  # fmt: skip

FORMAT_NAMES = ("glm4", "json", "openai")


def get_format(name: str, style: Style = "glm4") -> ToolFormat:
    """The format called ``name``; ``style`` is how the template declares tools."""
    if name == "openai":
        return OpenAIToolsFormat()
    if name == "json":
        return JsonCallFormat(style)
    if name == "glm4":
        return Glm4Format(style)
    raise ValueError(f"unknown tool format {name!r}; one of {', '.join(FORMAT_NAMES)}")


def template_style(chat_template: str | None) -> Style | None:
    """How a chat template declares tools: ``glm4`` (type-specific entries in a system
    message), ``functions`` (``tools=`` function specs), or None (it cannot)."""
    if not chat_template or "tools" not in chat_template:
        return None
    if "simple_browser" in chat_template or "item['tools']" in chat_template:
        return "glm4"
    return "functions"


def format_for_template(chat_template: str | None, preferred: str = "auto") -> ToolFormat | None:
    """The format of a checkpoint from its chat template (None: it cannot declare tools);
    ``preferred`` (GLM4_TOOL_FORMAT) picks ``json`` for fine-tuned checkpoints."""
    style = template_style(chat_template)
    if style is None:
        return None
    return get_format("glm4" if preferred == "auto" else preferred, style)


def names_of(tools: list[dict] | None) -> list[str]:
    """The tool names of declarations or OpenAI function specs."""
    return [t["function"]["name"] if t.get("type") == "function" else t["type"] for t in tools or ()]
