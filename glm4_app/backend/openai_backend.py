"""Answers from an OpenAI-compatible server (vLLM) with prompts rendered here.

With a local tokenizer of the served checkpoint (the default), prompts are rendered here
with the same code as the in-process backend and sent as text to ``/v1/completions`` with
special tokens kept in the output: the server sees byte-identical prompts, GLM-4 tool calls
come back exactly as the engine reports them (``<|assistant|>`` kept, the final stop token
dropped), and token counts are exact. Messages with images go to ``/v1/chat/completions``
as OpenAI content parts, rendered by the server's own template (the vision processors live
there). Without a local tokenizer every request goes to chat completions; All Tools then
needs the server's own tool parser (``GLM4_BACKEND=openai-chat``), and the token meter is an
estimate. Every request goes through the official ``openai`` client.
"""

from __future__ import annotations

import time
from typing import Iterator

import openai

from ..events import Error, Event, TextDelta
from ..formats import plain_messages
from ..generation import GenerationParams, Message, ModelInfo
from ..notices import Notice, NoticeError
from ..reasoning import split_reasoning
from ..vision.answer import without_answer_tags
from . import openai_stream
from .openai_wire import estimate_tokens, has_images, sampling, thinking_fields, with_images
from .prompt import PromptRenderer


class OpenAIBackend:
    def __init__(
        self,
        client: openai.OpenAI,
        base_url: str,
        model: str,
        *,
        context_window: int,
        renderer: PromptRenderer | None = None,
        stop_token_ids: list[int] | None = None,
        timeout_s: float = 300,
        notice: Notice | None = None,
        heartbeat_s: float = 0.25,
        reasoning: bool | None = None,  # without a renderer: does the output start in <think>?
        thinking_switch: bool | None = None,  # without a renderer: does enable_thinking work?
        vision: bool = False,  # a vision model: its <answer> tags are markup
    ) -> None:
        self.client = client
        self.heartbeat_s = heartbeat_s
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.renderer = renderer
        self.stop_token_ids = list(stop_token_ids or [])
        self.timeout_s = timeout_s
        self.vision = vision
        self.info = ModelInfo(
            name=model,
            context_window=context_window,
            reasoning=renderer.reasoning if renderer else bool(reasoning),
            device=Notice("model.served_by", base_url=self.base_url),
            precision=Notice("model.completions_api"),
            notice=notice,
            tools=bool(renderer and renderer.format),
            tool_format=renderer.format.name if renderer and renderer.format else "glm4",
            exact_counts=renderer is not None,
            thinking_switch=renderer.thinking_switch if renderer else bool(thinking_switch),
        )

    # -- ChatBackend -------------------------------------------------------------------------

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        if self.renderer is not None and not has_images(messages):
            return len(self.renderer.encode(messages, tools))
        return estimate_tokens(messages, tools)

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,  # vLLM's automatic prefix caching needs no key
    ) -> Iterator[Event]:
        started = time.perf_counter()
        try:
            reply, room = self._reply(messages, params, tools)
        except NoticeError as exc:  # images with tools, tools without a template, an image gone
            yield Error(exc.notice, "backend")
            return
        except ValueError as exc:  # a template's own error
            yield Error(str(exc), "backend")
            return
        if room is not None and room <= 0:
            yield Error(
                Notice("engine.context_too_long", tokens=reply.prompt_tokens, window=self.info.context_window),
                "context",
            )
            return
        raw = openai_stream.events(reply, self._server(), started, self.heartbeat_s)
        try:
            events = split_reasoning(raw, starts_inside=self.info.reasoning)
            yield from without_answer_tags(events) if self.vision else events
        finally:
            raw.close()  # the reader hangs up: the server aborts the request

    def list_models(self) -> list[str]:
        return [m.id for m in self.client.models.list().data]

    # -- Requests ----------------------------------------------------------------------------

    def _server(self) -> openai_stream.Server:
        return openai_stream.Server(self.base_url, self.model, self.timeout_s, self.info.context_window, self.list_models)

    def _reply(self, messages, params: GenerationParams, tools) -> tuple[openai_stream.Reply, int | None]:
        fields, extra = sampling(params)
        common = {"model": self.model, "stream": True, "stream_options": {"include_usage": True}, **fields}
        if self.renderer is not None and not has_images(messages):
            prompt = self.renderer.render(messages, tools, params.thinking)
            n = len(self.renderer.encode_text(prompt))
            room = self.info.context_window - n
            # Keep <|assistant|> before a tool call (GLM-4 issue #474), no spaces added around
            # special tokens, and stop where the in-process engine stops (vLLM extensions).
            extra |= {
                "skip_special_tokens": False,
                "spaces_between_special_tokens": False,
                "stop_token_ids": self.stop_token_ids,
                "include_stop_str_in_output": False,
            }
            max_tokens = max(1, min(params.max_new_tokens, room))
            request = dict(common, prompt=prompt, max_tokens=max_tokens, extra_body=extra)
            reply = openai_stream.Reply(
                lambda: self.client.completions.create(**request),
                lambda choice: [TextDelta(choice.text)] if choice.text else [],
                n,
                room < params.max_new_tokens,
            )
            return reply, room
        if tools and self.renderer is not None:
            raise NoticeError(Notice("server.images_with_tools"))
        if tools:
            raise NoticeError(Notice("server.tools_need_tokenizer", model=self.model))
        estimate = estimate_tokens(messages)
        room = self.info.context_window - estimate  # a guess: never below 1, never a refusal
        chat = with_images(_with_image_paths(messages))
        if self.info.thinking_switch:
            extra |= thinking_fields(params.thinking)
        max_tokens = min(params.max_new_tokens, room) if room > 0 else params.max_new_tokens
        request = dict(common, messages=chat, max_tokens=max_tokens, **({"extra_body": extra} if extra else {}))
        reply = openai_stream.Reply(
            lambda: self.client.chat.completions.create(**request),
            lambda choice: [TextDelta(choice.delta.content)] if choice.delta and choice.delta.content else [],
            estimate,
            False,
        )
        return reply, None


def _with_image_paths(messages: list[Message]) -> list[dict]:
    """Plain chat messages, a user message keeping its ``images`` for ``with_images``."""
    out = plain_messages(messages)
    for original, message in zip(messages, out):
        message.pop("metadata", None)
        if original.get("images"):
            message["images"] = original["images"]
    return out
