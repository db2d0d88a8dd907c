"""The wire side of the OpenAI-compatible backend: server-sent events and errors in words.

vLLM streams ``data: {json}`` lines separated by blank lines and ends with ``data: [DONE]``;
a stream that stops before ``[DONE]`` was cut (server restart, proxy timeout, dropped
connection). Every failure becomes a message that says what happened and what to check.
"""

from __future__ import annotations

import json
from typing import Callable, Iterator

import httpx


class StreamCut(Exception):
    """The server's stream ended before ``data: [DONE]``."""


class ServerError(Exception):
    """An error the server reported inside the stream (``data: {"error": ...}``)."""


def sse_payloads(response: httpx.Response) -> Iterator[dict]:
    """The JSON payloads of a server-sent event stream, up to ``[DONE]``."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, ``: keep-alive`` comments, ``event:`` lines
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            payload = json.loads(data)
        except json.JSONDecodeError:
            raise StreamCut(f"unreadable event {data[:200]!r}") from None
        if isinstance(payload, dict) and payload.get("error"):
            raise ServerError(error_text(payload))
        yield payload
    raise StreamCut("the stream ended without [DONE]")


def error_text(body: object) -> str:
    """The server's own message: vLLM sends ``{"message": ...}`` or ``{"error": {"message": ...}}``."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:500]


def response_error(
    response: httpx.Response, base_url: str, model: str, list_models: Callable[[], list[str]]
) -> tuple[str, str]:
    """(message, kind) for an HTTP error status; ``response`` must have been read."""
    try:
        said = error_text(response.json())
    except ValueError:
        said = response.text.strip()[:500] or response.reason_phrase
    status = response.status_code
    if status in (401, 403):
        return (
            f"The model server at {base_url} refused the request (HTTP {status}: {said}). "
            "Check GLM4_OPENAI_API_KEY: it must match the server's `--api-key`.",
            "backend",
        )
    if status == 404:
        try:
            offered = ", ".join(list_models()) or "no models"
        except Exception:  # noqa: BLE001 - the listing is a hint; the 404 is the error
            offered = "a list it would not give"
        return (
            f"The model server at {base_url} has no model {model!r} (HTTP 404: {said}). "
            f"It serves: {offered}. Set GLM4_OPENAI_MODEL to one of them.",
            "backend",
        )
    if status == 400:
        context = any(w in said.lower() for w in ("context length", "maximum model length", "too long"))
        return f"The model server rejected the request: {said}", "context" if context else "backend"
    if status == 429:
        return f"The model server is busy (HTTP 429: {said}). Try again in a moment.", "queue_full"
    return f"The model server failed (HTTP {status}: {said}). Try again; if it persists, check the server's log.", "backend"


def exception_message(exc: httpx.HTTPError, base_url: str, timeout_s: float) -> str:
    if isinstance(exc, httpx.ConnectError):
        return (
            f"Cannot connect to the model server at {base_url} ({exc}). Is `vllm serve` running "
            "there? Check GLM4_OPENAI_BASE_URL."
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Connecting to the model server at {base_url} timed out. Is the address right?"
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"The model server at {base_url} sent nothing for {timeout_s:g} s, so the request was "
            "abandoned. The server may be overloaded; GLM4_OPENAI_TIMEOUT_S sets how long to wait."
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return cut_message(base_url, str(exc))
    return f"Talking to the model server at {base_url} failed: {type(exc).__name__}: {exc}"


def cut_message(base_url: str, why: str) -> str:
    return (
        f"The connection to the model server at {base_url} broke in the middle of the answer "
        f"({why}). The text so far is kept but incomplete; regenerate to try again."
    )
