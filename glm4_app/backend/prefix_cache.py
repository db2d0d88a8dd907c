"""Reuse the keys/values of a prompt's prefix computed for an earlier request.

A follow-up question about a long document shares everything up to the new question with
the previous prompt; recomputing that prefix (a 128K-token prefill takes ~38 s on a GPU) is
what makes follow-ups slow. Entries are keyed by their tokens within a scope (the request's
``cache_key``, a conversation), several per scope: one per branch of a conversation tree, so
switching back to a branch, or asking on under an answer that was regenerated, finds its
prefix still cached. A request takes the entry sharing the longest prefix with its prompt:
when the prompt extends the entry, the entry itself (it comes back longer, ``put``); when the
prompt leaves it part way (another branch), a copy of the shared part, and the entry stays
for its own branch. Each entry holds its whole prefix (two branches hold the part they share
twice; there are no shared blocks as in a paged cache): entries are bounded by a byte budget
and evicted least recently used.
Only the engine's worker thread touches this object, so it needs no lock.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

# Below this many shared tokens a hit is not worth keeping the memory for.
MIN_REUSE = 16
_CHUNK = 4096  # common_prefix compares this many tokens at a time (at C speed)


@dataclass
class _Entry:
    scope: str
    ids: list[int]  # exactly the tokens whose keys/values ``past`` holds
    past: object
    nbytes: int


class PrefixCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: dict[int, _Entry] = {}  # least recently used first
        self._serial = itertools.count()

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, key: str, prompt: list[int]) -> tuple[object | None, int]:
        """(a cache holding the prompt's longest cached prefix, its length), or (None, 0)."""
        best, best_shared = None, 0
        for serial, entry in self._entries.items():
            if entry.scope == key:
                shared = common_prefix(entry.ids, prompt)
                if shared > best_shared:
                    best, best_shared = serial, shared
        # At least one prompt token must still be fed to get the next token's logits.
        shared = min(best_shared, len(prompt) - 1)
        if best is None or shared < MIN_REUSE:
            return None, 0
        entry = self._entries.pop(best)
        if best_shared == len(entry.ids):  # the prompt goes on from it: extended, it comes back
            past = entry.past
        else:  # the prompt leaves it part way: it stays, for its own branch
            self._entries[next(self._serial)] = entry
            past = copy.deepcopy(entry.past)
        excess = len(entry.ids) - shared
        if excess:
            past.crop(-excess)  # transformers 5: a negative count removes that many tokens
        return past, shared

    def put(self, key: str, ids: list[int], past) -> None:
        if not _croppable(past) or past.get_seq_length() != len(ids):
            return
        nbytes = cache_bytes(past)
        if nbytes > self.budget_bytes:
            return
        for serial, entry in list(self._entries.items()):
            if entry.scope != key:
                continue
            shared = common_prefix(entry.ids, ids)
            if shared == len(entry.ids):
                del self._entries[serial]  # the new entry holds all of it and more
            elif shared == len(ids):
                self._entries[next(self._serial)] = self._entries.pop(serial)  # it holds the new one
                return
        self._entries[next(self._serial)] = _Entry(key, list(ids), past, nbytes)
        while self.nbytes > self.budget_bytes:
            del self._entries[next(iter(self._entries))]  # least recently used first

    def clear(self) -> None:
        self._entries.clear()


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    start = 0
    while start < n and a[start : start + _CHUNK] == b[start : start + _CHUNK]:
        start += _CHUNK
    for i in range(start, min(start + _CHUNK, n)):
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
