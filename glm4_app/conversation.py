"""A conversation and the edits users make to it: send, regenerate, edit and resend, clear.

Messages are plain dicts so they store as JSON as they are:
``{"role": "user" | "assistant", "content": str}`` plus, for answers, optional
``reasoning`` (GLM-Z1 thinking), ``stats`` (see events.Stats), ``stopped`` and ``error``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field

from .events import Stats
from .generation import Message


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    mode: str = "chat"
    owner: str = ""  # the signed-in user, or without login the browser link (see ui.state.owner)
    title: str = "New chat"
    system_prompt: str = ""
    messages: list[dict] = field(default_factory=list)
    disabled_tools: list[str] = field(default_factory=list)  # All Tools: switched off by the user
    # Long document: {"name", "kind", "pages", "text", "bytes", "tokens"} per uploaded file, and
    # what gives when they do not fit ("truncate" | "drop_turns"), chosen by the user.
    documents: list[dict] = field(default_factory=list)
    fit_strategy: str | None = None
    # GLM-4.5 and later: think before answering (the sidebar's Thinking switch).
    thinking: bool = True
    created_at: float = field(default_factory=time.time)

    def add_user(self, text: str, images: list[str] | None = None) -> bool:
        """Append a user message; empty or whitespace-only input is ignored. ``images`` are
        paths of validated, normalised image files (see vision/images.py)."""
        if not text or not text.strip():
            return False
        self.messages.append({"role": "user", "content": text, **({"images": list(images)} if images else {})})
        if self.title == "New chat":
            self.title = _title(text)
        return True

    def add_answer(
        self,
        content: str,
        reasoning: str = "",
        stats: Stats | None = None,
        stopped: bool = False,
        error: str | None = None,
        note: str = "",
    ) -> None:
        # Raw answers start with the newline after GLM's header; history holds them stripped,
        # as the template writes them back.
        message: dict = {"role": "assistant", "content": content.strip()}
        if note:
            message["note"] = note  # e.g. what was cut to fit the context
        if reasoning:
            message["reasoning"] = reasoning
        if stats is not None:
            message["stats"] = asdict(stats)
        if stopped:
            message["stopped"] = True
        if error:
            message["error"] = error
        self.messages.append(message)

    @property
    def awaiting_answer(self) -> bool:
        return bool(self.messages) and self.messages[-1]["role"] == "user"

    def can_regenerate(self) -> bool:
        return any(m["role"] == "user" for m in self.messages)

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
        self.messages[last_user]["content"] = text
        del self.messages[last_user + 1 :]
        return True

    def clear(self) -> None:
        self.messages.clear()
        self.title = "New chat"

    def prompt_messages(self, with_system: bool = True) -> list[Message]:
        """What the model sees: system prompt, then the turns; failed answers are left out."""
        out: list[Message] = []
        if with_system and self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        for m in self.messages:
            if not m["content"] and m["role"] == "assistant" and not m.get("metadata"):
                continue  # a failed or empty answer: the model never wrote it
            message = {"role": m["role"], "content": m["content"]}
            if m.get("metadata"):
                message["metadata"] = m["metadata"]  # a tool call's name, an observation's kind
            if m.get("step") is not None:
                message["step"] = m["step"]  # calls of one model output (parallel calls)
            if m.get("images"):
                message["images"] = list(m["images"])
            out.append(message)
        return out

    def enabled_tools(self, available) -> set[str]:
        return {name for name in available if name not in self.disabled_tools}

    def _last_user_index(self) -> int | None:
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i]["role"] == "user":
                return i
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Conversation":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _title(text: str, limit: int = 48) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stats_of(message: dict) -> Stats | None:
    data = message.get("stats")
    return Stats(**data) if data else None
