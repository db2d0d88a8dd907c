"""Make model output render well in Streamlit's markdown.

GLM writes LaTeX as ``\\( ... \\)`` and ``\\[ ... \\]``; Streamlit's markdown understands
``$ ... $`` and ``$$ ... $$``. Code (fenced or inline) is left exactly as written.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"(```.*?(?:```|$)|`[^`\n]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def to_streamlit_markdown(text: str) -> str:
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even indexes are outside code
        part = _DISPLAY.sub(lambda m: f"$${m.group(1)}$$", parts[i])
        parts[i] = _INLINE.sub(lambda m: f"${m.group(1).strip()}$", part)
    return "".join(parts)
