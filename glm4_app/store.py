"""Conversations persist in SQLite, so a page refresh or a restart loses nothing."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from .conversation import Conversation

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
"""


class ConversationStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per call: Streamlit runs each session in its own thread.
        return sqlite3.connect(self.path, timeout=10)

    def save(self, conversation: Conversation) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO conversations (id, mode, owner, title, data, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title=excluded.title, data=excluded.data,"
                " updated_at=excluded.updated_at",
                (
                    conversation.id,
                    conversation.mode,
                    conversation.owner,
                    conversation.title,
                    json.dumps(conversation.to_dict(), ensure_ascii=False),
                    time.time(),
                ),
            )

    def load(self, conversation_id: str) -> Conversation | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT data FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return Conversation.from_dict(json.loads(row[0])) if row else None

    def recent(self, mode: str, owner: str, limit: int = 30) -> list[tuple[str, str]]:
        """(id, title) of one owner's latest conversations of a mode, newest first."""
        with closing(self._connect()) as db:
            return db.execute(
                "SELECT id, title FROM conversations WHERE mode = ? AND owner = ?"
                " ORDER BY updated_at DESC LIMIT ?",
                (mode, owner, limit),
            ).fetchall()

    def delete(self, conversation_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
