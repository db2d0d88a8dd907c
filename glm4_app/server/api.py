"""The OpenAI-compatible API (``GLM4_API=on``): ``GET /v1/models`` and ``POST /v1/chat/completions``,
streamed (SSE) or not, served by the same models, engine queue and per-user limits as the page.

Every request names its user with an API key (``Authorization: Bearer sk-glm4-...``, made in
the sidebar or with ``python -m glm4_app.users key-add``). Every refusal is an OpenAI-style
error body with the status clients expect: 401 key, 404 model, 400 request, 413 too long,
429 over a limit (with ``Retry-After``), 503 while the model loads or the queue is full.
"""

from __future__ import annotations

import base64
import binascii
import math
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import limits, metrics
from ..accounts import store_for
from ..events import Done, Error, ReasoningDelta, TextDelta
from ..generation import GenerationParams
from ..limits import Refusal
from ..settings import Settings
from . import state, tool_format
from .api_schema import ChatRequest, Message, error, error_body, problem
from .completion import END, Answer, Envelope, EventPipe, merged, sse

HEADERS_WAIT_S = 10.0  # a stream's headers wait this long for the first token, so an early
KEEPALIVE_S = 5.0  # failure still gets its status; then comments keep proxies from timing out


@dataclass(frozen=True)
class Served:
    """A model the API can route to: loaded, loading or failed."""

    kind: str  # "chat" | "vision" | "scripted"
    job: object  # a LoadJob (backend/manager.py); for "scripted", anything with done/result/error
    names: frozenset[str]  # what a request may call it

    @property
    def backend(self):
        return self.job.result if self.job.done else None


class _Ready:  # a backend that needs no loading (the test-only scripted one)
    def __init__(self, backend) -> None:
        self.done, self.result, self.error, self.started_at = True, backend, None, time.monotonic()


def served_models(settings: Settings) -> list[Served]:
    from ..backend.manager import MANAGER

    served = [Served("chat", MANAGER.chat(settings), _names(settings.chat_model))]
    if settings.vision_model:
        served.append(Served("vision", MANAGER.vision(settings), _names(settings.vision_model)))
    if settings.scripted_replies:
        from ..scripted import from_file

        served.append(Served("scripted", _Ready(from_file(Path(settings.scripted_replies))), frozenset({"scripted"})))
    return [replace(s, names=s.names | {s.backend.info.name}) if s.backend else s for s in served]


def _names(setting: str) -> frozenset[str]:
    return frozenset({setting} - {"", "auto"})


# --- Gate ----------------------------------------------------------------------------------------


def _refuse(response: Response) -> Response:
    metrics.refused("api")
    return response


def _check(request: Request) -> tuple[Settings, str | None, Response | None]:
    """(settings, the key's owner, a refusal) for every API request."""
    settings = state.settings()
    if settings.api != "on":
        return settings, None, error(404, "The API is off on this server (an admin sets GLM4_API=on).", "api_off")
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    owner = store_for(settings).api_key_owner(key.strip()) if scheme.lower() == "bearer" else None
    if owner is None:
        message = (
            "Incorrect API key provided. Create one in the app's sidebar (🔑 API keys) and send it as "
            "'Authorization: Bearer sk-glm4-...'." if key else
            "You didn't provide an API key: send it as 'Authorization: Bearer sk-glm4-...'."
        )
        return settings, None, _refuse(error(401, message, "invalid_api_key"))
    return settings, owner, None


# --- GET /v1/models ------------------------------------------------------------------------------


def _model_object(served: Served) -> dict:
    info = served.backend.info
    return {
        "id": info.name, "object": "model", "created": int(time.time() - (time.monotonic() - served.job.started_at)),
        "owned_by": "glm4-chat", "max_model_len": info.context_window,
        "capabilities": {"vision": served.kind == "vision", "tools": bool(info.tools) or served.kind == "scripted",
                         "reasoning": bool(info.reasoning)},
    }


async def list_models(request: Request) -> Response:
    settings, _, refusal = _check(request)
    if refusal:
        return refusal
    served = served_models(settings)
    ready = [s for s in served if s.backend is not None]
    if not ready and any(not s.job.done for s in served):
        return _loading(served)
    return JSONResponse({"object": "list", "data": [_model_object(s) for s in ready]})


async def get_model(request: Request) -> Response:
    settings, _, refusal = _check(request)
    if refusal:
        return refusal
    wanted = request.path_params["model"]
    for s in served_models(settings):
        if s.backend is not None and wanted in s.names:
            return JSONResponse(_model_object(s))
    return _refuse(error(404, f"The model '{wanted}' does not exist.", "model_not_found", "model"))


def _loading(served: list[Served]) -> Response:
    loading = [s for s in served if not s.job.done]
    seconds = max(time.monotonic() - s.job.started_at for s in loading)
    return _refuse(error(
        503, f"The model is still loading ({seconds:.0f} s so far); try again shortly.", "model_loading",
        retry_after=5,
    ))


def _resolve(settings: Settings, name: str) -> tuple[Served | None, Response | None]:
    served = served_models(settings)
    for s in served:
        if s.backend is not None and name in s.names:
            return s, None
    if any(not s.job.done for s in served):
        return None, _loading(served)  # it may be the one still loading
    for s in served:
        if s.job.error is not None and name in s.names:
            err = s.job.error
            return None, _refuse(error(503, f"The model failed to load: {err.title} {err.hint}", "model_unavailable"))
    offered = ", ".join(sorted(s.backend.info.name for s in served if s.backend)) or "none"
    return None, _refuse(error(404, f"The model '{name}' does not exist. Models here: {offered}.", "model_not_found", "model"))


# --- POST /v1/chat/completions ---------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.param, self.status, self.code = param, status, code


async def chat_completions(request: Request) -> Response:
    settings, owner, refusal = _check(request)
    if refusal:
        return refusal
    limit = max(16, 3 * settings.vision_max_upload_mb) * 2**20
    body = await _read_body(request, limit)
    if body is None:
        return _refuse(error(413, f"The request is larger than {limit // 2**20} MB.", "request_too_large"))
    try:
        chat = ChatRequest.model_validate_json(body)
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            return _refuse(error(400, "The request body is not valid JSON.", "invalid_json"))
        message, param = problem(err)
        return _refuse(error(400, message, "invalid_value", param))
    served, refusal = _resolve(settings, chat.model)
    if refusal:
        return refusal
    folder = settings.data_dir / "media" / f"api-{uuid.uuid4().hex[:16]}"  # this request's images
    try:
        job = await _prepare(chat, served, settings, owner, folder)
    except BadRequest as bad:
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(error(bad.status, str(bad), bad.code, bad.param))
    if isinstance(job, Response):
        shutil.rmtree(folder, ignore_errors=True)
        return job
    cache_key = f"api:{owner}" if served.kind == "chat" else None  # a user's follow-ups reuse their prefix
    return await (_stream if chat.stream else _complete)(chat, served, *job, cache_key, folder)


async def _read_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _prepare(chat: ChatRequest, served: Served, settings: Settings, owner: str, folder: Path):
    """(messages, params, declarations, slot) for the backend, or a refusal."""
    backend = served.backend
    messages = _flatten(chat.messages, served.kind == "vision", settings, folder)
    try:
        declarations = tool_format.declarations([t.model_dump() for t in chat.tools or []] or None, _choice(chat))
    except tool_format.ToolChoiceError as err:
        raise BadRequest(str(err), "tool_choice") from None
    if declarations and not (backend.info.tools or served.kind == "scripted"):
        raise BadRequest(f"The model '{backend.info.name}' cannot call tools (its chat template has no place for them).", "tools")
    if served.kind == "vision":
        _check_vision_rules(backend, messages)
    prompt = tool_format.prompt_messages(messages)
    tokens = await run_in_threadpool(backend.count_tokens, prompt, declarations)
    window = backend.info.context_window
    if tokens >= window:
        raise BadRequest(
            f"This model's maximum context length is {window} tokens; your messages are {tokens} tokens. "
            "Shorten them or remove earlier turns.", "messages", 413, "context_length_exceeded",
        )
    user_limits = limits.shared(settings)
    outcome = user_limits.check_context(tokens) or user_limits.acquire(owner)
    if isinstance(outcome, Refusal):
        if outcome.limit == "context":
            return _refuse(error(413, outcome.message, "context_length_exceeded", "messages"))
        wait = outcome.retry_after_s if outcome.retry_after_s is not None else 1
        return _refuse(error(429, outcome.message, "rate_limit_exceeded", retry_after=math.ceil(wait)))
    params = GenerationParams(
        **({"temperature": chat.temperature} if chat.temperature is not None else {}),
        **({"top_p": chat.top_p} if chat.top_p is not None else {}),
        max_new_tokens=chat.max_completion_tokens or chat.max_tokens or settings.max_new_tokens,
        seed=chat.seed,
    )
    return prompt, params, declarations, outcome


def _choice(chat: ChatRequest):
    choice = chat.tool_choice
    return choice.model_dump() if hasattr(choice, "model_dump") else choice


def _flatten(messages: list[Message], vision: bool, settings: Settings, folder: Path) -> list[dict]:
    """Messages with text content; images (data URLs) saved for the vision model."""
    out = []
    for i, m in enumerate(messages):
        role = "system" if m.role == "developer" else m.role
        texts, images = [], []
        for j, part in enumerate([m.content] if isinstance(m.content, str) else m.content or []):
            if isinstance(part, str):
                texts.append(part)
            elif part.type == "text":
                texts.append(part.text or "")
            else:
                if role != "user":
                    raise BadRequest("Images go in user messages.", f"messages.{i}.content.{j}")
                if not vision:
                    raise BadRequest(
                        "This model reads no images; send them to the vision model (see GET /v1/models).",
                        f"messages.{i}.content.{j}",
                    )
                images.append(_save_image(part.image_url.url if part.image_url else "", settings, folder, f"messages.{i}.content.{j}"))
        message = {"role": role, "content": "\n".join(texts)}
        if images:
            message["images"] = images
        if m.tool_calls:
            message["tool_calls"] = [{"function": c.function.model_dump()} for c in m.tool_calls]
        out.append(message)
    return out


def _save_image(url: str, settings: Settings, folder: Path, param: str) -> str:
    from ..vision.images import ImageError, ImageLimits, save_upload

    if not url.startswith("data:"):
        raise BadRequest("Images are accepted as data URLs (data:image/png;base64,...); this server fetches no URLs.", param)
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise BadRequest("An image data URL must be base64-encoded.", param)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("The image data URL is not valid base64.", param) from None
    image_limits = ImageLimits(max_side=settings.vision_image_max_side, max_upload_mb=settings.vision_max_upload_mb)
    try:
        return str(save_upload(data, "The image", folder, image_limits))
    except ImageError as err:
        raise BadRequest(str(err), param) from None


def _check_vision_rules(backend, messages: list[dict]) -> None:
    from ..vision.profiles import check_send

    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    refusal = check_send(backend.profile, [], [], system)
    for i, m in enumerate(messages):
        if refusal is None and m.get("images"):
            refusal = check_send(backend.profile, messages[:i], m["images"])
    if refusal is not None:
        raise BadRequest(refusal.message, "messages")


def _start(served: Served, prompt, params, declarations, cache_key: str | None):
    def start():
        return metrics.observe(served.backend.stream(prompt, params, declarations, cache_key), "api")

    return start


_ERROR_STATUS = {"context": (413, "context_length_exceeded"), "queue_full": (503, "server_busy"), "oom": (500, "out_of_memory")}


def _error_response(err: Error) -> Response:
    status, code = _ERROR_STATUS.get(err.kind, (500, "generation_failed"))
    return error(status, err.message, code, retry_after=2 if status == 503 else None)


async def _complete(chat, served, prompt, params, declarations, slot, cache_key, folder) -> Response:
    pipe = EventPipe(_start(served, prompt, params, declarations, cache_key), lambda: shutil.rmtree(folder, ignore_errors=True))
    answer = Answer([d["function"]["name"] for d in declarations or []], chat.stop_list())
    try:
        while not answer.ended:
            items = await pipe.batch()
            for item in items:
                if item is not END:
                    answer.feed(item)
            if END in items:
                break
        if answer.error is not None:
            return _error_response(answer.error)
        answer.finish()
        return JSONResponse(Envelope(served.backend.info.name).completion(answer))
    finally:
        pipe.close()
        slot.release()


async def _stream(chat, served, prompt, params, declarations, slot, cache_key, folder) -> Response:
    pipe = EventPipe(_start(served, prompt, params, declarations, cache_key), lambda: shutil.rmtree(folder, ignore_errors=True))
    answer = Answer([d["function"]["name"] for d in declarations or []], chat.stop_list())
    early, deadline = [], time.monotonic() + HEADERS_WAIT_S
    while not any(item is END or isinstance(item, (TextDelta, ReasoningDelta, Done, Error)) for item in early):
        items = await pipe.batch(max(0.0, deadline - time.monotonic()))  # the first token, so a
        if items is None:  # refusal by the engine still gets its own status
            break
        early += items
    if any(isinstance(e, Error) for e in early) and not any(isinstance(e, (TextDelta, ReasoningDelta)) for e in early):
        pipe.close()
        slot.release()
        return _error_response(next(e for e in early if isinstance(e, Error)))
    envelope = Envelope(served.backend.info.name)
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)

    async def chunks():
        try:
            yield envelope.chunk({"role": "assistant", "content": ""})
            items, ended = early, False
            while not answer.ended and not ended:
                if items is None:
                    yield ": keep-alive\n\n"
                else:
                    deltas = []
                    for item in items:
                        if item is END:
                            ended = True
                        else:
                            deltas += answer.feed(item)
                    if deltas:
                        yield "".join(envelope.chunk(delta) for delta in merged(deltas))
                if not answer.ended and not ended:
                    items = await pipe.batch(KEEPALIVE_S)
            if answer.error is not None:
                status, code = _ERROR_STATUS.get(answer.error.kind, (500, "generation_failed"))
                yield sse(error_body(answer.error.message, status, code))
            else:
                closing = [envelope.chunk(delta) for delta in merged(answer.finish())]
                closing.append(envelope.chunk({}, answer.finish_reason))
                if include_usage:
                    closing.append(envelope.chunk(None, usage=answer.usage()))
                yield "".join(closing)
            yield "data: [DONE]\n\n"
        finally:
            pipe.close()
            slot.release()

    return StreamingResponse(
        chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def not_found(request: Request) -> Response:
    return error(404, f"Unknown API path {request.url.path}. This server answers /v1/models and /v1/chat/completions.", "unknown_url")


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", get_model, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
]
