"""The vision backend: a user message's ``images`` (paths) into the checkpoint's own prompt
format, and the prompt plus image tensors through the shared engine.

GLM-4.1V, GLM-4.5V, GLM-4.6V: content parts rendered by the checkpoint's chat template,
expanded and encoded by its processor (``pixel_values``, ``image_grid_thw``,
``mm_token_type_ids``). A template with GLM-4.5's tool calls (GLM-4.5V/4.6V) also declares
tools and writes tool steps (formats/glm45.py); one that takes ``enable_thinking`` can answer
without thinking. GLM-4V-9B: its remote-code tokenizer takes the PIL image on the first user
message and returns ``images`` for the model's forward. ``<answer>`` tags never reach the page.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Iterator

from ..events import Error, Event
from ..formats import ToolFormat, format_for_template, thinking_switch
from ..generation import GenerationParams, Message, ModelInfo
from ..notices import Notice
from ..reasoning import split_reasoning
from ..vision.answer import without_answer_tags
from .engine import Engine
from .vision_loader import LoadedVision


class VisionBackend:
    def __init__(self, loaded: LoadedVision, engine: Engine) -> None:
        self.loaded = loaded
        self.engine = engine
        self.profile = loaded.profile
        template = getattr(loaded.processor, "chat_template", None)
        # Only GLM-4.5's format: the other vision templates have no place for tools.
        fmt = format_for_template(template)
        self.format: ToolFormat | None = fmt if fmt is not None and fmt.name == "glm45" else None
        self._thinking_switch = thinking_switch(template)
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
            tools=self.format is not None,
            tool_format=self.format.name if self.format else "glm4",
            thinking_switch=self._thinking_switch,
        )

    # -- prompt ---------------------------------------------------------------------------

    def encode(
        self, messages: list[Message], tools: list[dict] | None = None, thinking: bool | None = None
    ) -> tuple[list[int], dict]:
        """Prompt ids and the extra model inputs (image tensors) for these messages."""
        if self.profile.family == "glm-4v-9b":
            return self._encode_glm4v(messages)
        return self._encode_native(messages, tools, thinking)

    def _encode_native(
        self, messages: list[Message], tools: list[dict] | None, thinking: bool | None
    ) -> tuple[list[int], dict]:
        processor = self.loaded.processor
        extra_args: dict = {}
        if self.format is not None:
            messages, extra_args = self.format.template_inputs(messages, tools)
        if thinking is not None and self._thinking_switch:
            extra_args["enable_thinking"] = thinking
        parts, images = content_parts(messages)
        text = processor.apply_chat_template(parts, tokenize=False, add_generation_prompt=True, **extra_args)
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
        ids, extra = self.encode(messages, tools)
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
        if tools and self.format is None:
            yield Error(Notice("vision.no_tools", label=self.profile.label), "backend")
            return
        ids, extra = self.encode(messages, tools, params.thinking)
        hidden = self._hidden_tokens(extra)
        room = self.info.context_window - len(ids) - hidden
        if room <= 0:
            yield Error(
                Notice(
                    "vision.context_too_long",
                    tokens=len(ids) + hidden,
                    label=self.profile.label,
                    window=self.info.context_window,
                ),
                "context",
            )
            return
        params = replace(params, max_new_tokens=min(params.max_new_tokens, room))
        request = self.engine.submit(ids, params, cache_key, inputs=extra)
        try:
            events = split_reasoning(request.events(heartbeat_s), starts_inside=self._starts_inside)
            yield from without_answer_tags(events)
        finally:
            request.cancel()


def content_parts(messages: list[Message]) -> tuple[list[dict], list[str]]:
    """Messages with images as ``{"type": "image"}`` parts before the text, and the image
    paths in prompt order. Other fields (tool calls) stay; stored-only ones go."""
    out, images = [], []
    for m in messages:
        message = {k: v for k, v in m.items() if k not in ("images", "pages", "metadata")}
        if m.get("images"):
            images += m["images"]
            parts = [{"type": "image"} for _ in m["images"]]
            message["content"] = [*parts, {"type": "text", "text": m["content"]}]
        out.append(message)
    return out, images


@lru_cache(maxsize=8)
def open_rgb(path: str):
    """Uploads are already normalised to RGB files; read each once."""
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")

