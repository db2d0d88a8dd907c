"""The streaming parser of GLM-4.5/4.6/4.7's tool calls (and GLM-4.5V/4.6V's).

The output (reasoning already split off, special tokens kept, the final stop token dropped)
is prose with calls in it::

    Let me check both.
    <tool_call>get_weather
    <arg_key>city</arg_key>
    <arg_value>Beijing</arg_value>
    <arg_key>days</arg_key>
    <arg_value>3</arg_value>
    </tool_call>
    <tool_call>get_weather
    ...</tool_call>

Several calls in one output are parallel calls. Values are written raw; a value is typed by
the declared schema of its argument (``"days": {"type": "integer"}`` gives 3), and stays the
string the model wrote when the schema says string, says nothing, or the value does not parse.
A call whose body is JSON instead of ``<arg_key>`` pairs (as some fine-tuned checkpoints write)
is accepted too. A call cut off inside a key or value is still a call, with ``arguments=None``
for a function (so the tool reports it) and the partial text for a built-in.

Every decision is taken on a whole tag, and text that may be the start of a tag is held back,
so the result is the same fed whole or in chunks of any size.
"""

from __future__ import annotations

import json
from typing import Any, Collection, Mapping

from ..builtin_tools import BUILTINS
from ..events import TextDelta, ToolCallChunk, ToolCallDelta, ToolCallStart
from ..streamed_text import Stripped, first_tag, held_back
from ..tool_types import ToolCall
from .base import OutputParser, ParsedOutput, StreamEvent
from .segments import build_call

CALL, END = "<tool_call>", "</tool_call>"
KEY, KEY_END, VALUE, VALUE_END = "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"
# Markup that is never prose: stop tokens the engine did not drop, headers.
DROPPED = ("<|observation|>", "<|user|>", "<|endoftext|>", "<|assistant|>", "<|system|>")
# What ends the text of each state (the first of them found wins).
_ENDS = {
    "prose": (CALL, *DROPPED),
    "name": ("\n", KEY, END),
    "body": (KEY, END),
    "key": (KEY_END,),
    "gap": (VALUE, END, KEY),
    "value": (VALUE_END,),
}


class Glm45Parser(OutputParser):
    """Any ``<tool_call>`` is a call, offered or not (the tag leaves no doubt; the agent answers
    a call to an unknown tool with an error observation), so ``tool_names`` decides nothing."""

    def __init__(self, tool_names: Collection[str], schemas: Mapping[str, dict] | None = None) -> None:
        self._schemas = dict(schemas or {})  # tool name -> its parameters' JSON Schema
        self._state = "prose"
        self._pending = ""  # text not consumed yet (may end with the start of a tag)
        self._prose = Stripped()
        self._text: list[str] = []
        self._calls: list[ToolCall] = []
        self._flushed = False
        self._new_call()

    def _new_call(self) -> None:
        self._name = ""
        self._started = False  # ToolCallStart sent
        self._args: dict[str, str] = {}
        self._key = ""
        self._value = Stripped()
        self._raw_body: list[str] = []  # text after the name that is not a key/value pair
        self._shown_keys = 0  # arguments opened in the streamed view

    # -- OutputParser ---------------------------------------------------------------------

    def feed(self, text: str) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self._flushed:
            return out
        self._pending += text
        while self._pending:
            at, tag = first_tag(self._pending, _ENDS[self._state])
            if tag is None:
                keep = held_back(self._pending, _ENDS[self._state])
                self._take(self._pending[: len(self._pending) - keep], out)
                self._pending = self._pending[len(self._pending) - keep :]
                break
            self._take(self._pending[:at], out)
            self._pending = self._pending[at + len(tag) :]
            self._on_tag(tag, out)
        return out

    def feed_call(self, chunk: ToolCallChunk) -> list[StreamEvent]:
        return []  # the calls are in the text

    def flush(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self._flushed:
            return out
        if not (self._state == "prose" and self._pending.startswith("<|")):  # a cut stop token
            self._take(self._pending, out)
        self._pending = ""
        if self._state != "prose":
            self._end_call(out, complete=self._state == "body")
        self._flushed = True
        return out

    def finish(self) -> ParsedOutput:
        self.flush()
        return ParsedOutput("".join(self._text), tuple(self._calls))

    # -- states ---------------------------------------------------------------------------

    def _take(self, text: str, out: list[StreamEvent]) -> None:
        """Text of the current state, up to (not including) its next tag."""
        if not text:
            return
        state = self._state
        if state == "prose":
            first = not self._prose.text
            piece = self._prose.feed(text)
            if piece:
                if first and self._text:
                    self._emit("\n\n", out)  # prose after a call: a segment of its own
                self._emit(piece, out)
        elif state == "name":
            self._name += text
        elif state == "key":
            self._key += text
        elif state == "value":
            self._show(self._value.feed(text), out)
        else:  # "body"/"gap": JSON arguments, or the whitespace between tags
            self._raw_body.append(text)

    def _on_tag(self, tag: str, out: list[StreamEvent]) -> None:
        state = self._state
        if state == "prose":
            if tag == CALL:
                self._state = "name"
            return  # a dropped token
        if state == "name":
            if tag == "\n" and not self._name.strip():
                return  # a newline before the name
            self._start(out)
            self._state = {KEY: "key", END: "prose"}.get(tag, "body")
            if tag == END:
                self._end_call(out, complete=True)
        elif tag == KEY:
            self._state, self._key = "key", ""
        elif tag == END:
            self._end_call(out, complete=True)
        elif tag == KEY_END:
            self._state = "gap"
        elif tag == VALUE:
            self._state, self._value = "value", Stripped()
            self._open_value(out)
        elif tag == VALUE_END:
            self._args[self._key.strip()] = self._value.text
            self._state = "body"
            self._close_value(out)

    def _start(self, out: list[StreamEvent]) -> None:
        if not self._started:
            self._started = True
            out.append(ToolCallStart(self._name.strip()))

    def _end_call(self, out: list[StreamEvent], complete: bool) -> None:
        self._start(out)
        if self._state == "value":  # cut inside a value: keep what was written
            self._args[self._key.strip()] = self._value.text
            self._close_value(out)
        if self._shown_keys and self._name.strip() not in BUILTINS:
            out.append(ToolCallDelta("}"))
        self._calls.append(self._build(complete))
        self._state = "prose"
        self._prose = Stripped()  # the whitespace before the call is not prose
        self._new_call()

    # -- the streamed view of a call: a built-in's text, a function's JSON ------------------

    def _open_value(self, out: list[StreamEvent]) -> None:
        key = self._key.strip()
        builtin = self._name.strip() in BUILTINS
        if builtin:
            if self._shown_keys:
                out.append(ToolCallDelta("\n"))
        else:
            opener = "{" if not self._shown_keys else ", "
            quote = '"' if self._string_argument(key) else ""
            out.append(ToolCallDelta(f"{opener}{json.dumps(key, ensure_ascii=False)}: {quote}"))
        self._shown_keys += 1

    def _show(self, piece: str, out: list[StreamEvent]) -> None:
        if not piece:
            return
        if self._name.strip() not in BUILTINS and self._string_argument(self._key.strip()):
            piece = json.dumps(piece, ensure_ascii=False)[1:-1]
        out.append(ToolCallDelta(piece))

    def _close_value(self, out: list[StreamEvent]) -> None:
        if self._name.strip() not in BUILTINS and self._string_argument(self._key.strip()):
            out.append(ToolCallDelta('"'))

    # -- the call -------------------------------------------------------------------------

    def _build(self, complete: bool) -> ToolCall:
        name = self._name.strip()
        raw = "".join(self._raw_body).strip()
        if not self._args and raw:  # JSON arguments instead of key/value pairs
            return build_call(name, raw)
        schema = self._schemas.get(name) or {}
        properties = schema.get("properties") or {}
        arguments = {key: typed(value, properties.get(key)) for key, value in self._args.items()}
        body = json.dumps(arguments, ensure_ascii=False)
        if name in BUILTINS:
            return build_call(name, body)
        return ToolCall(name, body, arguments if complete else None)

    def _string_argument(self, key: str) -> bool:
        """Whether the declared schema makes the argument a string (or says nothing)."""
        properties = (self._schemas.get(self._name.strip()) or {}).get("properties") or {}
        return _is_string(properties.get(key))

    def _emit(self, text: str, out: list[StreamEvent]) -> None:
        self._text.append(text)
        out.append(TextDelta(text))


def typed(value: str, schema: dict | None) -> Any:
    """A raw value as its declared type; the string itself when the schema says string or
    nothing, or when the value is not valid JSON for another type."""
    if _is_string(schema):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_string(schema: dict | None) -> bool:
    types = _types(schema)
    return not types or "string" in types


def _types(schema: dict | None) -> set[str]:
    """The JSON types a schema allows (empty: it does not say)."""
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or ():
            types |= _types(option)
    if "$ref" in schema or "properties" in schema:
        types.add("object")
    if "items" in schema:
        types.add("array")
    if "enum" in schema and not types:
        types |= {type(v).__name__.replace("str", "string") for v in schema["enum"]}
    return types - {"null"}
