"""The data directory's permissions: what the app keeps there is readable by the app alone.

A root app's kernel may run outside the sandbox as a uid of its own (python_tool.py). It must
still reach its session's folder (``workspaces/<random id>``) by path, so the data directory
and ``workspaces`` let other users pass through (0711) but not list them; every other folder
there is 0700 and the databases 0600, whatever the umask. Existing ones are tightened when
the app opens them, so a data directory made by an older version is closed too; a folder
shared with others (such as /tmp, should it be named) is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PASS_THROUGH = 0o711  # others may open a folder inside whose name they know, not list
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
_PASSAGES = ("workspaces",)  # leads to the session folders, each 0700 and owned by its uid
_PRIVATE = ("media", "logs")  # conversations' images and files, cell logs


def prepare(data_dir: Path) -> Path:
    """Create ``data_dir`` and its usual folders with the modes above, or tighten them."""
    data_dir = Path(data_dir)
    _folder(data_dir, PASS_THROUGH)
    for name in _PASSAGES:
        _folder(data_dir / name, PASS_THROUGH)
    for name in _PRIVATE:
        _folder(data_dir / name, PRIVATE_FOLDER)
    return data_dir


def private_database(path: Path) -> Path:
    """Create the SQLite file ``path`` (with its folder) readable by its owner only, or tighten
    it and its journal files. SQLite gives the journal files it creates the database's mode."""
    path = Path(path)
    prepare(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077:
                file.chmod(PRIVATE_FILE)
    return path


def private_folder(folder: Path) -> Path:
    """A folder (a session's) only its owner may enter."""
    _folder(Path(folder), PRIVATE_FOLDER)
    return Path(folder)


def _folder(folder: Path, mode: int) -> None:
    """``folder`` with ``mode``: made so, or tightened if it is the app's own. A folder shared
    with others (world-writable or sticky, as /tmp) or another user's is left as it is."""
    try:
        folder.mkdir(mode=mode, parents=True)
    except FileExistsError:
        found = folder.stat()
        if found.st_uid != os.geteuid() or found.st_mode & (stat.S_ISVTX | 0o002):
            return
    if stat.S_IMODE(folder.stat().st_mode) != mode:  # made earlier, or by the umask
        folder.chmod(mode)
