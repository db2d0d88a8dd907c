"""One home for model formats: how tools are declared, how tool steps go back into the
prompt, how the model's output is parsed into prose and calls (whole and streamed), and
whether the output starts inside reasoning.

One class per format, all behind the small interface of base.py:

* ``glm4``    GLM-4-9B-Chat, GLM-4-0414, GLM-Z1: ``name\\n{body}`` after an assistant header
             (glm4.py; the template decides how tools are declared: ``glm4`` or ``functions``)
* ``json``    checkpoints fine-tuned on the official data: ``{"name": ..., "arguments": ...}``
* ``glm45``   GLM-4.5/4.6/4.7 and GLM-4.5V/4.6V: ``<tool_call>name`` + ``<arg_key>``/``<arg_value>``
             pairs, results in ``<tool_response>`` blocks (glm45.py, glm45_parser.py)
* ``openai``  chat-completions APIs with native ``tool_calls`` (openai_tools.py)

A new family is one more class and one more entry here.

For an adapter that serves the app's models behind an OpenAI-compatible API::

    fmt = format_for_template(tokenizer.chat_template)          # the checkpoint's format
    stored = from_openai_messages(request["messages"])           # OpenAI messages in
    messages, extra = fmt.template_inputs(stored, request["tools"])  # OpenAI specs in
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, **extra)
    parsed = fmt.parse(raw_output, names_of(request["tools"]), request["tools"])  # raw output in
    openai_tool_calls(parsed.calls)                              # tool_calls out
"""

from __future__ import annotations

from .base import OutputParser, ParsedOutput, ToolFormat, function_spec, plain_messages
from .glm4 import Glm4Format, Style
from .glm45 import Glm45Format
from .json_calls import JsonCallFormat
from .openai_tools import OpenAIToolsFormat, from_openai_messages, openai_tool_calls, to_openai_messages

__all__ = [
    "FORMAT_NAMES", "Glm45Format", "Glm4Format", "JsonCallFormat", "OpenAIToolsFormat", "OutputParser",
    "ParsedOutput", "ToolFormat", "format_for_template", "from_openai_messages", "function_spec",
    "get_format", "names_of", "openai_tool_calls", "plain_messages", "template_style",
    "thinking_switch", "to_openai_messages",
]  # fmt: skip

FORMAT_NAMES = ("glm4", "json", "glm45", "openai")


def get_format(name: str, style: Style = "glm4") -> ToolFormat:
    """The format called ``name``; ``style`` is how the template declares tools."""
    if name == "openai":
        return OpenAIToolsFormat()
    if name == "json":
        return JsonCallFormat(style)
    if name == "glm4":
        return Glm4Format(style)
    if name == "glm45":
        return Glm45Format()
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
    if preferred == "auto":
        preferred = "glm45" if "<arg_key>" in chat_template else "glm4"
    return get_format(preferred, style)


def thinking_switch(chat_template: str | None) -> bool:
    """Whether a template takes ``enable_thinking`` (GLM-4.5 and later: thinking on or off)."""
    return bool(chat_template) and "enable_thinking" in chat_template


def names_of(tools: list[dict] | None) -> list[str]:
    """The tool names of declarations or OpenAI function specs."""
    return [t["function"]["name"] if t.get("type") == "function" else t["type"] for t in tools or ()]
