"""All Tools, Chat and Vision through any chat-completions API with native tool calls
(``GLM4_BACKEND=openai-chat``): Zhipu's open platform, vLLM or SGLang started with a tool
parser, Ollama, llama.cpp's server.

The server renders the prompt with its own template and parses the model's tool calls: the
app's tools go out as ``tools=`` (built-ins as functions, see builtin_tools.py), calls come
back as streamed ``tool_calls`` whose arguments arrive in pieces (ToolCallChunk events for the
``openai`` format's parser), results go back as ``role: tool`` messages. Thinking models'
``reasoning_content`` (or ``reasoning``) streams as reasoning; a ``<think>`` block inside the
content is split off too. Images go as data-URL content parts. Without a local tokenizer the
meter before an answer is an estimate; the answer's stats hold the server's ``usage``.
"""

from __future__ import annotations

import time
from typing import Iterator

import openai

from ..events import Error, Event, ReasoningDelta, TextDelta, ToolCallChunk
from ..formats import OpenAIToolsFormat
from ..generation import GenerationParams, Message, ModelInfo
from ..notices import Notice, NoticeError
from ..reasoning import split_reasoning
from ..vision.answer import without_answer_tags
from . import openai_stream
from .openai_wire import estimate_tokens, sampling, thinking_by_name, thinking_fields, with_images

FORMAT = OpenAIToolsFormat()


class OpenAIChatBackend:
    def __init__(
        self,
        client: openai.OpenAI,
        base_url: str,
        model: str,
        *,
        context_window: int,
        timeout_s: float = 300,
        heartbeat_s: float = 0.25,
        window_known: bool = True,
        vision: bool = False,  # a vision model: its <answer> tags are markup
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s
        self.vision = vision
        self.info = ModelInfo(
            name=model,
            context_window=context_window,
            device=Notice("model.served_by", base_url=self.base_url),
            precision=Notice("model.chat_completions_api"),
            tools=True,
            tool_format=FORMAT.name,
            exact_counts=False,
            thinking_switch=thinking_by_name(model),
            notice=None if window_known else Notice("server.window_unknown", model=model, window=context_window),
        )

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        return estimate_tokens(messages, tools)  # an estimate: the server's tokenizer is not here

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,
    ) -> Iterator[Event]:
        started = time.perf_counter()
        chat, extra = FORMAT.template_inputs(messages, tools)
        try:
            chat = with_images(chat)
        except NoticeError as exc:  # an image gone from disk
            yield Error(exc.notice, "backend")
            return
        fields, extra_body = sampling(params)
        if self.info.thinking_switch:
            extra_body |= thinking_fields(params.thinking)
        request = {
            "model": self.model,
            "messages": chat,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_new_tokens,
            **fields,
            **extra,
        }
        if extra_body:
            request["extra_body"] = extra_body
        reply = openai_stream.Reply(
            lambda: self.client.chat.completions.create(**request),
            _choice_events,
            estimate_tokens(messages, tools),
            False,
        )
        server = openai_stream.Server(self.base_url, self.model, self.timeout_s, self.info.context_window, self.list_models)
        raw = openai_stream.events(reply, server, started, self.heartbeat_s)
        try:
            events = split_reasoning(raw, starts_inside=False)  # a <think> inside the content
            yield from without_answer_tags(events) if self.vision else events
        finally:
            raw.close()  # the reader hangs up: the server aborts the request

    def list_models(self) -> list[str]:
        return [m.id for m in self.client.models.list().data]


def _choice_events(choice) -> list[Event]:
    delta = choice.delta
    if delta is None:
        return []
    out: list[Event] = []
    extra = delta.model_extra or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")  # vLLM, SGLang, Zhipu
    if isinstance(reasoning, str) and reasoning:
        out.append(ReasoningDelta(reasoning))
    if delta.content:
        out.append(TextDelta(delta.content))
    for call in delta.tool_calls or ():
        function = call.function
        out.append(
            ToolCallChunk(
                index=call.index or 0,
                id=call.id,
                name=function.name if function else None,
                arguments=(function.arguments or "") if function else "",
            )
        )
    return out
