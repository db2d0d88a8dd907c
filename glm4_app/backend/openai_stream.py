"""One streamed reply of an OpenAI-compatible server as the app's events.

The ``openai`` client's stream is read on a worker thread so that, while the server is
silent (queued, reading a long prompt), Started heartbeats keep the UI able to notice Stop;
closing the event generator tells the worker to hang up, which it does at the server's next
bytes (vLLM then aborts the request). A stream that ends without a finish reason was cut
(server restart, proxy timeout, dropped connection): the text so far stays, with an Error.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import openai

from ..events import TERMINAL, WRITTEN, Done, Error, Event, Started, Stats
from ..notices import Notice
from .openai_errors import cut_message, error_event, said


@dataclass(frozen=True)
class Reply:
    """What to ask and how to read it."""

    open: Callable[[], Any]  # starts the request; returns the openai client's Stream
    read: Callable[[Any], list[Event]]  # one choice of a chunk -> its events
    prompt_tokens: int  # exact (local tokenizer) or an estimate, until the server's usage says
    capped: bool  # max_tokens was lowered to fit the window: "length" then means the window


@dataclass(frozen=True)
class Server:
    base_url: str
    model: str
    timeout_s: float
    context_window: int
    list_models: Callable[[], list[str]]


def events(reply: Reply, server: Server, started: float, heartbeat_s: float) -> Iterator[Event]:
    """The reply's events: Started (repeated while the server is silent), then what the
    server streams, then Done or Error."""
    yield Started(prompt_tokens=reply.prompt_tokens)
    inbox: queue.Queue[Event] = queue.Queue()
    hang_up = threading.Event()
    threading.Thread(
        target=_pump, args=(reply, server, started, inbox, hang_up), name="openai-stream", daemon=True
    ).start()
    answering = False
    try:
        while True:
            try:
                event = inbox.get(timeout=heartbeat_s)
            except queue.Empty:
                if not answering:  # progress belongs before the first words, not among them
                    yield Started(prompt_tokens=reply.prompt_tokens)
                continue
            answering = answering or isinstance(event, WRITTEN)
            yield event
            if isinstance(event, TERMINAL):
                return
    finally:
        hang_up.set()


def _pump(reply: Reply, server: Server, started: float, inbox: queue.Queue, hang_up: threading.Event) -> None:
    first, pieces, finish, usage = None, 0, None, None
    try:
        stream = reply.open()
    except Exception as exc:  # noqa: BLE001 - every failure becomes words (openai_errors)
        inbox.put(error_event(exc, server.base_url, server.model, server.timeout_s, server.list_models))
        return
    try:
        with stream:  # leaving it closes the connection: the server aborts the request
            for chunk in stream:
                if hang_up.is_set():
                    return
                usage = getattr(chunk, "usage", None) or usage
                for choice in chunk.choices or ():
                    for event in reply.read(choice):
                        first = first or time.perf_counter()
                        pieces += 1
                        inbox.put(event)
                    finish = choice.finish_reason or finish
    except openai.APIConnectionError as exc:
        inbox.put(Error(cut_message(server.base_url, str(exc.__cause__ or exc))))
        return
    except openai.APIError as exc:  # the server reported an error inside the stream
        inbox.put(Error(Notice("server.failed_mid_answer", said=said(exc))))
        return
    except Exception as exc:  # noqa: BLE001 - a bug still ends the answer with words
        inbox.put(Error(Notice("server.reading_failed", error=f"{type(exc).__name__}: {exc}")))
        return
    if finish is None:
        inbox.put(Error(cut_message(server.base_url, Notice("server.stream_ended_early"))))
        return
    now = time.perf_counter()
    inbox.put(
        Done(
            Stats(
                prompt_tokens=getattr(usage, "prompt_tokens", None) or reply.prompt_tokens,
                completion_tokens=getattr(usage, "completion_tokens", None) or pieces,
                context_window=server.context_window,
                ttft_s=(first - started) if first else None,
                decode_s=(now - first) if first else 0.0,
                finish_reason=_finish_reason(finish, reply.capped),
            )
        )
    )


def _finish_reason(reason: str | None, capped: bool) -> str:
    if reason == "length":
        return "context" if capped else "length"
    if reason == "abort":
        return "cancelled"
    return "stop"  # "stop", "tool_calls", "function_call", "eos", ...
