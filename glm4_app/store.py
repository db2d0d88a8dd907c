"""Conversations persist in SQLite, so a page refresh or a restart loses nothing.

Each save is its own committed transaction (WAL journal), so a server killed mid-answer keeps
everything saved before that answer. Old database files are upgraded in place on open
(``PRAGMA user_version`` counts the migrations applied). A conversation is one row holding its
whole tree as JSON (every message with its parent, and the leaf shown: see conversation.py);
share links are rows of their own, holding a snapshot (shares.py). The ``artifacts`` table
says which file each previewed artifact id stands for (kept in step with the conversations
and shares that hold them; see glm4_app/artifacts).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from contextlib import closing
from functools import lru_cache
from pathlib import Path

from .artifacts.saved import file_inside, framed
from .conversation import Conversation
from .data_dir import private_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_recent ON conversations (owner, mode, updated_at DESC);
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    public INTEGER NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shares_of ON shares (conversation_id);
CREATE TABLE IF NOT EXISTS artifacts (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL DEFAULT '',
    share_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS artifacts_of ON artifacts (conversation_id, share_id);
"""
# 1: conversations; 2: + search_text (titles and message text, lower case); 3: conversations
# as trees (messages with parents, a leaf), + shares.
SCHEMA_VERSION = 3
SHARES_DIR = "_shares"  # under files_dir: the images of share snapshots, one folder per link


class ConversationStore:
    def __init__(self, path: Path, files_dir: Path | None = None) -> None:
        self.path = Path(path)
        # Files a conversation made (plots, images) live in files_dir/<conversation id>/.
        self.files_dir = Path(files_dir) if files_dir else self.path.parent / "media"
        private_database(self.path)  # the app's alone, not a kernel's with a uid of its own
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.executescript(_SCHEMA)
            _migrate(db)

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per call: Streamlit runs each session in its own thread.
        return sqlite3.connect(self.path, timeout=10)

    def save(self, conversation: Conversation) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO conversations (id, mode, owner, title, data, updated_at, search_text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title=excluded.title, data=excluded.data,"
                " updated_at=excluded.updated_at, search_text=excluded.search_text",
                (
                    conversation.id,
                    conversation.mode,
                    conversation.owner,
                    conversation.title,
                    json.dumps(conversation.to_dict(), ensure_ascii=False),
                    time.time(),
                    search_text(conversation),
                ),
            )
            self.index_artifacts(db, [*conversation.messages, *conversation.others], conversation_id=conversation.id)

    def index_artifacts(self, db: sqlite3.Connection, messages: list, conversation_id: str = "", share_id: str = "") -> None:
        """Make the artifact rows of a conversation (or a share) those its messages hold, for
        files of this store only (inside the caller's transaction)."""
        db.execute("DELETE FROM artifacts WHERE conversation_id = ? AND share_id = ?", (conversation_id, share_id))
        root = self.files_dir.resolve()
        rows = [
            (a.id, conversation_id, share_id, a.kind, a.path, a.title)
            for a in framed(messages)
            # as artifact() reads them back: a row for a missing file could never be served
            if file_inside(a.path, root) is not None
        ]
        db.executemany("INSERT OR REPLACE INTO artifacts (id, conversation_id, share_id, kind, path, title) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def artifact(self, artifact_id: str) -> tuple[str, Path, str] | None:
        """(kind, file, title) of a previewed artifact, when its file is one of this store's."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT kind, path, title FROM artifacts WHERE id = ?", (artifact_id,)).fetchone()
        if row is None:
            return None
        path = file_inside(row[1], self.files_dir.resolve())
        return (row[0], path, row[2]) if path is not None else None

    def load(self, conversation_id: str) -> Conversation | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT data FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return Conversation.from_dict(json.loads(row[0])) if row else None

    def recent(self, mode: str, owner: str, limit: int = 30, query: str = "") -> list[tuple[str, str]]:
        """(id, title) of one owner's latest conversations of a mode, newest first; with a
        query, only those whose title or messages contain it (any case)."""
        return [(cid, title) for cid, title, _ in self.listing(mode, owner, limit, query)]

    def listing(self, mode: str, owner: str, limit: int = 30, query: str = "") -> list[tuple[str, str, float]]:
        """``recent`` with each conversation's last change (seconds since the epoch)."""
        sql = "SELECT id, title, updated_at FROM conversations WHERE mode = ? AND owner = ?"
        args: list = [mode, owner]
        if query.strip():
            sql += " AND search_text LIKE ? ESCAPE '\\'"
            args.append("%" + _escape_like(query.strip().lower()) + "%")
        with closing(self._connect()) as db:
            return db.execute(sql + " ORDER BY updated_at DESC LIMIT ?", (*args, limit)).fetchall()

    def rename(self, conversation_id: str, owner: str, title: str) -> bool:
        """Give a conversation a new title; False when it is not this owner's or the title is blank."""
        title = " ".join(title.split())
        conversation = self.load(conversation_id)
        if not title or conversation is None or conversation.owner != owner:
            return False
        conversation.title = title
        self.save(conversation)
        return True

    def reassign_owner(self, old: str, new: str) -> int:
        """Give every conversation of ``old`` to ``new`` (a visitor adopting an old ``?u=`` link),
        with the share links made of them; how many conversations moved. Their order in the
        sidebar stays as it was."""
        with closing(self._connect()) as db, db:
            rows = db.execute("SELECT id, data FROM conversations WHERE owner = ?", (old,)).fetchall()
            for conversation_id, data in rows:
                moved = {**json.loads(data), "owner": new}
                db.execute(
                    "UPDATE conversations SET owner = ?, data = ? WHERE id = ?",
                    (new, json.dumps(moved, ensure_ascii=False), conversation_id),
                )
            db.execute("UPDATE shares SET owner = ? WHERE owner = ?", (new, old))
        return len(rows)

    def delete(self, conversation_id: str, owner: str | None = None) -> bool:
        """Delete a conversation, its files and its share links; with ``owner``, only if it
        is theirs."""
        sql, args = "DELETE FROM conversations WHERE id = ?", [conversation_id]
        if owner is not None:
            sql, args = sql + " AND owner = ?", [conversation_id, owner]
        with closing(self._connect()) as db, db:
            deleted = db.execute(sql, args).rowcount > 0
            shares = [row[0] for row in db.execute("SELECT id FROM shares WHERE conversation_id = ?", [conversation_id])]
            if deleted:
                db.execute("DELETE FROM shares WHERE conversation_id = ?", [conversation_id])
                db.execute("DELETE FROM artifacts WHERE conversation_id = ?", [conversation_id])
                db.executemany("DELETE FROM artifacts WHERE share_id = ?", [(s,) for s in shares])
        if deleted:
            self.remove_files(conversation_id)
            for share_id in shares:
                self.remove_files(f"{SHARES_DIR}/{share_id}")
        return deleted

    def remove_files(self, folder: str) -> None:
        """Delete a folder of files_dir (a conversation's, a share's), never anything else."""
        files = (self.files_dir / folder).resolve()
        if folder and files.is_dir() and self.files_dir.resolve() in files.parents:
            shutil.rmtree(files, ignore_errors=True)


@lru_cache(maxsize=8)
def shared(path: Path) -> ConversationStore:
    """One store per database file and process, shared by the routes and every page session
    (opening one upgrades the file: once, not per request). A store holds no state beyond its
    paths: each call opens its own connection."""
    return ConversationStore(path)


def search_text(conversation: Conversation) -> str:
    """What a search looks in: the title, every message of every branch, document names."""
    everything = [*conversation.messages, *conversation.others]
    parts = [conversation.title]
    parts += [m.content for m in everything]
    parts += [d.get("name", "") for m in everything for d in m.documents]
    parts += [d.get("name", "") for d in conversation.documents]
    return "\n".join(parts).lower()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _migrate(db: sqlite3.Connection) -> None:
    """Upgrade an older file in place, in one transaction: all of it or (on a crash) none."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    with db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
        if "search_text" not in columns:
            db.execute("ALTER TABLE conversations ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
        if version < 3:
            # Flat message lists become single-branch trees (parents, leaf; a conversation's
            # documents go with its first question), written in the form this version saves.
            for cid, data in db.execute("SELECT id, data FROM conversations").fetchall():
                conversation = Conversation.from_dict(json.loads(data))
                db.execute(
                    "UPDATE conversations SET data = ?, search_text = ? WHERE id = ?",
                    (json.dumps(conversation.to_dict(), ensure_ascii=False), search_text(conversation), cid),
                )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
