"""A validated chat request turned into what the backends take: text messages (images saved
for the vision model and held to its rules), tool declarations and generation parameters."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from ..generation import GenerationParams
from ..settings import Settings
from . import tool_format
from .api_models import Served
from .api_schema import ApiError, ChatRequest, Message


def prompt_of(
    chat: ChatRequest, served: Served, settings: Settings, folder: Path
) -> tuple[list[dict], list[dict] | None]:
    """(the app's messages, tool declarations or None); images are saved in ``folder``."""
    backend = served.backend
    messages = _flatten(chat.messages, served.kind == "vision", settings, folder)
    choice = (
        chat.tool_choice.model_dump()
        if hasattr(chat.tool_choice, "model_dump")
        else chat.tool_choice
    )
    try:
        declarations = tool_format.declarations(
            [t.model_dump() for t in chat.tools or []] or None, choice
        )
    except tool_format.ToolChoiceError as err:
        raise ApiError(400, str(err), "invalid_value", "tool_choice") from None
    if declarations and not backend.info.tools:
        message = f"The model '{backend.info.name}' cannot call tools (its chat template has no place for them)."
        raise ApiError(400, message, "invalid_value", "tools")
    if served.kind == "vision":
        _check_vision_rules(backend, messages)
    return tool_format.from_openai_messages(messages), declarations


def params_of(chat: ChatRequest, settings: Settings) -> GenerationParams:
    """OpenAI's sampling fields; what a request leaves out keeps the app's (GLM's) defaults.
    ``chat_template_kwargs.enable_thinking`` switches GLM-4.5's thinking (others ignore it)."""
    options = chat.chat_template_kwargs
    given = {
        "temperature": chat.temperature,
        "top_p": chat.top_p,
        "seed": chat.seed,
        "thinking": options.enable_thinking if options else None,
    }
    return GenerationParams(
        max_new_tokens=chat.max_completion_tokens or chat.max_tokens or settings.max_new_tokens,
        **{k: v for k, v in given.items() if v is not None},
    )


def _flatten(messages: list[Message], vision: bool, settings: Settings, folder: Path) -> list[dict]:
    """Messages with text content; images (data URLs) saved for the vision model."""
    out = []
    for i, m in enumerate(messages):
        role = "system" if m.role == "developer" else m.role
        texts, images = [], []
        for j, part in enumerate([m.content] if isinstance(m.content, str) else m.content or []):
            where = f"messages.{i}.content.{j}"
            if isinstance(part, str):
                texts.append(part)
            elif part.type == "text":
                texts.append(part.text or "")
            elif role != "user":
                raise ApiError(400, "Images go in user messages.", "invalid_value", where)
            elif not vision:
                message = "This model reads no images; send them to the vision model (see GET /v1/models)."
                raise ApiError(400, message, "invalid_value", where)
            else:
                images.append(
                    _save_image(
                        part.image_url.url if part.image_url else "", settings, folder, where
                    )
                )
        message = {"role": role, "content": "\n".join(texts)}
        if images:
            message["images"] = images
        if m.tool_calls:
            message["tool_calls"] = [{"id": c.id, "function": c.function.model_dump()} for c in m.tool_calls]
        if m.tool_call_id:
            message["tool_call_id"] = m.tool_call_id
        if m.reasoning_content and role == "assistant":
            message["reasoning_content"] = m.reasoning_content
        out.append(message)
    return out


def _save_image(url: str, settings: Settings, folder: Path, param: str) -> str:
    """A data URL checked like an upload (size, format, decompression bomb) and saved."""
    from ..vision.images import ImageError, ImageLimits, save_upload

    if not url.startswith("data:"):
        raise ApiError(
            400,
            "Images are accepted as data URLs (data:image/png;base64,...); this server fetches no URLs.",
            "invalid_value",
            param,
        )
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise ApiError(400, "An image data URL must be base64-encoded.", "invalid_value", param)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, "The image data URL is not valid base64.", "invalid_value", param
        ) from None
    image_limits = ImageLimits(
        max_side=settings.vision_image_max_side, max_upload_mb=settings.vision_max_upload_mb
    )
    try:
        return str(save_upload(data, "The image", folder, image_limits))
    except ImageError as err:
        raise ApiError(400, str(err), "invalid_value", param) from None


def _check_vision_rules(backend, messages: list[dict]) -> None:
    """The checkpoint's rules (GLM-4V-9B: one image, in the first message, no system prompt)."""
    from ..vision.profiles import check_send

    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    refusal = check_send(backend.profile, [], [], system)
    for i, m in enumerate(messages):
        if refusal is None and m.get("images"):
            refusal = check_send(backend.profile, messages[:i], m["images"])
    if refusal is not None:
        raise ApiError(400, refusal.message, "invalid_value", "messages")
