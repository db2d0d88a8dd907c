"""Only the app reads its data: another uid (a root app's kernel outside the sandbox runs as a
uid of its own) can neither list the data directory nor read the databases, the logs or other
sessions' folders, even inside a folder readable by anyone, as a real deployment's is."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from glm4_app import data_dir
from glm4_app.accounts import AccountStore
from glm4_app.conversation import Conversation
from glm4_app.settings import Settings
from glm4_app.store import ConversationStore
from glm4_app.tools import cell_log
from glm4_app.tools.confinement import allocate_uid, release_uid
from glm4_app.tools.python_tool import PythonTool


@pytest.fixture
def deployment():
    """A checkout's folder, readable by anyone (pytest's own temporary folders are 0700, which
    would hide everything inside from other users whatever its modes)."""
    root = Path(tempfile.mkdtemp(prefix="glm4-deployment-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


@pytest.fixture
def other_uid():
    if os.geteuid() != 0:
        yield None  # cannot become another user: the modes are checked instead
        return
    uid = allocate_uid()
    yield uid
    release_uid(uid)


def reads(uid: int | None, path: Path) -> bool:
    """Whether a process of another uid can read ``path`` (list it, for a folder)."""
    if uid is None:
        searchable = all(p.stat().st_mode & 0o001 for p in path.parents)
        return bool(path.stat().st_mode & 0o004) and searchable
    cmd = ["ls", str(path)] if path.is_dir() else ["cat", str(path)]
    done = subprocess.run(cmd, user=uid, group=uid, extra_groups=[], capture_output=True)
    return done.returncode == 0


def fill(data: Path) -> list[Path]:
    """A data directory in use: both databases, a cell log, two sessions' folders."""
    ConversationStore(data / "conversations.sqlite3").save(
        Conversation(mode="tools", owner="bob", messages=[{"role": "user", "content": "secret"}])
    )
    AccountStore(data / "conversations.sqlite3").add_user("bob", "correct horse battery")
    cell_log.record(data, "bob", "c1", "print('secret')", "ok", 0.1)
    settings = Settings().with_(data_dir=data)
    bob = PythonTool(settings, data / "workspaces" / "bob")
    (bob.workdir / "private.txt").write_text("bob's file")
    PythonTool(settings, data / "workspaces" / "alice")
    return [
        data,
        data / "conversations.sqlite3",
        data / "conversations.sqlite3-wal",
        data / "workspaces",
        data / "workspaces" / "bob" / "private.txt",
        data / "logs",
        cell_log.log_path(data, "bob"),
        data / "media",
    ]


def test_another_uid_reads_nothing_of_the_data_directory(deployment, other_uid):
    (deployment / "README.md").write_text("public")
    assert reads(other_uid, deployment / "README.md")  # the other uid does read what it may
    paths = fill(deployment / "data")
    with sqlite3.connect(paths[1]) as serving:  # while the app runs, SQLite keeps its WAL file
        serving.execute("SELECT count(*) FROM conversations").fetchone()
        for path in paths:
            assert path.exists(), path
            assert not reads(other_uid, path), f"{path} is readable by another user"
    # A session's own kernel (with its uid) still reaches its folder by path.
    passage = [deployment / "data", deployment / "data" / "workspaces"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o711 for p in passage)


def test_a_shared_folder_is_left_as_it_is(deployment):
    shared = deployment / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    data_dir.prepare(shared)
    data_dir.private_folder(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_a_data_directory_made_loose_is_tightened_when_opened(deployment, other_uid):
    data = deployment / "data"
    data.mkdir(mode=0o755)
    (data / "media").mkdir(mode=0o755)
    db = data / "conversations.sqlite3"
    with sqlite3.connect(db) as connection:  # as an older version left it: 0644 and a WAL
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
    for path in (data, data / "media", db):
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert reads(other_uid, db)
    ConversationStore(db).save(Conversation(mode="chat", owner="bob"))
    for path in (data, data / "media", *data.glob("conversations.sqlite3*")):
        assert not reads(other_uid, path), f"{path} is readable by another user"
