"""A conversation and the edits users make to it: send, regenerate, edit and resend, clear.

Its messages are typed (messages.py); ``to_dict`` / ``from_dict`` give the JSON the store
keeps, readable from every earlier version.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, fields

from .events import Stats
from .generation import Message as PromptMessage
from .messages import ImageRef, Message, answered


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    mode: str = "chat"
    owner: str = ""  # the signed-in user, or without login the browser link (see ui.state.owner)
    title: str = "New chat"
    system_prompt: str = ""
    messages: list[Message] = field(default_factory=list)
    disabled_tools: list[str] = field(default_factory=list)  # All Tools: switched off by the user
    # Long document: {"name", "kind", "pages", "text", "bytes", "tokens"} per uploaded file, and
    # what gives when they do not fit ("truncate" | "drop_turns"), chosen by the user.
    documents: list[dict] = field(default_factory=list)
    fit_strategy: str | None = None
    # What the next answer waits for from the user, kept across a reload: "fit" (Long
    # document: the documents do not fit and the user picks what gives), or "".
    waiting_for: str = ""
    # Vision: images attached to the next message, not sent yet (paths of saved files), and
    # which of them are pages of a PDF or slide deck (they count against the context, not
    # against the checkpoint's images per conversation).
    attached: list[str] = field(default_factory=list)
    attached_pages: list[str] = field(default_factory=list)
    # GLM-4.5 and later: think before answering (the sidebar's Thinking switch).
    thinking: bool = True
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.messages = [
            m if isinstance(m, Message) else Message.from_dict(m, f"m{i}") for i, m in enumerate(self.messages)
        ]

    def add_user(self, text: str, images: list[str] | None = None) -> Message | None:
        """Append a user message; empty or whitespace-only input is ignored (None). ``images``
        are paths of validated, normalised image files (see vision/images.py)."""
        if not text or not text.strip():
            return None
        message = Message("user", text, images=[ImageRef(path) for path in images or ()])
        self.messages.append(message)
        if self.title == "New chat":
            self.title = _title(text)
        return message

    def add_answer(
        self,
        content: str,
        reasoning: str = "",
        stats: Stats | None = None,
        stopped: bool = False,
        error: str | None = None,
        note: str = "",
    ) -> Message:
        message = Message(
            "assistant", content.strip(), reasoning=reasoning, stats=stats, stopped=stopped, error=error or "", note=note
        )
        self.messages.append(message)
        return message

    @property
    def awaiting_answer(self) -> bool:
        return bool(self.messages) and self.messages[-1].role == "user"

    @property
    def started(self) -> bool:
        """Worth keeping (and linking to): something was sent, uploaded or attached."""
        return bool(self.messages or self.documents or self.attached)

    def can_regenerate(self) -> bool:
        return any(m.role == "user" for m in self.messages)

    def drop_last_answer(self) -> None:
        """Regenerate: forget everything after the last user message."""
        last_user = self._last_user_index()
        if last_user is not None:
            del self.messages[last_user + 1 :]

    def edit_last_user(self, text: str) -> bool:
        """Replace the last user message and drop what followed it; blank edits are ignored."""
        last_user = self._last_user_index()
        if last_user is None or not text.strip():
            return False
        self.messages[last_user].content = text
        del self.messages[last_user + 1 :]
        return True

    def clear(self) -> None:
        self.messages.clear()
        self.title = "New chat"
        self.waiting_for = ""

    def last_answer(self) -> Message | None:
        """The final message of the last turn, when it is the assistant's answer."""
        last = self.messages[-1] if self.messages else None
        return last if last is not None and last.is_answer else None

    def prompt_messages(self, with_system: bool = True) -> list[PromptMessage]:
        """What the model sees: system prompt, then the turns. A question that never got an
        answer with words in it (it failed, or was stopped before the first token) is left
        out with its empty answer, so the prompt never holds two user turns in a row; the
        last question, the one being answered, always goes."""
        out: list[PromptMessage] = []
        if with_system and self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        last = len(self.messages) - 1
        last_user = self._last_user_index()
        current = -1 if last_user is None else last_user  # the answer being written follows it
        thought = ""  # the thinking before a call, kept by a prose message without words
        for i, m in enumerate(self.messages):
            if m.role == "user" and i != last and not answered(self.messages, i):
                continue
            if not m.content and m.is_answer:
                thought = m.reasoning
                continue  # the model never wrote it (GLM's templates drop empty turns anyway)
            # The thinking of earlier answers is never sent back (every template drops it);
            # that of the answer being written goes with its steps, as the agent sends it.
            message = m.prompt(reasoning=i > current)
            if thought and i > current and m.is_tool_call:
                message.setdefault("reasoning", thought)
            thought = ""
            out.append(message)
        return out

    def enabled_tools(self, available) -> set[str]:
        return {name for name in available if name not in self.disabled_tools}

    def _last_user_index(self) -> int | None:
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i].role == "user":
                return i
        return None

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["messages"] = [m.to_dict() for m in list(self.messages)]
        data["disabled_tools"] = list(self.disabled_tools)
        data["documents"] = [dict(d) for d in self.documents]
        data["attached"] = list(self.attached)
        data["attached_pages"] = list(self.attached_pages)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Conversation":
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["messages"] = [Message.from_dict(m, f"m{i}") for i, m in enumerate(data.get("messages") or ())]
        return cls(**values)


def _title(text: str, limit: int = 48) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stats_of(message: Message) -> Stats | None:
    return message.stats
