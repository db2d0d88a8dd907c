"""A conversation and the edits users make to it: send, regenerate, edit and resend, clear.

A conversation is a tree (tree.py): ``messages`` is the branch shown, ``others`` holds every
other version, so Regenerate and Edit keep what they replace. Its messages are typed
(messages.py); ``to_dict`` / ``from_dict`` give the JSON the store keeps, readable from every
earlier version (a flat list of messages becomes a single branch).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, fields

from . import tree
from .doc_budget import Doc, build_messages
from .events import Stats
from .generation import Message as PromptMessage
from .i18n import N_
from .messages import ImageRef, Message, answered, document_entry
from .notices import from_data, stored

# The title of a conversation not titled yet (its first question titles it); stored in English,
# shown in the reader's language.
DEFAULT_TITLE = N_("New chat")


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    mode: str = "chat"
    owner: str = ""  # the signed-in user, or without login the browser link (see ui.state.owner)
    title: str = DEFAULT_TITLE
    system_prompt: str = ""
    messages: list[Message] = field(default_factory=list)  # the branch shown, first to last
    others: list[Message] = field(default_factory=list)  # the messages of every other branch
    chosen: dict[str, str] = field(default_factory=dict)  # per message id, the child shown last
    disabled_tools: list[str] = field(default_factory=list)  # All Tools: switched off by the user
    # Long document: files uploaded and not sent yet ({"name", "kind", "pages", "text", "bytes",
    # "tokens"} each): they go with the next question (Message.documents). And what gives when
    # the prompt does not fit ("truncate" | "drop_turns"), chosen by the user.
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
        """Append a user message, carrying the documents uploaded since the last one; empty
        or whitespace-only input is ignored (None). ``images`` are paths of validated,
        normalised image files (see vision/images.py)."""
        if not text or not text.strip():
            return None
        message = Message("user", text, images=[ImageRef(path) for path in images or ()], documents=self.documents)
        self.documents = []
        self.messages.append(message)
        if self.title == DEFAULT_TITLE:
            self.title = auto_title(text)
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

    def drop_last_answer(self) -> None:
        """Regenerate: the shown branch ends with the last user message; the old answer stays
        in the tree as another version."""
        last_user = self._last_user_index()
        if last_user is not None:
            tree.cut(self, last_user + 1)

    def edit_last_user(self, text: str) -> bool:
        """A new version of the last user message, shown (the old one and its answer stay
        in the tree); blank edits are ignored."""
        last_user = self._last_user_index()
        return last_user is not None and tree.edit(self, last_user, text) is not None

    def clear(self) -> None:
        """Forget every message of every branch; documents already sent wait for the next
        question again."""
        self.documents = self.branch_documents() + self.documents
        self.messages.clear()
        self.others.clear()
        self.chosen.clear()
        self.title = DEFAULT_TITLE
        self.waiting_for = ""

    def branch_documents(self) -> list[dict]:
        """The documents sent in the branch shown, in the order they came."""
        return [d for m in self.messages for d in m.documents]

    @property
    def leaf(self) -> str:
        return self.messages[-1].id if self.messages else ""

    def last_answer(self) -> Message | None:
        """The final message of the last turn, when it is the assistant's answer."""
        last = self.messages[-1] if self.messages else None
        return last if last is not None and last.is_answer else None

    def prompt_messages(self, with_system: bool = True) -> list[PromptMessage]:
        """What the model sees: system prompt, then the turns of the branch shown, each user
        turn holding the documents sent with it (doc_budget.build_messages)."""
        return build_messages(self.system_prompt if with_system else "", self.prompt_turns())

    def prompt_turns(self) -> list[PromptMessage]:
        """The turns of the branch shown, a user turn with documents carrying them as
        ``"documents": [Doc, ...]`` (doc_budget lays them out, and shortens them if asked).
        A question that never got an answer with words in it (it failed, or was stopped before
        the first token) is left out with its empty answer, so the prompt never holds two
        user turns in a row; the last question, the one being answered, always goes."""
        out: list[PromptMessage] = []
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
            turn = m.prompt(reasoning=i > current)
            if thought and i > current and m.is_tool_call:
                turn.setdefault("reasoning", thought)
            thought = ""
            if m.documents:
                turn["documents"] = [Doc(d["name"], d["text"]) for d in m.documents]
            out.append(turn)
        return out

    def enabled_tools(self, available) -> set[str]:
        return {name for name in available if name not in self.disabled_tools}

    def _last_user_index(self) -> int | None:
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i].role == "user":
                return i
        return None

    def to_dict(self) -> dict:
        """Every message of the tree (the shown branch first), each naming its parent, and
        ``leaf``, the last message shown."""
        tree.relink(self)
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "others"}
        data["messages"] = [m.to_dict() for m in [*self.messages, *self.others]]
        data["leaf"] = self.leaf
        ids = {m["id"] for m in data["messages"]}
        data["chosen"] = {k: v for k, v in self.chosen.items() if v in ids and (not k or k in ids)}
        data["disabled_tools"] = list(self.disabled_tools)
        data["documents"] = [document_entry(d, stored) for d in self.documents]
        data["attached"] = list(self.attached)
        data["attached_pages"] = list(self.attached_pages)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Conversation":
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k not in ("messages", "others")}
        values["documents"] = [document_entry(d, from_data) for d in values.get("documents") or ()]
        nodes = [Message.from_dict(m, f"m{i}") for i, m in enumerate(data.get("messages") or ())]
        if "leaf" not in data:  # saved before trees: one branch, documents sent from its start
            conversation = cls(**values, messages=nodes)
            first = next((m for m in nodes if m.role == "user"), None)
            if first is not None and conversation.documents:
                first.documents, conversation.documents = conversation.documents + first.documents, []
            tree.relink(conversation)
            return conversation
        by_id = {m.id: m for m in nodes}
        leaf = by_id.get(data["leaf"])
        if leaf is None and data["leaf"] and nodes:  # a damaged file: show the newest branch
            leaf = max(nodes, key=lambda m: m.created_at)
        path, seen = [], set()
        while leaf is not None and leaf.id not in seen:
            seen.add(leaf.id)
            path.append(leaf)
            leaf = by_id.get(leaf.parent)
        path.reverse()
        return cls(**values, messages=path, others=[m for m in nodes if m.id not in seen])


def auto_title(text: str) -> str:
    """The title a conversation gets from its first question."""
    return one_line(text, 48)


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stats_of(message: Message) -> Stats | None:
    return message.stats
