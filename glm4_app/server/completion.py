"""One chat completion: the backend's events carried from a worker thread into the event loop,
and turned into OpenAI's answer (text, ``reasoning_content``, ``tool_calls``, usage) or its
stream of chunks.

The backends stream from plain generators that block on the engine's queue, so each request
gets a thread of its own (not the shared thread pool, which a few long answers would fill);
events cross to the event loop through an asyncio queue. Stopping (a stop sequence, a closed
connection) closes the generator in its thread, which cancels the request in the engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import deque
from typing import Callable, Iterator

from ..events import Done, Error, Event, ReasoningDelta, Started, TextDelta, ToolCallChunk
from ..notices import Notice
from ..streamed_text import first_tag, held_back
from .tool_format import OutputSplitter

log = logging.getLogger(__name__)

END = object()  # the events have ended


class EventPipe:
    """Runs ``start()`` (an event generator) on its own thread; take the events here in
    batches. A batch is everything that arrived since the last one, so a client slower than
    the model gets fewer, larger chunks instead of falling behind, and the thread wakes the
    event loop once per batch, not once per token."""

    def __init__(
        self, start: Callable[[], Iterator[Event]], on_end: Callable[[], None] = lambda: None
    ) -> None:
        self._on_end = on_end  # runs in the thread once the generator is closed (temporary files)
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._items: deque = deque()
        self._lock = threading.Lock()
        self._woken = False  # a wake-up of the event loop is on its way
        self._stop = threading.Event()
        threading.Thread(target=self._work, args=(start,), name="glm4-api", daemon=True).start()

    def _put(self, item) -> None:
        with self._lock:
            self._items.append(item)
            if self._woken:
                return
            self._woken = True
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the event loop is gone (server shutting down)
            self._stop.set()

    def _work(self, start: Callable[[], Iterator[Event]]) -> None:
        events = None
        try:
            events = start()
            for event in events:
                self._put(event)
                if self._stop.is_set():
                    break
        except Exception as exc:  # a bug in a backend still ends as an error, not a hang
            log.exception("API generation failed")
            self._put(Error(Notice("engine.failed", error=f"{type(exc).__name__}: {exc}"), "backend"))
        finally:
            if events is not None:
                events.close()  # cancels the request in the engine
            self._on_end()
            self._put(END)

    async def batch(self, timeout: float | None = None) -> list | None:
        """What arrived since the last batch (END last once the events end), waiting for at
        least one item; None when nothing came within ``timeout`` seconds."""
        while True:
            with self._lock:
                items = list(self._items)
                self._items.clear()
                if not items:  # about to wait: the next item wakes the loop. Until then the
                    self._woken = False  # consumer comes back by itself, so puts need not wake it.
                    self._ready.clear()
            if items:
                return items
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except asyncio.TimeoutError:
                return None

    def close(self) -> None:
        self._stop.set()


class Answer:
    """Events in; what the client gets out: text and reasoning deltas (stop sequences applied,
    tool calls split off when tools were offered), then the finish reason and usage."""

    def __init__(self, splitter: OutputSplitter | None, stops: list[str]) -> None:
        self._splitter = splitter  # None: no tools were offered, the output is all prose
        self._stops = tuple(stops)
        self._held = ""  # text that may be the start of a stop sequence
        self.text, self.reasoning = [], []
        self.calls: list[dict] = []
        self.stats = None
        self.error: Error | None = None
        self.hit_stop = False
        self._prompt_tokens = 0
        self._pieces = 0

    @property
    def ended(self) -> bool:
        return self.stats is not None or self.error is not None or self.hit_stop

    def feed(self, event: Event) -> list[dict]:
        """The deltas this event gives the client."""
        if self.ended:
            return []
        if isinstance(event, Started):
            self._prompt_tokens = event.prompt_tokens
        elif isinstance(event, ReasoningDelta):
            self._pieces += 1
            self.reasoning.append(event.text)
            return [{"reasoning_content": event.text}]
        elif isinstance(event, TextDelta):
            self._pieces += 1
            return self._content(self._splitter.feed(event) if self._splitter else event.text)
        elif isinstance(event, ToolCallChunk) and self._splitter is not None:
            self._pieces += 1
            return self._content(self._splitter.feed(event))
        elif isinstance(event, Done):
            self.stats = event.stats
        elif isinstance(event, Error):
            self.error = event
        return []

    def finish(self) -> list[dict]:
        """The deltas held back until the end: the rest of the text, then the tool calls."""
        out: list[dict] = []
        if self._splitter is not None and not self.hit_stop:
            tail, self.calls = self._splitter.finish()
            out += self._content(tail)
        if self._held and not self.hit_stop:
            out.append(self._emit(self._held))
            self._held = ""
        if self.calls:
            out.append({"tool_calls": [{"index": i, **call} for i, call in enumerate(self.calls)]})
        return out

    def _content(self, text: str) -> list[dict]:
        if not text:
            return []
        if not self._stops:
            return [self._emit(text)]
        text = self._held + text
        at, _ = first_tag(text, self._stops)
        if at >= 0:
            self.hit_stop, self._held = True, ""
            return [self._emit(text[:at])] if at else []
        keep = held_back(text, self._stops)
        self._held = text[len(text) - keep :] if keep else ""
        out = text[: len(text) - keep]
        return [self._emit(out)] if out else []

    def _emit(self, text: str) -> dict:
        self.text.append(text)
        return {"content": text}

    @property
    def finish_reason(self) -> str:
        if self.calls:
            return "tool_calls"
        if self.stats is not None and self.stats.finish_reason in ("length", "context"):
            return "length"
        return "stop"

    def usage(self) -> dict:
        if self.stats is not None:
            prompt, completion = self.stats.prompt_tokens, self.stats.completion_tokens
        else:  # ended by a stop sequence: the stream was cut before the engine's count
            prompt, completion = self._prompt_tokens, self._pieces
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def message(self) -> dict:
        message = {
            "role": "assistant",
            "content": "".join(self.text) or (None if self.calls else ""),
        }
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = self.calls
        return message


class Envelope:
    """The id, time and model every object of one completion carries."""

    def __init__(self, model: str) -> None:
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self.model = model

    def completion(self, answer: Answer) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": answer.message(),
                    "logprobs": None,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": answer.usage(),
        }

    def chunk(
        self, delta: dict | None, finish_reason: str | None = None, usage: dict | None = None
    ) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }
        if delta is None:
            body["choices"], body["usage"] = [], usage
        else:
            body["choices"] = [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ]
        return sse(body)


def merged(deltas: list[dict]) -> list[dict]:
    """Consecutive text (or reasoning) deltas as one: fewer chunks for the same answer."""
    out: list[dict] = []
    for delta in deltas:
        keys = set(delta)
        if out and keys == set(out[-1]) and keys in ({"content"}, {"reasoning_content"}):
            key = keys.pop()
            out[-1] = {key: out[-1][key] + delta[key]}
        else:
            out.append(delta)
    return out


def sse(body: dict) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}\n\n"
