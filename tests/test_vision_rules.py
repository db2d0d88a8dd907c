"""Each vision checkpoint's rules, as the UI checks them before sending."""

from __future__ import annotations

from glm4_app.events import Done, Stats, TextDelta
from glm4_app.vision.profiles import (
    GLM_41V,
    GLM_45V,
    GLM_46V,
    GLM_4V_9B,
    check_context,
    check_send,
    profile_by_name,
    profile_for,
)


def user(text: str, *images: str) -> dict:
    return {"role": "user", "content": text, **({"images": list(images)} if images else {})}


ANSWER = {"role": "assistant", "content": "ok"}


def test_checkpoints_are_recognised_by_model_type():
    assert profile_for("glm4v") is GLM_41V and profile_for("chatglm") is GLM_4V_9B
    assert profile_for("glm4v_moe") is GLM_45V and profile_for("glm46v") is GLM_46V
    assert profile_for("glm4v", "zai-org/GLM-4.6V-Flash") is GLM_46V  # Flash may ship as glm4v
    assert profile_for("glm") is None
    assert profile_by_name("glm-4.5v") is GLM_45V and profile_by_name("THUDM/glm-4v-9b") is GLM_4V_9B


def test_glm4v_9b_one_image_with_the_first_message():
    assert check_send(GLM_4V_9B, [], ["a.png"]) is None
    assert check_send(GLM_4V_9B, [user("hi", "a.png"), ANSWER], []) is None  # text follow-ups
    second = check_send(GLM_4V_9B, [user("hi", "a.png"), ANSWER], ["b.png"])
    assert second.offer_new_conversation and "one image per conversation" in str(second.message)
    assert "no room for more" in str(second.message)
    late = check_send(GLM_4V_9B, [user("hi"), ANSWER], ["a.png"])
    assert late.offer_new_conversation and "first message" in str(late.message)
    two = check_send(GLM_4V_9B, [], ["a.png", "b.png"])
    assert not two.offer_new_conversation and "attached 2" in str(two.message)
    system = check_send(GLM_4V_9B, [], ["a.png"], system_prompt="Be brief.")
    assert "no system prompt" in str(system.message) and not system.offer_new_conversation
    assert GLM_4V_9B.context_window == 8192


def test_glm41v_takes_images_at_any_turn_and_a_system_prompt():
    history = [user("hi", "a.png"), ANSWER, user("more", "b.png", "c.png"), ANSWER]
    assert check_send(GLM_41V, history, ["d.png", "e.png"], system_prompt="Be brief.") is None


def test_up_to_ten_images_per_conversation_pages_of_documents_aside():
    photos = [f"p{i}.png" for i in range(8)]
    history = [user("hi", *photos), ANSWER]
    assert check_send(GLM_46V, history, ["a.png", "b.png"]) is None
    full = check_send(GLM_46V, history, ["a.png", "b.png", "c.png"])
    assert full.offer_new_conversation and "room for 2 more" in str(full.message)
    eleven = check_send(GLM_46V, [], [f"x{i}.png" for i in range(11)])
    assert "attached 11" in str(eleven.message) and "Remove 1" in str(eleven.message)
    # A 30-page PDF is 30 images, but pages count against the context, not the image limit.
    pages = [f"page{i}.png" for i in range(30)]
    assert check_send(GLM_46V, history, pages, new_pages=30) is None
    with_pages = [{**user("read", *pages), "pages": pages}, ANSWER]
    assert check_send(GLM_46V, with_pages, photos + ["a.png", "b.png"]) is None
    assert "not the pages of a document" in str(check_send(GLM_4V_9B, [], ["page0.png"], new_pages=1).message)


def test_the_context_decides_how_many_pages_fit():
    assert check_context(prompt_tokens=6000, window=8192, reserve=1024, pages=12) is None
    refusal = check_context(prompt_tokens=7500, window=8192, reserve=1024, pages=12)
    assert "its 12 pages" in str(refusal.message) and "7,500 tokens" in str(refusal.message)


def test_answer_tags_are_dropped_even_when_split_across_chunks():
    from glm4_app.vision.answer import without_answer_tags

    chunks = ["<ans", "wer>The cat", " sits.</an", "swer>", " <b>ok</b>"]
    events = [TextDelta(c) for c in chunks] + [Done(Stats(1, 1, 10, None, 0.0, "stop"))]
    out = list(without_answer_tags(iter(events)))
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "The cat sits. <b>ok</b>"
    assert isinstance(out[-1], Done)
