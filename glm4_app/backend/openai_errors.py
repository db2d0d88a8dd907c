"""What went wrong talking to an OpenAI-compatible server, as notices: which URL, which setting.

The official ``openai`` client raises typed errors (and retries connection failures, 429 and
5xx itself, twice, with backoff); each becomes a notice that says what happened and what to
check. A failure after the answer began is a cut stream: the text so far is kept.
"""

from __future__ import annotations

from typing import Callable

import openai

from ..events import Error
from ..notices import Notice

# Words servers use when a prompt is over the model's window (vLLM, SGLang, llama.cpp, Zhipu).
_CONTEXT_WORDS = ("context length", "maximum model length", "too long", "context window", "exceeds the available context")


def error_event(
    exc: Exception, base_url: str, model: str, timeout_s: float, list_models: Callable[[], list[str]]
) -> Error:
    """The Error event for a failure before the answer began."""
    if isinstance(exc, openai.APIStatusError):
        message, kind = status_error(exc.status_code, said(exc), base_url, model, list_models)
        return Error(message, kind)
    if isinstance(exc, openai.APITimeoutError):
        return Error(Notice("server.timed_out", base_url=base_url, seconds=f"{timeout_s:g}"))
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return Error(Notice("server.unreachable", base_url=base_url, error=f"{type(cause).__name__}: {cause}"))
    if isinstance(exc, openai.APIError):  # an error the server sent inside the stream
        return Error(Notice("server.failed_mid_answer", said=said(exc)))
    return Error(Notice("server.talk_failed", base_url=base_url, error=f"{type(exc).__name__}: {exc}"))


def status_error(
    status: int, said: str, base_url: str, model: str, list_models: Callable[[], list[str]]
) -> tuple[Notice, str]:
    """(message, kind) for an HTTP error status and the server's own words."""
    if status in (401, 403):
        return Notice("server.refused_key", base_url=base_url, status=status, said=said), "backend"
    if status == 404:
        try:
            offered = tuple(list_models()) or Notice("server.no_models")
        except Exception:  # noqa: BLE001 - the listing is a hint; the 404 is the error
            offered = Notice("server.models_not_listed")
        return Notice("server.no_such_model", base_url=base_url, model=model, said=said, offered=offered), "backend"
    if status in (400, 413, 422):
        context = any(w in said.lower() for w in _CONTEXT_WORDS)
        return Notice("server.rejected", said=said), "context" if context else "backend"
    if status == 429:
        return Notice("server.busy", said=said), "queue_full"
    return Notice("server.failed", status=status, said=said), "backend"


def said(exc: openai.APIError) -> str:
    """The server's own message: ``{"message": ...}``, ``{"error": {"message": ...}}`` or a
    ``detail``; else the response text."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("message"):
            return str(body["message"])
        if body.get("detail"):
            return str(body["detail"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    response = getattr(exc, "response", None)
    text = response.text.strip()[:500] if response is not None else ""
    return text or exc.message


def cut_message(base_url: str, why: Notice | str) -> Notice:
    return Notice("server.cut", base_url=base_url, why=why)
