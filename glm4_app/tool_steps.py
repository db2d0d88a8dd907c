"""Tool steps as stored conversation messages: the call, then its observation.

The observation keeps what the model read (``content``) apart from what the user sees
(``display``, images and files saved beside the conversations database, citations), so a
later turn re-sends the step in the model's own format and a refreshed page shows it again.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from .artifacts import saved
from .messages import ImageRef, Message
from .tool_types import NO_OUTPUT, Citation, ToolCall, ToolResult

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def call_messages(call: ToolCall, result: ToolResult, step: int | None = None) -> list[dict]:
    """A tool step in the neutral stored shape (formats/base.py): the call as an assistant
    turn whose metadata is the tool name, then the observation, both carrying the API's call
    id when there is one; ``step`` numbers the model output that made the call (calls of one
    output are parallel). Never empty: GLM's template drops a turn whose content is empty,
    which would leave the call unanswered."""
    call_message = {"role": "assistant", "metadata": call.name, "content": call.body}
    if step is not None:
        call_message["step"] = step
    content = result.text or str(NO_OUTPUT)
    observation = {"role": "observation", "metadata": result.metadata, "content": content}
    if call.id:
        call_message["call_id"] = observation["call_id"] = call.id
    return [call_message, observation]


def step_messages(
    call: ToolCall, result: ToolResult, media_dir: Path, step: int | None = None
) -> list[Message]:
    """``call_messages`` as stored messages, plus what the UI needs to show the step again
    later: the uncapped output, the images (saved under ``media_dir``), the rich outputs and
    previews (artifacts, saved there too), files, citations."""
    call_message, observation = (Message.from_dict(m) for m in call_messages(call, result, step))
    if result.display is not None and result.display != result.text:
        observation.display = result.display
    observation.is_error = result.is_error
    observation.not_run = result.not_run  # the UI says the tool is off / unknown
    observation.notices = list(result.notices) if result.text else [NO_OUTPUT]
    if result.images:
        media_dir.mkdir(parents=True, exist_ok=True)
        for image in result.images:
            path = media_dir / f"{uuid.uuid4().hex[:12]}{_EXTENSIONS.get(image.mime, '.png')}"
            path.write_bytes(image.data)
            observation.images.append(ImageRef(str(path), image.caption))
    observation.artifacts = saved.of_tool_result(result, [i.path for i in observation.images], media_dir)
    observation.files = [str(p) for p in result.files]
    observation.citations = list(result.citations)
    return [call_message, observation]


def citations_of(messages: list[Message]) -> dict[int, Citation]:
    """Quote id -> citation over the given messages (the pages the browser opened)."""
    return {citation.id: citation for message in messages for citation in message.citations}


def stored_citations(messages: list[Message]) -> list[Citation]:
    return list(citations_of(messages).values())
