"""Share links: a read-only snapshot of the branch a conversation shows, under a random id.

A snapshot holds the shown branch only: its messages (with their reasoning, tool steps,
citations and the documents sent in it) and copies of its images and artifacts (previews and
rich outputs, under new ids). It never holds the other branches, documents uploaded and not
sent, the system prompt, files the Python kernel wrote (a page it wrote is there as its
preview), the owner's name or the conversation's own id (which opens the conversation itself). Later
changes to the conversation do not change it; its owner can revoke it (the link then reads
as one that never existed), and deleting the conversation revokes its links.

Who may open a link: without a login, whoever reaches the server; with one, the users of this
server, and anyone when the owner marked it public and the admin allows that
(``GLM4_PUBLIC_SHARES``): ``anyone_may_open``, asked through ``open_to_anyone`` by the
server's gate before the page loads and by the page's own gate (ui/login.py), and of the row
read by the page itself (ui/share.py).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .artifacts import saved
from .conversation import Conversation
from .messages import ImageRef, Message, new_id
from .notices import Notice
from .store import SHARES_DIR, ConversationStore

_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Share:
    id: str
    conversation_id: str
    owner: str
    public: bool
    created_at: float
    messages: int  # in the snapshot
    snapshot: Conversation | None = None  # read by ``get`` (a list of links does without it)


def create(store: ConversationStore, conversation: Conversation, public: bool = False) -> Share:
    """A new link to a snapshot of the branch ``conversation`` shows now."""
    share_id = secrets.token_urlsafe(16)
    snap = snapshot(conversation, store.files_dir / SHARES_DIR / share_id, store.path.parent)
    share = Share(share_id, conversation.id, conversation.owner, public, time.time(), len(snap.messages), snap)
    with closing(store._connect()) as db, db:
        store.index_artifacts(db, snap.messages, share_id=share_id)
        db.execute(
            "INSERT INTO shares (id, conversation_id, owner, public, created_at, data) VALUES (?, ?, ?, ?, ?, ?)",
            (share.id, share.conversation_id, share.owner, int(public), share.created_at,
             json.dumps(snap.to_dict(), ensure_ascii=False)),
        )
    return share


def get(store: ConversationStore, share_id: str) -> Share | None:
    """The share, or None when no such link exists (never did, or was revoked)."""
    if not isinstance(share_id, str) or not _ID.fullmatch(share_id):
        return None
    with closing(store._connect()) as db:
        row = db.execute(
            "SELECT id, conversation_id, owner, public, created_at, data FROM shares WHERE id = ?", (share_id,)
        ).fetchone()
    if row is None:
        return None
    snap = Conversation.from_dict(json.loads(row[5]))
    return Share(row[0], row[1], row[2], bool(row[3]), row[4], len(snap.messages), snap)


def anyone_may_open(public: bool, public_shares: str) -> bool:
    """Whether a link opens for someone not signed in under a login: its owner ticked
    "anyone" (``public``), and ``GLM4_PUBLIC_SHARES`` (``public_shares``) allows such links."""
    return public_shares == "true" and bool(public)


def open_to_anyone(store: ConversationStore, share_id: str | None, public_shares: str) -> bool:
    """Whether a link exists and ``anyone_may_open`` it. Read from the database: the URL
    only names the link."""
    if not anyone_may_open(True, public_shares):  # not even a public link may: no query
        return False
    if not isinstance(share_id, str) or not _ID.fullmatch(share_id):
        return False
    with closing(store._connect()) as db:
        row = db.execute("SELECT public FROM shares WHERE id = ?", (share_id,)).fetchone()
    return row is not None and anyone_may_open(row[0], public_shares)


def artifact_open_to_anyone(store: ConversationStore, artifact_id: str, public_shares: str) -> bool:
    """Whether an artifact is a copy in a share link that opens for anyone now (as
    ``open_to_anyone`` judges the link)."""
    if not anyone_may_open(True, public_shares):  # not even a public link may: no query
        return False
    with closing(store._connect()) as db:
        row = db.execute(
            "SELECT shares.public FROM artifacts JOIN shares ON shares.id = artifacts.share_id"
            " WHERE artifacts.id = ?",
            (artifact_id,),
        ).fetchone()
    return row is not None and anyone_may_open(row[0], public_shares)


def of_conversation(store: ConversationStore, conversation_id: str, owner: str) -> list[Share]:
    """The links an owner made to one conversation, newest first (without their snapshots)."""
    with closing(store._connect()) as db:
        rows = db.execute(
            "SELECT id, conversation_id, owner, public, created_at, json_array_length(data, '$.messages')"
            " FROM shares WHERE conversation_id = ? AND owner = ? ORDER BY created_at DESC",
            (conversation_id, owner),
        ).fetchall()
    return [Share(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]


def revoke(store: ConversationStore, share_id: str, owner: str) -> bool:
    """End a link (only its owner can); its snapshot and images are deleted."""
    with closing(store._connect()) as db, db:
        gone = db.execute("DELETE FROM shares WHERE id = ? AND owner = ?", (share_id, owner)).rowcount > 0
        if gone:
            db.execute("DELETE FROM artifacts WHERE share_id = ?", (share_id,))
    if gone:
        store.remove_files(f"{SHARES_DIR}/{share_id}")
    return gone


def snapshot(conversation: Conversation, media: Path, data_dir: Path) -> Conversation:
    """The branch shown, as a share holds it (see the module's docstring). Images found under
    ``data_dir`` are copied into ``media``; others are left out."""
    messages = []
    for n, original in enumerate(conversation.messages):
        message = copy.deepcopy(original)
        if message.files:
            message.files = []
            message.note = Notice("share.files_not_shared", note=message.note)
        _copy_media(message, media, data_dir, f"{n}")
        messages.append(message)
    return Conversation(
        id=new_id(),
        mode=conversation.mode,
        title=conversation.title,  # tree.py keeps an automatic title on the question shown
        messages=messages,
        disabled_tools=list(conversation.disabled_tools),
        fit_strategy=conversation.fit_strategy,
        thinking=conversation.thinking,
        created_at=conversation.created_at,
    )


def copy_for(share: Share, owner: str, files_dir: Path) -> Conversation:
    """"Continue in my chats": the snapshot as a new conversation of ``owner``, with its
    images copied into that conversation's own folder (revoking the link keeps them)."""
    copied = Conversation.from_dict(share.snapshot.to_dict())
    copied.id, copied.owner, copied.created_at = new_id(), owner, time.time()
    media = files_dir / copied.id
    for n, message in enumerate(copied.messages):
        _copy_media(message, media, files_dir / SHARES_DIR / share.id, f"{n}")
    return copied


def _copy_media(message: Message, media: Path, allowed: Path, prefix: str) -> None:
    """Point ``message`` at copies of its images and artifacts in ``media`` (which images are
    document pages follows); files not found under ``allowed`` are left out."""
    kept, moved = [], {}
    root = allowed.resolve()
    for i, image in enumerate(message.images):
        source = saved.file_inside(image.path, root)
        if source is None:
            continue  # gone, or not one of this app's files: never copied out
        media.mkdir(parents=True, exist_ok=True)
        target = media / f"{prefix}-{i}{source.suffix.lower()}"
        shutil.copyfile(source, target)
        kept.append(ImageRef(str(target), image.caption))
        moved[image.path] = str(target)
    message.images = kept
    message.pages = [moved[page] for page in message.pages if page in moved]
    saved.copy(message, media, allowed, moved)

