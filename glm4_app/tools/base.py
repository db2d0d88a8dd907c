"""What every tool is: a declaration for the prompt and a ``run`` that never raises.

A tool failure is data for the model (``ToolResult(is_error=True)``), never an exception that
kills the turn. Tools are created per browser session (see toolbox.py), so per-session state
such as a Jupyter kernel or the browser's quote counter lives on the tool object.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolCall:
    name: str  # "python", "simple_browser", "cogview" or a user function's name
    body: str  # the call as the model wrote it: code, browser commands, a prompt, JSON arguments
    arguments: dict[str, Any] | None = None  # parsed JSON arguments (functions), when they parse


@dataclass(frozen=True)
class Image:
    data: bytes
    mime: str = "image/png"
    caption: str = ""


@dataclass(frozen=True)
class Output:
    """One output of a code cell, in the order the cell produced it (Jupyter's iopub outputs).

    ``text`` is what the model read of it: a run of prints, a result's ``text/plain``, a
    traceback. ``data`` is the whole MIME bundle of a result or display (``text/html``,
    ``image/svg+xml``, ``text/markdown``, ``application/json``...) for a richer view; PNG and
    JPEG images are in ``ToolResult.images`` instead, at index ``image``.
    """

    kind: str  # "stdout", "stderr", "execute_result", "display_data" or "error"
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    image: int | None = None


@dataclass(frozen=True)
class Citation:
    id: int  # the quote id the model cites as 【id†text】
    title: str
    url: str


@dataclass(frozen=True)
class ToolResult:
    text: str  # what the model sees in the observation (already capped by the tool)
    metadata: str = ""  # observation metadata: "browser_result", "quote_result [3†source]", ...
    is_error: bool = False
    display: str | None = None  # what the UI shows, when different from ``text`` (e.g. uncapped)
    images: tuple[Image, ...] = ()
    files: tuple[Path, ...] = ()  # files the tool wrote that the user may download
    citations: tuple[Citation, ...] = ()
    outputs: tuple[Output, ...] = ()  # a code cell's outputs in order, with their MIME bundles

    @property
    def shown(self) -> str:
        return self.text if self.display is None else self.display


class Tool(Protocol):
    name: str

    def declaration(self) -> dict[str, Any]:
        """This tool's entry in the glm-4-9b-chat ``tools`` list, e.g. ``{"type": "python"}``
        or ``{"type": "function", "function": {"name": ..., "description": ..., "parameters": ...}}``."""

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        """Run one call. Return promptly once ``cancel`` is set. Never raise."""


@dataclass
class Unavailable:
    """Why a tool is not offered to the model, shown in the UI (e.g. no image API configured)."""

    name: str
    reason: str = field(default="")
