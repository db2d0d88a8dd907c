"""In a real browser: a GLM-4.6V conversation whose answer marked two regions. The boxes are
drawn on the picture under the answer in the colours of the answer's labels, the toggle takes
them off, and the sidebar has the Thinking switch (the tiny GLM-4.6V-Flash's template takes
``enable_thinking``). The question's thumbnail opens the whole picture in a new tab. Set
GLM4_TEST_SCREENSHOT to a folder to keep the screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from browser_helpers import needs_chromium
from glm4_app.conversation import Conversation
from glm4_app.store import ConversationStore
from glm4_app.vision.grounding import PALETTE
from tiny_models import build_tiny_glm4v_checkpoint

pytestmark = [needs_chromium, pytest.mark.timeout(300)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from browser_helpers import browser_page, expect, serve_app  # noqa: E402 (imports playwright)
ANSWER = ("There are two shapes. The grey circle: <|begin_of_box|>[[100,150,400,750]]<|end_of_box|>; "
          "the black square: <|begin_of_box|>[[550,250,900,850]]<|end_of_box|>.")


@pytest.fixture(scope="module")
def grounded(tmp_path_factory):
    """A data dir holding a vision conversation with a grounded answer about a drawn picture."""
    data_dir = tmp_path_factory.mktemp("vision_data")
    picture = data_dir / "media" / "shapes" / "images" / "shapes.png"
    picture.parent.mkdir(parents=True)
    image = Image.new("RGB", (600, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((70, 70, 230, 290), fill=(128, 128, 128))
    draw.rectangle((340, 110, 530, 330), fill=(20, 20, 20))
    image.save(picture)
    conversation = Conversation(id="shapes", mode="vision", owner="tester", title="Shapes")
    conversation.add_user("Where are the shapes?", [str(picture)])
    conversation.add_answer(ANSWER, reasoning="A circle on the left, a square on the right.")
    ConversationStore(data_dir / "conversations.sqlite3").save(conversation)
    return data_dir


@pytest.fixture(scope="module")
def page(grounded, tmp_path_factory):
    model = build_tiny_glm4v_checkpoint(tmp_path_factory.mktemp("tiny_glm46v"), arch="glm46v")
    env = {"GLM4_DATA_DIR": str(grounded), "GLM4_VISION_MODEL": str(model), "GLM4_CHAT_MODEL": "offline:smollm2"}
    with serve_app(env, tmp_path_factory.mktemp("server")) as url:
        with browser_page(f"{url}/vision?c=shapes&u=tester") as page:
            yield page


def shot(page, name: str) -> None:
    folder = os.environ.get("GLM4_TEST_SCREENSHOT")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def drawn_picture(page) -> Image.Image:
    import io

    image = page.get_by_test_id("stChatMessage").nth(1).get_by_test_id("stImage").locator("img")
    expect(image).to_be_visible(timeout=60_000)
    return Image.open(io.BytesIO(image.screenshot())).convert("RGB")


def near(picture: Image.Image, colour: str) -> int:
    """Pixels within a small distance of a palette colour (the browser scales the image)."""
    target = PALETTE[colour]
    return sum(1 for p in picture.getdata() if sum((a - b) ** 2 for a, b in zip(p, target)) < 30**2)


def test_a_grounded_answer_shows_its_boxes_and_the_thinking_switch(page):
    answer = page.get_by_test_id("stChatMessage").nth(1)
    expect(answer).to_contain_text("The grey circle: 1; the black square: 2.", timeout=120_000)
    expect(answer).not_to_contain_text("begin_of_box")
    toggle = answer.get_by_text("🔲 Show 2 boxes on the image")
    expect(toggle).to_be_visible()
    boxed = drawn_picture(page)
    assert near(boxed, "red") > 200 and near(boxed, "blue") > 200  # both outlines are drawn
    thinking = page.get_by_test_id("stSidebar").get_by_text("💭 Thinking")
    expect(thinking).to_be_visible(timeout=60_000)
    shot(page, "grounded-answer.png")
    toggle.click()
    page.wait_for_timeout(1500)
    plain = drawn_picture(page)
    assert near(plain, "red") < 20 and near(plain, "blue") < 20  # the picture alone
    shot(page, "grounded-answer-boxes-off.png")


def test_the_thumbnail_and_full_size_open_the_whole_picture_in_a_new_tab(page):
    question = page.get_by_test_id("stChatMessage").nth(0)
    thumbnail = question.get_by_test_id("stImageLink")
    expect(thumbnail).to_be_visible(timeout=60_000)
    assert question.get_by_test_id("stImage").locator("img").bounding_box()["width"] <= 160
    full_size = question.get_by_role("link", name="🔍 Full size")
    assert full_size.get_attribute("href") == thumbnail.get_attribute("href")
    with page.context.expect_page() as opened:
        thumbnail.click()
    tab = opened.value
    try:
        tab.wait_for_load_state()
        size = tab.locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size == [600, 400]  # the picture as uploaded, not the thumbnail
    finally:
        tab.close()
