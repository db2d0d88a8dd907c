"""Every cell the python tool runs, appended per user to ``<data_dir>/logs/cells/<owner>.jsonl``.

One JSON object a line: time (UTC, ISO 8601), owner, conversation id, code, outcome (a
``kernel_process.CellOutcome``: ``ok``, ``error``, ``timeout``, ``cancelled``, ``died``,
``processes``, ``memory``, ``disk``, ``disk-between-cells``) and duration in seconds. An
administrator of a hosted app can see who ran what; a line is written whole with one
``write`` on a file opened for appending, so concurrent sessions of one user do not interleave.
A failure to log is logged and never fails the cell.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")
_LOCK = threading.Lock()


def log_path(data_dir: Path, owner: str) -> Path:
    return Path(data_dir) / "logs" / "cells" / f"{safe_name(owner)}.jsonl"


def safe_name(owner: str) -> str:
    """A file name for ``owner`` that cannot leave the folder or clash with another owner's:
    readable characters kept, and a short hash of the exact name added whenever any had to go."""
    if not owner:
        return "anonymous"
    cleaned = _UNSAFE.sub("_", owner)[:64].lstrip(".")
    if cleaned == owner:
        return cleaned
    digest = hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{cleaned or 'user'}-{digest}"


def record(
    data_dir: Path, owner: str, conversation_id: str, code: str, outcome: str, duration_s: float
) -> None:
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "owner": owner,
        "conversation": conversation_id,
        "code": code,
        "outcome": outcome,
        "duration_s": round(duration_s, 3),
    }
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
    path = log_path(data_dir, owner)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
    except OSError as exc:
        log.warning("could not log a python cell to %s: %s", path, exc)


def read(data_dir: Path, owner: str) -> list[dict]:
    """The logged cells of ``owner``, oldest first."""
    path = log_path(data_dir, owner)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
