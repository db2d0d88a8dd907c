"""Accounts, sign-in sessions and API keys, in the SQLite file that holds the conversations.

- A user has a name (case-insensitive, kept as typed for display), an Argon2id password hash
  (argon2-cffi's defaults, RFC 9106's second recommendation) and a role, ``admin`` or ``user``.
  Their conversations belong to ``auth.password_owner(name)`` (``user:<name>``), the owner key
  the shared-password mode used, so a database from that mode keeps its conversations.
- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored, so a copy of
  the database signs nobody in. It expires after ``GLM4_SESSION_DAYS``.
- An API key (``sk-glm4-...``) belongs to an owner key (a password user, a proxy-signed-in
  user, an OIDC user); it is stored hashed too and shown once, when created.

No Streamlit here: the sign-in routes (glm4_app/server), the page (glm4_app/ui) and the
``python -m glm4_app.users`` command share this module.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .auth import password_owner, user_name_problem
from .data_dir import private_database
from .notices import Notice, NoticeError

ROLES = ("admin", "user")
KEY_PREFIX = "sk-glm4-"
MIN_PASSWORD = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    key TEXT PRIMARY KEY,          -- the name in lower case
    name TEXT NOT NULL,            -- as typed, for display
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_key);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,           -- an owner key: user:alice, oidc:..., as conversations use
    label TEXT NOT NULL,
    shown TEXT NOT NULL,           -- the first characters, to tell keys apart in lists
    key_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    last_used_at REAL
);
CREATE INDEX IF NOT EXISTS api_keys_by_owner ON api_keys (owner);
"""


class AccountError(NoticeError, ValueError):
    """A refused change (name taken, password too short, ...); its notice says which."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def owner(self) -> str:
        return password_owner(self.name)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ApiKey:
    id: int
    owner: str
    label: str
    shown: str  # "sk-glm4-AbCd…"
    created_at: float
    last_used_at: float | None


def _digest(secret: str) -> str:
    # Tokens and keys are 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(name: str) -> str:
    return name.strip().lower()


class AccountStore:
    def __init__(
        self,
        path: Path,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        private_database(self.path)  # the app's alone, not a kernel's with a uid of its own
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        # Verifying against this when a name is unknown keeps "no such user" as slow as
        # "wrong password", so timing does not reveal which names exist.
        self._dummy_hash = self.hasher.hash(secrets.token_hex(8))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)  # one per call: every request is a thread

    # -- users --------------------------------------------------------------------------------

    def add_user(
        self, name: str, password: str, role: str = "user", only_if_none: bool = False
    ) -> User:
        """Create an account. ``only_if_none``: only while there are no accounts at all (the
        first sign-up), checked in the same transaction so two first sign-ups cannot both win."""
        name = name.strip()
        problem = user_name_problem(name) or password_problem(password)
        if problem:
            raise AccountError(problem)
        if role not in ROLES:
            raise AccountError(Notice("accounts.role", roles=ROLES))
        hashed = self.hasher.hash(password)
        with closing(self._connect()) as db, db:
            sql = "INSERT OR IGNORE INTO users (key, name, password_hash, role, created_at) SELECT ?, ?, ?, ?, ?"
            if only_if_none:
                sql += " WHERE NOT EXISTS (SELECT 1 FROM users)"
            added = db.execute(sql, (_key(name), name, hashed, role, self.clock())).rowcount
        if not added:
            if only_if_none and self.count_users():
                raise AccountError(Notice("accounts.sign_up_closed"))
            raise AccountError(Notice("accounts.name_taken", name=name))
        return User(name, role)

    def remove_user(self, name: str) -> bool:
        """Delete an account with its sessions and API keys (its conversations stay, owned by
        the same name, should the account be created again)."""
        key = _key(name)
        with closing(self._connect()) as db, db:
            removed = db.execute("DELETE FROM users WHERE key = ?", (key,)).rowcount > 0
            db.execute("DELETE FROM sessions WHERE user_key = ?", (key,))
            db.execute("DELETE FROM api_keys WHERE owner = ?", (password_owner(name),))
        return removed

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the user ends (a stolen one included)."""
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
        with closing(self._connect()) as db, db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE key = ?",
                (self.hasher.hash(password), _key(name)),
            ).rowcount
            db.execute("DELETE FROM sessions WHERE user_key = ?", (_key(name),))
        if not changed:
            raise AccountError(Notice("accounts.no_such_user", name=name.strip()))

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise AccountError(Notice("accounts.role", roles=ROLES))
        with closing(self._connect()) as db, db:
            if not db.execute(
                "UPDATE users SET role = ? WHERE key = ?", (role, _key(name))
            ).rowcount:
                raise AccountError(Notice("accounts.no_such_user", name=name.strip()))

    def user(self, name: str) -> User | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT name, role FROM users WHERE key = ?", (_key(name),)).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        with closing(self._connect()) as db:
            return [User(*row) for row in db.execute("SELECT name, role FROM users ORDER BY key")]

    def count_users(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (as slow for unknown names)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT name, role, password_hash FROM users WHERE key = ?", (_key(name),)
            ).fetchone()
        try:
            self.hasher.verify(row[2] if row else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row[2]):  # stronger defaults since it was hashed
            with closing(self._connect()) as db, db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE key = ?",
                    (self.hasher.hash(password), _key(name)),
                )
        return User(row[0], row[1])

    # -- sessions -----------------------------------------------------------------------------

    def start_session(self, user: User, days: float) -> str:
        """A new session token for the cookie (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))  # housekeeping
            db.execute(
                "INSERT INTO sessions (token_hash, user_key, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_digest(token), _key(user.name), now, now + days * 86400),
            )
        return token

    def session_user(self, token: str | None) -> User | None:
        """Whose session this is; None for a missing, forged, expired or ended session, or
        one whose user was removed."""
        if not token or len(token) > 200:
            return None
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT u.name, u.role FROM sessions s JOIN users u ON u.key = s.user_key"
                " WHERE s.token_hash = ? AND s.expires_at > ?",
                (_digest(token), self.clock()),
            ).fetchone()
        return User(*row) if row else None

    def end_session(self, token: str | None) -> None:
        if token:
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def end_all_sessions(self, name: str) -> int:
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM sessions WHERE user_key = ?", (_key(name),)).rowcount

    # -- API keys -----------------------------------------------------------------------------

    def create_api_key(self, owner: str, label: str = "") -> tuple[str, ApiKey]:
        """A new key for ``owner``: (the key, shown once; its record)."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        label = " ".join(label.split())[:80] or "API key"
        shown = secret[: len(KEY_PREFIX) + 4] + "…"
        now = self.clock()
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO api_keys (owner, label, shown, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (owner, label, shown, _digest(secret), now),
            )
        return secret, ApiKey(cursor.lastrowid, owner, label, shown, now, None)

    def api_keys(self, owner: str | None = None) -> list[ApiKey]:
        """One owner's keys (every key with None), newest first."""
        sql = "SELECT id, owner, label, shown, created_at, last_used_at FROM api_keys"
        args: tuple = ()
        if owner is not None:
            sql, args = sql + " WHERE owner = ?", (owner,)
        with closing(self._connect()) as db:
            return [ApiKey(*row) for row in db.execute(sql + " ORDER BY id DESC", args)]

    def revoke_api_key(self, key_id: int, owner: str | None = None) -> bool:
        """Delete a key; with ``owner``, only if it is theirs (nobody revokes another's key)."""
        sql, args = "DELETE FROM api_keys WHERE id = ?", [key_id]
        if owner is not None:
            sql, args = sql + " AND owner = ?", [key_id, owner]
        with closing(self._connect()) as db, db:
            return db.execute(sql, args).rowcount > 0

    def api_key_owner(self, secret: str | None) -> str | None:
        """The owner key of a valid API key, else None. A key of a removed password user is
        gone with the account; its last use is recorded (at most once a minute)."""
        if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        digest, now = _digest(secret), self.clock()
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT owner, last_used_at FROM api_keys WHERE key_hash = ?", (digest,)
            ).fetchone()
        if row is None:
            return None
        if row[1] is None or now - row[1] > 60:
            with closing(self._connect()) as db, db:
                db.execute("UPDATE api_keys SET last_used_at = ? WHERE key_hash = ?", (now, digest))
        return row[0]

    # -- the shared-password era ----------------------------------------------------------------

    def legacy_names(self) -> list[str]:
        """Names that own conversations from the shared-password mode but have no account."""
        with closing(self._connect()) as db:
            try:
                owners = [row[0] for row in db.execute("SELECT DISTINCT owner FROM conversations")]
            except sqlite3.OperationalError:  # no conversations table: a fresh database
                return []
        names = sorted({o.removeprefix("user:") for o in owners if o.startswith("user:")})
        return [n for n in names if self.user(n) is None and not user_name_problem(n)]


def password_problem(password: str) -> Notice | None:
    if len(password) < MIN_PASSWORD:
        return Notice("accounts.password_short", count=MIN_PASSWORD)
    if len(password) > 1024:
        return Notice("accounts.password_long", count=1024)
    return None


def new_password() -> str:
    """A random password for an account an admin creates for someone (``users migrate``)."""
    return secrets.token_urlsafe(12)


@lru_cache(maxsize=8)
def shared(path: Path) -> AccountStore:
    """One store per database file and process, shared by the routes and every page session."""
    return AccountStore(path)


def store_for(settings) -> AccountStore:
    return shared(settings.database)
