"""The one way the app runs blocking work off the caller's thread: a Future on a daemon
thread, waited for with a timeout and a cancel event, or with heartbeats.

Python cannot stop a thread: on timeout or cancel the work is left to finish in the
background (a daemon, so it never blocks the app's exit) and the caller moves on. Work that
can stop early takes the cancel event itself. Coroutines from other event loops (MCP) come as
``concurrent.futures.Future`` too (``asyncio.run_coroutine_threadsafe``) and are waited for
the same way; their owner cancels them.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Generator, TypeVar

T = TypeVar("T")

POLL_S = 0.05  # how soon a cancel is noticed while waiting


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    cancelled: bool = False


def start(fn: Callable[[], Any], name: str) -> Future:
    """Run ``fn`` on a daemon thread; a coroutine it returns runs to completion there."""
    future: Future = Future()

    def work() -> None:
        try:
            value = fn()
            if inspect.iscoroutine(value):
                value = asyncio.run(value)
            future.set_result(value)
        except BaseException as exc:  # SystemExit from user code is an error like any other
            future.set_exception(exc)

    threading.Thread(target=work, name=name, daemon=True).start()
    return future


def wait(future: Future, *, timeout_s: float | None = None, cancel: threading.Event | None = None) -> Outcome:
    """The future's outcome once it is done, ``timeout_s`` passes or ``cancel`` is set."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        if cancel is not None and cancel.is_set():
            return Outcome(cancelled=True)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return Outcome(timed_out=True)
        step = POLL_S if remaining is None else min(POLL_S, remaining)
        if _settled(future, step):
            if future.cancelled():
                return Outcome(cancelled=True)
            error = future.exception()
            return Outcome(error=error) if error is not None else Outcome(value=future.result())


def run(fn: Callable[[], Any], *, timeout_s: float | None, cancel: threading.Event, name: str) -> Outcome:
    """``fn`` on a daemon thread, waited for as ``wait`` does."""
    return wait(start(fn, name), timeout_s=timeout_s, cancel=cancel)


def heartbeats(future: Future, every_s: float, beat: Callable[[float], T]) -> Generator[T, None, Any]:
    """Yields ``beat(seconds elapsed)`` every ``every_s`` until ``future`` is done; returns
    its value (re-raises its error). Lets a generator stay responsive while work runs."""
    started = time.monotonic()
    while not _settled(future, every_s):
        yield beat(time.monotonic() - started)
    return future.result()


def _settled(future: Future, seconds: float) -> bool:
    try:
        future.exception(timeout=seconds)
    except TimeoutError:
        return False
    except BaseException:  # cancelled futures raise CancelledError here
        return True
    return True
