"""The vision backend: a user message's ``images`` (paths) into the checkpoint's own prompt
format, and the prompt plus image tensors through the shared engine.

GLM-4.1V: content parts rendered by its chat template, expanded and encoded by its processor
(``pixel_values``, ``image_grid_thw``, ``mm_token_type_ids``). GLM-4V-9B: its remote-code
tokenizer takes the PIL image on the first user message and returns ``images`` for the
model's forward.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Iterator

from ..events import Error, Event, TextDelta
from ..generation import GenerationParams, Message, ModelInfo
from ..reasoning import split_reasoning
from .engine import Engine
from .vision_loader import LoadedVision

ANSWER_TAGS = ("<answer>", "</answer>")  # GLM-4.1V-Thinking wraps its answer in these


class VisionBackend:
    def __init__(self, loaded: LoadedVision, engine: Engine) -> None:
        self.loaded = loaded
        self.engine = engine
        self.profile = loaded.profile
        # A template whose generation prompt already opens <think> (as GLM-Z1's does) means the
        # output starts inside the reasoning; GLM-4.1V-Thinking usually writes <think> itself.
        self._starts_inside = loaded.processor is not None and loaded.processor.apply_chat_template(
            [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
        ).rstrip().endswith("<think>")
        self.info = ModelInfo(
            name=loaded.name,
            context_window=engine.context_window,
            device=loaded.device,
            precision=loaded.precision,
        )

    # -- prompt ---------------------------------------------------------------------------

    def encode(self, messages: list[Message]) -> tuple[list[int], dict]:
        """Prompt ids and the extra model inputs (image tensors) for these messages."""
        if self.profile.family == "glm-4.1v":
            return self._encode_glm41v(messages)
        return self._encode_glm4v(messages)

    def _encode_glm41v(self, messages: list[Message]) -> tuple[list[int], dict]:
        processor = self.loaded.processor
        parts, images = content_parts(messages)
        text = processor.apply_chat_template(parts, tokenize=False, add_generation_prompt=True)
        encoded = processor(
            text=[text],
            images=[open_rgb(p) for p in images] or None,
            return_tensors="pt",
            return_mm_token_type_ids=True,
            add_special_tokens=False,  # the template wrote [gMASK]<sop>
        )
        extra = {"mm_token_type_ids": encoded["mm_token_type_ids"]}
        if images:
            extra["pixel_values"] = encoded["pixel_values"].to(self._vision_dtype())
            extra["image_grid_thw"] = encoded["image_grid_thw"]
        return encoded["input_ids"][0].tolist(), extra

    def _encode_glm4v(self, messages: list[Message]) -> tuple[list[int], dict]:
        turns = []
        for m in messages:
            if m["role"] == "system":
                continue  # GLM-4V-9B has no system prompt (the page refuses one; this is a guard)
            turn = {"role": m["role"], "content": m["content"]}
            if m.get("images"):  # the rules allow exactly one, on the first user message
                turn["image"] = open_rgb(m["images"][0])
            turns.append(turn)
        encoded = self.loaded.tokenizer.apply_chat_template(
            turns, add_generation_prompt=True, tokenize=True, return_tensors="pt", return_dict=True
        )
        extra = {}
        if "images" in encoded:
            extra["images"] = encoded["images"].to(self._vision_dtype())
        return encoded["input_ids"][0].tolist(), extra

    def _vision_dtype(self):
        model = self.loaded.model
        tower = getattr(getattr(model, "model", None), "visual", None) or model
        return next(tower.parameters()).dtype

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        ids, extra = self.encode(messages)
        return len(ids) + self._hidden_tokens(extra)

    def _hidden_tokens(self, extra: dict) -> int:
        """Embeddings the prompt ids do not show: GLM-4V-9B's one image placeholder becomes
        1,600 of them inside the model (GLM-4.1V's ids already hold every image token)."""
        return self.profile.image_tokens - 1 if "images" in extra else 0

    # -- generation ------------------------------------------------------------------------

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,
        heartbeat_s: float | None = 0.25,
    ) -> Iterator[Event]:
        if tools:
            yield Error(f"{self.profile.label} cannot call tools.", "backend")
            return
        ids, extra = self.encode(messages)
        hidden = self._hidden_tokens(extra)
        room = self.info.context_window - len(ids) - hidden
        if room <= 0:
            yield Error(
                f"This conversation is {len(ids) + hidden:,} tokens long with its images, but "
                f"{self.profile.label} reads at most {self.info.context_window:,}. Start a new "
                "conversation or remove earlier turns.",
                "context",
            )
            return
        params = replace(params, max_new_tokens=min(params.max_new_tokens, room))
        request = self.engine.submit(ids, params, cache_key, inputs=extra)
        try:
            events = split_reasoning(request.events(heartbeat_s), starts_inside=self._starts_inside)
            yield from strip_tags(events, ANSWER_TAGS)
        finally:
            request.cancel()


def content_parts(messages: list[Message]) -> tuple[list[dict], list[str]]:
    """Messages with images as ``{"type": "image"}`` parts before the text, and the image
    paths in prompt order."""
    out, images = [], []
    for m in messages:
        if m.get("images"):
            images += m["images"]
            parts = [{"type": "image"} for _ in m["images"]]
            out.append({"role": m["role"], "content": [*parts, {"type": "text", "text": m["content"]}]})
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out, images


@lru_cache(maxsize=8)
def open_rgb(path: str):
    """Uploads are already normalised to RGB files; read each once."""
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def strip_tags(events: Iterator[Event], tags: tuple[str, ...]) -> Iterator[Event]:
    """Drop markup tags from streamed answer text, also when a tag is split across chunks."""
    pending = ""
    for event in events:
        if not isinstance(event, TextDelta):
            if pending:
                yield TextDelta(pending)
                pending = ""
            yield event
            continue
        pending += event.text
        for tag in tags:
            pending = pending.replace(tag, "")
        keep = max((k for tag in tags for k in range(1, len(tag)) if pending.endswith(tag[:k])), default=0)
        text, pending = (pending[:-keep], pending[-keep:]) if keep else (pending, "")
        if text:
            yield TextDelta(text)
    if pending:
        yield TextDelta(pending)
