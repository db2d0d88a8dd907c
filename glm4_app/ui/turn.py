"""Drawing the assistant side of a turn: prose, reasoning, tool steps, images, downloads.

``assistant_turn`` draws stored messages; ``LiveTurn`` draws a streaming answer event by
event and keeps, in a plain dict, everything a Stop click must not lose.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from ..builtin_tools import BUILTINS, FUNCTION_ICON
from ..events import (
    PROGRESS,
    Done,
    Error,
    Prefill,
    Queued,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    ToolOutcome,
    ToolRunning,
)
from ..markdown import to_streamlit_markdown
from ..tool_steps import citations_of, step_messages
from ..tools.browser import link_citations
from . import render
from .i18n import t

DRAW_EVERY_S = 0.05  # redrawing on every token floods the websocket on fast GPUs
_ICONS = {name: tool.icon for name, tool in BUILTINS.items()}
_LANGUAGES = {name: tool.language for name, tool in BUILTINS.items()}  # functions: "json"


def assistant_turn(messages: list[dict]) -> None:
    """Stored non-user messages of one turn, in order, inside one chat bubble."""
    citations = citations_of(messages)
    i = 0
    while i < len(messages):
        message = messages[i]
        if message["role"] == "assistant" and message.get("metadata"):
            following = messages[i + 1] if i + 1 < len(messages) else None
            observation = following if following and following["role"] == "observation" else None
            tool_step(message, observation)
            i += 2 if observation else 1
            continue
        if message["role"] == "assistant":
            render.message_body(message, lambda text: link_citations(text, citations))
        i += 1


def tool_step(call: dict, observation: dict | None, expanded: bool = False) -> None:
    name = call["metadata"]
    failed = observation is None or observation.get("is_error")
    with st.status(step_label(name, call["content"], observation), state="error" if failed else "complete", expanded=expanded):
        if observation is not None:
            not_run_notice(observation)
        tool_call_body(name, call["content"])
        if observation is not None:
            observation_body(observation)


def step_label(name: str, body: str, observation: dict | None) -> str:
    icon = _ICONS.get(name, FUNCTION_ICON)
    not_run = (observation or {}).get("not_run")
    if not_run:
        return not_run_label(name, not_run)
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
    return t("{label} (failed)", label=label) if observation.get("is_error") else label


def not_run_label(name: str, why: str) -> str:
    """The step of a call to a tool this conversation does not offer."""
    if why == "switched_off":
        label = t(BUILTINS[name].label) if name in BUILTINS else f"`{name}`"
        return t("{tool} is switched off: the model's call was not run", tool=label)
    return t("{icon} The model called `{name}`, a tool that does not exist: not run", icon=FUNCTION_ICON, name=name)


def not_run_notice(observation: dict) -> None:
    if observation.get("not_run") == "switched_off":
        st.warning(t("Switch the tool on under 🧰 Tools in the sidebar to let the model use it."))


def tool_call_body(name: str, body: str) -> None:
    language = _LANGUAGES.get(name, "json")
    st.code(body, language=language, wrap_lines=True)


def observation_body(observation: dict) -> None:
    shown = observation.get("display", observation["content"])
    if shown and observation.get("metadata", "").startswith(("browser_result", "quote_result")):
        with st.container(height=300):
            st.text(shown)
    elif shown:
        st.code(shown, language=None, wrap_lines=True)
    for image in observation.get("images", ()):
        if Path(image["path"]).is_file():
            st.image(image["path"], caption=image.get("caption") or None)
        else:
            st.caption(t("(image no longer on disk: {name})", name=Path(image["path"]).name))
    for path in map(Path, observation.get("files", ())):
        if path.is_file():
            st.download_button(f"⬇️ {path.name}", path.read_bytes(), file_name=path.name, key=f"dl_{path}_{id(observation)}")


class LiveTurn:
    """Renders one streaming answer. ``partial`` holds the finished messages of this turn
    and the text being written; it lives in session state so a Stop keeps it."""

    def __init__(self, partial: dict, media_dir: Path) -> None:
        self.partial = partial
        self.media_dir = media_dir
        self.stats = None
        self.error: str | None = None
        self._drawn_at = 0.0
        self._tool_box = self._call_slot = None
        self._call_body = ""
        self._new_segment()

    def _new_segment(self) -> None:
        self.status, self.thinking, self.answer = st.empty(), st.empty(), st.empty()

    def handle(self, event) -> None:
        p = self.partial
        if isinstance(event, PROGRESS):
            # Also the engine's heartbeats: every draw lets Streamlit notice a Stop click or
            # a closed tab, which ends this run and so the request.
            if p["content"] or p["reasoning"]:
                self.status.empty()
            else:
                self.status.caption(progress_text(event))
        elif isinstance(event, ReasoningDelta):
            p["reasoning"] += event.text
            self._draw()
        elif isinstance(event, TextDelta):
            if not p["content"]:
                self.status.empty()
                if p["reasoning"]:
                    render.streaming_reasoning(self.thinking, p["reasoning"], answering=True)
            p["content"] += event.text
            self._draw()
        elif isinstance(event, ToolCallStart):
            self._close_prose()
            self._tool_box = st.status(step_label(event.name, "", {}) + "…", expanded=True)
            self._call_name, self._call_body = event.name, ""
            with self._tool_box:
                self._call_slot = st.empty()
        elif isinstance(event, ToolCallDelta):
            self._call_body += event.text
            self._call_slot.code(self._call_body, language=_LANGUAGES.get(self._call_name, "json"))
        elif isinstance(event, ToolRunning):
            icon = _ICONS.get(event.name, FUNCTION_ICON)
            label = t("{icon} Running {name}… {seconds:.0f} s", icon=icon, name=event.name, seconds=event.elapsed_s)
            self._tool_box.update(label=label)
        elif isinstance(event, ToolOutcome):
            self._finish_step(event)
        elif isinstance(event, Done):
            self.stats = event.stats
        elif isinstance(event, Error):
            self.error = event.message
        if isinstance(event, (Done, Error)):
            self._draw(force=True, cursor=False)

    def _draw(self, force: bool = False, cursor: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < DRAW_EVERY_S:
            return
        self._drawn_at = now
        p = self.partial
        if p["content"]:
            self.answer.markdown(to_streamlit_markdown(p["content"]) + (" ▌" if cursor else ""))
        elif p["reasoning"]:
            self.status.empty()
            render.streaming_reasoning(self.thinking, p["reasoning"], answering=False)

    def _close_prose(self) -> None:
        """Prose written before a tool call becomes its own message, shown as is."""
        p = self.partial
        self._draw(force=True, cursor=False)
        if p["content"] or p["reasoning"]:
            message = {"role": "assistant", "content": p["content"]}
            if p["reasoning"]:
                message["reasoning"] = p["reasoning"]
            p["messages"].append(message)
        p["content"] = p["reasoning"] = ""
        self.status.empty()

    def _finish_step(self, outcome: ToolOutcome) -> None:
        messages = step_messages(outcome.call, outcome.result, self.media_dir, outcome.step)
        self.partial["messages"] += messages
        box = self._tool_box or st.status("", expanded=True)
        with box:
            if self._call_slot is not None:
                self._call_slot.empty()
            not_run_notice(messages[1])
            tool_call_body(outcome.call.name, outcome.call.body)
            observation_body(messages[1])
        failed = outcome.result.is_error
        box.update(
            label=step_label(outcome.call.name, outcome.call.body, messages[1]),
            state="error" if failed else "complete",
            expanded=False,
        )
        self._tool_box = self._call_slot = None
        self._new_segment()


def progress_text(event) -> str:
    if isinstance(event, Queued) and event.ahead:
        if event.ahead == 1:
            return t("⏳ The model is busy: waiting for 1 other answer to finish")
        return t("⏳ The model is busy: waiting for {count} other answers to finish", count=event.ahead)
    if isinstance(event, Prefill) and event.total > 1024:
        return t("📖 Reading {done:,} / {total:,} tokens", done=event.done, total=event.total)
    return t("⏳ Starting…")
