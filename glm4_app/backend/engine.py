"""One worker thread owns the model; requests from every session wait in a FIFO queue.

The decode loop is written out (no ``model.generate``) so that Stop is honoured within one
decode step and between prefill chunks of a long prompt, with no streamer timeouts, and so
that one request's failure (out of memory included) never stops the others being served.
"""

from __future__ import annotations

import gc
import inspect
import itertools
import logging
import queue
import threading
import time
from collections import deque
from typing import Iterator

import torch

from ..events import (
    TERMINAL,
    Done,
    Error,
    PROGRESS,
    Event,
    FinishReason,
    Prefill,
    Queued,
    Started,
    Stats,
    TextDelta,
)
from ..generation import GenerationParams
from .detokenizer import IncrementalDetokenizer
from .prefix_cache import PrefixCache
from .sampling import Sampler

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class Request:
    """A submitted prompt. Iterate ``events()``; ``cancel()`` (or closing the iterator) stops it."""

    def __init__(
        self,
        engine: "Engine",
        prompt_ids: list[int],
        params: GenerationParams,
        cache_key: str | None = None,
    ) -> None:
        self.id = next(_ids)
        self.prompt_ids = prompt_ids
        self.params = params
        self.cache_key = cache_key  # requests sharing a key reuse each other's prefix cache
        self.submitted_at = time.perf_counter()
        self._engine = engine
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._last_ahead: int | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        if not self._cancelled.is_set():
            self._cancelled.set()
            self._engine._withdraw(self)

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


class Engine:
    def __init__(
        self,
        model,
        tokenizer,
        *,
        eos_token_ids: list[int],
        context_window: int,
        prefill_chunk: int = 512,
        queue_max: int = 32,
        explicit_positions: bool = False,
        prefix_cache_bytes: int = 0,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_token_ids = frozenset(eos_token_ids)
        self.context_window = context_window
        self.prefill_chunk = max(1, prefill_chunk)
        self.queue_max = queue_max
        # Remote-code GLM derives positions from the input shape; it needs them spelled out.
        self._explicit_positions = explicit_positions
        self.prefix_cache = PrefixCache(prefix_cache_bytes)
        params = inspect.signature(model.forward).parameters
        self._logits_to_keep = "logits_to_keep" in params
        self.device = next(model.parameters()).device
        self._waiting: deque[Request] = deque()
        self._running: Request | None = None
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="glm4-engine", daemon=True)
        self._thread.start()

    # -- public -------------------------------------------------------------------------

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, cache_key: str | None = None
    ) -> Request:
        """Queue a prompt. With ``cache_key`` (a conversation id), the keys/values of the
        prefix it shares with that key's previous request are reused, not recomputed."""
        request = Request(self, list(prompt_ids), params, cache_key)
        with self._lock:
            if len(prompt_ids) >= self.context_window:
                request._put(
                    Error(
                        f"This conversation is {len(prompt_ids):,} tokens long, but the model "
                        f"reads at most {self.context_window:,}. Nothing was cut: shorten your "
                        "message, remove earlier turns or start a new chat.",
                        "context",
                    )
                )
            elif self._closed:
                request._put(Error("The model is shutting down; try again.", "backend"))
            elif len(self._waiting) >= self.queue_max:
                request._put(
                    Error(
                        f"The server is busy: {len(self._waiting)} requests are already waiting. "
                        "Try again in a moment.",
                        "queue_full",
                    )
                )
            else:
                self._waiting.append(request)
                self._announce_positions()
                self._lock.notify()
        return request

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for request in self._waiting:
                request._put(Error("The model was unloaded.", "backend"))
            self._waiting.clear()
            self._lock.notify_all()
        self._thread.join(timeout=30)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    # -- queue --------------------------------------------------------------------------

    def _withdraw(self, request: Request) -> None:
        with self._lock:
            if request in self._waiting:
                self._waiting.remove(request)
                self._announce_positions()

    def _announce_positions(self) -> None:
        busy = 1 if self._running is not None else 0
        for i, request in enumerate(self._waiting):
            request._put(Queued(ahead=i + busy))

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                request = self._running = self._waiting.popleft()
                self._announce_positions()
            try:
                self._run(request)
            finally:
                with self._lock:
                    self._running = None
                    self._announce_positions()

    def _run(self, request: Request) -> None:
        try:
            with torch.inference_mode():
                self._generate(request)
        except torch.OutOfMemoryError:
            self.prefix_cache.clear()  # cached prefixes are the first memory to give back
            gc.collect()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            request._put(
                Error(
                    f"The model ran out of memory on this request ({len(request.prompt_ids):,} "
                    "prompt tokens). Shorten the conversation, lower max new tokens, or load the "
                    "model in 4-bit. Other conversations are not affected.",
                    "oom",
                )
            )
        except Exception as exc:  # one broken request must not stop the engine
            log.exception("generation failed")
            request._put(Error(f"Generation failed: {type(exc).__name__}: {exc}", "backend"))

    # -- generation ---------------------------------------------------------------------

    def _forward(self, input_ids: torch.Tensor, past, offset: int):
        kwargs = {"input_ids": input_ids, "past_key_values": past, "use_cache": True}
        if self._explicit_positions:
            end = offset + input_ids.shape[1]
            kwargs["position_ids"] = torch.arange(offset, end, device=self.device)[None]
            kwargs["attention_mask"] = torch.ones(1, end, dtype=torch.long, device=self.device)
        if self._logits_to_keep:
            kwargs["logits_to_keep"] = 1  # a 128K prompt needs one row of logits, not 128K
        return self.model(**kwargs)

    def _generate(self, request: Request) -> None:
        prompt = request.prompt_ids
        n = len(prompt)
        request._put(Started(prompt_tokens=n))
        past, reused = None, 0
        if request.cache_key is not None:
            past, reused = self.prefix_cache.take(request.cache_key, prompt)
        fed = list(prompt[:reused])  # the tokens whose keys/values ``past`` holds

        ids = torch.tensor([prompt], device=self.device)
        for start in range(reused, n, self.prefill_chunk):
            if request.cancelled:
                self._keep(request, fed, past)
                request._put(Done(Stats(n, 0, self.context_window, None, 0.0, "cancelled", reused)))
                return
            out = self._forward(ids[:, start : start + self.prefill_chunk], past, start)
            past = out.past_key_values
            fed += prompt[start : start + self.prefill_chunk]
            request._put(Prefill(done=min(start + self.prefill_chunk, n), total=n))
        logits = out.logits[0, -1]

        sampler = Sampler(request.params, logits.shape[-1], self.device)
        sampler.observe(ids[0])
        detok = IncrementalDetokenizer(self.tokenizer)
        room = self.context_window - n
        budget = min(request.params.max_new_tokens, room)
        reason: FinishReason = "context" if budget == room else "length"
        generated = 0
        first_at = last_at = None
        while generated < budget:
            token = sampler(logits)
            if request.cancelled:
                reason = "cancelled"
                break
            if token in self.eos_token_ids:
                reason = "stop"
                break
            generated += 1
            last_at = time.perf_counter()
            first_at = first_at or last_at
            text = detok.push(token)
            if text:
                request._put(TextDelta(text))
            if generated == budget:
                break
            sampler.observe([token])
            out = self._forward(torch.tensor([[token]], device=self.device), past, len(fed))
            past, logits = out.past_key_values, out.logits[0, -1]
            fed.append(token)
        text = detok.flush()
        if text:
            request._put(TextDelta(text))
        self._keep(request, fed, past)
        request._put(
            Done(
                Stats(
                    prompt_tokens=n,
                    completion_tokens=generated,
                    context_window=self.context_window,
                    ttft_s=(first_at - request.submitted_at) if first_at else None,
                    decode_s=(last_at - first_at) if first_at else 0.0,
                    finish_reason=reason,
                    cached_tokens=reused,
                )
            )
        )

    def _keep(self, request: Request, fed: list[int], past) -> None:
        if request.cache_key is not None and past is not None:
            self.prefix_cache.put(request.cache_key, fed, past)
