"""GLM-4's own format: a call is an assistant turn whose metadata line is the tool name.

Two template families declare tools differently. glm-4-9b-chat's template ("glm4" style)
takes type-specific entries (``{"type": "python"}``, function specs) in a system message's
``tools`` list and writes the Chinese tool descriptions itself; GLM-4-0414/Z1 ("functions"
style, as most HF templates) take ``tools=`` as OpenAI-style function specs only, so the
built-ins are described to them as functions with one string argument. Both render a stored
step as GLM itself writes it: ``<|assistant|>{name}\\n{body}<|observation|>{metadata}\\n{result}``.
"""

from __future__ import annotations

from typing import Any, Collection, Literal

from .base import Message, OutputParser, ToolFormat, function_spec, plain_messages
from .segments import SegmentParser

Style = Literal["glm4", "functions"]


class Glm4Format(ToolFormat):
    name = "glm4"

    def __init__(self, style: Style = "glm4") -> None:
        self.style = style

    def template_inputs(
        self, messages: list[Message], tools: list[dict] | None
    ) -> tuple[list[dict], dict[str, Any]]:
        return declare(plain_messages(messages), tools, self.style)

    def parser(self, tool_names: Collection[str], declarations: list[dict] | None = None) -> OutputParser:
        # Fine-tuned GLM-4 checkpoints keep the template but may write JSON calls: accepted too.
        return SegmentParser(tool_names, header_calls=True)


def declare(messages: list[dict], tools: list[dict] | None, style: Style) -> tuple[list[dict], dict]:
    """Tool declarations where the template of ``style`` reads them."""
    if not tools:
        return messages, {}
    if style == "functions":
        return messages, {"tools": [function_spec(t) for t in tools]}
    # glm-4-9b-chat reads tools from a system message's ``tools`` list (its own system
    # prompt, if any, rides along as that message's content).
    if messages and messages[0]["role"] == "system":
        return [{**messages[0], "tools": tools}, *messages[1:]], {}
    return [{"role": "system", "content": "", "tools": tools}, *messages], {}
