"""What a tool call and its result are: plain data shared by the formats, the agent loop,
the tools and the UI (low level: imports nothing of the app, so ``events`` can use it).

A tool failure is data for the model (``ToolResult(is_error=True)``), never an exception; what
it tells the user is a notice beside it (``notices``), so it reads in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .notices import Notice  # low level too: imports nothing of the app

# Why a call was not run at all (the UI says so in words, the model gets an error observation).
NotRun = Literal["", "switched_off", "unknown"]
# What stands for a tool's empty result, in the model's prompt and for the user
# (tool_steps.call_messages); results of OpenAI API clients read the same (formats/openai_tools).
NO_OUTPUT = Notice("tool.no_output")
# Every result is capped the same way, whichever tool or server wrote it: a function that
# returns 10 MB or a server that answers with a 10 MB error costs the prompt at most this.
MAX_RESULT_CHARS = 8000  # what the model sees of a result (characters, not bytes)
MAX_DISPLAY_CHARS = 200_000  # what the UI shows; even the uncapped view needs a ceiling


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [truncated: {len(text):,} characters in all]"


@dataclass(frozen=True)
class ToolCall:
    name: str  # "python", "simple_browser", "cogview", a user function, "server__tool" (MCP)
    body: str  # the call as the model wrote it: code, browser commands, a prompt, JSON arguments
    arguments: dict[str, Any] | None = None  # parsed JSON arguments (functions), when they parse
    id: str | None = None  # the API's tool_call_id (native tool calls), echoed with the result


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
    text: str  # what the model sees in the observation (capped: ``capped``, ``failure``)
    metadata: str = ""  # observation metadata: "browser_result", "quote_result [3†source]", ...
    is_error: bool = False
    display: str | None = None  # what the UI shows, when different from ``text`` (e.g. uncapped)
    images: tuple[Image, ...] = ()
    files: tuple[Path, ...] = ()  # files the tool wrote that the user may download
    citations: tuple[Citation, ...] = ()
    not_run: NotRun = ""  # set when the call named a tool that is switched off or unknown
    outputs: tuple[Output, ...] = ()  # a code cell's outputs in order, with their MIME bundles
    # What the user is told (a failure, a limit, a stop), worded in the reader's language where
    # shown; ``str()`` of each, its English, is what the model reads in ``text``.
    notices: tuple[Notice, ...] = ()

    @property
    def shown(self) -> str:
        return self.text if self.display is None else self.display

    @classmethod
    def capped(cls, text: str, **fields: Any) -> "ToolResult":
        """A result of plain text: the model reads at most ``MAX_RESULT_CHARS`` of it, the UI
        up to ``MAX_DISPLAY_CHARS`` where that is more."""
        if len(text) <= MAX_RESULT_CHARS:
            return cls(text, **fields)
        return cls(clip(text, MAX_RESULT_CHARS), display=clip(text, MAX_DISPLAY_CHARS), **fields)

    @classmethod
    def failure(cls, notice: Notice, metadata: str = "") -> "ToolResult":
        """An error observation that is one notice: the model reads its English (capped), the
        user its words in their language (the whole notice is kept, so a capped one still
        reads translated)."""
        return cls.capped(str(notice), metadata=metadata, is_error=True, notices=(notice,))
