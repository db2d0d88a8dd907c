"""What the OpenAI-compatible backends send: the client, sampling fields, messages with
images, and the token estimate used where no local tokenizer counts."""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path

import openai

from ..generation import GenerationParams, Message
from ..notices import Notice, NoticeError
from ..settings import Settings

# A guess for the meter only: GLM-4V-9B expands an image to 1,600 patch embeddings.
IMAGE_TOKENS_ESTIMATE = 1600
CONNECT_TIMEOUT_S = 10.0


def make_client(settings: Settings, base_url: str) -> openai.OpenAI:
    """The official client: typed errors, two retries with backoff for connection failures,
    429 and 5xx, and a read timeout between the server's bytes (first token included)."""
    return openai.OpenAI(
        base_url=base_url,
        # The client insists on a key; local servers started without one ignore it.
        api_key=settings.openai_api_key or "EMPTY",
        timeout=openai.Timeout(settings.openai_timeout_s, connect=min(CONNECT_TIMEOUT_S, settings.openai_timeout_s)),
        max_retries=2,
    )


def sampling(params: GenerationParams) -> tuple[dict, dict]:
    """(standard fields, ``extra_body`` fields): top_k and repetition_penalty are vLLM/SGLang
    extensions, sent only when set, so stricter APIs never see them."""
    fields: dict = {"temperature": max(params.temperature, 0.0)}
    extra: dict = {}
    if not params.greedy:
        fields["top_p"] = params.top_p
        if params.top_k > 0:
            extra["top_k"] = params.top_k
    if params.repetition_penalty != 1.0:
        extra["repetition_penalty"] = params.repetition_penalty
    if params.seed is not None:
        fields["seed"] = params.seed
    return fields, extra


def thinking_fields(thinking: bool | None) -> dict:
    """``extra_body`` fields that switch a served GLM-4.5+ model's thinking off: the template
    argument vLLM and SGLang pass on, and the field Zhipu's API reads. Nothing for the default."""
    if thinking is None or thinking:
        return {}
    return {"chat_template_kwargs": {"enable_thinking": False}, "thinking": {"type": "disabled"}}


def thinking_by_name(model: str) -> bool:
    """Whether a served model, known only by name, is a GLM with the thinking switch (GLM-4.5,
    4.6, 4.7 and their V models; GLM-4.1V-Thinking always thinks)."""
    return re.search(r"glm-?4\.[5-9]|glm-?[5-9](?:\.|-|$)", model.lower()) is not None


def vision_by_name(model: str) -> bool:
    """Whether a served model, known only by name, is a GLM vision model (GLM-4V, GLM-4.1V,
    GLM-4.5V, GLM-4.6V): its ``<answer>`` tags are markup, whichever page talks to it."""
    return re.search(r"glm-?4(?:\.\d)?v", model.lower()) is not None


def with_images(messages: list[dict]) -> list[dict]:
    """Chat messages whose ``images`` (file paths) become data-URL content parts."""
    out = []
    for message in messages:
        message = dict(message)
        images = message.pop("images", None)
        if images:
            parts = [image_part(Path(p)) for p in images]
            message["content"] = [*parts, {"type": "text", "text": message["content"]}]
        out.append(message)
    return out


def image_part(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError:
        raise NoticeError(Notice("images.gone", name=path.name)) from None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def estimate_tokens(messages: list[Message], tools: list[dict] | None = None) -> int:
    """About three characters a token plus the turn markup: for the meter only."""
    text = sum(len(m["content"] or "") // 3 + 4 for m in messages)
    text += sum(len(str(t)) // 3 for t in tools or ())
    return text + IMAGE_TOKENS_ESTIMATE * sum(len(m.get("images") or ()) for m in messages)


def has_images(messages: list[Message]) -> bool:
    return any(m.get("images") for m in messages)
