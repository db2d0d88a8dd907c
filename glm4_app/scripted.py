"""A backend that replays raw model outputs, for driving the UI and tests deterministically.

It speaks the same event protocol as the in-process engine (queue, token-sized text chunks,
stats), so whatever renders its stream renders a real model's stream.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

from .events import Done, Event, Queued, Started, Stats, TextDelta
from .generation import GenerationParams, Message, ModelInfo
from .reasoning import split_reasoning, written_so_far


class ScriptedBackend:
    def __init__(
        self,
        replies: Sequence[str],
        *,
        info: ModelInfo | None = None,
        chunk_chars: int = 3,
        delay_s: float = 0.0,
        finish_reason: str = "stop",
    ) -> None:
        self.replies = list(replies)
        self.info = info or ModelInfo(name="scripted", context_window=8192)
        self.chunk_chars = chunk_chars
        self.delay_s = delay_s
        self.finish_reason = finish_reason  # "length" imitates a reply cut by max new tokens
        self.calls: list[list[Message]] = []  # what each request sent, for assertions
        self.tools: list[list[dict] | None] = []  # the tool declarations of each request

    def count_tokens(self, messages: list[Message], tools: list[dict] | None = None) -> int:
        # About four characters a token: close enough for a fake's meter.
        return sum(len(m["content"]) // 4 + 4 for m in messages)

    def stream(
        self,
        messages: list[Message],
        params: GenerationParams,
        tools: list[dict] | None = None,
        cache_key: str | None = None,
    ) -> Iterator[Event]:
        self.calls.append([dict(m) for m in messages])
        self.tools.append(tools)
        raw = self.replies[min(len(self.calls), len(self.replies)) - 1]
        yield from split_reasoning(self._raw_events(messages, raw), self.info.reasoning)

    def stream_continuation(
        self,
        messages: list[Message],
        answer: str,
        reasoning: str,
        params: GenerationParams,
        cache_key: str | None = None,
    ) -> Iterator[Event]:
        """The next reply, as what follows the stopped ``answer`` (see chat_backend)."""
        self.calls.append([dict(m) for m in messages] + [{"role": "assistant", "content": answer, "continued": True}])
        self.tools.append(None)
        raw = self.replies[min(len(self.calls), len(self.replies)) - 1]
        _, inside = written_so_far(answer, reasoning, self.info.reasoning)
        yield from split_reasoning(self._raw_events(messages, raw), inside, started=True)

    def _raw_events(self, messages: list[Message], raw: str) -> Iterator[Event]:
        prompt = self.count_tokens(messages)
        started = time.perf_counter()
        yield Queued(ahead=0)
        yield Started(prompt_tokens=prompt)
        pieces = [raw[i : i + self.chunk_chars] for i in range(0, len(raw), self.chunk_chars)]
        first = None
        for piece in pieces:
            if self.delay_s:
                time.sleep(self.delay_s)
            first = first or time.perf_counter()
            yield TextDelta(piece)
        now = time.perf_counter()
        yield Done(
            Stats(
                prompt_tokens=prompt,
                completion_tokens=len(pieces),
                context_window=self.info.context_window,
                ttft_s=(first - started) if first else None,
                decode_s=(now - first) if first else 0.0,
                finish_reason=self.finish_reason,
            )
        )


@lru_cache(maxsize=4)
def from_file(path: Path) -> ScriptedBackend:
    """Tests only (``GLM4_SCRIPTED_REPLIES``): a backend named ``scripted`` replaying the raw
    model outputs of a JSON file through the real server, one per request (the last repeats).
    The file is a list of outputs, or ``{"replies": [...], "reasoning": true}`` to imitate
    GLM-Z1 (each output then starts inside its reasoning, up to ``</think>``), or with
    ``"format": "glm45"`` GLM-4.5 and later (``<tool_call>`` XML, ``<think>`` written by the
    model, a thinking switch); the format is any name of glm4_app.formats."""
    from .formats import FORMAT_NAMES

    data = json.loads(Path(path).read_text())
    if isinstance(data, list):
        data = {"replies": data}
    replies, tool_format = data.get("replies"), data.get("format", "glm4")
    if not isinstance(replies, list) or not replies or not all(isinstance(r, str) for r in replies):
        raise ValueError(f"{path} must hold a JSON list of strings (raw model outputs)")
    if tool_format not in FORMAT_NAMES:
        raise ValueError(f"{path}: unknown format {tool_format!r}; one of {', '.join(FORMAT_NAMES)}")
    info = ModelInfo(
        name="scripted",
        context_window=8192,
        tools=True,
        reasoning=bool(data.get("reasoning")),
        tool_format=tool_format,
        thinking_switch=tool_format == "glm45",
    )
    return ScriptedBackend(replies, info=info)
