"""Prompts exactly as a checkpoint's own chat template writes them.

Shared by the in-process backend and the OpenAI-compatible backend (which renders locally
and sends the text to ``/v1/completions``), so both send byte-identical prompts. Needs only
a tokenizer, never the model weights. The checkpoint's format (formats/) writes the tool
declarations and the tool steps into the template's input.
"""

from __future__ import annotations

from ..formats import ToolFormat, format_for_template, plain_messages, thinking_switch
from ..generation import Message


class PromptRenderer:
    def __init__(self, tokenizer, name: str, tool_format: str = "auto") -> None:
        self.tokenizer = tokenizer
        self.name = name
        # None: the template has no place for tools (All Tools is unavailable).
        self.format: ToolFormat | None = format_for_template(
            getattr(tokenizer, "chat_template", None), tool_format
        )
        self.reasoning = self._starts_in_reasoning()
        # GLM-4.5 and later: ``enable_thinking=False`` makes the model answer at once.
        self.thinking_switch = thinking_switch(getattr(tokenizer, "chat_template", None))

    @property
    def tool_style(self) -> str | None:
        return getattr(self.format, "style", None)

    def render(
        self, messages: list[Message], tools: list[dict] | None = None, thinking: bool | None = None
    ) -> str:
        """The prompt text exactly as the checkpoint's template writes it; ``thinking`` is
        given to templates that take ``enable_thinking`` (None: their default)."""
        if self.format is not None:
            messages, extra = self.format.template_inputs(messages, tools)
        elif tools:
            raise ValueError(f"{self.name}'s chat template cannot declare tools")
        else:
            messages, extra = plain_messages(messages), {}
        if thinking is not None and self.thinking_switch:
            extra["enable_thinking"] = thinking
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **extra
        )

    def encode_text(self, prompt: str) -> list[int]:
        # The template already wrote the special prefix ([gMASK]<sop>, <s>, ...).
        return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]

    def encode(
        self, messages: list[Message], tools: list[dict] | None = None, thinking: bool | None = None
    ) -> list[int]:
        return self.encode_text(self.render(messages, tools, thinking))

    def _starts_in_reasoning(self) -> bool:
        """The template opens a ``<think>`` block itself (GLM-Z1): output starts inside it."""
        prompt = self.render([{"role": "user", "content": "hi"}])
        return prompt.rstrip().endswith("<think>") if self.format is None else self.format.starts_in_reasoning(prompt)
