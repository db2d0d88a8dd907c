"""The tools of one browser session, built from settings, and the reaper of idle kernels.

Each session gets its own Python kernel (warmed up at once, so the first call does not wait
for it), its own browser state and its own local MCP servers; remote MCP servers are shared
(see mcp_servers/session.py). Kernels and local MCP servers of sessions that went away or sat
idle are shut down by a process-wide reaper thread: a closed tab's session may never be
garbage-collected, so idleness is what ends its processes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from pathlib import Path

from ..data_dir import prepare, private_folder
from ..notices import Notice
from ..settings import Settings
from .base import Tool, Unavailable
from .browser import BrowserTool
from .functions import load_tools_dir
from .image import ImageTool, available as image_available
from .kernel_process import IDLE_DISK_WATCH_S
from .mcp_servers import McpSession
from .python_tool import PythonTool
from .sandbox import kernel_policy
from .search import not_configured_reason

log = logging.getLogger(__name__)
REAP_EVERY_S = 60.0


class Toolbox:
    def __init__(
        self, settings: Settings, workdir: Path | None = None, hosted: bool = False
    ) -> None:
        self.settings = settings
        if workdir is None:
            workdir = prepare(settings.data_dir) / "workspaces" / uuid.uuid4().hex[:12]
        self.workdir = private_folder(workdir)  # no other uid enters it (a neighbour's kernel)
        self.local_tools: dict[str, Tool] = {}  # built-ins and user functions
        self.unavailable: list[Unavailable] = []
        # Hosted: the kernel runs sandboxed, or not at all unless explicitly allowed (sandbox.py).
        policy = kernel_policy(settings, hosted)
        self.kernel_notice = policy.notice  # for the UI: how (or why not) Python runs
        self.python: PythonTool | None = None
        if policy.available:
            self.python = PythonTool(settings, self.workdir, policy.sandboxed, policy.network)
            self.python.start()  # warm, so the first call answers at once
            self.local_tools["python"] = self.python
        else:
            self.unavailable.append(Unavailable("python", policy.off_reason))
        self.local_tools["simple_browser"] = BrowserTool(settings)
        search_off = not_configured_reason(settings)
        if search_off:
            self.unavailable.append(Unavailable("search", Notice("search.off", reason=search_off)))
        reason = image_available(settings)
        if reason is None:
            self.local_tools["cogview"] = ImageTool(settings)
        else:
            self.unavailable.append(Unavailable("cogview", reason))
        functions, self.load_errors = load_tools_dir(settings.tools_dir)
        for function in functions:
            self.local_tools.setdefault(function.name, function)
        self.mcp: McpSession | None = None
        if settings.mcp_config:
            folder_uid = self.python.folder_uid if self.python is not None else None
            self.mcp = McpSession(settings, self.workdir, hosted, folder_uid)
            self.mcp.start()  # in the background: the page does not wait for the servers
        REAPER.track(self)

    @property
    def tools(self) -> dict[str, Tool]:
        """Every tool the model may be offered: built-ins, functions, ready MCP servers' tools."""
        if self.mcp is None:
            return self.local_tools
        return {**self.mcp.tools(), **self.local_tools}

    def for_conversation(self, conversation_id: str, citations, owner: str = "") -> None:
        """Quote ids continue per conversation: switching conversations restores its ids."""
        if self.python is not None:  # whose cells these are, for the cell log
            self.python.owner, self.python.conversation_id = owner, conversation_id
        if conversation_id != getattr(self, "_conversation_id", None):
            self._conversation_id = conversation_id
            self.local_tools["simple_browser"].reset(citations)
        if self.mcp is not None:  # an answer is about to start: let starting servers finish
            self.mcp.wait_started(self.settings.mcp_start_timeout_s)

    def enabled(self, names: set[str] | None) -> dict[str, Tool]:
        """The tools the user left switched on (all by default)."""
        return {n: t for n, t in self.tools.items() if names is None or n in names}

    def reap_idle(self, now: float | None = None) -> int:
        """Shut down the kernel and local MCP servers unused for ``kernel_idle_s``; the next
        call starts them again. How many were shut down."""
        reaped = self.python.maybe_reap(now) if self.python is not None else 0
        return reaped + (self.mcp.maybe_reap(now) if self.mcp is not None else 0)

    def shutdown(self) -> None:
        if self.python is not None:
            self.python.shutdown()
        if self.mcp is not None:
            self.mcp.shutdown()


class _Reaper:
    """Every minute, shuts down the kernels and local MCP servers that sat unused longer than
    ``kernel_idle_s``; a session that went away (its Toolbox garbage-collected) loses them at
    once. Every few seconds, watches the disk quota of kernels between cells
    (PythonTool.watch_disk)."""

    def __init__(self) -> None:
        self._boxes: weakref.WeakSet[Toolbox] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def track(self, box: Toolbox) -> None:
        if box.python is not None:
            weakref.finalize(box, box.python.shutdown)
        if box.mcp is not None:
            weakref.finalize(box, box.mcp.shutdown)
        with self._lock:
            self._boxes.add(box)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="idle-reaper", daemon=True)
                self._thread.start()

    def reap(self, now: float | None = None) -> int:
        with self._lock:
            boxes = list(self._boxes)
        return sum(box.reap_idle(now) for box in boxes)

    def watch_disks(self) -> int:
        return sum(kernel.watch_disk() for kernel in self._kernels())

    def _kernels(self) -> list[PythonTool]:
        with self._lock:
            boxes = list(self._boxes)
        return [box.python for box in boxes if box.python is not None]

    def _loop(self) -> None:
        last_reap = time.monotonic()
        while True:
            time.sleep(IDLE_DISK_WATCH_S)
            try:
                self.watch_disks()
                if time.monotonic() - last_reap >= REAP_EVERY_S:
                    last_reap = time.monotonic()
                    self.reap()
            except Exception:  # the next round tries again: the thread must not end
                log.exception("kernel reaper")


REAPER = _Reaper()
