"""Each vision checkpoint's rules, as the UI checks them before sending."""

from __future__ import annotations

from glm4_app.events import Done, Stats, TextDelta
from glm4_app.vision.profiles import GLM_41V, GLM_4V_9B, check_send, profile_for


def user(text: str, *images: str) -> dict:
    return {"role": "user", "content": text, **({"images": list(images)} if images else {})}


ANSWER = {"role": "assistant", "content": "ok"}


def test_checkpoints_are_recognised_by_model_type():
    assert profile_for("glm4v") is GLM_41V and profile_for("chatglm") is GLM_4V_9B
    assert profile_for("glm") is None


def test_glm4v_9b_one_image_with_the_first_message():
    assert check_send(GLM_4V_9B, [], ["a.png"]) is None
    assert check_send(GLM_4V_9B, [user("hi", "a.png"), ANSWER], []) is None  # text follow-ups
    second = check_send(GLM_4V_9B, [user("hi", "a.png"), ANSWER], ["b.png"])
    assert second.offer_new_conversation and "one image per conversation" in second.message
    late = check_send(GLM_4V_9B, [user("hi"), ANSWER], ["a.png"])
    assert late.offer_new_conversation and "first message" in late.message
    two = check_send(GLM_4V_9B, [], ["a.png", "b.png"])
    assert not two.offer_new_conversation and "attached 2" in two.message
    system = check_send(GLM_4V_9B, [], ["a.png"], system_prompt="Be brief.")
    assert "no system prompt" in system.message and not system.offer_new_conversation
    assert GLM_4V_9B.context_window == 8192


def test_glm41v_takes_images_at_any_turn_and_a_system_prompt():
    history = [user("hi", "a.png"), ANSWER, user("more", "b.png", "c.png"), ANSWER]
    assert check_send(GLM_41V, history, ["d.png", "e.png"], system_prompt="Be brief.") is None


def test_answer_tags_are_dropped_even_when_split_across_chunks():
    from glm4_app.backend.vision import strip_tags

    chunks = ["<ans", "wer>The cat", " sits.</an", "swer>", " <b>ok</b>"]
    events = [TextDelta(c) for c in chunks] + [Done(Stats(1, 1, 10, None, 0.0, "stop"))]
    out = list(strip_tags(iter(events), ("<answer>", "</answer>")))
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "The cat sits. <b>ok</b>"
    assert isinstance(out[-1], Done)
