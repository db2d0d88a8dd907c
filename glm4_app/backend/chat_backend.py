"""The in-process chat backend: the checkpoint's own chat template in front of the engine."""

from __future__ import annotations

from typing import Iterator

from ..events import Event
from ..generation import GenerationParams, Message, ModelInfo
from ..reasoning import split_reasoning
from .engine import Engine
from .loader import LoadedModel


class InProcessChatBackend:
    def __init__(self, loaded: LoadedModel, engine: Engine, notice: str | None = None) -> None:
        self.loaded = loaded
        self.engine = engine
        self.tokenizer = loaded.tokenizer
        self.info = ModelInfo(
            name=loaded.name,
            context_window=engine.context_window,
            reasoning=self.render([{"role": "user", "content": "hi"}]).rstrip().endswith("<think>"),
            device=loaded.device,
            precision=loaded.precision,
            notice=notice,
        )

    def render(self, messages: list[Message]) -> str:
        """The prompt text exactly as the checkpoint's template writes it."""
        return self.tokenizer.apply_chat_template(
            template_messages(messages), tokenize=False, add_generation_prompt=True
        )

    def encode(self, messages: list[Message]) -> list[int]:
        # The template already wrote the special prefix ([gMASK]<sop>, <s>, ...).
        return self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"]

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.encode(messages))

    def stream(
        self, messages: list[Message], params: GenerationParams, heartbeat_s: float | None = 0.25
    ) -> Iterator[Event]:
        request = self.engine.submit(self.encode(messages), params)
        try:
            yield from split_reasoning(request.events(heartbeat_s), starts_inside=self.info.reasoning)
        finally:
            request.cancel()


def template_messages(messages: list[Message]) -> list[dict]:
    """Only what the template should see: earlier reasoning is never sent back."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]
