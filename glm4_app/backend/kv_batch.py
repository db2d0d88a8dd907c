"""The keys/values of the requests that decode together, left-padded to one length.

Each request is prefilled alone into its own cache. To decode it with the others, its cache
joins a batch: the shorter side is padded on the left with zeros that an attention mask hides,
and every row keeps its own position ids, so a row computes what it would compute alone. A
row leaves by index; columns that became padding in every row are trimmed away so the batch
does not stay as long as the longest request it ever held.

A batch of one never copies or pads, so caches that are not transformers' ``DynamicCache``
(remote-code checkpoints) still work with a batch size of one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DynamicCache


class KVBatch:
    def __init__(self) -> None:
        self.past = None  # the model's cache object, batch dimension = rows
        self.mask: torch.Tensor | None = None  # [rows, length], 0 over left padding

    @property
    def rows(self) -> int:
        return 0 if self.mask is None else self.mask.shape[0]

    @property
    def length(self) -> int:
        return 0 if self.mask is None else self.mask.shape[1]

    def add(self, past, length: int, device: torch.device) -> None:
        """Append a row: a batch-of-one cache holding ``length`` tokens, no padding."""
        ones = torch.ones(1, length, dtype=torch.long, device=device)
        if self.rows == 0:
            self.past, self.mask = past, ones
            return
        width = max(self.length, length)
        for mine, theirs in zip(self.past.layers, past.layers):
            mine.keys = torch.cat([_pad(mine.keys, width), _pad(theirs.keys, width)])
            mine.values = torch.cat([_pad(mine.values, width), _pad(theirs.values, width)])
        self.mask = torch.cat([_pad_mask(self.mask, width), _pad_mask(ones, width)])

    def step_mask(self) -> torch.Tensor:
        """The attention mask of a decode step: every row attends to its new token too."""
        ones = torch.ones(self.rows, 1, dtype=self.mask.dtype, device=self.mask.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        return self.mask

    def undo_step(self) -> None:
        """Forget a decode step that failed part way: layers it reached hold one token more."""
        self.mask = self.mask[:, :-1]
        if self.rows == 1 and not hasattr(self.past, "layers"):
            return
        for layer in self.past.layers:
            layer.keys = layer.keys[:, :, : self.length]
            layer.values = layer.values[:, :, : self.length]

    def row(self, index: int):
        """A batch-of-one copy of one row without its padding (for the prefix cache)."""
        if self.rows == 1 and bool(self.mask.all()):
            return self.past
        start = int((self.mask[index] == 0).sum())
        return DynamicCache(
            [
                (layer.keys[index : index + 1, :, start:].clone(),
                 layer.values[index : index + 1, :, start:].clone())
                for layer in self.past.layers
            ]
        )

    def remove(self, indices: list[int]) -> None:
        if not indices:
            return
        gone = set(indices)
        keep = [i for i in range(self.rows) if i not in gone]
        if not keep:
            self.past = self.mask = None
            return
        kept = torch.tensor(keep, device=self.mask.device)
        self.mask = self.mask[kept]
        # Columns that are padding in every remaining row hold nothing anyone reads.
        start = int((self.mask == 0).all(dim=0).long().cumprod(0).sum())
        self.mask = self.mask[:, start:]
        for layer in self.past.layers:
            layer.keys = layer.keys[kept, :, start:]
            layer.values = layer.values[kept, :, start:]


def _pad(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Left-pad the sequence dimension (-2) of [batch, heads, seq, dim] to ``width``."""
    return F.pad(tensor, (0, 0, width - tensor.shape[-2], 0))


def _pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    return F.pad(mask, (width - mask.shape[1], 0))


def auto_batch_tokens(model, reserve_bytes: int = 0) -> int:
    """Tokens of keys/values that fit in half the memory free now (less ``reserve_bytes``
    kept for the prefix cache); 0 (no limit) when either number is unknown."""
    per_token = kv_bytes_per_token(model)
    free = _free_bytes(next(model.parameters()).device)
    if not per_token or free is None:
        return 0
    return max(1, (free - reserve_bytes) // 2 // per_token)  # 1: one request at a time


def kv_bytes_per_token(model) -> int:
    config = model.config.get_text_config()
    try:
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        layers = config.num_hidden_layers
    except AttributeError:  # remote-code configs name things their own way
        return 0
    return 2 * layers * kv_heads * head_dim * torch.finfo(model.dtype).bits // 8


def _free_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
