"""Typed events that every backend streams, one request at a time.

The UI, the tests and (later) the agent loop consume these; nothing here knows about
Streamlit or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from .notices import Notice
from .tool_types import ToolCall, ToolResult

FinishReason = Literal["stop", "length", "context", "cancelled"]


@dataclass(frozen=True)
class Stats:
    prompt_tokens: int
    completion_tokens: int
    context_window: int
    ttft_s: float | None  # from submission (queue wait included) to the first token
    decode_s: float  # from the first token to the last
    finish_reason: FinishReason
    cached_tokens: int = 0  # prompt tokens whose keys/values were reused, not recomputed

    @property
    def tokens_per_s(self) -> float | None:
        if self.completion_tokens < 2 or self.decode_s <= 0:
            return None
        return (self.completion_tokens - 1) / self.decode_s

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Queued:
    ahead: int  # requests that will be served before this one


@dataclass(frozen=True)
class Started:
    prompt_tokens: int


@dataclass(frozen=True)
class Prefill:
    done: int  # prompt tokens read so far
    total: int


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class Done:
    stats: Stats


ErrorKind = Literal["context", "oom", "queue_full", "backend"]


@dataclass(frozen=True)
class Error:
    message: Notice | str  # a Notice worded where it is shown; str: an exception's own text
    kind: ErrorKind = "backend"


Event = Union[Queued, Started, Prefill, TextDelta, ReasoningDelta, Done, Error]
TERMINAL = (Done, Error)
PROGRESS = (Queued, Started, Prefill)  # repeated as heartbeats, see Request.events


# -- All Tools mode: what the agent loop adds to a model's stream ----------------------------


@dataclass(frozen=True)
class ToolCallStart:
    name: str  # the model started writing a call to this tool


@dataclass(frozen=True)
class ToolCallDelta:
    text: str  # more of the call's body (code, commands, JSON), streamed as written


@dataclass(frozen=True)
class ToolCallChunk:
    """A piece of a native tool call as a chat-completions API streams it (``tool_calls``
    deltas): the first piece of call ``index`` carries its id and name, later ones more of its
    JSON arguments. The agent's format parser assembles them; the UI never sees these."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


# What a model writes (as opposed to progress and the end): a stream has started answering.
WRITTEN = (TextDelta, ReasoningDelta, ToolCallChunk)


@dataclass(frozen=True)
class ToolRunning:
    name: str
    elapsed_s: float  # repeated while the tool runs, so a UI stays responsive to Stop


@dataclass(frozen=True)
class ToolOutcome:
    step: int
    call: ToolCall
    result: ToolResult


@dataclass(frozen=True)
class ToolOutput:
    text: str  # more of a running tool's output (prints, progress), as it produces it
