"""An MCP tool result as the model reads it and the user sees it.

Text blocks are the observation; images are shown in the step (the model is told they were
shown); structured content is sent as JSON when the server gave no text block (servers
should mirror it in text); embedded
resources give their text, links and binary parts a line saying what they are. ``isError``
results are error observations. Everything is capped (``ToolResult.capped``): a server that
answers with 10 MB costs the prompt at most ``MAX_RESULT_CHARS`` and the page
``MAX_DISPLAY_CHARS``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import mcp_types as types

from ...notices import Notice
from ...tool_types import Image, ToolResult

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 10_000_000
_SHOWN_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def to_result(result: types.CallToolResult) -> ToolResult:
    parts: list[str] = []
    images: list[Image] = []
    for block in result.content:
        text, image = _block(block, len(images))
        if image is not None:
            images.append(image)
        if text:
            parts.append(text)
    structured = result.structured_content
    if structured is not None and not any(getattr(b, "type", "") == "text" for b in result.content):
        # Servers should mirror structured content in a text block; when one does not, the
        # model still gets the data.
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2, default=str))
    text = "\n\n".join(parts)  # empty: the step reads tool_types.NO_OUTPUT (tool_steps)
    if not text and result.is_error:
        return ToolResult.failure(Notice("mcp.failed_silently"))
    return ToolResult.capped(text, is_error=bool(result.is_error), images=tuple(images))


def _block(block: Any, shown: int) -> tuple[str, Image | None]:
    kind = getattr(block, "type", "")
    if kind == "text":
        return block.text, None
    if kind == "image":
        data = _decode(block.data)
        mime = getattr(block, "mime_type", "") or ""
        if data is None:
            return "[an image that could not be decoded]", None
        if mime not in _SHOWN_MIMES or len(data) > MAX_IMAGE_BYTES or shown >= MAX_IMAGES:
            return f"[an image ({mime or 'unknown type'}, {len(data):,} bytes) was not shown]", None
        return f"[image {shown + 1} shown to the user]", Image(data, mime)
    if kind == "audio":
        return f"[audio ({getattr(block, 'mime_type', '')}) is not played here]", None
    if kind == "resource_link":
        return f"[resource: {getattr(block, 'name', '') or ''} {block.uri}]".replace("  ", " "), None
    if kind == "resource":
        resource = block.resource
        if getattr(resource, "text", None) is not None:
            return f"[resource {resource.uri}]\n{resource.text}", None
        return f"[binary resource {resource.uri} ({getattr(resource, 'mime_type', '') or 'unknown type'})]", None
    return f"[a {kind or 'content'} block this app cannot show]", None


def _decode(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
