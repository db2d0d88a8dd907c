"""Answers from an OpenAI-compatible server (vLLM) instead of in-process models.

With a local tokenizer of the served checkpoint (the default), prompts are rendered here
with the same code as the in-process backend and sent as text to ``/v1/completions`` with
special tokens kept in the output: the server sees byte-identical prompts, GLM-4 tool calls
come back exactly as the engine reports them (``<|assistant|>`` kept, the final stop token
dropped), and token counts are exact. Messages with images go to ``/v1/chat/completions``
as OpenAI content parts, rendered by the server's own template (the vision processors live
there). Without a local tokenizer every request goes to chat completions; All Tools is then
unavailable (vLLM has no GLM-4-9B tool parser) and the token meter is an estimate.

Closing a stream closes its HTTP response, which is how vLLM learns to abort the request.
"""

from __future__ import annotations

import base64
import mimetypes
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from ..events import TERMINAL, Done, Error, Event, Started, Stats, TextDelta
from ..generation import GenerationParams, Message, ModelInfo
from ..reasoning import split_reasoning
from .openai_http import (
    ServerError,
    StreamCut,
    cut_message,
    exception_message,
    response_error,
    sse_payloads,
)
from .prompt import PromptRenderer, template_messages

COMPLETIONS, CHAT = "/completions", "/chat/completions"
# A guess for the meter only: GLM-4V-9B expands an image to 1,600 patch embeddings.
IMAGE_TOKENS_ESTIMATE = 1600


@dataclass(frozen=True)
class _Request:
    path: str
    body: dict
    prompt_tokens: int
    room: int | None  # tokens left in the context window, when the prompt length is exact


class OpenAIBackend:
    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        model: str,
        *,
        context_window: int,
        renderer: PromptRenderer | None = None,
        stop_token_ids: list[int] | None = None,
        timeout_s: float = 300,
        notice: str | None = None,
        heartbeat_s: float = 0.25,
        reasoning: bool | None = None,  # without a renderer: does the output start in <think>?
    ) -> None:
        self.client = client
        self.heartbeat_s = heartbeat_s
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.renderer = renderer
        self.stop_token_ids = list(stop_token_ids or [])
        self.timeout_s = timeout_s
        self.info = ModelInfo(
            name=model,
            context_window=context_window,
            reasoning=renderer.reasoning if renderer else bool(reasoning),
            device=f"served by {self.base_url}",
            precision="OpenAI-compatible API",
            notice=notice,
            tools=bool(renderer and renderer.tool_style),
        )

    # -- ChatBackend -------------------------------------------------------------------------

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        if self.renderer is not None and not _has_images(messages):
            return len(self.renderer.encode(messages, tools))
        return estimate_tokens(messages)

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,  # vLLM's automatic prefix caching needs no key
    ) -> Iterator[Event]:
        started = time.perf_counter()
        try:
            request = self._request(messages, params, tools)
        except (OSError, ValueError) as exc:  # an image gone from disk, tools without a template
            yield Error(str(exc), "backend")
            return
        if request.room is not None and request.room <= 0:
            yield Error(
                f"This conversation is {request.prompt_tokens:,} tokens long, but the model "
                f"reads at most {self.info.context_window:,}. Nothing was cut: shorten your "
                "message, remove earlier turns or start a new chat.",
                "context",
            )
            return
        raw = self._events(request, params, started)
        try:
            yield from split_reasoning(raw, starts_inside=self.info.reasoning)
        finally:
            raw.close()  # the reader hangs up: the server aborts the request

    def list_models(self) -> list[str]:
        response = self.client.get(self.base_url + "/models")
        response.raise_for_status()
        return [m["id"] for m in response.json().get("data", [])]

    # -- Requests ----------------------------------------------------------------------------

    def _request(self, messages: list[Message], params: GenerationParams, tools) -> _Request:
        common = {"model": self.model, "stream": True, "stream_options": {"include_usage": True}}
        common.update(sampling_fields(params))
        if self.renderer is not None and not _has_images(messages):
            prompt = self.renderer.render(messages, tools)
            n = len(self.renderer.encode_text(prompt))
            room = self.info.context_window - n
            body = {
                **common,
                "prompt": prompt,
                "max_tokens": max(1, min(params.max_new_tokens, room)),
                # Keep <|assistant|> before a tool call (GLM-4 issue #474), no spaces added
                # around special tokens, and stop where the in-process engine stops.
                "skip_special_tokens": False,
                "spaces_between_special_tokens": False,
                "stop_token_ids": self.stop_token_ids,
                "include_stop_str_in_output": False,
            }
            return _Request(COMPLETIONS, body, n, room)
        if tools and self.renderer is not None:
            raise ValueError("Images and tools cannot be combined in one request to the server.")
        if tools:
            raise ValueError(
                "Tools need the prompt rendered by this app, and no local tokenizer of "
                f"{self.model} could be loaded. Set GLM4_OPENAI_TOKENIZER to its hub id or folder."
            )
        estimate = estimate_tokens(messages)
        room = self.info.context_window - estimate  # a guess: never below 1, never a refusal
        body = {
            **common,
            "messages": chat_messages(messages),
            "max_tokens": min(params.max_new_tokens, room) if room > 0 else params.max_new_tokens,
        }
        return _Request(CHAT, body, estimate, None)

    def _events(self, request: _Request, params: GenerationParams, started: float) -> Iterator[Event]:
        """The reply's events. The HTTP stream is read on a worker thread so that, while the
        server is silent (queued, reading a long prompt), Started heartbeats keep the UI able
        to notice Stop; closing this generator tells the worker to hang up, which it does at
        the server's next bytes (vLLM then aborts the request)."""
        yield Started(prompt_tokens=request.prompt_tokens)
        inbox: queue.Queue[Event] = queue.Queue()
        hang_up = threading.Event()
        threading.Thread(
            target=self._pump,
            args=(request, params, started, inbox, hang_up),
            name="openai-stream",
            daemon=True,
        ).start()
        answering = False
        try:
            while True:
                try:
                    event = inbox.get(timeout=self.heartbeat_s)
                except queue.Empty:
                    if not answering:  # progress belongs before the first words, not among them
                        yield Started(prompt_tokens=request.prompt_tokens)
                    continue
                answering = answering or isinstance(event, TextDelta)
                yield event
                if isinstance(event, TERMINAL):
                    return
        finally:
            hang_up.set()

    def _pump(self, request, params, started, inbox: queue.Queue, hang_up: threading.Event) -> None:
        first, pieces, finish, usage = None, 0, None, {}
        try:
            with self.client.stream("POST", self.base_url + request.path, json=request.body) as response:
                if response.status_code >= 400:
                    response.read()
                    message, kind = response_error(response, self.base_url, self.model, self.list_models)
                    inbox.put(Error(message, kind))
                    return
                for payload in sse_payloads(response):
                    if hang_up.is_set():
                        return  # leaving the ``with`` closes the connection
                    usage = payload.get("usage") or usage
                    for choice in payload.get("choices") or ():
                        piece = _piece(choice, request.path)
                        if piece:
                            first = first or time.perf_counter()
                            pieces += 1
                            inbox.put(TextDelta(piece))
                        finish = choice.get("finish_reason") or finish
        except StreamCut as cut:
            inbox.put(Error(cut_message(self.base_url, str(cut)), "backend"))
            return
        except ServerError as err:
            inbox.put(Error(f"The model server failed in the middle of the answer: {err}", "backend"))
            return
        except httpx.HTTPError as exc:
            inbox.put(Error(exception_message(exc, self.base_url, self.timeout_s), "backend"))
            return
        except Exception as exc:  # noqa: BLE001 - a bug still ends the answer with words
            inbox.put(Error(f"Reading the model server's answer failed: {type(exc).__name__}: {exc}", "backend"))
            return
        now = time.perf_counter()
        capped = request.room is not None and request.room < params.max_new_tokens
        inbox.put(
            Done(
                Stats(
                    prompt_tokens=usage.get("prompt_tokens") or request.prompt_tokens,
                    completion_tokens=usage.get("completion_tokens") or pieces,
                    context_window=self.info.context_window,
                    ttft_s=(first - started) if first else None,
                    decode_s=(now - first) if first else 0.0,
                    finish_reason=_finish_reason(finish, capped),
                )
            )
        )


def sampling_fields(params: GenerationParams) -> dict:
    """The request's sampling fields (top_k and repetition_penalty are vLLM extensions)."""
    fields: dict = {"temperature": max(params.temperature, 0.0)}
    if not params.greedy:
        fields["top_p"] = params.top_p
        if params.top_k > 0:
            fields["top_k"] = params.top_k
    if params.repetition_penalty != 1.0:
        fields["repetition_penalty"] = params.repetition_penalty
    if params.seed is not None:
        fields["seed"] = params.seed
    return fields


def chat_messages(messages: list[Message]) -> list[dict]:
    """OpenAI chat messages; a user message's images become data-URL content parts."""
    out = []
    for original, message in zip(messages, template_messages(messages)):
        images = original.get("images") or []
        if images:
            parts = [image_part(Path(p)) for p in images]
            message["content"] = [*parts, {"type": "text", "text": message["content"]}]
        out.append(message)
    return out


def image_part(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OSError(f"The image {path.name} can no longer be read ({exc.strerror}); upload it again.") from None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def estimate_tokens(messages: list[Message]) -> int:
    """About three characters a token plus the turn markup: for the meter only."""
    text = sum(len(m["content"]) // 3 + 4 for m in messages)
    return text + IMAGE_TOKENS_ESTIMATE * sum(len(m.get("images") or ()) for m in messages)


def _has_images(messages: list[Message]) -> bool:
    return any(m.get("images") for m in messages)


def _piece(choice: dict, path: str) -> str | None:
    if path == COMPLETIONS:
        return choice.get("text")
    return (choice.get("delta") or {}).get("content")


def _finish_reason(reason: str | None, capped: bool) -> str:
    if reason == "length":
        return "context" if capped else "length"
    if reason == "abort":
        return "cancelled"
    return "stop"
