"""A request as its session sees it, and the engine's per-request generation state."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator

from ..events import PROGRESS, TERMINAL, Event, FinishReason, Queued, Stats
from ..generation import GenerationParams
from .detokenizer import IncrementalDetokenizer
from .sampling import Sampler

_ids = itertools.count(1)


class Request:
    """A submitted prompt. Iterate ``events()``; ``cancel()`` (or closing the iterator) stops it."""

    def __init__(
        self,
        prompt_ids: list[int],
        params: GenerationParams,
        cache_key: str | None = None,
        inputs: dict | None = None,
        withdraw: Callable[[Request], None] = lambda request: None,
    ) -> None:
        self.id = next(_ids)
        self.prompt_ids = prompt_ids
        self.params = params
        # Image tensors (pixel_values, image_grid_thw, ...) for the prefill forward. Such a
        # prompt is read in one pass and bypasses the prefix cache.
        self.inputs = inputs
        # Requests sharing a key reuse each other's prefix cache.
        self.cache_key = cache_key if inputs is None else None
        self.submitted_at = time.perf_counter()
        self._withdraw = withdraw  # takes a cancelled request out of the waiting line
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._last_ahead: int | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        if not self._cancelled.is_set():
            self._cancelled.set()
            self._withdraw(self)

    def events(self, heartbeat_s: float | None = None) -> Iterator[Event]:
        """Events until Done or Error. With ``heartbeat_s``, the latest progress event is
        repeated whenever nothing else arrived for that long, so a UI waiting on a queue or
        a long prefill keeps control (Streamlit only notices Stop when it draws)."""
        progress: Event | None = None
        try:
            while True:
                try:
                    event = self._events.get(timeout=heartbeat_s)
                except queue.Empty:
                    if progress is not None:
                        yield progress
                    continue
                if isinstance(event, PROGRESS):
                    progress = event
                yield event
                if isinstance(event, TERMINAL):
                    return
        finally:
            self.cancel()  # the consumer went away: free the model for others

    def _put(self, event: Event) -> None:
        if isinstance(event, Queued):
            if event.ahead == self._last_ahead:
                return
            self._last_ahead = event.ahead
        self._events.put(event)


class Slot:
    """A request that holds a place: its prefill progress, then its decoding state."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.past = None  # its own cache while prefilling; the batch holds it afterwards
        self.reused = 0  # prompt tokens found in the prefix cache
        self.fed: list[int] = []  # tokens whose keys/values are cached
        self.sampler: Sampler | None = None
        self.detok: IncrementalDetokenizer | None = None
        self.budget = 0
        self.reason: FinishReason = "length"
        self.generated = 0
        self.pending = -1  # the sampled token the next decode step feeds
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.looked_up = False  # the prefix cache was asked (once, before the first chunk)
        # Multimodal RoPE (GLM-4.1V) numbers text after an image from fewer positions than
        # tokens; decode positions are the token count plus this (negative) delta.
        self.position_delta = 0

    @property
    def prefilled(self) -> bool:
        return len(self.fed) >= len(self.request.prompt_ids)

    def stats(self, context_window: int) -> Stats:
        first, last = self.first_at, self.last_at
        return Stats(
            prompt_tokens=len(self.request.prompt_ids),
            completion_tokens=self.generated,
            context_window=context_window,
            ttft_s=(first - self.request.submitted_at) if first else None,
            decode_s=(last - first) if first else 0.0,
            finish_reason=self.reason,
            cached_tokens=self.reused,
        )



def reach(request: Request, context_window: int) -> int:
    """The longest a request's keys/values can grow: its prompt plus its whole answer."""
    return min(len(request.prompt_ids) + request.params.max_new_tokens, context_window)
