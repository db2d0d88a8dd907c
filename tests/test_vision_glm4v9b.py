"""GLM-4V-9B's prompt layer, without its weights or remote code.

Its remote-code tokenizer takes the PIL image on the first user message
(``{"role": "user", "image": PIL, "content": ...}``) and returns ``input_ids`` plus ``images``;
inside the model the one placeholder becomes 1,600 embeddings. A stand-in tokenizer that
records what it is given checks our side of that contract; the model side stays untested here.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from PIL import Image

from glm4_app.backend.vision import VisionBackend
from glm4_app.backend.vision_loader import LoadedVision
from glm4_app.events import Error
from glm4_app.generation import GenerationParams
from glm4_app.vision.profiles import GLM_4V_9B


class RemoteCodeLikeTokenizer:
    """Records the turns; returns ids of one token per word plus 3 for an image span."""

    def __init__(self) -> None:
        self.turns: list[dict] = []

    def apply_chat_template(self, turns, add_generation_prompt, tokenize, return_tensors, return_dict):
        assert add_generation_prompt and tokenize and return_dict and return_tensors == "pt"
        self.turns = turns
        n = 2 + sum(2 + len(t["content"].split()) + (3 if "image" in t else 0) for t in turns) + 1
        out = {"input_ids": torch.zeros(1, n, dtype=torch.long)}
        if any("image" in t for t in turns):
            out["images"] = torch.zeros(1, 3, 1120, 1120)
        return out


def backend(tmp_path):
    model = torch.nn.Linear(2, 2).to(torch.bfloat16)
    loaded = LoadedVision(
        name="THUDM/glm-4v-9b", profile=GLM_4V_9B, model=model, tokenizer=RemoteCodeLikeTokenizer(),
        processor=None, eos_token_ids=[0], context_window=8192, device="cpu", precision="bfloat16",
        explicit_positions=True,
    )
    return VisionBackend(loaded, SimpleNamespace(context_window=8192))


def test_the_image_rides_on_its_message_as_a_pil_image(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (50, 40), "red").save(path)
    vision = backend(tmp_path)
    messages = [
        {"role": "system", "content": "Set before the page refused it."},
        {"role": "user", "content": "What is this?", "images": [str(path)]},
        {"role": "assistant", "content": "A red box."},
        {"role": "user", "content": "Sure?"},
    ]
    ids, extra = vision.encode(messages)
    turns = vision.loaded.tokenizer.turns
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]  # no system turn, ever
    assert isinstance(turns[0]["image"], Image.Image) and turns[0]["image"].size == (50, 40)
    assert "image" not in turns[1] and "image" not in turns[2]
    assert extra["images"].dtype == torch.bfloat16  # the vision tower's dtype
    assert vision.count_tokens(messages) == len(ids) + 1599  # the image's 1,600 embeddings


def test_a_conversation_over_8k_with_its_image_is_refused_before_the_model(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (50, 40), "red").save(path)
    vision = backend(tmp_path)
    long_text = "word " * 6600  # fits in 8K as text, not with the image's 1,600 embeddings
    events = list(vision.stream([{"role": "user", "content": long_text, "images": [str(path)]}], GenerationParams()))
    assert len(events) == 1 and isinstance(events[0], Error) and events[0].kind == "context"
    assert "with its images" in str(events[0].message) and "8,192" in str(events[0].message)
