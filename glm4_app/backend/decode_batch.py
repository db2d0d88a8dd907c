"""The requests decoding together, on the static cache when there is one, else the dynamic one.

The static cache (static_cache.py) has fixed rows of fixed length; requests whose prompt plus
answer could outgrow a row, remote-code checkpoints, and everything after the static path
failed (a CUDA graph that cannot be captured, say) decode on the dynamic cache (kv_batch.py),
which is today's path and works everywhere. Which cache serves the batch is decided when the
batch is empty, so one batch never mixes the two. A failure of the static path is logged once;
its rows move to the dynamic cache and carry on.
"""

from __future__ import annotations

import gc
import logging

import torch

from .kv_batch import KVBatch
from .static_cache import MIN_SPAN, StaticBatch, unsupported

log = logging.getLogger(__name__)


def static_cache(
    model, device: torch.device, mode: str, rows: int, row_tokens: int, graphs: bool,
    remote_code: bool,
) -> StaticBatch | None:
    """The static cache ``mode`` asks for (``auto``: on a GPU), or None where it cannot serve."""
    if mode == "auto":
        mode = "static" if device.type == "cuda" else "dynamic"
    if mode == "dynamic":
        return None
    if remote_code:  # its own cache format, and positions derived from the input shape
        log.info("Remote-code checkpoint: decoding on the dynamic key/value cache.")
        return None
    reason = unsupported(model)
    if reason:
        log.info("Decoding on the dynamic key/value cache: %s.", reason)
        return None
    if row_tokens < MIN_SPAN:
        log.warning("Static key/value cache off: the budget leaves %d tokens a row.", row_tokens)
        return None
    try:
        with torch.inference_mode():
            static = StaticBatch(model, rows, row_tokens, graphs=graphs and device.type == "cuda")
    except Exception as exc:  # a model it does not fit, no memory, a step that cannot be captured
        log.warning("Static key/value cache unavailable (%s: %s); decoding on the dynamic cache.",
                    type(exc).__name__, exc, exc_info=exc)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return None
    log.info("Static key/value cache: %d rows of %d tokens, %.2f GiB%s.", rows, row_tokens,
             static.nbytes / 2**30, ", CUDA-graph decode steps" if static.graphs else "")
    return static


class DecodeBatch:
    def __init__(
        self, model, device: torch.device, static: StaticBatch | None, logits_to_keep: bool
    ) -> None:
        self.model, self.device = model, device
        self._static = static
        self._dynamic = KVBatch()
        self._on_static = False
        self._keep = {"logits_to_keep": 1} if logits_to_keep else {}

    @property
    def _current(self):
        static = self._static  # read first: a fallback clears _on_static before _static
        return static if self._on_static and static is not None else self._dynamic

    @property
    def rows(self) -> int:
        return self._current.rows

    @property
    def path(self) -> str:
        """``dynamic``, ``static`` or ``static+cuda-graphs``: what the next batch decodes on."""
        static = self._static
        if static is None:
            return "dynamic"
        return "static+cuda-graphs" if static.graphs is not None else "static"

    def admits(self, reaches: list[int]) -> bool | None:
        """Whether requests that can grow to ``reaches`` tokens may decode together as far as
        the static cache goes: True (they fit its rows), False (the static batch decodes and
        one of them does not fit), or None (the dynamic cache's rules decide). Called from
        other threads too: it reads each attribute once."""
        static, rows = self._static, self.rows
        if static is None or (rows and not self._on_static):
            return None
        if max(reaches) <= static.length:
            return True
        return False if rows else None

    def add(self, past, length: int, reaches: list[int]) -> None:
        """A request joins with its batch-of-one cache of ``length`` tokens. ``reaches``: how
        far it and the requests about to join can grow, which picks the cache of a new batch."""
        if self.rows == 0:
            self._on_static = self._static is not None and max(reaches) <= self._static.length
        if self._on_static:
            try:
                self._static.add(past, length)
                return
            except Exception as exc:
                self._fall_back(exc)
        self._dynamic.add(past, length, self.device)

    def decode(self, tokens: list[int], positions: list[int]) -> torch.Tensor:
        """One forward pass feeding ``tokens`` at ``positions`` (one per row); the next-token
        logits [rows, vocab]."""
        if self._on_static:
            try:
                return self._static.decode(tokens, positions)
            except torch.OutOfMemoryError:
                raise
            except Exception as exc:
                self._fall_back(exc)
        batch = self._dynamic
        out = self.model(
            input_ids=torch.tensor([[t] for t in tokens], device=self.device),
            position_ids=torch.tensor([[p] for p in positions], device=self.device),
            attention_mask=batch.step_mask(),
            past_key_values=batch.past,
            use_cache=True,
            **self._keep,
        )
        batch.past = out.past_key_values
        return out.logits[:, -1]

    def row(self, index: int):
        return self._current.row(index)

    def remove(self, indices: list[int]) -> None:
        self._current.remove(indices)

    def undo_step(self) -> None:
        self._current.undo_step()

    def reset(self) -> None:
        """Drop every row (the batch's state is unknown after a failed step)."""
        if self._static is not None:
            self._static.clear()
        self._dynamic = KVBatch()
        self._on_static = False

    def release(self) -> None:
        """Let go of the static cache's memory and of the model (the engine is closing)."""
        self.reset()
        self._static = self.model = None

    def _fall_back(self, exc: Exception) -> None:
        """The static path failed: its rows move to the dynamic cache, for good."""
        log.warning(
            "Static key/value cache failed (%s: %s); decoding on the dynamic cache from now on.",
            type(exc).__name__, exc, exc_info=exc,
        )
        static = self._static
        if self._on_static:
            dynamic = KVBatch()
            for i in range(static.rows):
                dynamic.add(static.row(i), static.length_of(i), self.device)
            self._dynamic = dynamic
        # In this order, a thread reading ``rows`` meanwhile sees one whole batch or the other.
        self._on_static = False
        self._static = None
