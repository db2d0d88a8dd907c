"""The OpenAI-compatible API (``GLM4_API=on``): ``GET /v1/models`` and ``POST /v1/chat/completions``,
streamed (SSE) or not, served by the same models, engine queue and per-user limits as the page.

Every request names its user with an API key (``Authorization: Bearer sk-glm4-...``, made in
the sidebar or with ``python -m glm4_app.users key-add``). Every refusal is an OpenAI-style
error body with the status clients expect: 401 key, 404 model or path, 405 method, 400 request,
413 too long, 429 over a limit (with ``Retry-After``), 503 while the model loads or the queue is
full. A client that leaves, streaming or not, cancels its request.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from contextlib import ExitStack

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route

from .. import limits, metrics
from ..accounts import store_for
from ..events import WRITTEN, Done, Error
from ..limits import Refusal
from ..settings import Settings
from . import state
from .api_input import params_of, prompt_of
from .api_models import Served, model_object, ready_models, resolve
from .api_schema import ApiError, ChatRequest, error, error_body, problem
from .completion import END, Answer, Envelope, EventPipe, merged, sse
from .tool_format import OutputSplitter

# A stream's headers wait up to HEADERS_WAIT_S for the first token, so that a request the
# engine refuses (queue full, too long) still gets its own status; after that, comment lines
# every KEEPALIVE_S keep proxies from closing a stream whose model is busy or reading.
HEADERS_WAIT_S = 10.0
KEEPALIVE_S = 5.0
# At most this often a chunk: a fast model's tokens are sent a few at a time, which halves the
# work per token on both ends of the stream and delays none by more than this.
FLUSH_EVERY_S = 0.01
# A non-streamed answer asks this often whether its client is still there: one that left
# frees its place in the batch and its user's slot instead of writing an answer nobody reads.
DISCONNECT_POLL_S = 0.5
log = logging.getLogger(__name__)


class EngineFailure(ApiError):
    """The engine's error event as the request's error: metrics.observe counted it already."""


def api_route(handler):
    """Any ApiError raised by ``handler`` becomes its OpenAI error body, and anything else a
    500 body; each request is counted once (a refusal by its code)."""

    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except EngineFailure as failed:
            return failed.response()
        except ApiError as refused:
            metrics.refused("api", refused.code or "invalid_request")
            return refused.response()
        except Exception:
            log.exception("The API failed on %s %s", request.method, request.url.path)
            metrics.failed("api")
            message = "The server failed on this request (its log says why)."
            return error(500, message, "internal_error")

    return route


async def _authorize(request: Request) -> tuple[Settings, str]:
    """(settings, the owner of the request's API key). The key is looked up in a worker
    thread: the database may be busy with a write, and the event loop serves everyone."""
    settings = state.settings()
    if settings.api != "on":
        raise ApiError(404, "The API is off on this server (an admin sets GLM4_API=on).", "api_off")
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    owner = None
    if scheme.lower() == "bearer":
        owner = await run_in_threadpool(lambda: store_for(settings).api_key_owner(key.strip()))
    if owner is None:
        message = (
            "Incorrect API key provided. Create one in the app's sidebar (🔑 API keys) and send it as "
            "'Authorization: Bearer sk-glm4-...'."
            if key
            else "You didn't provide an API key: send it as 'Authorization: Bearer sk-glm4-...'."
        )
        raise ApiError(401, message, "invalid_api_key")
    return settings, owner


# --- GET /v1/models ------------------------------------------------------------------------------


@api_route
async def list_models(request: Request) -> Response:
    settings, _ = await _authorize(request)
    return JSONResponse(
        {"object": "list", "data": [model_object(s) for s in ready_models(settings)]}
    )


@api_route
async def get_model(request: Request) -> Response:
    settings, _ = await _authorize(request)
    wanted = request.path_params["model"]
    for served in ready_models(settings):
        if wanted in served.names:
            return JSONResponse(model_object(served))
    raise ApiError(404, f"The model '{wanted}' does not exist.", "model_not_found", "model")


# --- POST /v1/chat/completions ---------------------------------------------------------------------


@api_route
async def chat_completions(request: Request) -> Response:
    settings, owner = await _authorize(request)
    chat = _parse(await _read_body(request, max(16, 3 * settings.vision_max_upload_mb) * 2**20))
    served = resolve(settings, chat.model)
    folder = settings.data_dir / "media" / f"api-{uuid.uuid4().hex[:16]}"  # this request's images
    with ExitStack() as undo:  # what a failure before the answer starts gives back
        undo.callback(shutil.rmtree, folder, ignore_errors=True)
        prompt, declarations = prompt_of(chat, served, settings, folder)
        tokens = await run_in_threadpool(served.backend.count_tokens, prompt, declarations)
        slot = _admit(settings, owner, tokens, served.backend.info.context_window)
        undo.callback(slot.release)
        params = params_of(chat, settings)
        splitter = OutputSplitter(served.backend.info, declarations) if declarations else None
        answer = Answer(splitter, chat.stop_list())
        cache_key = f"api:{owner}" if served.kind == "chat" else None  # follow-ups reuse a prefix

        def start():
            return metrics.observe(
                served.backend.stream(prompt, params, declarations, cache_key), "api"
            )

        pipe = EventPipe(start, on_end=lambda: shutil.rmtree(folder, ignore_errors=True))
        undo.pop_all()  # from here the answer releases them (_complete, _stream)
    finish = _stream if chat.stream else _complete
    return await finish(request, chat, served, pipe, answer, slot)


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = ApiError(
        413, f"The request is larger than {limit // 2**20} MB.", "request_too_large"
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> ChatRequest:
    try:
        return ChatRequest.model_validate_json(body)
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            raise ApiError(400, "The request body is not valid JSON.", "invalid_json") from None
        message, param = problem(err)
        raise ApiError(400, message, "invalid_value", param) from None


def _admit(settings: Settings, owner: str, tokens: int, window: int):
    """A place for this request under the model's window and the user's limits."""
    if tokens >= window:
        message = (
            f"This model's maximum context length is {window} tokens; your messages are {tokens} "
            "tokens. Shorten them or remove earlier turns."
        )
        raise ApiError(413, message, "context_length_exceeded", "messages")
    user_limits = limits.shared(settings)
    outcome = user_limits.check_context(tokens) or user_limits.acquire(owner)
    if isinstance(outcome, Refusal):
        if outcome.limit == "context":
            raise ApiError(413, outcome.message, "context_length_exceeded", "messages")
        raise ApiError(
            429, outcome.message, "rate_limit_exceeded", retry_after=outcome.retry_after_s or 1
        )
    return outcome


_ERROR_STATUS = {
    "context": (413, "context_length_exceeded"),
    "queue_full": (503, "server_busy"),
    "oom": (500, "out_of_memory"),
}


def _engine_error(err: Error) -> EngineFailure:
    status, code = _ERROR_STATUS.get(err.kind, (500, "generation_failed"))
    return EngineFailure(status, err.message, code, retry_after=2 if status == 503 else None)


async def _complete(
    request: Request, chat: ChatRequest, served: Served, pipe: EventPipe, answer: Answer, slot
) -> Response:
    try:
        ended, check_at = False, time.monotonic() + DISCONNECT_POLL_S
        while not (ended or answer.ended):
            for item in await pipe.batch(DISCONNECT_POLL_S) or ():
                if item is END:
                    ended = True
                else:
                    answer.feed(item)
            if not (ended or answer.ended) and time.monotonic() >= check_at:
                if await request.is_disconnected():  # closing the pipe cancels the request
                    return Response(status_code=499)  # nginx's "client closed request", for logs
                check_at = time.monotonic() + DISCONNECT_POLL_S
        if answer.error is not None:
            raise _engine_error(answer.error)
        answer.finish()
        return JSONResponse(Envelope(served.backend.info.name).completion(answer))
    finally:
        pipe.close()
        slot.release()


async def _stream(
    request: Request, chat: ChatRequest, served: Served, pipe: EventPipe, answer: Answer, slot
) -> Response:
    def release() -> None:
        pipe.close()
        slot.release()

    try:
        early = await _first_events(request, pipe)
        failed = next((e for e in early or () if isinstance(e, Error)), None)
        if failed is not None and not any(isinstance(e, WRITTEN) for e in early):
            raise _engine_error(failed)  # before any output: the error's own status
    except BaseException:
        release()
        raise
    if early is None:  # the client left before the first token
        release()
        return Response(status_code=499)
    envelope = Envelope(served.backend.info.name)
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)

    async def chunks():
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
                    await asyncio.sleep(FLUSH_EVERY_S)  # tokens arriving meanwhile share a chunk
            if not answer.ended and not ended:
                items = await pipe.batch(KEEPALIVE_S)
        if answer.error is not None:  # mid-stream: an error event, as OpenAI's servers send
            refused = _engine_error(answer.error)
            yield sse(error_body(str(refused), refused.status, refused.code))
        else:
            closing = [envelope.chunk(delta) for delta in merged(answer.finish())]
            closing.append(envelope.chunk({}, answer.finish_reason))
            if include_usage:
                closing.append(envelope.chunk(None, usage=answer.usage()))
            yield "".join(closing)
        yield "data: [DONE]\n\n"

    return _EventStream(
        chunks(),
        on_close=release,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _first_events(request: Request, pipe: EventPipe) -> list | None:
    """The events before the stream's headers: up to the first output, the end or an error,
    or whatever came within HEADERS_WAIT_S; None when the client left meanwhile."""
    early, deadline = [], time.monotonic() + HEADERS_WAIT_S
    while not any(item is END or isinstance(item, (*WRITTEN, Done, Error)) for item in early):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        items = await pipe.batch(min(left, DISCONNECT_POLL_S))
        if items is None and await request.is_disconnected():
            return None
        early += items or []
    return early


class _EventStream(StreamingResponse):
    """A stream that releases its request (the engine's place, the user's slot) however it
    ends: finished, cancelled when the client leaves, or never started."""

    def __init__(self, content, on_close, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


@api_route
async def not_found(request: Request) -> Response:
    """A path the API does not have, or one it has for another method (405, as OpenAI's)."""
    allowed = sorted(
        {
            method
            for route in ROUTES[:-1]
            if route.matches(request.scope)[0] is Match.PARTIAL
            for method in route.methods or ()
        }
    )
    if allowed:
        raise ApiError(
            405,
            f"{request.method} is not allowed on {request.url.path}; use {' or '.join(allowed)}.",
            "method_not_allowed",
            headers={"Allow": ", ".join(allowed)},
        )
    raise ApiError(
        404,
        f"Unknown API path {request.url.path}. This server answers /v1/models and /v1/chat/completions.",
        "unknown_url",
    )


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", get_model, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
]
