"""The decoding batch on a preallocated key/value cache: one row per request, fixed addresses.

The dynamic batch (kv_batch.py) concatenates and pads tensors as requests join and leave, so
every step has new shapes and new addresses. Here each layer owns one buffer
[rows, kv_heads, length, head_dim], allocated once. A request's prompt is copied into a free row
when it joins; each decode step writes one column per row in place, every row at its own column
(rows are not padded to a common length), and a mask hides the columns past it. A row that
leaves is simply free again.

Steps run on bucketed shapes so that a handful of CUDA graphs serve every batch
(decode_graphs.py): rows are rounded up to 1, 2, 4, 8, then multiples of 8 (the spare rows
compute on a free row and are ignored), and the attention span is rounded up to a power of two
up to 4096, then to a multiple of 4096, so a step reads the keys/values it needs, not the whole
buffer.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, DynamicCache
from transformers.cache_utils import Cache, CacheLayerMixin
from transformers.integrations.sdpa_attention import sdpa_attention_forward

ROW_ATTENTION = "glm4_app_rows"
MIN_SPAN = 256
SPAN_STEP = 4096


class StaticBatch:
    def __init__(self, model, rows: int, length: int, *, graphs: bool = False) -> None:
        """``rows`` requests of up to ``length`` tokens (prompt and answer) each. Raises when
        the model's layout is not one this cache understands or memory is short."""
        config = model.config.get_text_config()
        self.model, self._config = model, config
        self.capacity, self.length = rows, length
        # Hidden states, and so keys/values, have the embeddings' dtype (also under 4-bit).
        if hasattr(model, "get_input_embeddings"):
            embeddings = model.get_input_embeddings().weight
        else:
            embeddings = next(model.parameters())
        device, dtype = embeddings.device, embeddings.dtype
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        shape = (rows, kv_heads, length, head_dim)
        layers = range(config.num_hidden_layers)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in layers]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in layers]
        # One host-to-device copy per step: token, position and write column of every row.
        self._inputs = torch.zeros(3, rows, dtype=torch.long, device=device)
        self._columns = torch.arange(length, device=device)
        self._views: dict[tuple[int, int], _RowsCache] = {}
        self._slots: list[int] = []  # engine row i lives in buffer row self._slots[i]
        self._lengths = [0] * rows  # tokens cached in each buffer row
        self._order: torch.Tensor | None = None  # self._slots on the device, when not 0..n-1
        self._keep = {"logits_to_keep": 1} if _takes_logits_to_keep(model) else {}
        self.graphs = None
        if graphs:
            from .decode_graphs import DecodeGraphs

            self.graphs = DecodeGraphs(self._step, rows, device)
            self.graphs.capture(1, self.span(1))  # fails here, at load, if it ever will

    @property
    def rows(self) -> int:
        return len(self._slots)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))

    # -- rows joining and leaving -----------------------------------------------------------

    def add(self, past, length: int) -> None:
        """Copy a request's batch-of-one cache (``length`` tokens) into a free row."""
        if length >= self.length:
            raise ValueError(f"{length} tokens do not fit rows of {self.length}")
        layers = past.layers
        if len(layers) != len(self.keys) or layers[0].keys.shape[-2] != length:
            raise ValueError(f"a cache of {len(layers)} layers x {layers[0].keys.shape[-2]} tokens "
                             f"does not match {len(self.keys)} layers x {length} tokens")
        slot = min(set(range(self.capacity)) - set(self._slots))
        for layer, keys, values in zip(layers, self.keys, self.values):
            keys[slot, :, :length] = layer.keys[0]  # raises on another layout or dtype
            values[slot, :, :length] = layer.values[0]
        self._lengths[slot] = length
        self._slots.append(slot)
        self._order = None

    def row(self, index: int) -> DynamicCache:
        """A batch-of-one copy of one row's keys/values (for the prefix cache)."""
        slot = self._slots[index]
        end = self._lengths[slot]
        return DynamicCache(
            [(k[slot : slot + 1, :, :end].clone(), v[slot : slot + 1, :, :end].clone())
             for k, v in zip(self.keys, self.values)]
        )

    def length_of(self, index: int) -> int:
        return self._lengths[self._slots[index]]

    def remove(self, indices: list[int]) -> None:
        gone = set(indices)
        self._slots = [s for i, s in enumerate(self._slots) if i not in gone]
        self._compact()
        self._order = None

    def clear(self) -> None:
        self._slots, self._order = [], None

    def undo_step(self) -> None:
        """Nothing to undo: a step's lengths only advance once it succeeded."""

    def _compact(self) -> None:
        """Move the highest rows into holes while they make the step's row bucket bigger than
        the batch needs (a copy of one row's tokens each; rare)."""
        while self._slots and max(self._slots) + 1 > bucket_rows(len(self._slots), self.capacity):
            high = max(self._slots)
            free = min(set(range(self.capacity)) - set(self._slots))
            end = self._lengths[high]
            for buffer in (*self.keys, *self.values):
                buffer[free, :, :end] = buffer[high, :, :end]
            self._lengths[free] = end
            self._slots[self._slots.index(high)] = free

    # -- one decode step ----------------------------------------------------------------------

    def decode(self, tokens: list[int], positions: list[int]) -> torch.Tensor:
        """Feed one token per row; the next-token logits [rows, vocab], in row order."""
        n = len(self._slots)
        rows = bucket_rows(max(self._slots) + 1, self.capacity)
        longest = max(self._lengths[s] for s in self._slots)
        if longest >= self.length:
            raise ValueError(f"a row of {longest} tokens has no room left in rows of {self.length}")
        span = self.span(longest + 1)
        staged = [[0] * rows for _ in range(3)]  # spare rows: token 0 at column 0 of a free row
        for slot, token, position in zip(self._slots, tokens, positions):
            staged[0][slot], staged[1][slot], staged[2][slot] = token, position, self._lengths[slot]
        self._inputs[:, :rows].copy_(torch.tensor(staged))
        logits = self.graphs.run(rows, span) if self.graphs else self._step(rows, span)
        for slot in self._slots:
            self._lengths[slot] += 1
        if self._slots == list(range(n)):
            return logits[:n]
        if self._order is None:
            self._order = torch.tensor(self._slots, device=logits.device)
        return logits.index_select(0, self._order)

    def span(self, needed: int) -> int:
        """Columns a step attends over: ``needed`` rounded up to a bucket, at most the row."""
        if needed <= SPAN_STEP:
            bucket = max(MIN_SPAN, 1 << (needed - 1).bit_length())
        else:
            bucket = -(-needed // SPAN_STEP) * SPAN_STEP
        return min(bucket, self.length)

    def _step(self, rows: int, span: int) -> torch.Tensor:
        """The forward pass of one step on the first ``rows`` rows and ``span`` columns, reading
        its inputs from ``self._inputs`` (so that a CUDA graph can capture it as is)."""
        tokens, positions, write = self._inputs[:, :rows]
        mask = (self._columns[:span] <= write[:, None]).view(rows, 1, 1, span)
        with _row_attention(self._config):
            out = self.model(
                input_ids=tokens.view(rows, 1),
                position_ids=positions.view(rows, 1),
                attention_mask=mask,
                past_key_values=self._view(rows, span),
                use_cache=True,
                **self._keep,
            )
        return out.logits[:, -1]

    def _view(self, rows: int, span: int) -> _RowsCache:
        view = self._views.get((rows, span))
        if view is None:
            write = self._inputs[2, :rows]
            view = self._views[(rows, span)] = _RowsCache(
                [_RowsLayer(k[:rows, :, :span], v[:rows, :, :span], write)
                 for k, v in zip(self.keys, self.values)]
            )
        return view


def unsupported(model) -> str | None:
    """Why this model's attention cannot run on static rows (None: it can). Every layer must
    attend to the whole past: a sliding window or a linear-attention layer needs a cache this
    one is not."""
    config = getattr(model, "config", None)
    if config is None:
        return "the model has no config"
    config = config.get_text_config()
    kinds = set(getattr(config, "layer_types", None) or ["full_attention"])
    if kinds != {"full_attention"}:
        return f"its layers are {', '.join(sorted(kinds))}"
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return "it attends through a sliding window"
    if getattr(config, "kv_lora_rank", None):  # GLM-4.7-Flash (Glm4MoeLite), DeepSeek-V3
        return "it caches a compressed latent (multi-head latent attention), not keys and values per head"
    return None


def bucket_rows(rows: int, capacity: int) -> int:
    """1, 2, 4, 8, then multiples of 8, at most ``capacity``."""
    bucket = 1 << (rows - 1).bit_length() if rows <= 8 else -(-rows // 8) * 8
    return min(bucket, capacity)


def _takes_logits_to_keep(model) -> bool:
    return "logits_to_keep" in inspect.signature(model.forward).parameters


# -- the cache object handed to the model ------------------------------------------------------


class _RowsLayer(CacheLayerMixin):
    """One layer's keys/values as the model sees them in a step: views of the buffers.
    ``update`` writes the step's key/value of each row at that row's own column."""

    is_compileable = True
    is_sliding = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, write: torch.Tensor) -> None:
        super().__init__()
        self.keys, self.values = keys, values
        rows, heads, _, dim = keys.shape
        self._index = write.view(rows, 1, 1, 1).expand(rows, heads, 1, dim)
        self.is_initialized = True

    def lazy_initialization(self, key_states, value_states) -> None:
        pass

    def update(self, key_states, value_states, *args, **kwargs):
        self.keys.scatter_(2, self._index, key_states)
        self.values.scatter_(2, self._index, value_states)
        return self.keys, self.values

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[2], 0

    def get_seq_length(self) -> int:
        return self.keys.shape[2]

    def get_max_length(self) -> int:
        return self.keys.shape[2]


class _RowsCache(Cache):
    def __init__(self, layers: list[_RowsLayer]) -> None:
        super().__init__(layers=layers)


# -- attention: one read of the keys/values per key/value head --------------------------------


def _row_attention_forward(
    module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs
):
    """Decode-step attention with a mask, grouped-query style: the query heads that share a
    key/value head are attended together, so each key/value head is read once. (transformers'
    SDPA path repeats the keys/values per query head when a mask is given in some versions:
    16x the reads for GLM-4's 32 query and 2 key/value heads.)"""
    batch, heads, q_len, dim = query.shape
    if q_len != 1:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, **kwargs
        )
    kv_heads = key.shape[1]
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)
    out = F.scaled_dot_product_attention(
        grouped, key, value, attn_mask=attention_mask, scale=scaling
    )
    return out.reshape(batch, heads, 1, dim).transpose(1, 2), None


AttentionInterface.register(ROW_ATTENTION, _row_attention_forward)


@contextmanager
def _row_attention(config):
    """Use the grouped decode attention for this forward pass only (prefill keeps SDPA)."""
    saved = config._attn_implementation
    config._attn_implementation = ROW_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = saved
