"""Grounding (vision/grounding.py): boxes found in answers, labelled in the text, drawn on a
known image (checked pixel by pixel)."""

from __future__ import annotations

import pytest
from PIL import Image

from glm4_app.markdown import to_streamlit_markdown
from glm4_app.vision.grounding import PALETTE, Box, boxes, draw, mark_boxes

B, E = "<|begin_of_box|>", "<|end_of_box|>"


@pytest.mark.parametrize("span,expected", [
    ("[[100,200,300,400]]", [(100, 200, 300, 400)]),
    ("[100, 200, 300, 400]", [(100, 200, 300, 400)]),
    ("(100,200,300,400)", [(100, 200, 300, 400)]),
    ("<100,200,300,400>", [(100, 200, 300, 400)]),
    ("[[300,400,100,200]]", [(100, 200, 300, 400)]),  # corners in any order
    ("[[10.5,20,30,40],[500,500,600,700]]", [(10.5, 20, 30, 40), (500, 500, 600, 700)]),
    ("42", []),  # the final answer boxed, not a region
    ("[1, 2]", []),  # a point is not a box
], ids=["double", "single", "round", "angle", "swapped", "two-in-one-span", "answer", "point"])
def test_box_styles_are_all_read(span, expected):
    found = boxes(f"It is here: {B}{span}{E}.")
    assert [(b.x1, b.y1, b.x2, b.y2) for b in found] == expected
    assert [b.number for b in found] == list(range(1, len(expected) + 1))


def test_the_text_shows_numbered_labels_and_answers_without_markup():
    text = f"cat: {B}[[100,200,300,400]]{E}, dog: {B}[[500,500,900,1000]]{E}\nSo {B}2{E} animals."
    assert mark_boxes(text) == "cat: [1], dog: [2]\nSo 2 animals."
    assert [b.name for b in boxes(text)] == ["cat", "dog"]
    assert [b.label for b in boxes(text)] == ["1 cat", "2 dog"]
    # While streaming, a box still being written is held back, not shown half.
    assert mark_boxes(f"cat: {B}[[100,20") == "cat: "
    # Streamlit shows the label on the colour of its box.
    assert to_streamlit_markdown(text).startswith("cat: :red-background[**1**], dog: :blue-background[**2**]")


def test_boxes_are_drawn_where_the_0_1000_coordinates_say_in_their_colours():
    image = Image.new("RGB", (400, 200), "white")
    first, second = Box(1, 100, 250, 500, 750), Box(2, 600, 100, 900, 900, "dog")
    out = draw(image, [first, second])
    assert out.size == image.size and image.getpixel((100, 100)) == (255, 255, 255)  # a copy
    red, blue = PALETTE["red"], PALETTE["blue"]
    # Box 1: x 40..200, y 50..150 of a 400 x 200 image; outline red, inside untouched.
    assert out.getpixel((40, 100)) == red and out.getpixel((200, 100)) == red
    assert out.getpixel((120, 150)) == red and out.getpixel((120, 100)) == (255, 255, 255)
    # Box 2: x 240..360, y 20..180; blue outline, its tag with the label above it.
    assert out.getpixel((360, 100)) == blue and out.getpixel((300, 180)) == blue
    tag = [out.getpixel((x, y)) for x in range(240, 290) for y in range(0, 20)]
    assert tag.count(blue) > 100 and (255, 255, 255) in tag  # filled, with white letters
    assert out.getpixel((10, 190)) == (255, 255, 255)  # nothing drawn elsewhere


def test_out_of_range_coordinates_stay_on_the_image():
    out = draw(Image.new("RGB", (100, 100), "white"), [Box(1, -50, -50, 1200, 1200)])
    assert out.getpixel((0, 50)) == PALETTE["red"] and out.getpixel((99, 50)) == PALETTE["red"]
