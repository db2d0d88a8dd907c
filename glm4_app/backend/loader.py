"""Load a chat checkpoint (hub id or local folder) once, with progress and clear failures.

Everything that can go wrong while loading (no network, a missing or corrupt checkpoint,
remote code not allowed, no memory, quantisation unsupported) ends as a ``LoadError`` that
says what failed and what to do, never as a traceback.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..notices import Notice
from ..settings import Settings
from .offline import OFFLINE_MODEL_ID, OFFLINE_MODEL_NAME, OfflineModelMissing, ensure_converted

log = logging.getLogger(__name__)

Progress = Callable[[Notice], None]  # one line per step, worded by the UI

# Checkpoints whose loading code lives in the repository (trust_remote_code); `auto` allows
# exactly these, published by the GLM team.
OFFICIAL_REMOTE_CODE = {
    f"{org}/{name}"
    for org in ("THUDM", "zai-org")
    for name in ("glm-4-9b-chat", "glm-4-9b-chat-1m", "glm-4v-9b")
}
# The settings a chat model's load errors point at (vision_loader.for_vision points them at
# the vision model's).
CHAT_SETTINGS = {"setting": "GLM4_CHAT_MODEL", "example": "THUDM/glm-4-9b-chat-hf", "quantization": "GLM4_QUANTIZATION"}
# Files needed before the weights: config, tokenizer, chat template, remote code, shard index.
_SMALL_FILES = ["*.json", "*.jinja", "*.py", "*.model", "*.tiktoken", "*.txt", "tokenizer*"]


class LoadError(Exception):
    """What failed (``title``) and what to do (``hint``), as notices; ``detail``: the raw error."""

    def __init__(self, title: Notice, hint: Notice, detail: str = "") -> None:
        super().__init__(title)
        self.title, self.hint, self.detail = title, hint, detail

    def __str__(self) -> str:
        return f"{self.title} {self.hint}"


@dataclass
class LoadedModel:
    name: str
    model: object
    tokenizer: object
    eos_token_ids: list[int]
    context_window: int
    device: str
    precision: str
    explicit_positions: bool  # remote-code GLM wants position ids spelled out


def load_model(source: str, settings: Settings, progress: Progress = lambda s: None) -> LoadedModel:
    try:
        return _load(source, settings, progress)
    except LoadError:
        raise
    except Exception as exc:  # translated into words a user can act on
        raise explain(exc, source) from exc


def _load(source: str, settings: Settings, progress: Progress) -> LoadedModel:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if source == OFFLINE_MODEL_ID:
        name = OFFLINE_MODEL_NAME
        folder = ensure_converted(settings.data_dir, progress)
    else:
        name = source
        folder = locate_checkpoint(source, progress)
    remote = trust_remote_code(settings, source)
    device = resolve_device(settings.device)

    progress(Notice("load.reading_config"))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=remote)
    dtype = choose_dtype(settings.dtype, device, config.model_type, saved_dtype(config))

    progress(Notice("load.tokenizer"))
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=remote)
    if not getattr(tokenizer, "chat_template", None):
        raise LoadError(Notice("load.no_chat_template", name=name), Notice("load.no_chat_template_hint"))

    quant = quantization_config(settings.quantization, torch)
    precision = {"none": str(dtype).removeprefix("torch."), "8bit": "8-bit", "4bit": "4-bit nf4"}[
        settings.quantization
    ]
    progress(Notice("load.weights", precision=precision, device=device))
    model = load_weights(AutoModelForCausalLM, folder, dtype, device, quant, remote)

    progress(Notice("load.warming_up"))
    with torch.inference_mode():
        model(input_ids=torch.tensor([tokenizer.encode("Hello")], device=device))

    return LoadedModel(
        name=name,
        model=model,
        tokenizer=tokenizer,
        eos_token_ids=eos_token_ids(model, tokenizer),
        context_window=context_window(config, settings.max_context),
        device=device,
        precision=precision,
        explicit_positions=config.model_type == "chatglm",
    )


def locate_checkpoint(source: str, progress: Progress) -> Path:
    """A local folder as is; a hub id downloaded (or found in the cache) shard by shard."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if source.startswith((".", "/", "~")) or source.count("/") != 1:
        hint = Notice("load.no_folder_hint", setting=CHAT_SETTINGS["setting"], example=CHAT_SETTINGS["example"])
        raise LoadError(Notice("load.no_folder", source=source), hint)
    from huggingface_hub import hf_hub_download, snapshot_download

    progress(Notice("load.fetching_config", source=source))
    folder = Path(snapshot_download(source, allow_patterns=_SMALL_FILES))
    shards = weight_shards(folder)
    for i, shard in enumerate(shards, 1):
        progress(Notice("load.fetching_shard", number=i, count=len(shards), shard=shard))
        hf_hub_download(source, shard)
    return folder


def weight_shards(folder: Path) -> list[str]:
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (folder / index).is_file():
            weight_map = json.loads((folder / index).read_text())["weight_map"]
            return sorted(set(weight_map.values()))
    return ["model.safetensors"]


def trust_remote_code(settings: Settings, source: str) -> bool:
    if settings.trust_remote_code == "auto":
        return source in OFFICIAL_REMOTE_CODE
    return settings.trust_remote_code == "true"


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise LoadError(Notice("load.no_cuda", setting=setting), Notice("load.no_cuda_hint"))
    return setting


def saved_dtype(config) -> str:
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or "float32"
    return str(dtype).removeprefix("torch.")


def choose_dtype(setting: str, device: str, model_type: str, saved: str = "float32"):
    import torch

    if setting == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16  # never float16 for GLM
        # CPUs run bf16 checkpoints well (half the memory); float16 ones are upcast.
        return torch.bfloat16 if saved == "bfloat16" else torch.float32
    if setting == "float16" and "glm" in model_type:
        raise LoadError(Notice("load.float16"), Notice("load.float16_hint"))
    return getattr(torch, setting)


def load_weights(model_class, folder, dtype, device: str, quant, remote: bool):
    """``from_pretrained`` onto one device, in eval mode, without transformers' chatter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model_class.from_pretrained(
            folder,
            dtype=dtype,
            device_map={"": device},
            quantization_config=quant,
            trust_remote_code=remote,
        )
    return model.eval()


def quantization_config(setting: str, torch):
    if setting == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:
        raise LoadError(
            Notice("load.no_bitsandbytes", setting=setting, error=exc),
            Notice("load.no_bitsandbytes_hint", quantization=CHAT_SETTINGS["quantization"]),
        ) from exc
    from transformers import BitsAndBytesConfig

    if setting == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    # The GLM maintainers' recipe: nf4 with double quantisation, computing in bf16.
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def eos_token_ids(model, tokenizer) -> list[int]:
    """Stop ids from the checkpoint's generation config (GLM: endoftext, user, observation)."""
    ids = getattr(model.generation_config, "eos_token_id", None)
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def context_window(config, max_context: int) -> int:
    own = getattr(config, "max_position_embeddings", None) or getattr(config, "seq_length", None)
    own = own or 8192
    return min(own, max_context) if max_context else own


def explain(exc: BaseException, source: str) -> LoadError:
    """Turn whatever loading raised into what failed and what to do about it."""
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    name = type(exc).__name__
    if isinstance(exc, OfflineModelMissing):
        return LoadError(Notice("load.offline_missing"), exc.notice, text)
    if name == "OutOfMemoryError" or "out of memory" in low:
        hint = Notice("load.out_of_memory_hint", quantization=CHAT_SETTINGS["quantization"])
        return LoadError(Notice("load.out_of_memory", source=source), hint, text)
    if "trust_remote_code" in low:
        hint = Notice("load.remote_code_hint", example=CHAT_SETTINGS["example"])
        return LoadError(Notice("load.remote_code", source=source), hint, text)
    if "safetensor" in low or "deserializ" in low or "header" in low or "unexpected eof" in low:
        return LoadError(Notice("load.corrupt", source=source), Notice("load.corrupt_hint"), text)
    if "bitsandbytes" in low or "quantiz" in low:
        hint = Notice("load.quantisation_hint", quantization=CHAT_SETTINGS["quantization"])
        return LoadError(Notice("load.quantisation"), hint, text)
    if name in ("RepositoryNotFoundError", "GatedRepoError", "LocalEntryNotFoundError",
                "EntryNotFoundError", "RevisionNotFoundError") or isinstance(exc, OSError):
        hint = Notice("load.not_found_hint", setting=CHAT_SETTINGS["setting"])
        return LoadError(Notice("load.not_found", source=source), hint, text)
    if "does not recognize this architecture" in low or "unrecognized configuration" in low:
        return LoadError(Notice("load.unknown_type", source=source), Notice("load.unknown_type_hint"), text)
    return LoadError(Notice("load.failed", source=source), Notice("load.see_details"), text)
