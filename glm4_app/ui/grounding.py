"""Boxes a vision answer marks, drawn on the image they refer to, under the answer; a toggle
shows the image without them. The text's labels come from markdown.py; the drawing from
vision/grounding.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from PIL import Image

from ..messages import Message, turn_groups
from ..vision.grounding import boxes, draw
from .i18n import t


def latest_image(messages: list[Message]) -> str | None:
    """The image a box in the next answer refers to: the last one the user sent so far."""
    for message in reversed(messages):
        if message.role == "user" and message.images:
            return message.images[-1].path
    return None


def turns_with_image(messages: list[Message]) -> Iterator[tuple[str, list[Message], str | None]]:
    """The turns of ``messages`` (messages.turn_groups), each with the last image sent so far:
    the one the boxes of an answer are drawn on."""
    image = None
    for role, group in turn_groups(messages):
        image = latest_image(group) or image
        yield role, group, image


def panel(answer_messages: list[Message], image: str | None) -> None:
    """Under an answer: the boxes of its final text on ``image`` (the last image sent before
    it), numbered as the text's labels, with a toggle."""
    final = [m for m in answer_messages if m.is_answer]
    marked = boxes(final[-1].content) if final else []
    if not marked or not image:
        return
    if not Path(image).is_file():
        st.caption(t("🖼 image no longer available ({name})", name=Path(image).name))
        return
    key = hashlib.sha1(f"{image}|{[m.id for m in answer_messages]}".encode()).hexdigest()[:12]
    label = t("🔲 Show {count} boxes on the image", count=len(marked))
    shown = st.toggle(label, value=True, key=f"boxes_{key}")
    with Image.open(image) as original:
        picture = draw(original, marked) if shown else original.convert("RGB")
    st.image(picture, width="stretch")
