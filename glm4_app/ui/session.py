"""What a browser session keeps between script runs, typed and declared in one place.

``st.session_state`` is a dict of string keys; every key the app keeps there (apart from
widget values, which stay under their widget keys) is declared below once, with its type
and default, and read or written as an attribute: ``session.editing = conversation.id``.
Deleting an attribute forgets the value; ``session.forget`` does it from an ``on_click``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

import streamlit as st

if TYPE_CHECKING:
    from ..conversation import Conversation
    from ..documents_ocr import PageText
    from ..identity import Identity
    from ..notices import Notice
    from ..tools.toolbox import Toolbox

T = TypeVar("T")


class _Key(Generic[T]):
    """One session_state entry as a typed attribute. Mutable defaults are stored on first
    read, so ``session.image_errors.append(...)`` keeps what it appends."""

    def __init__(self, key: str, default: Callable[[], T]) -> None:
        self.key, self.default = key, default

    def __get__(self, obj: Any, owner: Any = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        state = st.session_state
        if self.key not in state:
            value = self.default()
            if value is None or isinstance(value, (bool, int, str)):
                return value
            state[self.key] = value
        return state[self.key]

    def __set__(self, obj: Any, value: T) -> None:
        st.session_state[self.key] = value

    def __delete__(self, obj: Any) -> None:
        st.session_state.pop(self.key, None)


@dataclass(frozen=True)
class VisionRefusal:
    """A Vision message the checkpoint's rules refused, kept to offer a way on."""

    conversation: str
    message: Notice
    offer_new_conversation: bool
    text: str


@dataclass
class ScannedUpload:
    """A Long document upload with no text layer, offered to the vision model (scanned.py)."""

    conversation: str
    name: str
    data: bytes
    model: str = ""  # the vision model reading it
    pages: list[Path] = field(default_factory=list)  # drawn as images when reading begins
    read: "list[PageText] | None" = None  # pages recognised; a list once reading began

    @property
    def interrupted(self) -> bool:
        """Reading began in an earlier run that a click (⏹ Stop) ended."""
        return self.read is not None


class Session:
    # -- the conversation loop
    answer_wanted = _Key[bool]("generate", bool)  # the next run should start an answer
    continue_wanted = _Key[bool]("continue", bool)  # ... carrying on the stopped last answer
    editing = _Key["str | None"]("editing", lambda: None)  # the id of the question being edited
    refusal = _Key["Notice | None"]("refusal", lambda: None)  # a per-user limit's notice, shown once
    history_start = _Key["dict[str, int]"]("history_start", dict)  # first bubble shown, per conversation
    # -- the sidebar's conversation list
    confirm_delete = _Key["str | None"]("confirm_delete", lambda: None)
    import_generation = _Key[int]("import_generation", int)  # bumped for a fresh, empty uploader
    # -- Long document and Vision uploads
    upload_generation = _Key[int]("upload_generation", int)
    document_errors = _Key["list[str]"]("document_errors", list)  # shown after the rerun an upload makes
    image_upload_generation = _Key[int]("image_upload_generation", int)
    image_errors = _Key["list[Notice]"]("image_errors", list)
    vision_refusal = _Key["VisionRefusal | None"]("vision_refusal", lambda: None)
    scanned_upload = _Key["ScannedUpload | None"]("scanned_pdf", lambda: None)
    # -- the UI language: chosen in the picker or the URL (not the picker's widget key, whose
    # state does not survive page switches), else GLM4_LANGUAGE resolved once per session
    language = _Key["str | None"]("ui_language", lambda: None)
    language_default = _Key["str | None"]("ui_language_default", lambda: None)
    # -- who is on this page (ui/identity.py decides it again on every run) and their account
    identity = _Key["Identity | None"]("identity", lambda: None)
    new_api_key = _Key["str | None"]("new_api_key", lambda: None)  # shown once, until dismissed
    removing_user = _Key["str | None"]("removing_user", lambda: None)  # an admin's removal to confirm
    # -- per-session objects
    toolbox = _Key["Toolbox | None"]("toolbox", lambda: None)
    current = _Key["Conversation | None"]("conversation", lambda: None)  # on the page drawn last

    def open_conversation(self, mode: str) -> Conversation | None:
        """Each mode keeps its open conversation across page switches."""
        return st.session_state.get(_open_key(mode))

    def set_open_conversation(self, mode: str, conversation: Conversation) -> None:
        st.session_state[_open_key(mode)] = conversation

    def forget(self, name: str) -> None:
        """``delattr`` for ``on_click``: ``on_click=session.forget, args=("editing",)``."""
        delattr(self, name)

    def yield_point(self) -> None:
        """Let Streamlit end this script run here if a click or a closed tab asked it to
        (it checks on every session_state access); a page that only waits on a live answer
        would otherwise notice a Stop click only at its next draw."""
        _ = "generate" in st.session_state


def _open_key(mode: str) -> str:
    return f"conversation_{mode}"


session = Session()
