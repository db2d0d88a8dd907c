"""GLM-4's ``python`` tool: a Jupyter kernel of its own for each browser session.

The model sees every output of a cell in order (transcript.py), capped at
``python_output_chars`` with head and tail kept. The UI gets the same text up to
``DISPLAY_CHARS``, the images, the files the cell wrote, and every output with its MIME
bundle. How the kernel is launched, limited, sandboxed and killed is kernel_process.py's
business; this module keeps one kernel per session warm, runs calls on it one at a time, and
words for the model how each cell ended. Every executed cell is logged per user (cell_log.py).

``/mnt/data``, the folder the prompt promises, is the session's ``workdir``. In the sandbox it
is mounted there. Without one the kernel runs in the workdir, and the literal path is
rewritten to the workdir in the code before it runs and back in the output: that works for
every consumer of the path (open, pandas, sqlite, C libraries, ``!ls /mnt/data``) with no
privileges, but not for a path assembled from pieces (``os.path.join("/mnt", "data")``).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import stat
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data_dir import private_folder
from ..notices import Notice
from ..settings import Settings
from . import cell_log, live
from .base import Output, ToolCall, ToolResult
from .confinement import allocate_uid, reachable_by_anyone, release_uid
from .kernel_process import GRACE_S, CellOutcome, Kernel
from .sandbox import STARTUP
from .transcript import DISPLAY_CHARS, NO_OUTPUT, Transcript

log = logging.getLogger(__name__)

MNT_DATA = "/mnt/data"
_MNT_DATA = re.compile(r"(?<![\w.])/mnt/data(?![\w.-])")
MAX_FILES = 50
POLL_S = 0.1  # cancel is honoured within this


class PythonTool:
    name = "python"

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        sandboxed: bool = False,
        network: bool = True,
        use_cgroups: bool = True,
    ) -> None:
        self.settings = settings
        self.workdir = Path(workdir).resolve()
        # In the sandbox (sandbox.py) the workdir is mounted at /mnt/data itself.
        self.sandboxed, self.network, self.use_cgroups = sandboxed, network, use_cgroups
        self.owner, self.conversation_id = "", ""  # for the cell log, set by the Toolbox
        private_folder(self.workdir)  # no other uid enters it (a neighbour's kernel)
        self._uid = 0  # the kernels' own uid (root app): see folder_uid()
        self._lock = threading.Lock()  # held while the kernel starts, runs a cell or stops
        self._state = threading.Lock()  # guards _starting and _epoch, never held for long
        self._kernel: Kernel | None = None
        self._starting = False
        self._epoch = 0  # bumped by every stop: a warm-up asked for before it is void
        self._start_done = threading.Event()
        self._start_done.set()
        self._stop_cell = threading.Event()  # shutdown() asks a running cell to stop
        self._lost_note: Notice | None = None  # why earlier state is gone, told with the next result
        self._last_used = time.monotonic()
        _LIVE.add(self)

    def declaration(self) -> dict[str, Any]:
        return {"type": "python"}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the kernel in the background now, so the first call does not wait for it."""
        with self._state:
            if self._starting or self._kernel is not None:
                return
            self._starting = True
            self._start_done.clear()
            epoch = self._epoch
        threading.Thread(
            target=self._start_in_background, args=(epoch,), name="python-kernel", daemon=True
        ).start()

    def ready(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` for a started kernel; False if none is up (or it failed)."""
        if not self._start_done.wait(timeout):
            return False
        kernel = self._kernel
        return kernel is not None and kernel.alive()

    @property
    def running(self) -> bool:
        return self._starting or self._kernel is not None

    def idle_for(self, now: float | None = None) -> float:
        """Seconds since the last call ended (``time.monotonic`` clock)."""
        return (time.monotonic() if now is None else now) - self._last_used

    def maybe_reap(self, now: float | None = None) -> bool:
        """Shut the kernel down if unused for ``kernel_idle_s`` (0: never). The next call starts
        a new one and tells the model that earlier state is gone."""
        limit = self.settings.kernel_idle_s
        if not limit or self._kernel is None or self.idle_for(now) < limit:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # a cell is running: not idle
        try:
            minutes = round(self.idle_for(now) / 60)
            self._stop_kernel(Notice("python.reaped", minutes=minutes))
            return True
        finally:
            self._lock.release()

    def watch_disk(self) -> bool:
        """Between cells (a running cell is watched by its own loop): kill what a cell left
        running that writes the session past its disk quota; stop a kernel that keeps writing
        past it itself. Called every few seconds by the Toolbox reaper; True if it stopped one."""
        kernel = self._kernel
        if kernel is None or not self._lock.acquire(blocking=False):
            return False
        try:
            if kernel is not self._kernel or not kernel.watch_between_cells():
                return False
            self._stop_kernel(Notice("python.kept_writing", mb=self.settings.python_disk_mb))
            return True
        finally:
            self._lock.release()

    def shutdown(self) -> None:
        """Stop the kernel (a running cell first). Safe to call twice; a later call starts anew."""
        self._stop_cell.set()
        try:
            with self._lock:
                self._stop_kernel(Notice("python.shut_down"))
        finally:
            self._stop_cell.clear()

    # --- running code --------------------------------------------------------------------

    def run(
        self,
        call: ToolCall,
        cancel: threading.Event,
        on_output: Callable[[Output], None] | None = None,
    ) -> ToolResult:
        """Run one cell. ``on_output`` (optional) gets each output as the kernel produces it."""
        try:
            return self._run(call.body, cancel, on_output)
        except Exception as exc:  # a tool failure is an observation, never an exception
            log.exception("python tool failed")
            return ToolResult.failure(Notice("python.failed", error=f"{type(exc).__name__}: {exc}"))
        finally:
            self._last_used = time.monotonic()

    def _run(self, code: str, cancel: threading.Event, on_output) -> ToolResult:
        while not self._lock.acquire(timeout=POLL_S):  # the warm-up may still hold it
            if cancel.is_set():
                return ToolResult.failure(Notice("python.stopped_before_run"))
        try:
            notes = []
            kernel = self._kernel
            if kernel is not None and not kernel.alive():
                self._stop_kernel(Notice("python.had_died", reason=kernel.death_reason()))
            if self._lost_note is not None:
                notes.append(Notice("python.state_lost", why=self._lost_note))
                self._lost_note = None
            if self._kernel is None:
                try:
                    self._kernel = self._new_kernel()
                except Exception as exc:
                    return ToolResult.failure(Notice("python.no_kernel", error=exc))
            if cancel.is_set():
                return ToolResult.failure(Notice("python.stopped_before_run"))
            return self._execute(self._kernel, code, cancel, notes, on_output)
        finally:
            self._lock.release()

    def _execute(
        self, kernel: Kernel, code: str, cancel, notes: list[Notice], on_output
    ) -> ToolResult:
        before = _snapshot(self.workdir)

        def report(output: Output) -> None:
            live.emit(output.text)  # the page shows a running cell's output (turns.py)
            if on_output is not None:
                on_output(output)

        out = Transcript(report)

        def stop() -> bool:
            return cancel.is_set() or self._stop_cell.is_set()

        started = time.monotonic()
        timeout = self.settings.python_timeout_s
        outcome, restart = kernel.execute(self.to_kernel_paths(code), out, stop, timeout)
        logged = CellOutcome.ERROR if outcome is CellOutcome.OK and out.error else outcome
        duration = time.monotonic() - started
        cell_log.record(
            self.settings.data_dir, self.owner, self.conversation_id, code, logged.value, duration
        )
        ending = self._ending(kernel, outcome, restart)
        if restart:
            self._stop_kernel(None)
            self.start()  # the replacement warms up while the model reads this result
        files = _changed_files(before, _snapshot(self.workdir))
        chars = min(self.settings.python_output_chars, DISPLAY_CHARS)
        model = self.to_model_paths(out.excerpt(chars))
        why = f"over {DISPLAY_CHARS:,} characters"
        display = self.to_model_paths(out.excerpt(DISPLAY_CHARS, why))
        end = [ending] if ending else []  # how the cell ended, after its output; why state was lost, before
        text = "\n".join(filter(None, [*map(str, notes), model, *map(str, end)]))
        shown = "\n".join(filter(None, [*map(str, notes), display, *map(str, end)]))
        return ToolResult(
            text=text,
            is_error=out.error or outcome is not CellOutcome.OK,
            display=None if shown == text else shown,
            images=tuple(out.images),
            files=files,
            outputs=out.outputs(),
            notices=(*notes, *end, *([NO_OUTPUT] if out.total == 0 else [])),
        )

    def _ending(self, kernel: Kernel, outcome: CellOutcome, restart: bool) -> Notice | None:
        """What the model (in English) and the user are told about how the cell ended, when it
        did not end normally."""
        s = self.settings
        if outcome is CellOutcome.OK:
            return None
        if outcome is CellOutcome.DIED:
            return Notice("python.kernel_died", reason=kernel.death_reason())
        what = {
            CellOutcome.TIMEOUT: Notice("python.timed_out", seconds=s.python_timeout_s),
            CellOutcome.CANCELLED: Notice("python.stopped"),
            CellOutcome.PROCESSES: Notice("python.too_many_processes", limit=s.python_max_processes),
            CellOutcome.MEMORY: Notice("python.too_much_memory", mb=s.python_memory_mb),
            CellOutcome.DISK: Notice("python.disk_full", mb=s.python_disk_mb),
            CellOutcome.DISK_BETWEEN_CELLS: Notice("python.disk_full_between_cells", mb=s.python_disk_mb),
        }[outcome]
        if restart:
            return Notice("python.restarted", what=what, seconds=f"{GRACE_S:.0f}")
        return Notice("python.interrupted", what=what)

    def to_kernel_paths(self, code: str) -> str:
        if self.sandboxed:
            return code
        return _MNT_DATA.sub(lambda _: str(self.workdir), code)

    def to_model_paths(self, text: str) -> str:
        return text.replace(str(self.workdir), MNT_DATA)

    # --- the kernel itself -----------------------------------------------------------------

    def _start_in_background(self, epoch: int) -> None:
        try:
            with self._lock:
                if self._kernel is None and epoch == self._epoch:  # no shutdown() came first
                    self._kernel = self._new_kernel()
        except Exception as exc:  # run() will try again and report it
            log.warning("python kernel did not start: %s", exc)
        finally:
            with self._state:
                self._starting = False
            self._start_done.set()

    def folder_uid(self) -> int:
        """The uid the session's folder belongs to (0: the app's own), allocated with the first
        kernel or the first sandboxed MCP server that asks: both must write there."""
        with self._state:
            if not self._uid and self._wants_own_uid():
                self._uid = allocate_uid()
                weakref.finalize(self, release_uid, self._uid)
            return self._uid

    def _new_kernel(self) -> Kernel:
        kernel = Kernel(
            self.settings, self.workdir, self.sandboxed, self.network, self.folder_uid(), self.use_cgroups
        )
        kernel.start()
        return kernel

    def _wants_own_uid(self) -> bool:
        """A root app gives kernels a uid of their own where they can still start Python with
        it: always in the sandbox, outside only if the interpreter is readable by anyone."""
        if os.geteuid() != 0:
            return False
        needed = (sys.executable, sys.prefix, sys.base_prefix, STARTUP)
        return self.sandboxed or all(reachable_by_anyone(Path(p)) for p in needed)

    def _stop_kernel(self, note: Notice | None) -> None:
        with self._state:
            self._epoch += 1
        kernel, self._kernel = self._kernel, None
        if kernel is None:
            return
        if note is not None and kernel.executed:
            self._lost_note = note
        kernel.stop()


_LIVE: weakref.WeakSet[PythonTool] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """Kernels would notice the app is gone (ipykernel polls its parent), but their private
    folders and cgroups would stay behind."""
    for tool in list(_LIVE):
        tool.shutdown()


# --- files the cell wrote ---------------------------------------------------------------------


def _snapshot(root: Path, limit: int = 5000) -> dict[Path, tuple[int, int]]:
    """(mtime, size) of the regular files under ``root``, hidden ones and symlinks left out
    (a symlink could offer any file of the machine for download)."""
    seen: dict[Path, tuple[int, int]] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in names:
            path = Path(folder, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            if not name.startswith(".") and stat.S_ISREG(st.st_mode):
                seen[path] = (st.st_mtime_ns, st.st_size)
                if len(seen) >= limit:
                    return seen
    return seen


def _changed_files(before: dict, after: dict) -> tuple[Path, ...]:
    return tuple(sorted(p for p, sig in after.items() if before.get(p) != sig)[:MAX_FILES])
