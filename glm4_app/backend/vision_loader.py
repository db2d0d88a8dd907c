"""Load a vision checkpoint: GLM-4.1V, GLM-4.5V and GLM-4.6V natively, GLM-4V-9B through its
remote code.

Reuses the chat loader's pieces (locating, dtype, bitsandbytes, error wording) and adds what
vision needs: the image-only processor (no torchvision), and keeping the vision tower and the
output layer unquantised under 4-bit/8-bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..notices import Notice
from ..settings import Settings
from ..vision.profiles import VisionProfile, profile_for
from .loader import (
    LoadError,
    choose_dtype,
    context_window,
    eos_token_ids,
    explain,
    load_weights,
    locate_checkpoint,
    quantization_config,
    resolve_device,
    saved_dtype,
    trust_remote_code,
)

# Modules bitsandbytes must leave alone: quantising the vision tower ruins image features and
# the output layer is sensitive (and small next to the rest).
KEEP_UNQUANTISED = {
    "native": ["model.visual", "lm_head"],  # matched from the start of a module name
    "glm-4v-9b": ["transformer.vision", "transformer.output_layer"],
}


@dataclass
class LoadedVision:
    name: str
    profile: VisionProfile
    model: object
    tokenizer: object
    processor: object | None  # GLM-4.1V/4.5V/4.6V: image processor + tokenizer; GLM-4V-9B: None
    eos_token_ids: list[int]
    context_window: int
    device: str
    precision: str
    explicit_positions: bool


def image_only_processor_class():
    """``Glm4vProcessor`` insists on a video processor, which needs torchvision; images need
    only the image processor and the tokenizer."""
    from transformers.models.glm4v.processing_glm4v import Glm4vProcessor
    from transformers.processing_utils import ProcessorMixin

    class Glm4vImageProcessor(Glm4vProcessor):
        attributes = ["image_processor", "tokenizer"]

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = getattr(tokenizer, "image_token", None) or "<|image|>"
            self.video_token = getattr(tokenizer, "video_token", None) or "<|video|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
            self.video_start_id = tokenizer.convert_tokens_to_ids("<|begin_of_video|>")
            self.video_end_id = tokenizer.convert_tokens_to_ids("<|end_of_video|>")

    return Glm4vImageProcessor


def load_vision_model(
    source: str, settings: Settings, progress: Callable[[Notice], None] = lambda s: None
) -> LoadedVision:
    try:
        return _load(source, settings, progress)
    except LoadError as err:
        raise for_vision(err) from err
    except Exception as exc:
        raise for_vision(explain(exc, source)) from exc


VISION_SETTINGS = {"setting": "GLM4_VISION_MODEL", "example": "THUDM/glm-4v-9b", "quantization": "GLM4_VISION_QUANTIZATION"}


def for_vision(err: LoadError) -> LoadError:
    """The chat loader's advice, pointed at the vision settings."""
    return LoadError(err.title, err.hint.with_values(**VISION_SETTINGS), err.detail)


def _load(source: str, settings: Settings, progress: Callable[[Notice], None]) -> LoadedVision:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = locate_checkpoint(source, progress)
    remote = trust_remote_code(settings, source)
    device = resolve_device(settings.device)
    progress(Notice("load.reading_config"))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=remote)
    profile = profile_for(config.model_type, source)
    if profile is None or (profile.family == "glm-4v-9b" and not hasattr(config, "vision_config")):
        raise LoadError(Notice("load.not_vision", source=source), Notice("load.not_vision_hint"))
    native = profile.family != "glm-4v-9b"
    dtype = choose_dtype(settings.dtype, device, config.model_type, saved_dtype(config))
    quant = quantization_config(settings.vision_quantization, torch)
    if quant is not None:
        quant.llm_int8_skip_modules = KEEP_UNQUANTISED["native" if native else profile.family]
    precision = {"none": str(dtype).removeprefix("torch."), "8bit": "8-bit", "4bit": "4-bit nf4"}[
        settings.vision_quantization
    ]

    progress(Notice("load.tokenizer_and_image_processor"))
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=remote)
    processor = None
    if native:
        # The same image processor for all three (GLM-4.6V's is a copy of GLM-4.1V's).
        from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil

        image_processor = Glm4vImageProcessorPil.from_pretrained(folder)
        processor = image_only_processor_class()(image_processor, tokenizer)
        if processor.chat_template is None:
            processor.chat_template = tokenizer.chat_template
        model_class = _native_class()
    else:
        model_class = AutoModelForCausalLM

    progress(Notice("load.weights", precision=precision, device=device))
    model = load_weights(model_class, folder, dtype, device, quant, remote)
    own = context_window(getattr(config, "text_config", config), settings.max_context)
    window = min(own, profile.context_window) if profile.context_window else own
    return LoadedVision(
        name=source,
        profile=profile,
        model=model,
        tokenizer=tokenizer,
        processor=processor,
        eos_token_ids=eos_token_ids(model, tokenizer),
        context_window=window,
        device=device,
        precision=precision,
        explicit_positions=profile.family == "glm-4v-9b",
    )


def _native_class():
    """Glm4v (GLM-4.1V), Glm4vMoe (GLM-4.5V) or Glm46V (GLM-4.6V) by the config's model type."""
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText
