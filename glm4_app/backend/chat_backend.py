"""The in-process chat backend: the checkpoint's own chat template in front of the engine."""

from __future__ import annotations

from typing import Iterator

from ..events import Event
from ..generation import GenerationParams, Message, ModelInfo
from ..reasoning import split_reasoning, written_so_far
from .engine import Engine
from .loader import LoadedModel
from .prompt import PromptRenderer


class InProcessChatBackend:
    def __init__(
        self, loaded: LoadedModel, engine: Engine, notice: str | None = None, tool_format: str = "auto"
    ) -> None:
        self.loaded = loaded
        self.engine = engine
        self.tokenizer = loaded.tokenizer
        self.renderer = PromptRenderer(self.tokenizer, loaded.name, tool_format)
        self.tool_style = self.renderer.tool_style
        self.info = ModelInfo(
            name=loaded.name,
            context_window=engine.context_window,
            reasoning=self.renderer.reasoning,
            device=loaded.device,
            precision=loaded.precision,
            notice=notice,
            tools=self.renderer.format is not None,
            tool_format=self.renderer.format.name if self.renderer.format else "glm4",
            thinking_switch=self.renderer.thinking_switch,
        )

    def render(
        self, messages: list[Message], tools: list[dict] | None = None, thinking: bool | None = None
    ) -> str:
        """The prompt text exactly as the checkpoint's template writes it."""
        return self.renderer.render(messages, tools, thinking)

    def encode(
        self, messages: list[Message], tools: list[dict] | None = None, thinking: bool | None = None
    ) -> list[int]:
        return self.renderer.encode(messages, tools, thinking)

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        return len(self.encode(messages, tools))

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,
        heartbeat_s: float | None = 0.25,
    ) -> Iterator[Event]:
        request = self.engine.submit(self.encode(messages, tools, params.thinking), params, cache_key)
        try:
            yield from split_reasoning(request.events(heartbeat_s), starts_inside=self.info.reasoning)
        finally:
            request.cancel()

    def stream_continuation(
        self,
        messages: list[Message],
        answer: str,
        reasoning: str,
        params: GenerationParams,
        cache_key: str | None = None,
        heartbeat_s: float | None = 0.25,
    ) -> Iterator[Event]:
        """Carry on an answer that stopped (Stop, max new tokens, a crash): the prompt ends
        with what it had written, as the model writes it; the events hold what follows."""
        written, inside = written_so_far(answer, reasoning, self.info.reasoning)
        ids = self.encode(messages, None, params.thinking) + self.renderer.encode_text(written)
        request = self.engine.submit(ids, params, cache_key)
        try:
            yield from split_reasoning(request.events(heartbeat_s), starts_inside=inside, started=True)
        finally:
            request.cancel()
