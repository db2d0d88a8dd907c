"""Drawing the assistant side of a turn: prose, reasoning, tool steps, images, downloads.

``assistant_turn`` draws stored messages. ``LiveView`` draws an answer being written on the
server (turns.Turn): it replays the answer's log from the start, then follows it, so a
reloaded page or a second tab shows the same answer growing. It only draws; the answer goes
on without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from ..artifacts.saved import read_written
from ..builtin_tools import BUILTINS, FUNCTION_ICON
from ..events import (
    PROGRESS,
    Prefill,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    ToolOutput,
    ToolRunning,
)
from ..markdown import to_streamlit_markdown
from ..messages import Message
from ..tool_steps import citations_of
from ..tools.browser import link_citations, safe_url
from ..turns import LIVE_OUTPUT_CHARS, Committed, Ended, Turn
from . import render, rich_output
from .i18n import language, t
from .session import session

DRAW_EVERY_S = 0.05  # redrawing on every token floods the websocket on fast GPUs
FOLLOW_WAIT_S = 0.25  # the longest a page waits for news before it checks for a click
LIVE_OUTPUT_LINES = 40  # the tail of a running step's output shown while it runs
MAX_DOWNLOAD_BYTES = 200 * 2**20  # a download button holds the file in the server's memory
STOPPED_ICON = ":material/stop_circle:"  # a stopped step: neither done (✓) nor failed
_ICONS = {name: tool.icon for name, tool in BUILTINS.items()}
_LANGUAGES = {name: tool.language for name, tool in BUILTINS.items()}  # functions: "json"


# -- Stored messages --------------------------------------------------------------------------


def assistant_turn(messages: list[Message], citations: dict | None = None) -> None:
    """Stored non-user messages of one turn, in order, inside one chat bubble. ``citations``:
    the pages the browser found in the whole conversation (quote ids are the conversation's),
    else those of this turn."""
    citations = citations_of(messages) if citations is None else citations
    i = 0
    while i < len(messages):
        message = messages[i]
        if message.is_tool_call:
            following = messages[i + 1] if i + 1 < len(messages) else None
            observation = following if following is not None and following.role == "observation" else None
            tool_step(message, observation)
            i += 2 if observation else 1
            continue
        if message.role == "assistant":
            render.message_body(message, lambda text: link_citations(text, citations))
        i += 1


def tool_step(call: Message, observation: Message | None) -> None:
    """A folded box with the call and its text output; the images and files the step made
    show below it, without opening the box."""
    with _step_box(step_label(call.metadata, call.content, observation), observation):
        if observation is not None:
            not_run_notice(observation)
        tool_call_body(call.metadata, call.content)
        if observation is not None:
            observation_text(observation)
    if observation is not None:
        step_media(observation)


def _step_box(label: str, observation: Message | None):
    """A finished step's box: ✓ when it ran, ✗ when it failed or was cut off, ⏹ when the
    user stopped it (as a stopped answer says ⏹ stopped)."""
    if observation is not None and observation.stopped and not observation.partial:
        return st.expander(label, icon=STOPPED_ICON)
    failed = observation is None or observation.partial or observation.is_error
    return st.status(label, state="error" if failed else "complete", expanded=False)


def step_label(name: str, body: str, observation: Message | None) -> str:
    icon = _ICONS.get(name, FUNCTION_ICON)
    if observation is not None and observation.not_run:
        return not_run_label(name, observation.not_run)
    if name == "simple_browser":
        first = body.strip().splitlines()[0] if body.strip() else t("browse")
        label = f"{icon} {first[:80]}"
    elif name == "python":
        label = t("{icon} Ran Python", icon=icon)
    elif name == "cogview":
        label = t("{icon} Drew an image", icon=icon)
    else:
        label = t("{icon} Called `{name}`", icon=icon, name=name)
    if observation is None:
        return t("{label} (not finished)", label=label)
    if observation.partial:
        return t("{label} (interrupted)", label=label)
    if observation.stopped:
        return t("{label} (stopped)", label=label)
    return t("{label} (failed)", label=label) if observation.is_error else label


def not_run_label(name: str, why: str) -> str:
    """The step of a call to a tool this conversation does not offer."""
    if why == "switched_off":
        label = t(BUILTINS[name].label) if name in BUILTINS else f"`{name}`"
        return t("{tool} is switched off: the model's call was not run", tool=label)
    return t("{icon} The model called `{name}`, a tool that does not exist: not run", icon=FUNCTION_ICON, name=name)


def not_run_notice(observation: Message) -> None:
    if observation.not_run == "switched_off":
        st.warning(t("Switch the tool on under 🧰 Tools in the sidebar to let the model use it."))


def tool_call_body(name: str, body: str) -> None:
    st.code(body, language=_LANGUAGES.get(name, "json"), wrap_lines=True)


def observation_text(observation: Message) -> None:
    shown = observation.shown_in(language())  # a failure's words in the reader's language
    if shown and observation.metadata.startswith(("browser_result", "quote_result")):
        sources(observation)
        with st.container(height=300):
            st.text(shown)
    elif shown:
        st.code(shown, language=None, wrap_lines=True)


def sources(observation: Message) -> None:
    """The pages a browser step found or opened, as numbered links the user can follow (the
    numbers are those the answer cites)."""
    lines = [
        f"- \\[{c.id}\\] [{_link_text(c.title or c.url)}]({target}) · {urlsplit(c.url).hostname or ''}"
        for c in observation.citations
        if (target := safe_url(c.url)) is not None
    ]
    if lines:
        st.markdown("\n".join(lines))


def _link_text(text: str) -> str:
    return " ".join(text.replace("[", "(").replace("]", ")").split())[:120]


def step_media(observation: Message) -> None:
    rich_output.show(observation)  # figures, tables, HTML, SVG...: in the order the code made them
    for i, path in enumerate(map(Path, observation.files)):
        # Read without following links: the code may have swapped its file for a link to one
        # of the server's after the cell ended. Only its size on every rerun; the bytes (up to
        # MAX_DOWNLOAD_BYTES) when the button is clicked.
        size, _ = read_written(path, 0)
        if 0 < size <= MAX_DOWNLOAD_BYTES:
            data = partial(_written_bytes, path)
            st.download_button(f"⬇️ {path.name}", data, file_name=path.name, key=f"dl_{observation.id}_{i}")
        elif size:
            st.caption(t("⬇️ {name} is too large to download here ({mb:,.0f} MB)", name=path.name, mb=size / 2**20))


def _written_bytes(path: Path) -> bytes:
    return read_written(path, MAX_DOWNLOAD_BYTES)[1]


# -- An answer being written ------------------------------------------------------------------


@dataclass
class _Segment:
    """One part of the live answer in its own placeholder: prose, or one tool step."""

    slot: object  # st.empty()
    tool: str = ""  # the tool's name; "" for prose
    text: str = ""  # prose, or the call as written
    reasoning: str = ""
    output: str = ""
    seconds: int | None = None  # while the tool runs
    final: tuple[Message, ...] = ()  # as stored, once committed
    dirty: bool = True


@dataclass
class LiveView:
    turn: Turn
    segments: list[_Segment] = field(default_factory=list)
    progress: object = None
    _drawn_at: float = 0.0

    def __post_init__(self) -> None:
        self.body = st.container()  # segments go in here, above the status line
        self.tail = st.empty()
        # Sources cited while the answer is written: the conversation's so far, then each
        # step's as it is committed.
        self.citations = citations_of(self.turn.conversation.messages[: self.turn.base])

    def follow(self) -> None:
        """Draw what was written so far, then each change, until the answer ends."""
        cursor = 0
        while True:
            entries, cursor, ended = self.turn.read(cursor, FOLLOW_WAIT_S)
            for entry in entries:
                self.take(entry)
            if ended:
                return
            if time.monotonic() - self._drawn_at >= DRAW_EVERY_S:
                self.draw()
            session.yield_point()

    def take(self, entry) -> None:
        if isinstance(entry, PROGRESS):
            self.progress = entry
        elif isinstance(entry, (TextDelta, ReasoningDelta)):
            segment = self._prose()
            if isinstance(entry, TextDelta):
                segment.text += entry.text
            else:
                segment.reasoning += entry.text
            segment.dirty = True
        elif isinstance(entry, ToolCallStart):
            self._new(entry.name)
        elif isinstance(entry, ToolCallDelta):
            segment = self._open_steps()[-1] if self._open_steps() else self._new("tool")
            segment.text += entry.text
            segment.dirty = True
        elif isinstance(entry, (ToolRunning, ToolOutput)):
            segment = self._running()
            if segment is None:
                return
            if isinstance(entry, ToolRunning):
                segment.seconds = int(entry.elapsed_s)
            else:
                segment.output = (segment.output + entry.text)[-LIVE_OUTPUT_CHARS:]  # as the turn keeps it
            segment.dirty = True
        elif isinstance(entry, Committed):
            first = entry.messages[0]
            segment = (self._running() if first.is_tool_call else self._open_prose()) or self._new(first.metadata)
            segment.final, segment.dirty = entry.messages, True
            self.citations = {**self.citations, **citations_of(list(entry.messages))}
        elif isinstance(entry, Ended):
            pass  # the page reruns and draws the saved conversation

    def draw(self) -> None:
        self._drawn_at = time.monotonic()
        for segment in self.segments:
            if segment.dirty:
                segment.dirty = False
                with segment.slot.container():
                    _draw_segment(segment, self.citations)
        last = self.segments[-1] if self.segments else None
        writing = last is not None and not last.final and (last.text or last.reasoning or last.tool)
        status = "" if writing else progress_text(self.progress, written=bool(self.segments))
        if status:
            self.tail.caption(status)
        else:
            self.tail.empty()

    def _new(self, tool: str) -> _Segment:
        with self.body:
            segment = _Segment(st.empty(), tool=tool)
        self.segments.append(segment)
        return segment

    def _prose(self) -> _Segment:
        last = self.segments[-1] if self.segments else None
        if last is None or last.tool or last.final:
            last = self._new("")
        return last

    def _open_prose(self) -> _Segment | None:
        return next((s for s in reversed(self.segments) if not s.tool and not s.final), None)

    def _open_steps(self) -> list[_Segment]:
        return [s for s in self.segments if s.tool and not s.final]

    def _running(self) -> _Segment | None:
        steps = self._open_steps()
        return steps[0] if steps else None


def _draw_segment(segment: _Segment, citations: dict) -> None:
    if segment.final:
        assistant_turn(list(segment.final), citations)
    elif segment.tool:
        _draw_running_step(segment)
    else:
        if segment.reasoning:
            render.reasoning_box(segment.reasoning, answering=bool(segment.text))
        if segment.text:
            st.markdown(link_citations(to_streamlit_markdown(segment.text), citations) + " ▌")


def _draw_running_step(segment: _Segment) -> None:
    icon = _ICONS.get(segment.tool, FUNCTION_ICON)
    if segment.seconds is None:
        label = t("{icon} Writing a call to {name}…", icon=icon, name=segment.tool)
    else:
        label = t("{icon} Running {name}… {seconds:.0f} s", icon=icon, name=segment.tool, seconds=segment.seconds)
    # Not ``with st.status(...)``: leaving that block marks the box complete (a ✓ on a step
    # that still runs).
    box = st.status(label, state="running", expanded=True)
    box.code(segment.text, language=_LANGUAGES.get(segment.tool, "json"), wrap_lines=True)
    if segment.output:
        box.code(output_tail(segment.output), language=None, wrap_lines=True)


def output_tail(text: str, lines: int = LIVE_OUTPUT_LINES) -> str:
    """What a terminal would show of streamed output: each line as its last carriage
    return left it, the last ``lines`` of them."""
    shown = [line[line.rfind("\r") + 1 :] for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(shown[-lines:]).rstrip("\n")


def progress_text(event, written: bool = False) -> str:
    """What the answer waits for; nothing once it has started writing, unless it waits
    again (for its turn in the queue, or reading a long prompt between tool steps)."""
    if isinstance(event, Queued) and event.ahead:
        if event.ahead == 1:
            return t("⏳ The model is busy: waiting for 1 other answer to finish")
        return t("⏳ The model is busy: waiting for {count} other answers to finish", count=event.ahead)
    if isinstance(event, Prefill) and event.total > 1024:
        return t("📖 Reading {done:,} / {total:,} tokens", done=event.done, total=event.total)
    return "" if written else t("⏳ Starting…")
