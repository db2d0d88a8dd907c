"""Pick the next token from logits: repetition penalty, temperature, top-k, top-p, seed.

Semantics follow transformers' logits processors so that the sliders mean what users know
from other apps. One sampler per request, with its own torch.Generator, so a seed
reproduces an answer whatever else the engine is serving.
"""

from __future__ import annotations

import random

import torch

from ..generation import GenerationParams


class Sampler:
    def __init__(self, params: GenerationParams, vocab_size: int, device: torch.device) -> None:
        self.params = params
        self._seen = None
        if params.repetition_penalty != 1.0:
            self._seen = torch.zeros(vocab_size, dtype=torch.bool, device=device)
        self._generator = None
        if not params.greedy:
            seed = params.seed if params.seed is not None else random.getrandbits(63)
            self._generator = torch.Generator(device=device).manual_seed(seed)

    @property
    def plain_greedy(self) -> bool:
        """The next token is the argmax of the logits (so a batch can pick all of them at once)."""
        return self.params.greedy and self._seen is None

    def observe(self, token_ids: torch.Tensor | list[int]) -> None:
        """Tokens the repetition penalty applies to: the prompt, then each new token."""
        if self._seen is not None:
            self._seen[torch.as_tensor(token_ids, device=self._seen.device)] = True

    def __call__(self, logits: torch.Tensor) -> int:
        """``logits``: 1-D float tensor over the vocabulary (the last position)."""
        p = self.params
        logits = logits.float()
        if self._seen is not None:
            penalised = torch.where(
                logits > 0, logits / p.repetition_penalty, logits * p.repetition_penalty
            )
            logits = torch.where(self._seen[: logits.shape[-1]], penalised, logits)
        if p.greedy:
            return int(torch.argmax(logits))
        logits = logits / p.temperature
        if 0 < p.top_k < logits.shape[-1]:
            kth = torch.topk(logits, p.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if p.top_p < 1.0:
            sorted_logits, order = torch.sort(logits, descending=True)
            cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
            # Drop tokens once the mass before them reaches top_p; the best one always stays.
            drop = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= p.top_p
            logits = logits.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self._generator))
