"""One MCP server's connection, through the official ``mcp`` SDK's ``Client``.

Every connection lives on one process-wide event loop (a daemon thread): the SDK is async,
the app's tools are called from worker threads, and one loop serves any number of servers.
A connection starts when first wanted (``start``), lists its tools, then waits until it is
closed; calls arrive from threads as coroutines on that loop and are waited for with the
shared runner (timeout, Stop). A local server's process ending is noticed at once (its
output stream ends), so the next call restarts it; a server that dies during a call gives
that call an error observation. ``problem`` says in words why a server is not ready;
``stderr`` holds the last lines the server wrote there.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Literal

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from ... import runner
from ...notices import Notice
from ...tool_types import ToolResult
from .config import ServerConfig
from .results import to_result
from .tool import ToolInfo, offered

log = logging.getLogger(__name__)

State = Literal["idle", "starting", "ready", "failed", "stopped", "off"]
RETRY_S = 10.0  # a server that failed to start is tried again on use, at most this often
MAX_PAGES = 20  # tools/list pages read (a paginator that never ends cannot hang a start)
CLIENT = types.Implementation(name="glm4-chat", version="1")
# Wraps a local server's command line, e.g. in the code sandbox (bwrap ... -- command args).
Launcher = Callable[[list[str], Path], list[str]]


class _Loop:
    """The process's event loop for MCP, on a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="mcp-loop", daemon=True).start()
            return self._loop

    def submit(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.get())


LOOP = _Loop()


class Connection:
    def __init__(
        self,
        config: ServerConfig,
        *,
        call_timeout_s: float,
        start_timeout_s: float,
        launcher: Launcher | None = None,
        off_reason: Notice | None = None,
    ) -> None:
        self.config = config
        self.call_timeout_s = config.timeout_s or call_timeout_s
        self.start_timeout_s = start_timeout_s
        self.launcher = launcher  # set: the local server runs sandboxed
        self.state: State = "off" if off_reason else "idle"
        self.problem: Notice | str = off_reason or ""  # why it is not ready
        self.stderr = ""  # the last lines it wrote to stderr before it stopped or failed
        self.notes: list[Notice] = []  # tools left out, and why
        self.tools: list[ToolInfo] = []
        self.starts = 0  # how many times it was started (a restart counts)
        self._lock = threading.Lock()
        # Each start is a run of ``_serve``; a run that is still winding down (a crashed
        # server's process being reaped) must not touch the state of the run after it.
        self._run = 0
        self._settled = _done()  # set whenever the current run is not starting
        self._ended = _done()  # set when the current run's client has ended (or never ran)
        self._client: Client | None = None
        self._stop: asyncio.Event | None = None
        self._failed_at = 0.0
        self._busy = 0  # calls in flight: a server in use is never idle
        self._last_used = time.monotonic()  # when it last started or ended a call
        self._closed_why: Notice = Notice("mcp.shut_down")

    # -- from any thread ----------------------------------------------------------------------

    def start(self) -> None:
        """Start it in the background unless it is running, starting, off, or failed lately."""
        with self._lock:
            if self.state in ("starting", "ready", "off"):
                return
            if self.state == "failed" and time.monotonic() - self._failed_at < RETRY_S:
                return
            self.state, self.starts = "starting", self.starts + 1
            self._last_used = time.monotonic()
            self._run += 1
            self._settled, self._ended = threading.Event(), threading.Event()
            self._stop = asyncio.Event()  # binds to the loop when first awaited there
            run = (self._run, self._settled, self._ended, self._stop)
        LOOP.submit(self._serve(*run))

    def restart(self) -> None:
        """Stop it (if running) and start afresh: the sidebar's Restart."""
        self.close()
        with self._lock:
            if self.state != "off":
                self.state, self._failed_at = "idle", 0.0
        self.start()

    def wait(self, timeout_s: float) -> bool:
        """Wait while it starts; whether it is ready."""
        self._settled.wait(timeout_s)
        return self.state == "ready"

    def call(self, name: str, arguments: dict, cancel: threading.Event) -> ToolResult:
        """Call one tool; every failure is an error observation."""
        with self._lock:  # waits while the idle reaper closes it: then it starts again below
            self._busy += 1
        try:
            return self._call(name, arguments, cancel)
        finally:
            with self._lock:
                self._busy -= 1
                self._last_used = time.monotonic()

    def _call(self, name: str, arguments: dict, cancel: threading.Event) -> ToolResult:
        if self.state != "ready":
            self.start()
            self.wait(self.start_timeout_s + 5)
        client = self._client
        if self.state != "ready" or client is None:
            unavailable = Notice("mcp.not_available", name=self.config.name, reason=self.why())
            return ToolResult.failure(unavailable)
        future = LOOP.submit(client.call_tool(name, arguments, read_timeout_seconds=self.call_timeout_s))
        outcome = runner.wait(future, timeout_s=self.call_timeout_s + 5, cancel=cancel)
        if outcome.cancelled or outcome.timed_out:
            future.cancel()  # the SDK tells the server the request is cancelled
        if outcome.cancelled:
            return ToolResult.failure(Notice("mcp.call_stopped", tool=name))
        if outcome.timed_out or _code(outcome.error) == types.REQUEST_TIMEOUT:
            seconds = f"{self.call_timeout_s:g}"
            timed_out = Notice("mcp.call_timed_out", name=self.config.name, tool=name, seconds=seconds)
            return ToolResult.failure(timed_out)
        if outcome.error is not None:
            return self._call_failed(name, outcome.error)
        return to_result(outcome.value)

    def close(self, wait_s: float = 5.0, why: Notice | None = None) -> None:
        """Shut the server down (a local one's process ends); waits a little for it. ``why``
        is what the sidebar says of it afterwards."""
        stop, loop = self._stop, LOOP.get()
        if stop is not None and not self._ended.is_set():
            self._closed_why = why or Notice("mcp.shut_down")
            loop.call_soon_threadsafe(stop.set)
            self._ended.wait(wait_s)

    def close_if_idle(self, idle_s: float, now: float | None = None) -> bool:
        """Shut a running server down if no call used it for ``idle_s`` seconds (``now`` on the
        ``time.monotonic`` clock); its tools stay offered and the next call starts it again."""
        with self._lock:  # held while it closes: a call arriving meanwhile waits, then restarts it
            idle = (time.monotonic() if now is None else now) - self._last_used
            if self.state != "ready" or self._busy or idle < idle_s:
                return False
            self.close(wait_s=3.0, why=Notice("mcp.idle_shut_down", minutes=round(idle / 60)))
        return True

    # -- on the loop --------------------------------------------------------------------------

    async def _serve(self, run: int, settled: threading.Event, ended: threading.Event, stop: asyncio.Event) -> None:
        task = asyncio.current_task()
        timed_out = False

        def give_up() -> None:  # the server hangs at initialize or while listing its tools
            nonlocal timed_out
            if self.state == "starting":
                timed_out = True
                task.cancel()

        watchdog = asyncio.get_running_loop().call_later(self.start_timeout_s, give_up)
        stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        private = tempfile.TemporaryDirectory(prefix="glm4-mcp-")
        try:
            async with Client(self._transport(run, stderr, Path(private.name), stop), client_info=CLIENT) as client:
                tools, notes = offered(self.config, await _list_tools(client))
                watchdog.cancel()
                self.tools, self.notes, self.problem, self.stderr = tools, notes, "", ""
                self._client, self.state = client, "ready"
                settled.set()
                log.info("MCP server %s ready with %d tools", self.config.name, len(tools))
                await stop.wait()
        except asyncio.CancelledError:
            if not timed_out:
                self._end(run, "stopped", Notice("mcp.shut_down"), stderr)
                raise
            self._end(run, "failed", self._too_slow(), stderr)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes words for the sidebar
            reason = _describe(exc)
            if self.config.transport != "stdio":
                reason = Notice("mcp.at_url", url=self.config.url, reason=reason)
            if timed_out:
                self._end(run, "failed", self._too_slow(), stderr)
            elif self.state == "ready":
                self._end(run, "stopped", Notice("mcp.connection_broke", reason=reason), stderr)
            else:
                self._end(run, "failed", Notice("mcp.could_not_start", reason=reason), stderr)
        else:
            if self.state == "ready":
                self._end(run, "stopped", self._closed_why, stderr)
        finally:
            watchdog.cancel()
            if run == self._run:
                self._client = None
            stderr.close()
            private.cleanup()
            settled.set()
            ended.set()

    def _too_slow(self) -> Notice:
        return Notice("mcp.start_timeout", seconds=f"{self.start_timeout_s:g}")

    def _transport(self, run: int, stderr, private: Path, stop: asyncio.Event):
        config = self.config
        if config.transport == "http":
            return _http(config.url, config.headers)
        if config.transport == "sse":
            return sse_client(config.url, headers=config.headers or None)
        command = [config.command, *config.args]
        if self.launcher is not None:
            command = self.launcher(command, private)
        params = StdioServerParameters(command=command[0], args=command[1:], env=config.env or None, cwd=config.cwd)
        return _watched(stdio_client(params, errlog=stderr), lambda: self._exited(run, stderr, stop))

    def _exited(self, run: int, stderr, stop: asyncio.Event) -> None:
        """A local server's output ended: its process is gone."""
        if self.state == "ready" and not stop.is_set():
            self._end(run, "stopped", Notice("mcp.process_exited"), stderr)
            stop.set()

    def _end(self, run: int, state: State, why: Notice, stderr) -> None:
        if run != self._run:
            return  # a newer run owns the state now
        self.state, self.problem, self.stderr = state, why, _tail(stderr)
        if state == "failed":
            self._failed_at = time.monotonic()
            log.warning("MCP server %s: %s", self.config.name, self.why())

    def why(self) -> Notice | str:
        """``problem`` with what the server said (``str()`` for the model and the log)."""
        if not self.stderr:
            return self.problem
        return Notice("mcp.it_wrote", problem=self.problem, stderr=self.stderr)

    def _call_failed(self, name: str, error: BaseException) -> ToolResult:
        server = self.config.name
        if _code(error) == types.CONNECTION_CLOSED or self.state != "ready":
            why = self.why() or Notice("mcp.connection_closed")
            return ToolResult.failure(Notice("mcp.stopped_during_call", name=server, tool=name, reason=why))
        return ToolResult.failure(Notice("mcp.call_failed", name=server, tool=name, reason=_describe(error)))


async def _list_tools(client: Client) -> list:
    tools, cursor = [], None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


@asynccontextmanager
async def _http(url: str, headers: dict[str, str]):
    async with create_mcp_http_client(headers=headers or None) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams


@asynccontextmanager
async def _watched(transport, on_end: Callable[[], None]):
    """A transport whose incoming stream is relayed, so the end of the server's output (its
    process exited) is noticed at once instead of at the next call."""
    async with transport as (read, write):
        relay_in, relay_out = anyio.create_memory_object_stream(0)

        async def relay() -> None:
            async with relay_in:
                try:
                    async for item in read:
                        await relay_in.send(item)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass
            on_end()

        async with anyio.create_task_group() as group:
            group.start_soon(relay)
            try:
                yield relay_out, write
            finally:
                group.cancel_scope.cancel()


def _done() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def _code(error: BaseException | None) -> int | None:
    return getattr(error, "code", None) if isinstance(error, MCPError) else None


def _describe(exc: BaseException) -> Notice | str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return Notice("mcp.command_not_found", command=exc.filename or exc)
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return text[:500]


def _tail(stderr, lines: int = 5, chars: int = 600) -> str:
    """The last lines the server wrote to stderr, joined by " / "."""
    try:
        stderr.flush()
        stderr.seek(0)
        text = stderr.read()[-20_000:]
    except (OSError, ValueError):
        return ""
    last = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return " / ".join(last)[-chars:]
