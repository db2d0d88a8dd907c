"""Decode steps captured once per shape as CUDA graphs, then replayed.

On a GPU, decoding one token of GLM-4-9B is ~2,000 small kernels (40 layers of norms, rotary
embeddings, projections, attention); launched one by one from Python they take longer than the
GPU needs to read the weights. A CUDA graph records the whole
step once and launches it with one call. What the graph reads and writes must keep its
address: the static cache's buffers, its input staging tensor, and the logits buffer here.

Graphs are captured lazily, the first time a (rows, span) shape is needed (a fraction of a
second each, once), in the same style as vLLM's and SGLang's decode graphs: one memory pool
for all of them (they never run at the same time), and a warm-up pass before each capture
so that lazy initialisations (cuBLAS workspaces, kernel loading) happen outside the graph.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class DecodeGraphs:
    def __init__(
        self, step: Callable[[int, int], torch.Tensor], max_rows: int, device: torch.device
    ) -> None:
        """``step(rows, span)``: the eager forward pass; next-token logits [rows, vocab]."""
        self._step = step
        self._max_rows = max_rows
        self._device = device
        self._graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}
        self._pool = torch.cuda.graph_pool_handle()
        self._stream = torch.cuda.Stream(device)  # warm-ups and captures, always the same one
        self._logits: torch.Tensor | None = None  # every graph copies its logits here

    def __len__(self) -> int:
        return len(self._graphs)

    def run(self, rows: int, span: int) -> torch.Tensor:
        graph = self._graphs.get((rows, span)) or self.capture(rows, span)
        graph.replay()
        return self._logits[:rows]

    def capture(self, rows: int, span: int) -> torch.cuda.CUDAGraph:
        current = torch.cuda.current_stream(self._device)
        self._stream.wait_stream(current)
        with torch.cuda.stream(self._stream):
            warm = self._step(rows, span)
        current.wait_stream(self._stream)
        if self._logits is None:
            self._logits = warm.new_empty(self._max_rows, warm.shape[-1])
        del warm
        graph = torch.cuda.CUDAGraph()
        # thread_local: another engine (the vision model's) may allocate on its thread meanwhile.
        capturing = torch.cuda.graph(
            graph, pool=self._pool, stream=self._stream, capture_error_mode="thread_local"
        )
        try:
            with capturing:
                self._logits[:rows].copy_(self._step(rows, span))
        finally:
            torch.cuda.set_stream(current)  # a capture that failed to end leaves its stream current
        self._graphs[(rows, span)] = graph
        return graph
