"""Grounding: the boxes GLM-4.1V/4.5V/4.6V mark in their answers, found, labelled and drawn.

The models write ``<|begin_of_box|>[[x1,y1,x2,y2]]<|end_of_box|>`` with corners normalised
to 0-1000 of the image's width and height; the bracket style varies (``[]``, ``[[]]``, ``()``,
``<>``) and one span may hold several boxes. A span holding no coordinates marks the final
answer instead (``<|begin_of_box|>42<|end_of_box|>``). The raw text stays in history for the
model; for people, ``mark_boxes`` replaces each coordinate span by a numbered label and each
answer span by its content, and ``draw`` puts the same numbered boxes on the image. Pure:
Pillow, no Streamlit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

BEGIN, END = "<|begin_of_box|>", "<|end_of_box|>"
SCALE = 1000
_SPAN = re.compile(re.escape(BEGIN) + r"(.*?)" + re.escape(END), re.DOTALL)
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_QUAD = re.compile(r"[\[(<{]" + ",".join([_NUMBER] * 4) + r"[\])>}]")
# Box colours, named as Streamlit's markdown names them (the labels in the text match).
PALETTE = {"red": (230, 57, 70), "blue": (29, 111, 232), "green": (33, 160, 78),
           "orange": (245, 140, 20), "violet": (142, 68, 222)}
_LABEL_BEFORE = re.compile(r"([^\W\d_][\w '\-]{0,40}?)\s*[:：]\s*$")  # "red car: <box>"


@dataclass(frozen=True)
class Box:
    number: int  # 1, 2, ... in the order the answer writes them
    x1: float  # corners on the 0-1000 scale
    y1: float
    x2: float
    y2: float
    name: str = ""  # what the answer calls it ("red car: <box>"), when it says so

    @property
    def colour(self) -> str:
        return list(PALETTE)[(self.number - 1) % len(PALETTE)]

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}".strip()


def boxes(text: str) -> list[Box]:
    """Every box the text marks, numbered in order."""
    found: list[Box] = []
    for span in _SPAN.finditer(text):
        before = text[: span.start()].rsplit("\n", 1)[-1]
        named = _LABEL_BEFORE.search(_SPAN.sub("", before))
        for quad in _QUAD.finditer(span.group(1)):
            x1, y1, x2, y2 = (float(v) for v in quad.groups())
            found.append(Box(len(found) + 1, min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2),
                             named.group(1).strip() if named else ""))
    return found


def mark_boxes(text: str, label: Callable[[Box], str] = lambda box: f"[{box.number}]") -> str:
    """The text for people: each coordinate span becomes its boxes' labels, an answer span
    its content; a span still being written (no end yet) is left out until it ends."""
    found = iter(boxes(text))

    def replace(span: re.Match) -> str:
        quads = _QUAD.findall(span.group(1))
        if not quads:
            return span.group(1).strip()
        return " ".join(label(next(found)) for _ in quads)

    text = _SPAN.sub(replace, text)
    cut = text.find(BEGIN)
    return text if cut < 0 else text[:cut]


def draw(image: Image.Image, marked: list[Box]) -> Image.Image:
    """A copy of the image with each box outlined in its colour and labelled with its number
    (and name) in a filled tag at its top-left corner."""
    out = image.convert("RGB")
    canvas = ImageDraw.Draw(out)
    width, height = out.size
    line = max(2, round(min(width, height) / 150))
    font = ImageFont.load_default(size=max(12, round(min(width, height) / 28)))
    for box in marked:
        colour = PALETTE[box.colour]
        left, top = _px(box.x1, width), _px(box.y1, height)
        right, bottom = _px(box.x2, width), _px(box.y2, height)
        canvas.rectangle((left, top, right, bottom), outline=colour, width=line)
        x0, y0, x1, y1 = canvas.textbbox((0, 0), box.label, font=font)
        tag_w, tag_h = x1 - x0 + 2 * line, y1 - y0 + 2 * line
        tag_top = top - tag_h if top - tag_h >= 0 else top  # above the box, else inside it
        tag_left = min(left, max(0, width - tag_w))
        canvas.rectangle((tag_left, tag_top, tag_left + tag_w, tag_top + tag_h), fill=colour)
        canvas.text((tag_left + line - x0, tag_top + line - y0), box.label, fill=(255, 255, 255), font=font)
    return out


def _px(value: float, size: int) -> int:
    return min(round(min(max(value, 0), SCALE) / SCALE * size), size - 1)
