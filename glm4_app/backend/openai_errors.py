"""What went wrong talking to an OpenAI-compatible server, in words: which URL, which setting.

The official ``openai`` client raises typed errors (and retries connection failures, 429 and
5xx itself, twice, with backoff); each becomes a message that says what happened and what to
check. A failure after the answer began is a cut stream: the text so far is kept.
"""

from __future__ import annotations

from typing import Callable

import openai

from ..events import Error

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
        return Error(
            f"The model server at {base_url} sent nothing for {timeout_s:g} s, so the request was "
            "abandoned. The server may be overloaded; GLM4_OPENAI_TIMEOUT_S sets how long to wait.",
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return Error(
            f"Cannot connect to the model server at {base_url} ({type(cause).__name__}: {cause}). Is "
            "the server running there (`vllm serve`, `ollama serve`, ...)? Check GLM4_OPENAI_BASE_URL.",
        )
    if isinstance(exc, openai.APIError):  # an error the server sent inside the stream
        return Error(f"The model server failed in the middle of the answer: {said(exc)}")
    return Error(f"Talking to the model server at {base_url} failed: {type(exc).__name__}: {exc}")


def status_error(
    status: int, said: str, base_url: str, model: str, list_models: Callable[[], list[str]]
) -> tuple[str, str]:
    """(message, kind) for an HTTP error status and the server's own words."""
    if status in (401, 403):
        return (
            f"The model server at {base_url} refused the request (HTTP {status}: {said}). "
            "Check GLM4_OPENAI_API_KEY: it must be the key the server expects.",
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
    if status in (400, 413, 422):
        context = any(w in said.lower() for w in _CONTEXT_WORDS)
        return f"The model server rejected the request: {said}", "context" if context else "backend"
    if status == 429:
        return f"The model server is busy (HTTP 429: {said}). Try again in a moment.", "queue_full"
    return f"The model server failed (HTTP {status}: {said}). Try again; if it persists, check the server's log.", "backend"


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


def cut_message(base_url: str, why: str) -> str:
    return (
        f"The connection to the model server at {base_url} broke in the middle of the answer "
        f"({why}). The text so far is kept but incomplete; regenerate to try again."
    )
