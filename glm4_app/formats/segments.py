"""The streaming machinery shared by the GLM-4 text formats: raw output -> prose + calls.

The output is decoded WITH special tokens (without them the ``<|assistant|>`` before a call is
lost and the call gets glued to the prose) and without the final stop token. It is one or more
segments separated by ``<|assistant|>`` (the model opens a new header itself before a call;
GLM-4-0414 may make several calls, each after its own header). A segment is decided by the
call shapes the format accepts:

* header calls (glm4.py): ``{metadata}\n{content}``; empty metadata is an ordinary answer, a
  tool name makes the content a call. The blank first line matters: ``\npython\n...`` is an
  answer that happens to start with the word python.
* JSON calls (json_calls.py): ``{"name": ..., "arguments": ...}``, sometimes fenced, as models
  fine-tuned on the official fine-tuning format write them. Only a name the conversation knows
  (an offered tool or a built-in) makes one a call; ``{"name": "Bob", ...}`` is an answer.

Built-in names (builtin_tools.py) are calls even when switched off, so the step can say the
tool is off instead of showing the code as prose. Nothing here raises: a malformed or cut-off
call is still a call (``arguments=None`` or a partial body) and anything that is not clearly a
call is prose, so no text is ever lost. The result is the same whether the output is fed whole
or in chunks of any size: every decision depends only on the text of a segment, and is taken
only once more text cannot change it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Collection

from ..builtin_tools import BUILTINS
from ..events import TextDelta, ToolCallChunk, ToolCallDelta, ToolCallStart
from ..streamed_text import first_tag, held_back
from ..tool_types import ToolCall
from .base import OutputParser, ParsedOutput, StreamEvent

ASSISTANT = "<|assistant|>"
# The engine drops the final stop token; should one slip through, it is markup, never prose.
DROPPED = ("<|observation|>", "<|user|>", "<|endoftext|>", "<|system|>")
TOKENS = (ASSISTANT, *DROPPED)

# A name the model may have meant as a function (get_weather, or a misspelt get_wether); OpenAI
# style names are at most 64 characters. Prefix-closed on purpose: a prefix of a match matches,
# so "this first line cannot become a name", decided on part of the line, stays true.
_NAME = re.compile(r"[A-Za-z_][\w.\-]{0,63}")
_JSON_FENCES = ("", "json")
_DECODER = json.JSONDecoder(strict=False)  # models write raw newlines inside JSON strings


# What a segment is, once known. ``start`` is where the prose or the call body begins in it.
@dataclass(frozen=True)
class _Prose:
    start: int


@dataclass(frozen=True)
class _Call:
    name: str
    start: int
    call: ToolCall | None = None  # already built (fine-tuned JSON format); else built at the end


_HOLD = "hold"  # may be a JSON call: undecided until the segment ends


class SegmentParser(OutputParser):
    """Feed raw output chunks; get prose and call events as soon as they are certain.

    ``feed`` holds back only the first line of a segment until it is decided (a tool name or
    not), a possible special token cut at the end of a chunk, trailing whitespace of prose, and a
    segment that may be a JSON call (it starts with ``{`` or a json fence, or is an unknown name
    followed by JSON): those are decided when the segment ends. ``flush`` emits what is left;
    the TextDeltas of ``feed`` + ``flush`` concatenate to ``finish().text``.
    """

    def __init__(self, tool_names: Collection[str], *, header_calls: bool = True) -> None:
        self._tools = frozenset(tool_names) | BUILTINS.keys()  # offered, or built-in (maybe off)
        self._header_calls = header_calls
        self._pending = ""  # a possible special token cut at the end of the last chunk
        self._seg = ""  # the current segment so far
        self._index = 0  # how many segments came before it
        self._decision: _Prose | _Call | str | None = None
        self._sent = 0  # how much of the segment has been streamed (or skipped)
        self._text: list[str] = []  # every TextDelta emitted
        self._calls: list[ToolCall] = []
        self._flushed = False

    def feed(self, chunk: str) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self._flushed:
            return out
        self._pending += chunk
        while True:
            at, token = first_tag(self._pending, TOKENS)
            if token is None:
                cut = len(self._pending) - held_back(self._pending, TOKENS)
                self._seg += self._pending[:cut]
                self._pending = self._pending[cut:]
                self._advance(out)
                return out
            self._seg += self._pending[:at]
            self._pending = self._pending[at + len(token) :]
            if token == ASSISTANT:
                self._end_segment(out)

    def flush(self) -> list[StreamEvent]:
        """The output has ended: emit what was held back."""
        out: list[StreamEvent] = []
        if self._flushed:
            return out
        if not self._pending.startswith("<|"):  # a lone "<" is text; "<|assist" is a cut token
            self._seg += self._pending
        self._pending = ""
        self._end_segment(out)
        self._flushed = True
        return out

    def feed_call(self, chunk: ToolCallChunk) -> list[StreamEvent]:
        return []  # text formats carry their calls in the text

    def finish(self) -> ParsedOutput:
        """The parsed output (flushes first if needed; the flushed events are then dropped)."""
        self.flush()
        return ParsedOutput("".join(self._text), tuple(self._calls))

    # -- one segment --------------------------------------------------------------------------

    def _advance(self, out: list[StreamEvent]) -> None:
        if self._decision is None:
            self._set(self._decide(self._seg), out)
        self._stream(out)

    def _set(self, decision: _Prose | _Call | str | None, out: list[StreamEvent]) -> None:
        self._decision = decision
        if isinstance(decision, (_Prose, _Call)):
            self._sent = decision.start
        if isinstance(decision, _Call):
            out.append(ToolCallStart(decision.name))

    def _stream(self, out: list[StreamEvent]) -> None:
        d, s = self._decision, self._seg
        if isinstance(d, _Call) and len(s) > self._sent:
            out.append(ToolCallDelta(s[self._sent :]))
            self._sent = len(s)
        elif isinstance(d, _Prose):
            # Prose is shown stripped: hold trailing whitespace until more text follows it.
            end = len(s)
            while end > self._sent and s[end - 1].isspace():
                end -= 1
            piece = s[self._sent : end]
            first = self._sent == d.start
            if first:
                piece = piece.lstrip()
            if piece:
                if first and self._text:
                    self._emit("\n\n", out)  # a blank line between prose segments
                self._emit(piece, out)
                self._sent = end

    def _emit(self, text: str, out: list[StreamEvent]) -> None:
        self._text.append(text)
        out.append(TextDelta(text))

    def _end_segment(self, out: list[StreamEvent]) -> None:
        self._advance(out)
        if self._decision is None or self._decision == _HOLD:
            self._set(self._final(self._seg), out)
            self._stream(out)
        d = self._decision
        if isinstance(d, _Call):
            self._calls.append(d.call or self._call(d.name, self._seg[d.start :]))
        self._seg, self._decision, self._sent = "", None, 0
        self._index += 1

    def _decide(self, s: str) -> _Prose | _Call | str | None:
        """What the segment is, from its start ``s``, or None while more text could change it.

        Must agree with ``_final`` on every extension of ``s`` (chunked == whole depends on it).
        """
        lead = s.lstrip()
        if not lead:
            return None
        maybe_json = _json_start(lead)  # the fine-tuned {"name": ..., "arguments": ...} format
        if maybe_json is not False:
            return _HOLD if maybe_json else None
        if not self._header_calls:
            return _Prose(0)
        head, newline, _ = s.partition("\n")
        name = head.strip()
        if not newline:
            could_be = _NAME.fullmatch(name) or any(t.startswith(name) for t in self._tools)
            return None if could_be else _Prose(0)
        start = len(head) + 1
        if not name:
            return _Prose(start)
        if name in self._tools:
            return _Call(name, start)
        if _NAME.fullmatch(name):  # an unknown name is a call only if JSON follows
            body = s[start:].lstrip()
            if not body:
                return None
            maybe_json = _json_start(body)
            if maybe_json is not False:
                return _HOLD if maybe_json else None
        return _Prose(0)

    def _final(self, s: str) -> _Prose | _Call:
        """What a complete segment is, when ``_decide`` could not tell before its end."""
        call = self._fine_tuned(s)
        if call is not None:
            return _Call(call.name, len(s) - len(s.lstrip()), call)
        if not self._header_calls:
            return _Prose(0)
        head, newline, content = s.partition("\n")
        name = head.strip()
        if not newline:
            # No newline: plain content (the prompt may already end with the header's "\n").
            # After the model's own <|assistant|>, a tool name alone is a call cut short.
            if self._index > 0 and name in self._tools:
                return _Call(name, len(s))
            return _Prose(0)
        if not name:
            return _Prose(len(head) + 1)
        if name in self._tools or (_NAME.fullmatch(name) and json_object(content) is not None):
            return _Call(name, len(head) + 1)
        return _Prose(0)

    def _fine_tuned(self, s: str) -> ToolCall | None:
        obj = json_object(s)
        if obj is None or "arguments" not in obj:  # {"name": "Bob", "age": 3} is an answer
            return None
        name, args = obj.get("name"), obj["arguments"]
        if not isinstance(name, str) or name not in self._tools:  # a JSON answer, not a call
            return None
        if isinstance(args, dict):
            return build_call(name, json.dumps(args, ensure_ascii=False))
        if isinstance(args, str):  # arguments as a JSON string, as in OpenAI's format
            return build_call(name, args)
        return None

    def _call(self, name: str, content: str) -> ToolCall:
        return build_call(name, content)


def build_call(name: str, content: str, call_id: str | None = None) -> ToolCall:
    """A call from its name and body as written. A function's body is JSON arguments (a
    ```json fence dropped); a built-in's is text, also when written function-style
    (``python {"code": "..."}``, as templates and APIs that take function specs invite)."""
    builtin = BUILTINS.get(name)
    if builtin is None:
        body = _unfence(content, _JSON_FENCES)
        return ToolCall(name, body, json_object(body), call_id)
    args = json_object(content)
    if args is not None:
        # Python's body may itself be a dict literal: only {"code": ...} is its argument form.
        values = [args.get(builtin.argument)] if name == "python" else list(args.values())
        if len(values) == 1 and isinstance(values[0], str):
            return ToolCall(name, values[0], None, call_id)
    return ToolCall(name, _unfence(content, builtin.fences), None, call_id)


def _json_start(text: str) -> bool | None:
    """Whether lstripped, non-empty ``text`` may be a (fenced) JSON object; None: too early."""
    if text.startswith("{"):
        return True
    if not text.startswith("```"):
        return None if "```".startswith(text) else False
    line, newline, _ = text.partition("\n")
    return line[3:].strip().lower() in _JSON_FENCES if newline else None


def _unfence(text: str, langs: Collection[str]) -> str:
    """``text`` stripped, without a ```lang fence around it (the closing one may be cut off)."""
    text = text.strip()
    if not text.startswith("```"):
        return text
    line, _, rest = text.partition("\n")
    if line[3:].strip().lower() not in langs:
        return text
    rest = rest.rstrip()
    return (rest[:-3] if rest.endswith("```") else rest).strip()


def stored_arguments(name: str, body: str) -> dict[str, Any] | None:
    """A stored call's arguments as a mapping: a built-in's body under its one argument, a
    function's JSON object; None when that JSON is malformed."""
    builtin = BUILTINS.get(name)
    if builtin is not None:
        return {builtin.argument: body}
    return json_object(body)


def json_object(text: str) -> dict[str, Any] | None:
    text = _unfence(text, _JSON_FENCES)
    if not text.startswith("{"):
        return None
    try:
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None
