"""What every tool is: a declaration for the prompt and a ``run`` that never raises.

A tool failure is data for the model (``ToolResult(is_error=True)``), never an exception that
kills the turn. Tools are created per browser session (see toolbox.py), so per-session state
such as a Jupyter kernel or the browser's quote counter lives on the tool object.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

# The data types live low in the package (events use them); tools import them from here.
from ..notices import Notice
from ..tool_types import Citation, Image, Output, ToolCall, ToolResult

__all__ = ["Citation", "Image", "Output", "Tool", "ToolCall", "ToolResult", "Unavailable"]


class Tool(Protocol):
    name: str

    def declaration(self) -> dict[str, Any]:
        """This tool's declaration: ``{"type": "python"}`` for a built-in (see
        builtin_tools.py) or an OpenAI-style ``{"type": "function", "function": {"name": ...,
        "description": ..., "parameters": ...}}``; each format writes it its own way."""

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        """Run one call. Return promptly once ``cancel`` is set. Never raise."""


@dataclass
class Unavailable:
    """Why a tool is not offered to the model, shown in the UI (e.g. no image API configured)."""

    name: str
    reason: Notice | str = field(default="")
