"""Turn a growing list of token ids into text deltas without re-decoding everything.

Decoding only a short window keeps the cost per token constant. A delta is held back while
the window ends in an incomplete UTF-8 sequence (a Chinese character or emoji split across
byte-level tokens decodes to U+FFFD until its last byte arrives).
"""

from __future__ import annotations


class IncrementalDetokenizer:
    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._prefix_offset = 0  # window start: context so that spacing decodes right
        self._read_offset = 0  # ids up to here have been emitted as text

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        return self._delta(final=False)

    def flush(self) -> str:
        return self._delta(final=True)

    def _delta(self, final: bool) -> str:
        seen = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full = self._decode(self._ids[self._prefix_offset :])
        if len(full) <= len(seen) or (full.endswith("\ufffd") and not final):
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self._ids)
        return full[len(seen) :]

    def _decode(self, ids: list[int]) -> str:
        # Special tokens are kept: GLM puts <|assistant|> between prose and a tool call.
        return self._tokenizer.decode(
            ids, skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
