"""What the UI asks of a chat backend, independent of how the model runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

from .events import Event
from .notices import Notice


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.8  # 0 means greedy decoding
    top_p: float = 0.8
    top_k: int = 0  # 0 disables top-k
    repetition_penalty: float = 1.0
    max_new_tokens: int = 1024
    seed: int | None = None
    # GLM-4.5 and later (ModelInfo.thinking_switch): think before answering or not; None: the
    # model's default (on). Other models ignore it.
    thinking: bool | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


@dataclass(frozen=True)
class ModelInfo:
    name: str  # what the user sees, e.g. "THUDM/glm-4-9b-chat-hf"
    context_window: int
    reasoning: bool = False  # the model thinks before answering (GLM-Z1)
    device: Notice | str = "cpu"  # a served model: Notice("model.served_by", base_url=...)
    precision: Notice | str = ""  # "bfloat16", "4-bit nf4", ...
    notice: Notice | None = None  # shown as a banner, e.g. why the offline model is in use
    tools: bool = False  # its chat template can declare tools (All Tools mode)
    tool_format: str = "glm4"  # how its output carries tool calls (see formats/)
    exact_counts: bool = True  # False: token counts before an answer are estimates
    thinking_switch: bool = False  # thinking can be switched off (GenerationParams.thinking)


# {"role": "system" | "user" | "assistant" | "observation", "content": str}, plus
# "metadata" on tool calls (the tool name) and observations ("browser_result", ...), "call_id"
# on native calls, "step" on calls (calls of one output share it), "reasoning" on the assistant
# messages of the answer being written, "images" (paths) on user messages. Built by
# messages.Message.prompt(); formats/ decide what each template sees of it.
Message = dict


class ChatBackend(Protocol):
    info: ModelInfo

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        """Tokens of the prompt these messages render to, generation prompt included."""

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,
    ) -> Iterator[Event]:
        """Events of one model answer (raw output: tool calls are the caller's to parse, with
        ``info.tool_format``). ``tools`` are declarations (``{"type": "python"}`` or function
        specs; see formats/); ``cache_key`` (a conversation
        id) lets a backend reuse the work on the prompt prefix it shares with that key's last
        request. Closing the iterator cancels."""


class ContinuingBackend(ChatBackend, Protocol):
    """A backend that can also carry on a stopped answer (▶️ Continue)."""

    def stream_continuation(
        self,
        messages: list[Message],
        answer: str,
        reasoning: str,
        params: GenerationParams,
        cache_key: str | None = None,
    ) -> Iterator[Event]:
        """Events of what follows ``answer`` (and its ``reasoning``), the stopped reply to
        ``messages``; closing the iterator cancels."""
