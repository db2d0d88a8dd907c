"""Text-to-image ("cogview") through an OpenAI-compatible images API.

The model writes an English description; the official ``openai`` client POSTs it to
``{GLM4_IMAGE_API_URL}/images/generations``
(Zhipu's CogView endpoint and OpenAI's both take ``{"model", "prompt"}`` with a Bearer key) and
read ``data[0].url`` (downloaded here, since Zhipu's links expire) or ``data[0].b64_json``.
The image goes to the UI; the model gets the reference demo's words for "the image was
generated and shown", plus the URL when there is one.

Every failure is an ``is_error`` result with plain words; ``run`` never raises. The request
runs on a worker thread so Stop returns at once even while the API is still thinking.
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

from ..notices import Notice
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


class _Failure(Exception):
    """A failure with words meant for the model and the user."""


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
            return _error(f"Image generation failed: {type(exc).__name__}: {exc}")

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        reason = available(self.settings)
        if reason:
            return _error(f"Text-to-image is not available: {reason}.")
        prompt = call.body.strip()
        if not prompt:
            return _error("The image description is empty; send cogview an English description.")
        # The worker's own HTTP timeouts normally fire first; this outer limit also catches a
        # server that trickles bytes slowly enough to dodge httpx's per-read timeout.
        outcome = runner.run(
            lambda: self._generate(prompt, cancel),
            timeout_s=self.timeout_s * 2 + 5,  # the API call, then the download
            cancel=cancel,
            name="cogview",
        )
        if outcome.cancelled:
            return _error("Image generation was stopped.")
        if outcome.timed_out:
            return _error(f"The image API did not finish within {self.timeout_s * 2 + 5:g} s.")
        if isinstance(outcome.error, _Failure):
            return _error(str(outcome.error))
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
                raise _Failure(f"The image API did not answer within {self.timeout_s:g} s.")
            except openai.APIStatusError as exc:
                raise _Failure(_http_failure(exc.response))
            except openai.APIConnectionError as exc:
                raise _Failure(f"Could not reach the image API at {endpoint}: {_why(exc)}.")
            try:
                payload = response.json()
            except ValueError:
                raise _Failure(
                    f"The image API's answer is not JSON (HTTP {response.status_code}, "
                    f"{response.headers.get('content-type', 'no content type')})."
                ) from None
            item = _first_image(payload)
            url = item.get("url") if isinstance(item.get("url"), str) else None
            if isinstance(item.get("b64_json"), str) and item["b64_json"]:
                data = _decode_b64(item["b64_json"])
            elif url:
                if cancel.is_set():
                    raise _Failure("Image generation was stopped.")
                # No Authorization header here: the image usually lives on another host (a CDN).
                data = self._download(client, url, cancel)
            else:
                raise _Failure("The image API's answer has neither a url nor b64_json image.")
        mime = _sniff(data)
        if mime is None:
            raise _Failure(
                f"The image API returned data that is not an image ({len(data)} bytes "
                f"starting {data[:16]!r})."
            )
        caption = item.get("revised_prompt") if isinstance(item.get("revised_prompt"), str) else ""
        text = GENERATED_TEXT + (f"\nImage URL: {url}" if url else "")
        display = f"Image generated by {self.settings.image_model}." + (f"\n{url}" if url else "")
        return ToolResult(
            text,
            metadata="cogview_result",
            display=display,
            images=(Image(data, mime, caption or prompt),),
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
            raise _Failure(f"The image API returned a URL that is not http(s): {url[:200]}")
        try:
            with client.stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    raise _Failure(
                        f"The generated image could not be downloaded (HTTP "
                        f"{response.status_code} from {url[:200]})."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_image_bytes:
                    raise _Failure(self._too_big())
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    if cancel.is_set():
                        raise _Failure("Image generation was stopped.")
                    size += len(chunk)
                    if size > self.max_image_bytes:
                        raise _Failure(self._too_big())
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise _Failure(f"Downloading the generated image took over {self.timeout_s:g} s.")
        except httpx.HTTPError as exc:
            raise _Failure(f"The generated image could not be downloaded: {_why(exc)}.")
        return b"".join(chunks)

    def _too_big(self) -> str:
        return f"The generated image is larger than {self.max_image_bytes:,} bytes; not downloaded."


def _first_image(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise _Failure(
            "The image API's answer holds no image (expected data[0].url or data[0].b64_json)."
        )
    return data[0]


def _decode_b64(text: str) -> bytes:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # tolerate a data: URL where plain base64 was promised
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Failure("The image API's b64_json is not valid base64.") from None


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _http_failure(response) -> str:  # the openai client's response (httpx-like)
    status = response.status_code
    message = _api_message(response)
    if status in (401, 403):
        return (
            f"The image API refused the request (HTTP {status}): {message}. "
            "Check GLM4_IMAGE_API_KEY."
        )
    if status == 429:
        return f"The image API is rate limiting requests (HTTP 429): {message}. Try again later."
    if status >= 500:
        return f"The image service failed (HTTP {status}): {message}. Try again later."
    # Other 4xx: often a content-policy refusal the model can address by rewording.
    return f"The image API rejected the request (HTTP {status}): {message}"


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


def _error(text: str) -> ToolResult:
    return ToolResult(text, metadata="cogview_result", is_error=True)
