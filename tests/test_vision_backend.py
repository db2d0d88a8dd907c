"""GLM-4.1V through the engine: real generation with images on a tiny random Glm4v."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from glm4_app.events import Done, Error, Started, TextDelta
from glm4_app.generation import GenerationParams

GREEDY = GenerationParams(temperature=0, max_new_tokens=12)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    paths = []
    for name, size, colour in [("red.png", (120, 80), "red"), ("tall.png", (60, 200), "navy")]:
        Image.new("RGB", size, colour).save(folder / name)
        paths.append(str(folder / name))
    return paths


def answer(backend, messages, params=GREEDY):
    events = list(backend.stream(messages, params))
    assert isinstance(events[-1], Done), events[-1]
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events


def reference(backend, messages, params=GREEDY) -> str:
    """What transformers' own generate() answers to the same processed inputs."""
    ids, extra = backend.encode(messages)
    model = backend.loaded.model
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            **extra,
            do_sample=False,
            max_new_tokens=params.max_new_tokens,
            eos_token_id=backend.loaded.eos_token_ids,
        )
    new = [t for t in out[0, len(ids):].tolist() if t not in backend.loaded.eos_token_ids]
    return backend.loaded.tokenizer.decode(new)


def test_one_image_streams_the_same_answer_as_transformers_generate(tiny_vision, pictures):
    messages = [{"role": "user", "content": "What is in this picture?", "images": pictures[:1]}]
    text, events = answer(tiny_vision, messages)
    assert sum(isinstance(e, TextDelta) for e in events) > 1  # streamed, not in one piece
    assert text == reference(tiny_vision, messages)
    started = next(e for e in events if isinstance(e, Started))
    ids, extra = tiny_vision.encode(messages)
    image_tokens = (extra["image_grid_thw"].prod() // 4).item()
    assert image_tokens >= 4 and started.prompt_tokens == len(ids) == tiny_vision.count_tokens(messages)
    assert events[-1].stats.finish_reason in ("length", "stop")


def test_two_images_in_two_turns_reach_the_model(tiny_vision, pictures):
    messages = [
        {"role": "user", "content": "First picture.", "images": pictures[:1]},
        {"role": "assistant", "content": "I see it."},
        {"role": "user", "content": "Compare with this one.", "images": pictures[1:]},
    ]
    ids, extra = tiny_vision.encode(messages)
    assert extra["image_grid_thw"].shape[0] == 2
    text, _ = answer(tiny_vision, messages)
    assert text == reference(tiny_vision, messages)
    # The images matter: the same words with the pictures swapped give other pixel inputs.
    swapped = [dict(messages[0], images=pictures[1:]), messages[1], dict(messages[2], images=pictures[:1])]
    assert not torch.equal(tiny_vision.encode(swapped)[1]["pixel_values"][:8], extra["pixel_values"][:8])


def test_a_text_only_question_after_an_image_is_not_confused_by_it(tiny_vision, pictures):
    # Glm4v keeps rope deltas on the model between prefill and decode; the next prompt must
    # start fresh, or its positions would be shifted by the previous image.
    answer(tiny_vision, [{"role": "user", "content": "Look.", "images": pictures[1:]}])
    messages = [{"role": "user", "content": "Just text now."}]
    text, _ = answer(tiny_vision, messages)
    assert text == reference(tiny_vision, messages)


def test_stop_ends_the_answer_and_the_engine_serves_the_next(tiny_vision, pictures):
    messages = [{"role": "user", "content": "Describe it at length.", "images": pictures[:1]}]
    stream = tiny_vision.stream(messages, GenerationParams(temperature=0, max_new_tokens=2000))
    for event in stream:
        if isinstance(event, TextDelta):
            break
    stream.close()  # what Stop does
    text, events = answer(tiny_vision, messages)
    assert text and events[-1].stats.completion_tokens == GREEDY.max_new_tokens


def test_tools_are_refused_as_data(tiny_vision):
    events = list(tiny_vision.stream([{"role": "user", "content": "hi"}], GREEDY, tools=[{"name": "x"}]))
    assert isinstance(events[-1], Error) and "cannot call tools" in str(events[-1].message)


@pytest.mark.timeout(120)
def test_4bit_keeps_the_vision_tower_and_output_layer_unquantised(tiny_glm4v_path, pictures):
    pytest.importorskip("bitsandbytes")
    import warnings

    from glm4_app.backend.manager import load_vision_backend
    from glm4_app.settings import Settings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backend = load_vision_backend(
            Settings(vision_model=str(tiny_glm4v_path), vision_quantization="4bit"), lambda s: None
        )
    try:
        kinds = {name: type(module).__name__ for name, module in backend.loaded.model.named_modules()}
        assert any(k == "Linear4bit" for k in kinds.values())  # the language model is quantised
        assert not any(k == "Linear4bit" for n, k in kinds.items() if ".visual." in n or n == "lm_head")
        assert backend.info.precision == "4-bit nf4"
        text, _ = answer(backend, [{"role": "user", "content": "What?", "images": pictures[:1]}])
        assert text
    finally:
        backend.engine.close()


def test_image_and_text_requests_decoding_together_get_their_own_answers(tiny_vision, pictures):
    """Each image prompt keeps its own multimodal positions inside the decoding batch."""
    import threading

    conversations = [
        [{"role": "user", "content": "What is in this picture?", "images": pictures[:1]}],
        [{"role": "user", "content": "Describe it.", "images": pictures[1:]}],
        [{"role": "user", "content": "Just text, no picture at all."}],
    ]
    assert tiny_vision.engine.max_batch >= 3
    params = GenerationParams(temperature=0, max_new_tokens=16)
    texts = [None] * len(conversations)
    streams = [tiny_vision.stream(m, params) for m in conversations]
    firsts = [next(s) for s in streams]  # all three are submitted before any is read
    assert all(not isinstance(e, Error) for e in firsts)

    def read(i):
        texts[i] = "".join(e.text for e in streams[i] if isinstance(e, TextDelta))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert texts == [reference(tiny_vision, m, params) for m in conversations]
