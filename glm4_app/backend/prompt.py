"""Prompts exactly as a checkpoint's own chat template writes them.

Shared by the in-process backend and the OpenAI-compatible backend (which renders locally
and sends the text to ``/v1/completions``), so both send byte-identical prompts. Needs only
a tokenizer, never the model weights.
"""

from __future__ import annotations

from ..generation import Message
from ..tools.declarations import as_function_spec, template_tool_style


class PromptRenderer:
    def __init__(self, tokenizer, name: str) -> None:
        self.tokenizer = tokenizer
        self.name = name
        self.tool_style = template_tool_style(getattr(tokenizer, "chat_template", None))

    def render(self, messages: list[Message], tools: list[dict] | None = None) -> str:
        """The prompt text exactly as the checkpoint's template writes it."""
        messages, extra = template_messages(messages), {}
        if tools:
            if self.tool_style == "glm4":
                messages = with_tools_system_message(messages, tools)
            elif self.tool_style == "functions":
                extra["tools"] = [as_function_spec(t) for t in tools]
            else:
                raise ValueError(f"{self.name}'s chat template cannot declare tools")
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **extra
        )

    def encode_text(self, prompt: str) -> list[int]:
        # The template already wrote the special prefix ([gMASK]<sop>, <s>, ...).
        return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]

    def encode(self, messages: list[Message], tools: list[dict] | None = None) -> list[int]:
        return self.encode_text(self.render(messages, tools))

    @property
    def reasoning(self) -> bool:
        """The template opens a ``<think>`` block itself (GLM-Z1): output starts inside it."""
        return self.render([{"role": "user", "content": "hi"}]).rstrip().endswith("<think>")


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
