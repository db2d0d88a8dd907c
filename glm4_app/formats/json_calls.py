"""The fine-tuning format: a call is JSON in the assistant's content.

Models fine-tuned on the official GLM-4 fine-tuning data write ``{"name": ..., "arguments":
{...}}`` (sometimes in a ```json fence) instead of a metadata line. The template and the
declarations are GLM-4's (see glm4.py); only the calls differ, in the output and in history.
A JSON object is a call only when its name is a tool this conversation knows.
"""

from __future__ import annotations

import json
from typing import Any, Collection

from .base import Message, OutputParser, ToolFormat, plain_messages
from .glm4 import Style, declare
from .segments import SegmentParser, stored_arguments


class JsonCallFormat(ToolFormat):
    name = "json"

    def __init__(self, style: Style = "glm4") -> None:
        self.style = style

    def template_inputs(
        self, messages: list[Message], tools: list[dict] | None
    ) -> tuple[list[dict], dict[str, Any]]:
        rendered = []
        for message in plain_messages(messages):
            if message["role"] == "assistant" and message.get("metadata"):
                name = message.pop("metadata")
                message["content"] = json.dumps(
                    {"name": name, "arguments": _arguments(name, message["content"])}, ensure_ascii=False
                )
            rendered.append(message)
        return declare(rendered, tools, self.style)

    def parser(self, tool_names: Collection[str], declarations: list[dict] | None = None) -> OutputParser:
        return SegmentParser(tool_names, header_calls=False)


def _arguments(name: str, body: str) -> Any:
    parsed = stored_arguments(name, body)
    return parsed if parsed is not None else body  # malformed JSON stays as the model wrote it
