"""Token counts remembered by what was counted.

Every page rerun shows the context meter, and in Long document mode the prompt it counts can
hold a 100K-token document: re-tokenizing it on every click costs far more than the rest of
the page. A count depends only on the model's tokenizer and the messages (and tools), so it
is kept under a digest of them: a rerun that changes nothing in the conversation tokenizes
nothing, and a new question is counted once. Shared by every session of the process.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

SIZE = 256  # counts kept; a page needs a few (meter, fit attempts) per conversation


class TokenCounts:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._counts: OrderedDict[tuple, int] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, backend, messages: list[dict], tools: list[dict] | None = None) -> int:
        """``backend.count_tokens(messages, tools)``, computed once per distinct input."""
        key = (id(backend), backend.info.name, _digest(messages, tools))
        with self._lock:
            if key in self._counts:
                self._counts.move_to_end(key)
                return self._counts[key]
        tokens = backend.count_tokens(messages, tools)
        with self._lock:
            self._counts[key] = tokens
            while len(self._counts) > self.size:
                self._counts.popitem(last=False)
        return tokens

    def counter(self, backend):
        """``count(messages, tools=None)`` for this backend, remembered (as doc_budget takes it)."""
        return lambda messages, tools=None: self.count(backend, messages, tools)


def _digest(messages: list[dict], tools: list[dict] | None) -> bytes:
    text = json.dumps([messages, tools], ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


COUNTS = TokenCounts()
