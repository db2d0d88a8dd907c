"""The messages a conversation is made of, as typed data.

One ``Message`` per turn part: a user message, an assistant's prose or answer, a tool call
(an assistant message whose ``metadata`` is the tool name) and its observation. Each has a
stable ``id``; ``parent`` names the message before it in its branch (conversations are trees:
see tree.py), and ``created_at`` orders the versions of a message (siblings) as they came.

``to_dict`` writes the JSON stored since the first version (only the fields that are set, plus
``id``), and ``from_dict`` reads every earlier form: messages saved without an id get one
from their position, and keys this version does not know are kept as they were. An error or a
note (and an observation's notices) is stored as a notice's data (notices.py), so it reads in
the reader's language; files from before notices hold English sentences, shown as they are.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from .events import Stats
from .notices import Notice, from_data, stored, word
from .tool_types import Citation

Role = Literal["system", "user", "assistant", "observation"]


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class ImageRef:
    """An image file kept beside the conversations database (an attachment or a plot)."""

    path: str
    caption: str = ""


@dataclass
class Artifact:
    """Something the model made that the page shows richer than text (see glm4_app/artifacts):
    a web page, SVG or mermaid diagram written in an answer or by the python tool, previewed
    in a sandboxed frame; or one rich output of a code cell (a table, Markdown, LaTeX, JSON,
    a figure), in the order the cell made it. Its file lies in the conversation's media folder.
    """

    kind: str  # html | svg | mermaid (framed); table | markdown | latex | json | image; omitted
    path: str = ""  # the file ("" for ``omitted``); for ``image``, the figure in ``images``
    id: str = ""  # what /artifact/<id> serves (framed kinds): random, never derived from anything
    title: str = ""
    key: str = ""  # the versions of one artifact across turns share it
    block: int | None = None  # an answer's artifact: which of its fenced blocks it is
    size: int = 0  # bytes of the file; for ``omitted``, of the output that was too large


@dataclass
class Message:
    role: Role
    content: str = ""
    id: str = field(default_factory=new_id)
    parent: str = ""  # the id of the message before this one in its branch; "" for the first
    created_at: float = field(default_factory=time.time)  # 0.0: saved before trees (order unknown)
    metadata: str = ""  # a tool call's tool name; an observation's kind ("browser_result", ...)
    # Thinking (GLM-Z1, GLM-4.5+), shown folded. Sent back only where the template keeps it:
    # GLM-4.5's keeps the thinking of the answer being written (its tool steps), no other.
    reasoning: str = ""
    images: list[ImageRef] = field(default_factory=list)  # user attachments; a step's figures
    # Long document: the files uploaded with this question, as the documents panel keeps them
    # ({"name", "kind", "pages", "text", "bytes", "tokens"}); the prompt lays them out in it.
    documents: list[dict] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # which of a user's images are document pages
    step: int | None = None  # a tool call: the model output that made it (parallel calls share it)
    files: list[str] = field(default_factory=list)  # files a tool step wrote (downloads)
    citations: list[Citation] = field(default_factory=list)  # pages the browser opened
    artifacts: list[Artifact] = field(default_factory=list)  # previews and rich outputs, in order
    display: str | None = None  # what the user sees of an observation, when not ``content``
    is_error: bool = False  # a failed tool step
    stats: Stats | None = None
    stopped: bool = False  # the answer (or tool step) was stopped; what it holds is kept
    partial: bool = False  # saved while the answer was still being written (see turns.py)
    error: Notice | str = ""  # a Notice; str: an exception's text, or a file saved before notices
    note: Notice | str = ""  # e.g. what was cut to fit the context
    model: str = ""
    params: dict | None = None
    call_id: str = ""  # the API's id of a native tool call, on the call and its observation
    not_run: str = ""  # an observation of a call to a tool switched off ("switched_off") or unknown
    notices: list[Notice] = field(default_factory=list)  # an observation's words for the user (shown_in)
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer version, kept

    @property
    def is_tool_call(self) -> bool:
        return self.role == "assistant" and bool(self.metadata)

    @property
    def is_answer(self) -> bool:
        """Prose or a final answer of the assistant (not a tool call)."""
        return self.role == "assistant" and not self.metadata

    @property
    def shown(self) -> str:
        return self.content if self.display is None else self.display

    def shown_in(self, lang: str) -> str:
        """``shown`` for a reader of ``lang``: the English of each notice (what the model read)
        worded in that language. A step saved before notices shows its text as it was."""
        shown = self.shown
        for notice in self.notices:
            shown = shown.replace(str(notice), word(notice, lang))
        return shown

    def prompt(self, reasoning: bool = True) -> dict:
        """This message as a backend reads it (see generation.Message); ``reasoning``: with
        the thinking, for templates that keep it (GLM-4.5's, in the answer being written)."""
        out: dict = {"role": self.role, "content": self.content}
        if self.metadata:
            out["metadata"] = self.metadata
        if self.call_id:
            out["call_id"] = self.call_id
        if self.step is not None:
            out["step"] = self.step  # calls of one output go back as one turn (formats/glm45.py)
        if reasoning and self.role == "assistant" and self.reasoning:
            out["reasoning"] = self.reasoning
        if self.role == "user" and self.images:
            out["images"] = [image.path for image in self.images]
        return out

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"role": self.role, "content": self.content, "id": self.id}
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value in (None, "", False, [], {}):
                continue
            if name == "images":
                # A user's attachments were stored as paths, a step's figures as objects.
                value = [i.path if self.role == "user" and not i.caption else asdict(i) for i in value]
            elif name == "citations":
                value = [asdict(c) for c in value]
            elif name == "artifacts":
                value = [{k: v for k, v in asdict(a).items() if v not in (None, "") and (v or k != "size")} for a in value]
            elif name == "stats":
                value = asdict(value)
            elif name == "params":
                value = dict(value)
            elif name == "documents":
                value = [document_entry(d, stored) for d in value]
            elif name in ("error", "note"):
                value = stored(value)
            elif name == "notices":
                value = [stored(n) for n in value]
            out[name] = value
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict, fallback_id: str | None = None) -> "Message":
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["images"] = [
            ImageRef(i) if isinstance(i, str) else ImageRef(i["path"], i.get("caption") or "")
            for i in data.get("images") or ()
        ]
        values["citations"] = [Citation(**c) for c in data.get("citations") or ()]
        values["artifacts"] = [_artifact(a) for a in data.get("artifacts") or () if isinstance(a, dict)]
        values["files"] = [str(p) for p in data.get("files") or ()]
        values["documents"] = [document_entry(d, from_data) for d in data.get("documents") or ()]
        values["created_at"] = float(data.get("created_at") or 0.0)
        values["parent"] = data.get("parent") or ""
        values["pages"] = [str(p) for p in data.get("pages") or ()]
        values["stats"] = _stats(data.get("stats"))
        values["error"] = from_data(data.get("error") or "")
        values["note"] = from_data(data.get("note") or "")
        values["notices"] = [n for n in map(from_data, data.get("notices") or ()) if isinstance(n, Notice)]
        values["id"] = data.get("id") or fallback_id or new_id()
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})


_OPTIONAL = [
    f.name for f in fields(Message) if f.name not in ("role", "content", "id", "extra")
]


def document_entry(doc: dict, convert) -> dict:
    """A copy of a document entry, its notes (notices) converted for storage or from it."""
    out = dict(doc)
    if out.get("notes"):
        out["notes"] = [convert(note) for note in out["notes"]]
    return out


def _artifact(data: dict) -> Artifact:
    known = {f.name for f in fields(Artifact)}
    return Artifact(**{k: v for k, v in data.items() if k in known})


def _stats(data: dict | None) -> Stats | None:
    if not data:
        return None
    try:
        return Stats(**data)
    except TypeError:  # a field renamed or added since: keep the message, drop its numbers
        return None


def answered(messages: list[Message], index: int) -> bool:
    """Whether the user message at ``index`` got an answer with any words in it (prose, a
    tool call, an observation) before the next user message."""
    for message in messages[index + 1 :]:
        if message.role == "user":
            return False
        if message.content:
            return True
    return False


def turn_groups(messages: list[Message]) -> list[tuple[str, list[Message]]]:
    """Bubbles: each user message alone; the assistant's messages of a turn (prose, tool
    steps, answer) together."""
    groups: list[tuple[str, list[Message]]] = []
    for message in messages:
        role = "user" if message.role == "user" else "assistant"
        if role == "assistant" and groups and groups[-1][0] == "assistant":
            groups[-1][1].append(message)
        else:
            groups.append((role, [message]))
    return groups
