"""The in-process chat backend: the checkpoint's own chat template in front of the engine."""

from __future__ import annotations

from typing import Iterator

from ..events import Event
from ..generation import GenerationParams, Message, ModelInfo
from ..reasoning import split_reasoning
from ..tools.declarations import as_function_spec, template_tool_style
from .engine import Engine
from .loader import LoadedModel


class InProcessChatBackend:
    def __init__(self, loaded: LoadedModel, engine: Engine, notice: str | None = None) -> None:
        self.loaded = loaded
        self.engine = engine
        self.tokenizer = loaded.tokenizer
        self.tool_style = template_tool_style(getattr(self.tokenizer, "chat_template", None))
        self.info = ModelInfo(
            name=loaded.name,
            context_window=engine.context_window,
            reasoning=self.render([{"role": "user", "content": "hi"}]).rstrip().endswith("<think>"),
            device=loaded.device,
            precision=loaded.precision,
            notice=notice,
            tools=self.tool_style is not None,
        )

    def render(self, messages: list[Message], tools: list[dict] | None = None) -> str:
        """The prompt text exactly as the checkpoint's template writes it."""
        messages, extra = template_messages(messages), {}
        if tools:
            if self.tool_style == "glm4":
                messages = with_tools_system_message(messages, tools)
            elif self.tool_style == "functions":
                extra["tools"] = [as_function_spec(t) for t in tools]
            else:
                raise ValueError(f"{self.info.name}'s chat template cannot declare tools")
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **extra
        )

    def encode(self, messages: list[Message], tools: list[dict] | None = None) -> list[int]:
        # The template already wrote the special prefix ([gMASK]<sop>, <s>, ...).
        return self.tokenizer(self.render(messages, tools), add_special_tokens=False)["input_ids"]

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
        request = self.engine.submit(self.encode(messages, tools), params, cache_key)
        try:
            yield from split_reasoning(request.events(heartbeat_s), starts_inside=self.info.reasoning)
        finally:
            request.cancel()


def template_messages(messages: list[Message]) -> list[dict]:
    """Only what the template should see: earlier reasoning is never sent back; tool calls
    and observations keep their metadata (the tool name, ``browser_result``, ...)."""
    out = []
    for m in messages:
        message = {"role": m["role"], "content": m["content"]}
        if m.get("metadata"):
            message["metadata"] = m["metadata"]
        out.append(message)
    return out


def with_tools_system_message(messages: list[dict], tools: list[dict]) -> list[dict]:
    """glm-4-9b-chat reads tools from a system message's ``tools`` list (its own system
    prompt, if any, rides along as that message's content)."""
    if messages and messages[0]["role"] == "system":
        return [{**messages[0], "tools": tools}, *messages[1:]]
    return [{"role": "system", "content": "", "tools": tools}, *messages]
