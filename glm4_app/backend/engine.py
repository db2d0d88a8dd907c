"""One worker thread owns the model and serves every session: continuous batching.

Requests wait in a FIFO queue until the decoding batch has room (``max_batch``, and a token
budget that bounds the padded keys/values). A request that gets a place is prefilled alone,
a chunk at a time between decode steps, so the others keep streaming while a long document is
read; then it joins the batch and decodes with the others, one forward pass per step for all of them.
Finished, stopped and abandoned requests leave after the step that ended them.

The loop is written out (no ``model.generate``) so that Stop is honoured within one step, a
request's sampling, seed and stop tokens stay its own, and one request's failure (out of
memory included) never stops the others being served.

With ``kv_cache="static"`` (the default on a GPU through the app's settings) the batch decodes
on a preallocated key/value cache with CUDA-graph-captured steps (static_cache.py); requests
too long for its rows and anything it cannot serve decode on the dynamic cache (decode_batch.py).
"""

from __future__ import annotations

import gc
import inspect
import logging
import threading
import time
from collections import deque

import torch

from ..events import Done, Error, FinishReason, Prefill, Queued, Started, TextDelta
from ..notices import Notice
from ..generation import GenerationParams
from .decode_batch import DecodeBatch, static_cache
from .detokenizer import IncrementalDetokenizer
from .prefix_cache import PrefixCache
from .request import Request, Slot, reach
from .sampling import Sampler

log = logging.getLogger(__name__)

# After an out-of-memory error the batch limit drops by one; this many good steps raise it again.
RECOVERY_STEPS = 256


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
        max_batch: int = 1,
        batch_tokens: int = 0,
        kv_cache: str = "dynamic",
        cuda_graphs: bool = True,
    ) -> None:
        """``kv_cache``: ``dynamic`` (grows per step, any device), ``static`` (preallocated
        rows of ``batch_tokens // max_batch`` tokens; decode steps captured as CUDA graphs on
        a GPU unless ``cuda_graphs`` is False) or ``auto`` (static on a GPU)."""
        self.model = model
        self.tokenizer = tokenizer
        self.eos_token_ids = frozenset(eos_token_ids)
        self.context_window = context_window
        self.prefill_chunk = max(1, prefill_chunk)
        self.queue_max = queue_max
        # Remote-code GLM derives positions from the input shape; it needs them spelled out,
        # and its own cache format cannot be padded, so it decodes one request at a time.
        self._explicit_positions = explicit_positions
        self.max_batch = 1 if explicit_positions else max(1, max_batch)
        # Padded tokens (rows x longest row) the batch may hold; 0 = no limit. One request
        # always gets its turn, however long.
        self.batch_tokens = batch_tokens
        self._batch_limit = self.max_batch  # lowered after an out-of-memory error
        self._good_steps = 0
        self.prefix_cache = PrefixCache(prefix_cache_bytes)
        params = inspect.signature(model.forward).parameters
        self._logits_to_keep = "logits_to_keep" in params
        self.device = next(model.parameters()).device
        self._waiting: deque[Request] = deque()
        self._prefilling: deque[Slot] = deque()
        self._decoding: list[Slot] = []  # row i of ``self._batch`` is ``self._decoding[i]``
        # The static cache's rows share the batch budget (the whole context each without one).
        rows = self.max_batch
        row_tokens = min(context_window, batch_tokens // rows) if batch_tokens else context_window
        static = static_cache(
            model, self.device, kv_cache, rows, row_tokens, cuda_graphs, explicit_positions
        )
        self._batch = DecodeBatch(model, self.device, static, self._logits_to_keep)
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="glm4-engine", daemon=True)
        self._thread.start()

    # -- public -------------------------------------------------------------------------

    def submit(
        self,
        prompt_ids: list[int],
        params: GenerationParams,
        cache_key: str | None = None,
        inputs: dict | None = None,
    ) -> Request:
        """Queue a prompt. With ``cache_key`` (a conversation id), the keys/values of the
        longest prefix it shares with that key's earlier requests are reused, not recomputed.
        ``inputs``: the image tensors of a vision prompt, given to its prefill forward."""
        request = Request(list(prompt_ids), params, cache_key, inputs, withdraw=self._withdraw)
        with self._lock:
            if len(prompt_ids) >= self.context_window:
                request._put(
                    Error(
                        Notice("engine.context_too_long", tokens=len(prompt_ids), window=self.context_window),
                        "context",
                    )
                )
            elif self._closed:
                request._put(Error(Notice("engine.shutting_down"), "backend"))
            elif len(self._waiting) >= self.queue_max:
                request._put(
                    Error(Notice("engine.queue_full", count=len(self._waiting)), "queue_full")
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
                request._put(Error(Notice("engine.unloaded"), "backend"))
            self._waiting.clear()
            self._lock.notify_all()
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self._batch.release()  # the static cache's memory goes back at once

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    @property
    def batch_size(self) -> int:
        """Requests decoding together now (read-only, for metrics)."""
        return len(self._decoding)

    @property
    def decode_path(self) -> str:
        """``static+cuda-graphs``, ``static`` or ``dynamic``: the cache new batches decode on."""
        return self._batch.path

    # -- queue --------------------------------------------------------------------------

    def _withdraw(self, request: Request) -> None:
        with self._lock:
            if request in self._waiting:
                self._waiting.remove(request)
                self._announce_positions()

    def _announce_positions(self) -> None:
        """``ahead``: how many places must free up before a request gets one. Requests that
        fit in the batch now are about to start, so they wait for nobody."""
        fitting = self._fitting()
        for i, request in enumerate(self._waiting):
            request._put(Queued(ahead=max(0, i - fitting + 1)))

    def _admit(self) -> None:
        """Move waiting requests into free places, oldest first (called under the lock)."""
        for _ in range(self._fitting()):
            request = self._waiting.popleft()
            request._put(Started(prompt_tokens=len(request.prompt_ids)))
            self._prefilling.append(Slot(request))
        self._announce_positions()

    def _fitting(self) -> int:
        """How many waiting requests, oldest first, fit in the batch now."""
        holding = [s.request for s in (*self._prefilling, *self._decoding)]
        count = 0
        for request in self._waiting:
            if not self._fits(holding, request):
                break
            holding.append(request)
            count += 1
        return count

    def _fits(self, holding: list[Request], request: Request) -> bool:
        if not holding:
            return True  # one request always gets its turn, however long
        if len(holding) >= self._batch_limit:
            return False
        reaches = [reach(r, self.context_window) for r in (*holding, request)]
        static = self._batch.admits(reaches)  # the static cache's rows decide, if it serves
        if static is not None:
            return static
        if not self.batch_tokens:
            return True
        # Every row is padded to the longest one, and each grows as it answers.
        return len(reaches) * max(reaches) <= self.batch_tokens

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not (self._waiting or self._prefilling or self._decoding or self._closed):
                    self._lock.wait()
                if self._closed:
                    self._fail_all(Notice("engine.unloaded"))
                    return
                self._admit()
            with torch.inference_mode():
                self._end_cancelled_prefills()
                self._prefill_some()
                if self._decoding:
                    self._decode_step()

    def _fail_all(self, message: Notice) -> None:
        for slot in (*self._prefilling, *self._decoding):
            slot.request._put(Error(message, "backend"))
        self._prefilling.clear()
        self._decoding.clear()
        self._batch.reset()

    # -- prefill ------------------------------------------------------------------------

    def _end_cancelled_prefills(self) -> None:
        for slot in [s for s in self._prefilling if s.request.cancelled]:
            self._leave_prefill(slot)
            slot.reason = "cancelled"
            self._finish(slot, slot.past)  # what was read so far still serves a retry

    def _prefill_some(self) -> None:
        """Up to ``prefill_chunk`` prompt tokens per engine step, oldest newcomer first: short
        prompts that arrive together are all read in one step, a long one a chunk at a time."""
        budget = self.prefill_chunk
        while self._prefilling and budget > 0:
            slot = self._prefilling[0]
            budget -= self._prefill_step(slot, budget)
            if self._prefilling and self._prefilling[0] is slot:
                return  # still reading it: the decode step comes first

    def _prefill_step(self, slot: Slot, budget: int) -> int:
        """Up to ``budget`` tokens of one request's prompt (how many it read); at the end its
        first token, then the batch."""
        request = slot.request
        prompt = request.prompt_ids
        try:
            if not slot.looked_up and request.cache_key is not None:
                slot.past, slot.reused = self.prefix_cache.take(request.cache_key, prompt)
                slot.fed = list(prompt[: slot.reused])
            slot.looked_up = True
            start = len(slot.fed)
            if request.inputs is not None:
                chunk = prompt  # the image embeddings must land in one pass
                out = self._forward_images(slot)
            else:
                chunk = prompt[start : start + budget]
                out = self._forward(torch.tensor([chunk], device=self.device), slot.past, start)
            slot.past = out.past_key_values
            slot.fed += chunk
            request._put(Prefill(done=len(slot.fed), total=len(prompt)))
            if slot.prefilled:
                self._leave_prefill(slot)
                self._begin_decoding(slot, out.logits[0, -1])
            return len(chunk)
        except torch.OutOfMemoryError:
            self._leave_prefill(slot)
            self._out_of_memory(slot)
        except Exception as exc:  # one broken request must not stop the engine
            log.exception("prefill failed")
            self._leave_prefill(slot)
            request._put(Error(Notice("engine.failed", error=f"{type(exc).__name__}: {exc}"), "backend"))
        return budget  # a failed pass still took this step's time

    def _leave_prefill(self, slot: Slot) -> None:
        with self._lock:
            if slot in self._prefilling:
                self._prefilling.remove(slot)

    def _begin_decoding(self, slot: Slot, logits: torch.Tensor) -> None:
        request, n = slot.request, len(slot.request.prompt_ids)
        slot.sampler = Sampler(request.params, logits.shape[-1], self.device)
        slot.sampler.observe(request.prompt_ids)
        slot.detok = IncrementalDetokenizer(self.tokenizer)
        room = self.context_window - n
        slot.budget = min(request.params.max_new_tokens, room)
        slot.reason = "context" if slot.budget == room else "length"
        past, slot.past = slot.past, None
        if slot.budget > 0 and self._accept(slot, logits):
            with self._lock:
                # Those still being read join soon: a new batch must have room for them too.
                soon = [reach(s.request, self.context_window) for s in (slot, *self._prefilling)]
                self._batch.add(past, len(slot.fed), soon)
                self._decoding.append(slot)
        else:
            self._finish(slot, past)

    # -- decode -------------------------------------------------------------------------

    def _decode_step(self) -> None:
        """One forward pass for every decoding request, then each samples its next token."""
        self._drop([i for i, s in enumerate(self._decoding) if s.request.cancelled], "cancelled")
        if not self._decoding:
            return
        slots = self._decoding
        try:
            logits = self._batch.decode(
                [s.pending for s in slots], [len(s.fed) + s.position_delta for s in slots]
            )
        except torch.OutOfMemoryError:
            self._batch.undo_step()
            self._shrink_after_oom()
            return
        except Exception as exc:  # the batch's state is unknown: end it, keep the engine
            log.exception("decode step failed")
            self._fail_all(Notice("engine.failed", error=f"{type(exc).__name__}: {exc}"))
            return
        self._good_steps += 1
        if self._good_steps >= RECOVERY_STEPS and self._batch_limit < self.max_batch:
            self._batch_limit, self._good_steps = self._batch_limit + 1, 0
        # Greedy rows take the argmax of all rows at once: one sync with the GPU per step.
        greedy = any(s.sampler.plain_greedy for s in slots)
        picks = logits.float().argmax(-1).tolist() if greedy else None
        ended = []
        for i, slot in enumerate(slots):
            slot.fed.append(slot.pending)
            if not self._accept(slot, logits[i], picks[i] if picks else None):
                ended.append(i)
        self._drop(ended)

    def _accept(self, slot: Slot, logits: torch.Tensor, pick: int | None = None) -> bool:
        """Sample (or take ``pick``, the argmax, for a plain greedy request), stream and record
        one token; False when the request has ended."""
        token = pick if pick is not None and slot.sampler.plain_greedy else slot.sampler(logits)
        if slot.request.cancelled:
            slot.reason = "cancelled"
            return False
        if token in self.eos_token_ids:
            slot.reason = "stop"
            return False
        slot.generated += 1
        slot.last_at = time.perf_counter()
        slot.first_at = slot.first_at or slot.last_at
        text = slot.detok.push(token)
        if text:
            slot.request._put(TextDelta(text))
        if slot.generated == slot.budget:
            return False
        slot.sampler.observe([token])
        slot.pending = token
        return True

    def _drop(self, rows: list[int], reason: FinishReason | None = None) -> None:
        """End these batch rows: each finishes with its own stats and cache."""
        for i in rows:
            slot = self._decoding[i]
            if reason:
                slot.reason = reason
            cache = self._batch.row(i) if slot.request.cache_key is not None else None
            self._finish(slot, cache)
        with self._lock:
            self._batch.remove(rows)
            gone = set(rows)
            self._decoding = [s for i, s in enumerate(self._decoding) if i not in gone]
            self._announce_positions()

    def _finish(self, slot: Slot, past) -> None:
        if slot.detok is not None:
            text = slot.detok.flush()
            if text:
                slot.request._put(TextDelta(text))
        if slot.request.cache_key is not None and past is not None:
            self.prefix_cache.put(slot.request.cache_key, slot.fed, past)
        slot.request._put(Done(slot.stats(self.context_window)))

    # -- memory -------------------------------------------------------------------------

    def _shrink_after_oom(self) -> None:
        """The newest request made the batch too big: it fails, the others go on, and the
        batch stays smaller for a while so waiting requests wait instead of failing."""
        newest = len(self._decoding) - 1
        slot = self._decoding[newest]
        with self._lock:
            self._batch.remove([newest])
            self._decoding.pop()
            self._batch_limit = max(1, len(self._decoding))
            self._good_steps = 0
        self._out_of_memory(slot)

    def _out_of_memory(self, slot: Slot) -> None:
        self.prefix_cache.clear()  # cached prefixes are the first memory to give back
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        slot.request._put(
            Error(Notice("engine.out_of_memory", tokens=len(slot.request.prompt_ids)), "oom")
        )

    def _forward(self, input_ids: torch.Tensor, past, offset: int):
        # Positions are always spelled out: a vision model would otherwise apply the position
        # delta of whichever image prompt it read last.
        end = offset + input_ids.shape[1]
        kwargs = {
            "input_ids": input_ids,
            "past_key_values": past,
            "use_cache": True,
            "position_ids": torch.arange(offset, end, device=self.device)[None],
        }
        if self._explicit_positions:
            kwargs["attention_mask"] = torch.ones(1, end, dtype=torch.long, device=self.device)
        if self._logits_to_keep:
            kwargs["logits_to_keep"] = 1  # a 128K prompt needs one row of logits, not 128K
        return self.model(**kwargs)

    def _forward_images(self, slot: Slot):
        """A vision prompt in one pass; the model derives its multimodal positions itself."""
        inner = getattr(self.model, "model", None)
        if getattr(inner, "rope_deltas", None) is not None:
            inner.rope_deltas = None  # the last image prompt's; a text-only one must not inherit it
        inputs = {k: v.to(self.device) for k, v in slot.request.inputs.items()}
        ids = torch.tensor([slot.request.prompt_ids], device=self.device)
        kwargs = {"logits_to_keep": 1} if self._logits_to_keep else {}
        out = self.model(input_ids=ids, use_cache=True, **inputs, **kwargs)
        deltas = getattr(inner, "rope_deltas", None)
        if deltas is not None:
            slot.position_delta = int(deltas.reshape(-1)[0])
        return out
