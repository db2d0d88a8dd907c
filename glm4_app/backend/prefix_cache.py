"""Reuse the key/value cache of a conversation's unchanged prefix across turns.

A follow-up question about a long document shares everything up to the new question with
the previous prompt; recomputing that prefix (a 128K-token prefill takes ~38 s on a GPU) is
what makes follow-ups slow. Each conversation keeps the cache of its last request; the next
request crops it to the longest common token prefix and prefills only the rest. Entries are
bounded by a byte budget and evicted least recently used. Only the engine's worker thread
touches this object, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

# Below this many shared tokens a hit is not worth keeping the memory for.
MIN_REUSE = 16


@dataclass
class _Entry:
    ids: list[int]  # exactly the tokens whose keys/values ``past`` holds
    past: object
    nbytes: int


class PrefixCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, key: str, prompt: list[int]) -> tuple[object | None, int]:
        """(cache cropped to the shared prefix, its length), or (None, 0). The entry leaves
        the store: the request extends the cache in place and ``put``s it back."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None, 0
        # At least one prompt token must still be fed to get the next token's logits.
        shared = min(common_prefix(entry.ids, prompt), len(prompt) - 1)
        if shared < MIN_REUSE:
            return None, 0  # the prefix changed: the old cache is dropped
        excess = len(entry.ids) - shared
        if excess:
            entry.past.crop(-excess)  # transformers 5: a negative count removes that many tokens
        return entry.past, shared

    def put(self, key: str, ids: list[int], past) -> None:
        if not _croppable(past) or past.get_seq_length() != len(ids):
            return
        nbytes = cache_bytes(past)
        if nbytes > self.budget_bytes:
            return
        self._entries[key] = _Entry(list(ids), past, nbytes)
        while self.nbytes > self.budget_bytes:
            self._entries.popitem(last=False)  # least recently used first

    def clear(self) -> None:
        self._entries.clear()


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def cache_bytes(past) -> int:
    total = 0
    for layer in getattr(past, "layers", ()):
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is not None and hasattr(tensor, "numel"):
                total += tensor.numel() * tensor.element_size()
    return total


def _croppable(past) -> bool:
    # Remote-code GLM returns legacy tuples; those are simply not cached.
    return hasattr(past, "crop") and hasattr(past, "get_seq_length") and hasattr(past, "layers")
