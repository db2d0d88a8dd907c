"""Per-user limits: requests per minute (sliding window), requests at once, upload size and
prompt length. Each user has their own counters, so one busy user never slows another.

A refusal is data (``Refusal``) with a notice that says which limit and when to retry.
Thread-safe: Streamlit runs every session in its own thread. 0 means unlimited everywhere.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from .notices import Notice

WINDOW_S = 60.0


@dataclass(frozen=True)
class Refusal:
    limit: str  # "requests_per_minute" | "concurrent" | "upload" | "context"
    message: Notice
    retry_after_s: float | None = None  # None: waiting does not help


class Slot:
    """One admitted request; ``release`` (or leaving the ``with`` block) frees its place."""

    def __init__(self, limiter: "UserLimits", user: str) -> None:
        self._limiter, self._user, self._released = limiter, user, False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limiter._release(self._user)

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class UserLimits:
    def __init__(
        self,
        requests_per_minute: int = 0,
        concurrent: int = 0,
        upload_mb: int = 0,
        context_tokens: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.concurrent = concurrent
        self.upload_mb = upload_mb
        self.context_tokens = context_tokens
        self.clock = clock
        self._lock = threading.Lock()
        self._started: dict[str, deque] = defaultdict(deque)
        self._running: dict[str, int] = defaultdict(int)

    def acquire(self, user: str) -> Slot | Refusal:
        """Admit one request for ``user`` now, or say why not and when to try again."""
        now = self.clock()
        with self._lock:
            started = self._started[user]
            while started and now - started[0] >= WINDOW_S:
                started.popleft()
            if self.concurrent and self._running[user] >= self.concurrent:
                return Refusal(
                    "concurrent", Notice("limits.concurrent", count=self._running[user], limit=self.concurrent)
                )
            if self.requests_per_minute and len(started) >= self.requests_per_minute:
                wait = started[-self.requests_per_minute] + WINDOW_S - now
                return Refusal(
                    "requests_per_minute",
                    Notice("limits.per_minute", count=self.requests_per_minute, seconds=math.ceil(wait)),
                    wait,
                )
            started.append(now)
            self._running[user] += 1
        return Slot(self, user)

    def _release(self, user: str) -> None:
        with self._lock:
            self._running[user] = max(0, self._running[user] - 1)

    def check_upload(self, size_bytes: int, name: str) -> Refusal | None:
        if self.upload_mb and size_bytes > self.upload_mb * 1024 * 1024:
            size = f"{size_bytes / 1024 / 1024:.1f}"
            return Refusal("upload", Notice("limits.upload", name=name, size=size, limit=self.upload_mb))
        return None

    def check_context(self, prompt_tokens: int) -> Refusal | None:
        if self.context_tokens and prompt_tokens > self.context_tokens:
            return Refusal(
                "context", Notice("limits.context", tokens=prompt_tokens, limit=self.context_tokens)
            )
        return None


@lru_cache(maxsize=4)
def _shared(requests_per_minute: int, concurrent: int, upload_mb: int, context_tokens: int) -> UserLimits:
    return UserLimits(requests_per_minute, concurrent, upload_mb, context_tokens)


def shared(settings) -> UserLimits:
    """The process's counters for these settings: the page and the API count against the
    same limits, so a user cannot double them by using both."""
    return _shared(
        settings.user_requests_per_minute,
        settings.user_concurrent_requests,
        settings.user_upload_mb,
        settings.user_context_tokens,
    )
