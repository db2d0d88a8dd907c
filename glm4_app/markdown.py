"""Make model output render well in Streamlit's markdown.

GLM writes LaTeX as ``\\( ... \\)`` and ``\\[ ... \\]``; Streamlit's markdown understands
``$ ... $`` and ``$$ ... $$``. Code (fenced or inline) is left exactly as written. Boxes a
vision model marks (``<|begin_of_box|>[[x1,y1,x2,y2]]<|end_of_box|>``) become numbered labels in
the colour of the box drawn on the image (vision/grounding.py).
"""

from __future__ import annotations

import re

from .vision.grounding import Box, mark_boxes

_CODE = re.compile(r"(```.*?(?:```|$)|`[^`\n]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def to_streamlit_markdown(text: str) -> str:
    parts = _CODE.split(mark_boxes(text, box_label))
    for i in range(0, len(parts), 2):  # even indexes are outside code
        part = _DISPLAY.sub(lambda m: f"$${m.group(1)}$$", parts[i])
        parts[i] = _INLINE.sub(lambda m: f"${m.group(1).strip()}$", part)
    return "".join(parts)


def box_label(box: Box) -> str:
    """A box's number on the background colour of its outline (Streamlit's colour syntax)."""
    return f":{box.colour}-background[**{box.number}**]"
