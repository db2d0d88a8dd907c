"""Who shares which MCP connection, and the servers of one browser session.

Remote (HTTP) servers are reached over stateless requests: one connection per process serves
every session (``Hub``). A local (stdio) server is a process per browser session, like the
Python kernel, so one user's server state (open files, a browser page, a database session)
is never another's; it is shut down with the session, or once idle for GLM4_KERNEL_IDLE_S
(the next call starts it again). Hosted, a local server runs inside the
same bubblewrap sandbox as the kernel (sandbox.py: no network unless GLM4_KERNEL_NETWORK, only
the session's folder at /mnt/data) unless the admin marks it ``"trusted": true``; locally only
with GLM4_KERNEL_SANDBOX=on. Everything
starts lazily: when a session first opens All Tools, in the background.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...notices import Notice
from ...settings import Settings
from ..sandbox import MNT_DATA, STARTUP, bwrap_command, give_folder, kernel_policy, launcher_command
from .config import ServerConfig, load_config
from .connection import Connection, Launcher
from .tool import McpTool


@dataclass(frozen=True)
class ServerStatus:
    """One server as the sidebar shows it."""

    name: str
    transport: str
    state: str  # idle, starting, ready, failed, stopped, off
    tools: tuple[str, ...]  # the names offered to the model
    problem: Notice | str  # why it is not ready, worded where shown
    stderr: str  # what the server last wrote to stderr (shown as is)
    notes: tuple[Notice, ...]
    sandboxed: bool
    shared: bool


class Hub:
    """The servers of one config file, for the whole process."""

    def __init__(self, path: str) -> None:
        self.servers, self.problems = load_config(path)
        self._shared: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def shared(self, config: ServerConfig, settings: Settings) -> Connection:
        with self._lock:
            if config.name not in self._shared:
                self._shared[config.name] = _track(
                    Connection(config, call_timeout_s=settings.mcp_timeout_s, start_timeout_s=settings.mcp_start_timeout_s)
                )
            return self._shared[config.name]


_HUBS: dict[str, Hub] = {}
_HUBS_LOCK = threading.Lock()


def hub_for(path: str) -> Hub:
    """One hub per config file per process (the file is read once; restart to reload it)."""
    key = str(Path(path).expanduser().resolve())
    with _HUBS_LOCK:
        if key not in _HUBS:
            _HUBS[key] = Hub(key)
        return _HUBS[key]


class McpSession:
    """The MCP servers of one browser session: its own local ones and the shared remote ones."""

    def __init__(
        self, settings: Settings, workdir: Path, hosted: bool, folder_uid: Callable[[], int] | None = None
    ) -> None:
        """``folder_uid``: who the session's folder belongs to (the python tool's kernels'
        uid in a root app); sandboxed servers run as that uid so both can write there."""
        self.settings = settings
        hub = hub_for(settings.mcp_config)
        self.problems = list(hub.problems)
        policy = kernel_policy(settings, hosted)
        # The kernel is sandboxed wherever bubblewrap works; a local server only where asked
        # (hosted, or GLM4_KERNEL_SANDBOX=on): on a laptop it is the user's own program, and
        # may live where the sandbox does not look (~/.local, the project).
        boxed = policy.sandboxed and (hosted or settings.kernel_sandbox == "on")
        self.connections: list[Connection] = []
        self._own: list[Connection] = []  # closed with the session
        self._tools: dict[int, tuple[int, dict[str, McpTool]]] = {}
        for config in hub.servers:
            if config.disabled:
                continue
            if config.shared:
                self.connections.append(hub.shared(config, settings))
                continue
            launcher, off = None, None
            if not config.trusted and boxed:
                launcher = sandbox_launcher(workdir, policy.network, settings.data_dir, folder_uid)
            elif not config.trusted and policy.off_reason:
                off = Notice("mcp.no_sandbox", reason=policy.off_reason)
            connection = Connection(
                config,
                call_timeout_s=settings.mcp_timeout_s,
                start_timeout_s=settings.mcp_start_timeout_s,
                launcher=launcher,
                off_reason=off,
            )
            self.connections.append(_track(connection))
            self._own.append(connection)

    def start(self) -> None:
        for connection in self.connections:
            connection.start()

    def wait_started(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s`` in all) for servers still starting, so the first
        question already gets their tools."""
        deadline = time.monotonic() + timeout_s
        for connection in self.connections:
            connection.wait(max(0.0, deadline - time.monotonic()))

    def tools(self) -> dict[str, McpTool]:
        """The tools of the servers that are ready, or that stopped and start again when
        called, by the names the model sees."""
        out: dict[str, McpTool] = {}
        for connection in self.connections:
            if connection.state not in ("ready", "stopped") or not connection.tools:
                continue
            starts, tools = self._tools.get(id(connection), (-1, {}))
            if starts != connection.starts:  # listed again after a restart
                tools = {info.name: McpTool(info, connection) for info in connection.tools}
                self._tools[id(connection)] = (connection.starts, tools)
            for name, tool in tools.items():
                out.setdefault(name, tool)
        return out

    def statuses(self) -> list[ServerStatus]:
        return [
            ServerStatus(
                c.config.name,
                c.config.transport,
                c.state,
                tuple(t.name for t in c.tools) if c.state in ("ready", "stopped") else (),
                c.problem,
                c.stderr,
                tuple(c.notes),
                c.launcher is not None,
                c.config.shared,
            )
            for c in self.connections
        ]

    def restart(self, name: str) -> None:
        for connection in self.connections:
            if connection.config.name == name:
                connection.restart()

    def maybe_reap(self, now: float | None = None) -> int:
        """Stop this session's local servers unused for ``kernel_idle_s`` (0: never), as its
        kernel is: a tab closed without its session ending must not keep processes running.
        The shared remote ones are connections, not processes: they stay. How many stopped."""
        limit = self.settings.kernel_idle_s
        if not limit:
            return 0
        return sum(connection.close_if_idle(limit, now) for connection in self._own)

    def shutdown(self) -> None:
        """Stop this session's local servers (the shared remote ones stay for the others)."""
        for connection in self._own:
            connection.close(wait_s=3.0)


def sandbox_launcher(
    workdir: Path, network: bool, data_dir: Path, folder_uid: Callable[[], int] | None = None
) -> Launcher:
    """Runs a local server's command in the kernel's sandbox (bubblewrap), the session's
    folder at /mnt/data as its working directory. In a root app the kernel's launcher makes
    it the folder's uid, as the kernel is: as uid 0 without capabilities it could read the
    kernel's files but write none of them, and the kernel none of its."""

    def launch(command: list[str], private: Path) -> list[str]:
        Path(workdir).mkdir(parents=True, exist_ok=True)  # bound at /mnt/data: it must exist
        uid = folder_uid() if folder_uid is not None and os.geteuid() == 0 else 0
        if uid:
            give_folder(Path(workdir), uid)
        sandbox = bwrap_command(Path(workdir), private, network, STARTUP, data_dir, switch_uid=bool(uid))
        return [*sandbox, *launcher_command({"uid": uid, "cwd": MNT_DATA}), *command]

    return launch


_ALL: "weakref.WeakSet[Connection]" = weakref.WeakSet()


def _track(connection: Connection) -> Connection:
    _ALL.add(connection)
    return connection


@atexit.register
def _close_all() -> None:
    for connection in list(_ALL):
        connection.close(wait_s=1.0)
