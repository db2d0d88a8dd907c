"""Answers that live on the server, not in a page.

A ``Turn`` owns one answer from the moment it is requested. It runs the model (or the All
Tools loop) on its own thread, assembles prose, reasoning and tool steps into the
conversation's messages, and saves its progress to SQLite as it goes (at every tool step
boundary and every ``SAVE_EVERY_S`` of new text), so a crash loses seconds at most. What
it does is also written to an append-only log that any number of observers (a page, a
second tab, a page reloaded mid-answer) replay from the start and then follow.

Nobody has to watch: a turn whose page closed still finishes and is saved, unless nobody
watched it for ``orphan_timeout_s`` (then it stops as if the user had). ``stop()`` works
in every state (queued, starting, reading the prompt, writing, running a tool, between
steps) and keeps what was written: the prose, the finished steps, the interrupted step
with its output so far, and a final answer marked stopped (empty if nothing was written).

Messages saved mid-answer carry ``partial=True``; a conversation loaded with such a message
and no live turn was cut by a crash, and the page shows that answer as interrupted.

``TURNS`` is the process-wide registry: the live turn of a conversation, if any.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

from . import metrics
from .agent import run_agent
from .artifacts import saved
from .conversation import Conversation
from .events import (
    PROGRESS,
    Done,
    Error,
    Event,
    ReasoningDelta,
    Stats,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    ToolOutcome,
    ToolOutput,
    ToolRunning,
)
from .generation import ChatBackend, GenerationParams
from .generation import Message as PromptMessage
from .messages import Message, new_id
from .notices import Notice
from .store import ConversationStore
from .tool_steps import step_messages
from .tools import live
from .tool_types import ToolCall, ToolResult
from .tools.base import Tool

log = logging.getLogger(__name__)

SAVE_EVERY_S = 2.0  # the most text a crash may lose, in seconds of writing
STOP_WAIT_S = 1.5  # how long stop() lets the worker wind down (and keep a tool's output)
TOOL_RESULT_WAIT_S = 1.0  # after Stop, how long to wait for an interrupted tool's own result
LIVE_OUTPUT_CHARS = 20_000  # what a running step shows of its output (the rest comes at its end)
OUTPUT_EVERY_S = 0.1  # a tool's output bits are logged in batches at most this often

Outcome = Literal["done", "stopped", "failed"]
StopReason = Literal["user", "orphaned"]
# What an interrupted step's observation says (the model reads the English, the user the words
# of their language).
STOPPED_NOTES = {"user": Notice("tool.stopped"), "orphaned": Notice("tool.orphaned")}
NOT_RUN = {  # a call the answer ended in the middle of writing
    True: Notice("tool.stopped_while_written"),
    False: Notice("tool.call_incomplete"),
}


@dataclass(frozen=True)
class AnswerJob:
    """Everything one answer needs, prepared by the page (prompt fitted, tools chosen)."""

    backend: ChatBackend
    prompt: list[PromptMessage]
    params: GenerationParams
    media_dir: Path  # where tool steps' images are saved
    tools: dict[str, Tool] | None = None  # None: a plain answer; else the All Tools loop
    max_steps: int = 10
    note: Notice | str = ""  # e.g. what was cut to fit the context, shown under the answer
    orphan_timeout_s: float = 0  # 0: an unwatched answer always runs to its end
    slot: Any = None  # a per-user limits.Slot, released when the answer ends
    keep_alive: Any = None  # e.g. the Toolbox whose kernel the tools use
    # ▶️ Continue: the stopped answer this one carries on (taken out of the conversation by
    # the caller; it comes back, longer, under the same id). Needs backend.stream_continuation.
    continues: Message | None = None


# -- What observers read besides the model's own events -------------------------------------


@dataclass(frozen=True)
class Committed:
    """A finished part of the answer, as stored: prose written before a tool call, or a
    tool step (the call and its observation)."""

    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Ended:
    outcome: Outcome
    messages: tuple[Message, ...]  # the turn's messages, as now in the conversation


@dataclass
class _Step:
    """A tool call being written, run or waited for."""

    name: str
    output_number: int  # the model output writing it (agent step; parallel calls share it)
    body: str = ""  # as the model writes it
    call: ToolCall | None = None  # as parsed and run (set when the tool starts)
    output: str = ""  # live output, the last LIVE_OUTPUT_CHARS of it
    result: ToolResult | None = None  # the tool's own result, even after Stop
    # The step as stored (step_messages), built once when the result came: every checkpoint
    # and the commit reuse it, so its images and artifacts are written to disk only once.
    messages: list[Message] | None = None


@dataclass
class _Draft:
    """The answer being assembled, apart from the conversation until it is saved."""

    done: list[Message] = field(default_factory=list)  # committed prose and steps
    content: str = ""  # the prose being written
    reasoning: str = ""
    steps: list[_Step] = field(default_factory=list)  # written or running, not finished
    output_number: int = 1  # the model output being written: its calls are one step
    stats: Stats | None = None
    error: Notice | str = ""


class Turn:
    def __init__(self, conversation: Conversation, store: ConversationStore, job: AnswerJob, on_end=None) -> None:
        self.conversation = conversation
        self.store = store
        self.job = job
        self.base = len(conversation.messages)  # this turn's messages start here
        self.started_at = time.monotonic()
        self.watched_at = self.started_at
        self.outcome: Outcome | None = None
        self.stop_reason: StopReason | None = None
        self._on_end = on_end
        self._cond = threading.Condition()
        self._save_lock = threading.Lock()  # a checkpoint never lands after the final save
        self._log: list[Event | Committed | Ended] = []
        self._draft = _Draft()
        # The answer keeps one id and birth time through every save (tree.py orders versions by it).
        self._answer_id, self._answer_created = new_id(), time.time()
        self._progress: Event | None = None
        self._running_logged = -1  # whole seconds of the last logged ToolRunning
        self._output_buffer = ""
        self._output_at = 0.0
        self._saved_at = self.started_at
        self._unsaved = self._save_soon = False
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._tools = {name: _Watched(tool, self) for name, tool in (job.tools or {}).items()}
        if job.continues is not None:  # observers replay what it had written, then the rest
            self._draft.reasoning, self._draft.content = job.continues.reasoning, job.continues.content
            self._log += [e for e in (ReasoningDelta(job.continues.reasoning), TextDelta(job.continues.content)) if e.text]
        self._thread = threading.Thread(target=self._run, name=f"turn-{conversation.id}", daemon=True)

    # -- for pages and tests -------------------------------------------------------------

    def start(self) -> "Turn":
        self._thread.start()
        return self

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the turn has ended (True) or ``timeout`` passed."""
        return self._ended.wait(timeout)

    def stop(self, reason: StopReason = "user") -> None:
        """End the answer now, keeping what was written. Returns once it is saved: the
        worker normally winds down within a heartbeat; if it is stuck (a server that does
        not answer), the turn is finished here and the worker only cleans up later."""
        with self._cond:
            if self.ended:
                return
            self.stop_reason = self.stop_reason or reason
            self._stop.set()
            self._cond.notify_all()
        if threading.current_thread() is self._thread:
            return
        if not self._ended.wait(STOP_WAIT_S):
            self._finish("stopped")

    def read(self, cursor: int = 0, timeout: float = 0.0) -> tuple[list, int, bool]:
        """Log entries from ``cursor`` on, waiting up to ``timeout`` for the first; also
        (new cursor, ended). Reading counts as watching (see ``orphan_timeout_s``)."""
        with self._cond:
            self.watched_at = time.monotonic()
            if cursor >= len(self._log) and not self.ended and timeout > 0:
                self._cond.wait(timeout)
            entries = self._log[cursor:]  # Ended, when there, is the last entry
            return entries, len(self._log), self.ended

    def follow(self, cursor: int = 0, timeout: float = 0.25) -> Iterator:
        """Every log entry from ``cursor`` on, as it comes, until the turn has ended."""
        while True:
            entries, cursor, ended = self.read(cursor, timeout)
            yield from entries
            if ended:
                return

    @property
    def progress(self) -> Event | None:
        """The latest Queued / Started / Prefill: what the answer waits for."""
        return self._progress

    # -- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            events = self._events()
            try:
                for event in events:
                    if self._stop.is_set() or self.ended:
                        break
                    self._take(event)
                    self._checkpoint()
                    if self._orphaned():
                        self.stop("orphaned")
                        break
            finally:
                events.close()  # cancels the model request, or tells the running tool to stop
            if self._stop.is_set():
                self._await_tool_result()
                self._finish("stopped")
            else:
                draft = self._draft
                self._finish("failed" if draft.error and draft.stats is None else "done")
        except Exception as exc:  # a bug must still leave a saved, readable answer
            log.exception("answer failed")
            with self._cond:
                self._draft.error = Notice("answer.failed", error=f"{type(exc).__name__}: {exc}")
            self._finish("failed")
        finally:
            if self.job.slot is not None:
                self.job.slot.release()
            if self._on_end is not None:
                self._on_end(self)

    def _events(self) -> Iterator[Event]:
        """The answer's events, counted for /metrics here, once, whether or not a page watches."""
        return metrics.observe(self._model_events(), self.conversation.mode)

    def _model_events(self) -> Iterator[Event]:
        job, key = self.job, self.conversation.id
        if job.continues is not None:
            stopped = job.continues
            return job.backend.stream_continuation(job.prompt, stopped.content, stopped.reasoning, job.params, key)
        if job.tools is None:
            return job.backend.stream(job.prompt, job.params, cache_key=key)
        return run_agent(job.backend, job.prompt, job.params, self._tools, job.max_steps, cache_key=key)

    def _orphaned(self) -> bool:
        limit = self.job.orphan_timeout_s
        return bool(limit) and time.monotonic() - self.watched_at > limit

    def _take(self, event: Event) -> None:
        with self._cond:
            if self.ended:
                return
            draft = self._draft
            self._flush_output()
            if isinstance(event, PROGRESS):
                if event == self._progress:
                    return  # a heartbeat: nothing new for observers
                self._progress = event
            elif isinstance(event, ReasoningDelta):
                draft.reasoning += event.text
            elif isinstance(event, TextDelta):
                draft.content += event.text
            elif isinstance(event, ToolCallStart):
                self._commit_prose()
                draft.steps.append(_Step(event.name, draft.output_number))
            elif isinstance(event, ToolCallDelta):
                if draft.steps:
                    draft.steps[-1].body += event.text
            elif isinstance(event, ToolRunning):
                if int(event.elapsed_s) == self._running_logged:
                    return
                self._running_logged = int(event.elapsed_s)
            elif isinstance(event, ToolOutcome):
                self._commit_step(event.call, event.result, event.step)
                draft.output_number = event.step + 1  # every call of this output was written
                return
            elif isinstance(event, Done):
                draft.stats = event.stats
                return
            elif isinstance(event, Error):
                draft.error = event.message
                return
            self._unsaved = True
            self._append(event)

    def _append(self, entry) -> None:
        self._log.append(entry)
        self._cond.notify_all()

    def _commit_prose(self) -> None:
        draft = self._draft
        if draft.content or draft.reasoning:
            message = Message("assistant", draft.content.lstrip(), reasoning=draft.reasoning)
            saved.publish_answer(message, self.job.media_dir)
            draft.done.append(message)
            draft.content = draft.reasoning = ""
            self._append(Committed((message,)))

    def _commit_step(self, call: ToolCall, result: ToolResult, output_number: int) -> None:
        draft = self._draft
        self._commit_prose()  # a call the parser did not announce (should not happen)
        index = next((i for i, s in enumerate(draft.steps) if s.name == call.name), None)
        step = draft.steps.pop(index) if index is not None else None
        if step is not None and step.call is call and step.result is result and step.messages is not None:
            messages = step.messages
        else:  # a result _tool_finished never saw (unknown or switched-off tool, one that raised)
            messages = step_messages(call, result, self.job.media_dir, output_number)
        draft.done += messages
        self._running_logged = -1
        self._append(Committed(tuple(messages)))
        self._save_soon = True

    # -- tools report from their own threads (see _Watched) -----------------------------

    def _tool_started(self, call: ToolCall) -> None:
        with self._cond:
            step = next((s for s in self._draft.steps if s.call is None and s.name == call.name), None)
            if step is not None:
                step.call = call
            self._save_soon = True  # the call is complete and about to run
        self._checkpoint()

    def _tool_output(self, text: str) -> None:
        with self._cond:
            step = self._running_step()
            if step is None or self.ended:
                return
            step.output = (step.output + text)[-LIVE_OUTPUT_CHARS:]
            self._output_buffer += text
            self._unsaved = True
            if time.monotonic() - self._output_at >= OUTPUT_EVERY_S:
                self._flush_output()

    def _flush_output(self) -> None:
        if self._output_buffer:
            self._append(ToolOutput(self._output_buffer))
            self._output_buffer = ""
            self._output_at = time.monotonic()

    def _tool_finished(self, call: ToolCall, result: ToolResult) -> None:
        with self._cond:
            step = next((s for s in self._draft.steps if s.call is call), None)
        # Saving its images and artifacts reads and writes files (up to MAX_BYTES each):
        # done outside _cond, which every watching page's read() waits on.
        messages = step_messages(call, result, self.job.media_dir, step.output_number) if step else None
        with self._cond:
            if step is not None:
                step.result, step.messages = result, messages
            self._cond.notify_all()

    def _running_step(self) -> _Step | None:
        return next((s for s in self._draft.steps if s.call is not None and s.result is None), None)

    def _await_tool_result(self) -> None:
        """A stopped tool reports how it ended (its output, its figures) within moments."""
        deadline = time.monotonic() + TOOL_RESULT_WAIT_S
        with self._cond:
            while self._running_step() is not None and not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    # -- saving --------------------------------------------------------------------------

    def _messages(self, final: Outcome | None) -> list[Message]:
        """The turn's messages now: final ones, or (``final`` None) a snapshot to save
        mid-answer, whose unfinished parts are marked partial."""
        draft, job = self._draft, self.job
        stopped = final == "stopped"
        out = list(draft.done)
        for step in draft.steps:
            out += self._unfinished_step(step, stopped, partial=final is None)
        answer = Message(
            "assistant",
            # Raw answers start with the newline after GLM's header; history holds them
            # without it, as the template writes them back (the end stays: Continue goes on from it).
            draft.content.lstrip(),
            reasoning=draft.reasoning,
            stats=draft.stats,
            stopped=stopped,
            partial=final is None,
            error=draft.error,
            note=job.note,
            model=job.backend.info.name,
            params=asdict(job.params),
        )
        answer.id, answer.created_at = self._answer_id, self._answer_created
        if job.continues is not None:  # the same answer, carried on
            answer.id, answer.created_at = job.continues.id, job.continues.created_at
        if final is not None:  # its web pages, SVGs and diagrams get their previews
            saved.publish_answer(answer, job.media_dir, job.continues.artifacts if job.continues else [])
        return out + [answer]

    def _unfinished_step(self, step: _Step, stopped: bool, partial: bool) -> list[Message]:
        """A step the answer ended (or is saved) in the middle of: the call as far as it was
        written or run, its output so far, and (at the end) why it has no more."""
        if step.messages is not None:  # copies: the commit stores the originals unmarked
            call, observation = map(copy.copy, step.messages)
        else:
            body = step.call.body if step.call is not None else step.body
            if partial:
                why = []
            elif step.call is None:
                why = [NOT_RUN[stopped]]
            else:
                why = [STOPPED_NOTES[self.stop_reason or "user"]]
            call = Message("assistant", body, metadata=step.name, step=step.output_number)
            text = "\n".join(filter(None, [step.output.rstrip("\n"), *map(str, why)]))
            observation = Message("observation", text, notices=why)
        observation.stopped, observation.partial = stopped, partial
        return [call, observation]

    def _checkpoint(self) -> None:
        """Save progress when a step began or ended, or every SAVE_EVERY_S of new text.
        Never called holding ``_cond`` (the save lock is always taken first)."""
        due = self._unsaved and time.monotonic() - self._saved_at >= SAVE_EVERY_S
        if not (self._save_soon or due):
            return
        with self._save_lock:
            with self._cond:
                if self.ended:
                    return
                self.conversation.messages[self.base :] = self._messages(final=None)
                self._unsaved = self._save_soon = False
                self._saved_at = time.monotonic()
            self._save()

    def _finish(self, outcome: Outcome) -> None:
        with self._save_lock:
            with self._cond:
                if self.ended:
                    return
                self._flush_output()
                messages = self._messages(final=outcome)
                self.conversation.messages[self.base :] = messages
                self.outcome = outcome
            self._save()
            with self._cond:
                self._append(Ended(outcome, tuple(messages)))
                self._ended.set()

    def _save(self) -> None:
        try:
            self.store.save(self.conversation)
        except Exception:  # a full disk must not kill the answer; the next save may work
            log.exception("saving conversation %s failed", self.conversation.id)


class _Watched:
    """A tool as a turn runs it: its output streams into the turn, and its result reaches
    the turn even when the agent loop stopped waiting for it (Stop)."""

    def __init__(self, tool: Tool, turn: Turn) -> None:
        self._tool, self._turn = tool, turn
        self.name = tool.name

    def declaration(self) -> dict[str, Any]:
        return self._tool.declaration()

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        self._turn._tool_started(call)
        with live.output_to(self._turn._tool_output):
            result = self._tool.run(call, cancel)
        self._turn._tool_finished(call, result)
        return result

    def __getattr__(self, name: str):
        return getattr(self._tool, name)


class TurnRegistry:
    """The live turn of each conversation in this process (one at a time per conversation),
    and the one conversation object pages and turns share for each id (``adopt``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, Turn] = {}
        self._shared: weakref.WeakValueDictionary[str, Conversation] = weakref.WeakValueDictionary()

    def start(self, conversation: Conversation, store: ConversationStore, job: AnswerJob) -> Turn:
        with self._lock:
            running = self._live.get(conversation.id)
            if running is not None and not running.ended:
                raise RuntimeError(f"conversation {conversation.id} is already being answered")
            turn = Turn(conversation, store, job, on_end=self._forget)
            self._live[conversation.id] = turn
            self._shared[conversation.id] = conversation
        return turn.start()

    def live(self, conversation_id: str) -> Turn | None:
        with self._lock:
            turn = self._live.get(conversation_id)
        return None if turn is None or turn.ended else turn

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation object pages and turns of this process share, while any of them
        still holds it (so none saves a stale copy over it)."""
        with self._lock:
            return self._shared.get(conversation_id)

    def adopt(self, conversation: Conversation) -> Conversation:
        """The one object every page of this process shows for this conversation: the one
        already shown elsewhere, or this one from now on. Two tabs holding copies of their
        own would each save theirs over the other's new messages."""
        with self._lock:
            return self._shared.setdefault(conversation.id, conversation)

    def running(self) -> list[Turn]:
        with self._lock:
            return [t for t in self._live.values() if not t.ended]

    def _forget(self, turn: Turn) -> None:
        with self._lock:
            if self._live.get(turn.conversation.id) is turn:
                del self._live[turn.conversation.id]


TURNS = TurnRegistry()
