"""Text-to-image ("cogview") through an OpenAI-compatible images API.

The model writes an English description; the official ``openai`` client POSTs it to
``{GLM4_IMAGE_API_URL}/images/generations``
(Zhipu's CogView endpoint and OpenAI's both take ``{"model", "prompt"}`` with a Bearer key) and
read ``data[0].url`` (downloaded here, since Zhipu's links expire) or ``data[0].b64_json``.
The image goes to the UI; the model gets the reference demo's words for "the image was
generated and shown", plus the URL when there is one.

Every failure is an ``is_error`` result with plain words (English for the model, a notice for
the user); ``run`` never raises. The request runs on a worker thread so Stop returns at once
even while the API is still thinking.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai

from ..notices import Notice, NoticeError
from ..settings import Settings
from .base import Image, ToolCall, ToolResult
from .. import runner

log = logging.getLogger(__name__)

# The reference demo's observation text ("CogView has generated the image and shown it to the
# user."): GLM-4-9B-Chat was tuned on these exact words after a cogview call.
GENERATED_TEXT = "CogView 已经生成并向用户展示了生成的图片。"
DEFAULT_TIMEOUT_S = 120.0  # CogView and DALL-E usually answer in 5-30 s
MAX_IMAGE_BYTES = 20_000_000

# Magic numbers, so a JSON error page or HTML served as "image/png" is not taken for an image.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def available(settings: Settings) -> Notice | None:
    """None when the tool can be offered, else why not (shown in the UI)."""
    url = settings.image_api_url.strip()
    if not url:
        return Notice("image.no_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Notice("image.bad_url", url=url)
    return None


class _Failure(NoticeError):
    """A failure: its notice's English goes to the model, its notice to the user."""


class ImageTool:
    name = "cogview"

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.max_image_bytes = max_image_bytes

    def declaration(self) -> dict[str, Any]:
        return {"type": "cogview"}

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        try:
            return self._run(call, cancel)
        except Exception as exc:  # a bug here must still not end the turn
            log.exception("image tool failed unexpectedly")
            return _error(Notice("image.failed", error=f"{type(exc).__name__}: {exc}"))

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        reason = available(self.settings)
        if reason:
            return _error(Notice("image.unavailable", reason=reason))
        prompt = call.body.strip()
        if not prompt:
            return _error(Notice("image.empty_prompt"))
        # The worker's own HTTP timeouts normally fire first; this outer limit also catches a
        # server that trickles bytes slowly enough to dodge httpx's per-read timeout.
        outcome = runner.run(
            lambda: self._generate(prompt, cancel),
            timeout_s=self.timeout_s * 2 + 5,  # the API call, then the download
            cancel=cancel,
            name="cogview",
        )
        if outcome.cancelled:
            return _error(Notice("image.stopped"))
        if outcome.timed_out:
            return _error(Notice("image.did_not_finish", seconds=f"{self.timeout_s * 2 + 5:g}"))
        if isinstance(outcome.error, _Failure):
            return _error(outcome.error.notice)
        if outcome.error is not None:
            raise outcome.error  # turned into an error result by run()
        return outcome.value

    def _generate(self, prompt: str, cancel: threading.Event) -> ToolResult:
        endpoint = self.settings.image_api_url.strip().rstrip("/") + "/images/generations"
        timeout = httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        with httpx.Client(timeout=timeout) as client:
            try:
                # The raw response: an answer that is not JSON gets its own words below.
                response = self._api().images.with_raw_response.generate(
                    model=self.settings.image_model,
                    prompt=prompt,
                    # No key configured: no Authorization header at all.
                    extra_headers=None if self.settings.image_api_key else {"Authorization": openai.Omit()},
                ).http_response
            except openai.APITimeoutError:
                raise _Failure(Notice("image.no_answer", seconds=f"{self.timeout_s:g}"))
            except openai.APIStatusError as exc:
                raise _Failure(_http_failure(exc.response))
            except openai.APIConnectionError as exc:
                raise _Failure(Notice("image.unreachable", endpoint=endpoint, reason=_why(exc)))
            try:
                payload = response.json()
            except ValueError:
                content_type = response.headers.get("content-type") or Notice("image.no_content_type")
                raise _Failure(
                    Notice("image.not_json", status=response.status_code, content_type=content_type)
                ) from None
            item = _first_image(payload)
            url = item.get("url") if isinstance(item.get("url"), str) else None
            if isinstance(item.get("b64_json"), str) and item["b64_json"]:
                data = _decode_b64(item["b64_json"])
            elif url:
                if cancel.is_set():
                    raise _Failure(Notice("image.stopped"))
                # No Authorization header here: the image usually lives on another host (a CDN).
                data = self._download(client, url, cancel)
            else:
                raise _Failure(Notice("image.no_url_or_b64"))
        mime = _sniff(data)
        if mime is None:
            raise _Failure(Notice("image.not_an_image", size=len(data), start=repr(data[:16])))
        caption = item.get("revised_prompt") if isinstance(item.get("revised_prompt"), str) else ""
        text = GENERATED_TEXT + (f"\nImage URL: {url}" if url else "")
        generated = Notice("image.generated", model=self.settings.image_model)
        return ToolResult(
            text,
            metadata="cogview_result",
            display=str(generated) + (f"\n{url}" if url else ""),
            images=(Image(data, mime, caption or prompt),),
            notices=(generated,),
        )

    def _api(self) -> openai.OpenAI:
        """The official client; no retries: the tool has its own deadline."""
        return openai.OpenAI(
            api_key=self.settings.image_api_key or "none",  # "none" is never sent (see _generate)
            base_url=self.settings.image_api_url.strip().rstrip("/"),
            timeout=openai.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
            max_retries=0,
        )

    def _download(self, client: httpx.Client, url: str, cancel: threading.Event) -> bytes:
        if urlsplit(url).scheme not in ("http", "https"):
            raise _Failure(Notice("image.url_not_http", url=url[:200]))
        try:
            with client.stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    status = response.status_code
                    raise _Failure(Notice("image.download_status", status=status, url=url[:200]))
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_image_bytes:
                    raise _Failure(self._too_big())
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    if cancel.is_set():
                        raise _Failure(Notice("image.stopped"))
                    size += len(chunk)
                    if size > self.max_image_bytes:
                        raise _Failure(self._too_big())
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise _Failure(Notice("image.download_timeout", seconds=f"{self.timeout_s:g}"))
        except httpx.HTTPError as exc:
            raise _Failure(Notice("image.download_failed", reason=_why(exc)))
        return b"".join(chunks)

    def _too_big(self) -> Notice:
        return Notice("image.too_big", limit=self.max_image_bytes)


def _first_image(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise _Failure(Notice("image.no_image"))
    return data[0]


def _decode_b64(text: str) -> bytes:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # tolerate a data: URL where plain base64 was promised
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Failure(Notice("image.bad_base64")) from None


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _http_failure(response) -> Notice:  # the openai client's response (httpx-like)
    status = response.status_code
    message = _api_message(response)
    if status in (401, 403):
        return Notice("image.refused", status=status, message=message)
    if status == 429:
        return Notice("image.rate_limited", message=message)
    if status >= 500:
        return Notice("image.service_failed", status=status, message=message)
    # Other 4xx: often a content-policy refusal the model can address by rewording.
    return Notice("image.rejected", status=status, message=message)


def _api_message(response) -> str:
    """The API's own error words: ``{"error": {"message", "code"}}`` (OpenAI and Zhipu),
    ``{"message"}`` or ``{"detail"}``; else the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            return f"{error['message']}" + (f" (code {code})" if code not in (None, "") else "")
        for key in ("error", "message", "detail"):
            if isinstance(payload.get(key), str) and payload[key]:
                return payload[key]
    body = response.text.strip()
    return body[:300] if body else (response.reason_phrase or "no details")


def _why(exc: Exception) -> str:
    cause = exc.__cause__ if isinstance(exc, openai.APIConnectionError) and exc.__cause__ else exc
    return str(cause) or type(cause).__name__


def _error(notice: Notice) -> ToolResult:
    return ToolResult.failure(notice, metadata="cogview_result")
