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
LONG = 32_768  # characters from which a text's digest is kept with the text


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
    """Of every message's keys and values; texts are hashed as they are (a 100K-token
    document is not escaped into JSON first), a long one once per string object."""
    digest = hashlib.blake2b(digest_size=20)
    for message in messages:
        for key, value in message.items():
            digest.update(f"\x00{key}\x01".encode())
            if isinstance(value, str):
                digest.update(_text_digest(value) if len(value) >= LONG else value.encode("utf-8", "surrogatepass"))
            else:
                digest.update(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str).encode())
        digest.update(b"\x02")
    digest.update(json.dumps(tools, sort_keys=True, default=str).encode())
    return digest.digest()


COUNTS = TokenCounts()


_texts: OrderedDict[int, tuple[str, bytes]] = OrderedDict()
_texts_lock = threading.Lock()


def _text_digest(text: str) -> bytes:
    """A long text's digest, computed once while the same string object comes back (a
    document's prompt text is the same object from rerun to rerun: see doc_budget). The
    entry holds the string, so its id cannot be reused by another one while kept."""
    with _texts_lock:
        kept = _texts.get(id(text))
        if kept is not None and kept[0] is text:
            _texts.move_to_end(id(text))
            return kept[1]
    value = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    with _texts_lock:
        _texts[id(text)] = (text, value)
        while len(_texts) > 16:
            _texts.popitem(last=False)
    return value
