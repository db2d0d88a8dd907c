"""GLM-4's ``python`` tool: a Jupyter kernel of its own for each browser session.

The model sees every output of a cell in order (stdout and stderr, results, ``[image N]`` where
a figure appeared, tracebacks without ANSI codes), capped at ``python_output_chars`` with head
and tail kept. The UI gets the same text up to ``DISPLAY_CHARS`` plus the images and the files
the cell wrote.

Limits, and how each holds when the app runs as root (as it does in CI):

* time: after ``python_timeout_s`` the kernel gets SIGINT, so variables survive; a kernel that
  ignores it for ``GRACE_S`` is restarted. The user's Stop does the same.
* memory, CPU, file size: RLIMIT_AS / RLIMIT_CPU / RLIMIT_FSIZE, set by the launcher in
  kernel_startup.py before it ``exec``s the kernel. The launcher also empties root's capability
  bounding set, so the kernel cannot raise its hard limits again.
* processes: RLIMIT_NPROC binds only non-root users (Linux exempts uid 0 whatever its
  capabilities), so two more guards count the threads in the kernel's session: inside the
  kernel, os.fork / subprocess / posix_spawn refuse at the limit (kernel_startup.py), and here a
  watchdog checks the count every ``WATCH_S`` while a cell runs and after it; at the limit the
  whole session is killed and the kernel restarted.
* secrets: the kernel gets a minimal environment of its own, never the app's; with its
  capabilities gone it cannot read the app's /proc/PID/environ either.

A setting of 0 means no limit. What these do not stop: a root app's kernel stays uid 0 (an
unprivileged uid cannot even run a Python installed under /root, as pyenv does), so it can
read and write every root-owned file and signal the app; isolating sessions from the app
needs the app to run as an unprivileged user, or a container per kernel. A process that
leaves the kernel's session (``setsid``) is not counted; memory is limited per process, and
disk use only per file.

Hosted, ``sandboxed=True`` (sandbox.py) runs the kernel in bubblewrap: no network, its own pid
namespace, only its workdir, mounted at /mnt/data itself (no path rewriting then). There the
kernel is interrupted by SIGINT to the processes inside the sandbox, as SIGINT to the process
group would kill bwrap. Every executed cell is logged per user (cell_log.py).

``/mnt/data``, the folder the prompt promises, is the session's ``workdir``: the kernel runs
there, and the literal path is rewritten to the workdir in the code before it runs and back in
the output. Rewriting the text works for every consumer of the path (open, pandas, sqlite, C
libraries, ``!ls /mnt/data``) with no privileges, where a bind mount needs CAP_SYS_ADMIN (absent
in Docker) and patching ``open``/``os`` in the kernel misses C code. It does not catch a path
assembled from pieces (``os.path.join("/mnt", "data")``); that is rare in generated code.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import logging
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from jupyter_client import KernelManager

from ..settings import Settings
from . import cell_log, live
from .base import Image, ToolCall, ToolResult
from .kernel_startup import session_tasks
from .sandbox import bwrap_command

log = logging.getLogger(__name__)

STARTUP = Path(__file__).with_name("kernel_startup.py")
MNT_DATA = "/mnt/data"
_MNT_DATA = re.compile(r"(?<![\w.])/mnt/data(?![\w.-])")
DISPLAY_CHARS = 1_000_000  # what the UI keeps of one cell's output (50 MB must not reach a page)
MAX_IMAGES = 30
MAX_FILES = 50
POLL_S = 0.1  # cancel is honoured within this
WATCH_S = 0.25  # process-count checks while a cell runs
GRACE_S = 3.0  # how long an interrupted kernel gets to come back before it is restarted
START_TIMEOUT_S = 60.0
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_LOST = "all variables and imports are lost"


class PythonTool:
    name = "python"

    def __init__(
        self, settings: Settings, workdir: Path, sandboxed: bool = False, network: bool = True
    ) -> None:
        self.settings = settings
        self.workdir = Path(workdir).resolve()
        # In the sandbox (sandbox.py) the workdir is mounted at /mnt/data itself.
        self.sandboxed, self.network = sandboxed, network
        self.owner, self.conversation_id = "", ""  # for the cell log, set by the Toolbox
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # held while the kernel starts, runs a cell or stops
        self._state = threading.Lock()  # guards _starting and _epoch, never held for long
        self._kernel: _Kernel | None = None
        self._starting = False
        self._epoch = 0  # bumped by every stop: a warm-up asked for before it is void
        self._start_done = threading.Event()
        self._start_done.set()
        self._stop_cell = threading.Event()  # shutdown() asks a running cell to stop
        self._lost_note = ""  # why earlier state is gone, told with the next result
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
            self._stop_kernel(f"The Python kernel was shut down after {minutes} min unused")
            return True
        finally:
            self._lock.release()

    def shutdown(self) -> None:
        """Stop the kernel (a running cell first). Safe to call twice; a later call starts anew."""
        self._stop_cell.set()
        try:
            with self._lock:
                self._stop_kernel("The Python kernel was shut down")
        finally:
            self._stop_cell.clear()

    # --- running code --------------------------------------------------------------------

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        try:
            return self._run(call.body, cancel)
        except Exception as exc:  # a tool failure is an observation, never an exception
            log.exception("python tool failed")
            return ToolResult(f"The Python tool failed: {type(exc).__name__}: {exc}", is_error=True)
        finally:
            self._last_used = time.monotonic()

    def _run(self, code: str, cancel: threading.Event) -> ToolResult:
        while not self._lock.acquire(timeout=POLL_S):  # the warm-up may still hold it
            if cancel.is_set():
                return ToolResult("[Stopped by the user before the code ran.]", is_error=True)
        try:
            notes = []
            kernel = self._kernel
            if kernel is not None and not kernel.alive():
                self._stop_kernel(f"The Python kernel had died ({kernel.death_reason()})")
            if self._lost_note:
                notes.append(f"[{self._lost_note}; a new one was started and {_LOST}.]")
                self._lost_note = ""
            if self._kernel is None:
                try:
                    self._kernel = self._new_kernel()
                except Exception as exc:
                    return ToolResult(f"Could not start the Python kernel: {exc}", is_error=True)
            if cancel.is_set():
                return ToolResult("[Stopped by the user before the code ran.]", is_error=True)
            return self._execute(self._kernel, code, cancel, notes)
        finally:
            self._lock.release()

    def _execute(
        self, kernel: _Kernel, code: str, cancel: threading.Event, notes: list[str]
    ) -> ToolResult:
        before = _snapshot(self.workdir)
        out = _Transcript()

        def stop() -> bool:
            return cancel.is_set() or self._stop_cell.is_set()

        timeout = self.settings.python_timeout_s
        started = time.monotonic()
        outcome, restart = kernel.execute(self.to_kernel_paths(code), out, stop, timeout)
        logged = "error" if outcome == "ok" and out.error else outcome
        duration = time.monotonic() - started
        cell_log.record(
            self.settings.data_dir, self.owner, self.conversation_id, code, logged, duration
        )
        ending = self._ending(kernel, outcome, restart)
        if restart:
            self._stop_kernel("")
            self.start()  # the replacement warms up while the model reads this result
        files = _changed_files(before, _snapshot(self.workdir))
        chars = min(self.settings.python_output_chars, DISPLAY_CHARS)
        model = self.to_model_paths(out.excerpt(chars))
        why = f"over {DISPLAY_CHARS:,} characters"
        display = self.to_model_paths(out.excerpt(DISPLAY_CHARS, why))
        text = "\n".join(filter(None, [*notes, model, ending]))
        shown = "\n".join(filter(None, [*notes, display, ending]))
        return ToolResult(
            text=text,
            is_error=out.error or outcome != "ok",
            display=None if shown == text else shown,
            images=tuple(out.images),
            files=files,
        )

    def _ending(self, kernel: _Kernel, outcome: str, restart: bool) -> str:
        """What the model is told about how the cell ended, when it did not end normally."""
        if outcome == "died":
            return f"[The Python kernel died ({kernel.death_reason()}) and was restarted; {_LOST}.]"
        if outcome == "processes":
            limit = self.settings.python_max_processes
            return (
                f"[The code ran {limit} processes and threads at once, the limit: the kernel was "
                f"killed and restarted; {_LOST}.]"
            )
        if outcome == "ok":
            return ""
        if outcome == "timeout":
            seconds = self.settings.python_timeout_s
            what = f"[Timed out after {seconds} s: execution was interrupted."
        else:
            what = "[Stopped by the user: execution was interrupted."
        if restart:
            return f"{what} It did not stop within {GRACE_S:.0f} s: kernel restarted, {_LOST}.]"
        return f"{what} Variables defined so far are kept.]"

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

    def _new_kernel(self) -> _Kernel:
        kernel = _Kernel(self.settings, self.workdir, self.sandboxed, self.network)
        kernel.start()
        return kernel

    def _stop_kernel(self, note: str) -> None:
        with self._state:
            self._epoch += 1
        kernel, self._kernel = self._kernel, None
        if kernel is None:
            return
        if note and kernel.executed:
            self._lost_note = note
        kernel.stop()


_LIVE: weakref.WeakSet[PythonTool] = weakref.WeakSet()
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-spawner")


@atexit.register
def _shutdown_all() -> None:
    """Kernels would notice the app is gone (ipykernel polls its parent), but their private
    folders would stay behind."""
    for tool in list(_LIVE):
        tool.shutdown()


class _LaunchingKernelManager(KernelManager):
    """Starts ipykernel through kernel_startup.py's launcher: limits first, then ``exec``."""

    launcher: ClassVar[list[str]] = []  # set per instance
    kernel_args: ClassVar[list[str]] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        return [*self.launcher, *kernel, *self.kernel_args, *(extra_arguments or [])]


class _Kernel:
    """One kernel process with its limits, its client and its private folder."""

    def __init__(self, settings: Settings, workdir: Path, sandboxed: bool, network: bool) -> None:
        self.settings = settings
        self.workdir = workdir
        self.sandboxed = sandboxed
        self.executed = False  # whether a cell ran, i.e. whether stopping loses user state
        self.pid = 0
        self.kc: Any = None
        # Connection file, ipc sockets, caches and TMPDIR: private, and gone with the kernel.
        self.private = Path(tempfile.mkdtemp(prefix="glm4-kernel-"))
        # ipc sockets instead of TCP: no open port, no "running over TCP" warning.
        self.km = _LaunchingKernelManager(
            transport="ipc", connection_file=str(self.private / "kernel.json")
        )
        limits = json.dumps(self._limits())
        self.km.launcher = [sys.executable, str(STARTUP), "--launch", limits, "--"]
        if sandboxed:
            scratch_mb = settings.python_file_mb or 1024  # for /tmp and /dev/shm
            sandbox = bwrap_command(
                workdir, self.private, network, STARTUP, settings.data_dir, scratch_mb
            )
            self.km.launcher = [*sandbox, *self.km.launcher]
        setup = (
            f"__import__('runpy').run_path({str(STARTUP)!r}, {{'MAX_TASKS': {self.max_tasks}}}, "
            "'__glm4_kernel_setup__')"
        )
        no_history = "--HistoryManager.enabled=False"  # no sqlite file, no extra thread
        self.km.kernel_args = [f"--IPKernelApp.exec_lines={setup}", no_history]

    @property
    def max_tasks(self) -> int:
        return self.settings.python_max_processes

    def _limits(self) -> dict[str, int]:
        s = self.settings
        nproc = s.python_max_processes
        if nproc and os.geteuid() != 0:  # RLIMIT_NPROC counts all of this user's threads
            nproc += _user_tasks()
        return {
            "memory_mb": s.python_memory_mb,
            "cpu_s": s.python_cpu_s,
            "file_mb": s.python_file_mb,
            "nproc": nproc,
        }

    def _env(self) -> dict[str, str]:
        """A clean environment: nothing of the app's (settings, API keys, tokens) gets through."""
        threads = str(min(4, os.cpu_count() or 1))  # BLAS threads count against the process limit
        # Caches and config live out of the user's folder: none is offered for download, and
        # no config planted there is read.
        names = ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR")
        names += ("JUPYTER_DATA_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TMPDIR")
        private = {name: str(self.private / name.lower()) for name in names}
        Path(private["TMPDIR"]).mkdir()
        path = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        return {
            "PATH": os.pathsep.join(path),
            "HOME": str(self.workdir),  # the sandbox sets its own
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "JUPYTER_PLATFORM_DIRS": "1",
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "MALLOC_ARENA_MAX": "2",  # fewer 64 MB malloc arenas to count against RLIMIT_AS
            **private,
        }

    def start(self) -> None:
        try:
            with open(self.private / "kernel.log", "wb") as log_file:
                launch = functools.partial(
                    self.km.start_kernel,
                    env=self._env(),
                    cwd=str(self.workdir),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
                # bwrap --die-with-parent ties the sandbox to the thread that started it (Linux
                # PR_SET_PDEATHSIG follows threads): start it from one that lives with the app.
                _SPAWNER.submit(launch).result() if self.sandboxed else launch()
            self.pid = self.km.provisioner.pid
            self.kc = self.km.client()
            self.kc.start_channels(stdin=False, hb=False)
            self.kc.wait_for_ready(timeout=START_TIMEOUT_S)
        except Exception as exc:
            logged = (self.private / "kernel.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{exc}\n{logged}".strip()) from None

    def alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def interrupt(self) -> None:
        if not self.sandboxed:
            self.km.interrupt_kernel()  # SIGINT to the kernel's process group
            return
        # jupyter_client's SIGINT to the process group would kill bwrap itself (and with it
        # the kernel): interrupt the processes inside the sandbox only.
        for pid in session_tasks(self.pid)[1]:
            try:
                if pid != self.pid and Path(f"/proc/{pid}/comm").read_text().strip() != "bwrap":
                    os.kill(pid, signal.SIGINT)
            except OSError:
                pass  # exited meanwhile

    def death_reason(self) -> str:
        code = getattr(getattr(self.km.provisioner, "process", None), "returncode", None)
        if self.sandboxed and code is not None and code > 128:
            code = 128 - code  # bwrap exits with 128 + the signal that ended the kernel
        if code is None or code >= 0:
            return f"exit code {code}" if code else "it exited"
        reasons = {
            signal.SIGKILL: "killed, possibly for using too much memory",
            signal.SIGXCPU: f"CPU time limit of {self.settings.python_cpu_s} s reached",
            signal.SIGXFSZ: f"file size limit of {self.settings.python_file_mb} MB reached",
            signal.SIGSEGV: "segmentation fault",
        }
        return reasons.get(-code, f"signal {signal.Signals(-code).name}")

    def over_process_limit(self) -> bool:
        return bool(self.max_tasks) and session_tasks(self.pid)[0] >= self.max_tasks

    def execute(
        self, code: str, out: _Transcript, stop: Callable[[], bool], timeout: float
    ) -> tuple[str, bool]:
        """Run one cell, collecting its outputs into ``out``. Returns (outcome, restart): outcome
        is ok, timeout, cancelled, died or processes; restart says the kernel must be replaced."""
        msg_id = self.kc.execute(code, store_history=True, allow_stdin=False)
        self.executed = True
        now = time.monotonic()
        deadline = now + timeout if timeout > 0 else float("inf")
        outcome, interrupted_at, next_watch = "ok", None, now + WATCH_S
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=POLL_S)
            except queue.Empty:
                msg = None
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id and out.handle(msg):
                break  # the kernel went idle: the cell is done
            now = time.monotonic()
            if interrupted_at is None and (stop() or now >= deadline):
                outcome = "cancelled" if stop() else "timeout"
                self.interrupt()  # SIGINT: KeyboardInterrupt, the namespace survives
                interrupted_at = now
            elif interrupted_at is not None and now - interrupted_at > GRACE_S:
                return outcome, True
            if msg is None or now >= next_watch:
                if not self.alive():
                    self._drain(msg_id, out)
                    return "died", True
                if now >= next_watch:
                    next_watch = now + WATCH_S
                    if self.over_process_limit():
                        return "processes", True
        if self.over_process_limit():  # e.g. a fork loop that stopped at the guard
            return "processes", True
        while True:  # the execute_reply adds nothing the iopub messages did not say
            try:
                self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                break
        return outcome, False

    def _drain(self, msg_id: str, out: _Transcript) -> None:
        """Outputs a dying kernel sent just before the end."""
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") == msg_id:
                out.handle(msg)

    def stop(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)  # SIGKILL to the process group
        except Exception as exc:
            log.debug("kernel shutdown: %s", exc)
        if self.pid:
            _kill_session(self.pid)  # children that left the process group
        shutil.rmtree(self.private, ignore_errors=True)


class _Transcript:
    """A cell's outputs in order, as one text of which only head and tail are kept."""

    def __init__(self) -> None:
        self.half = DISPLAY_CHARS // 2
        self.clear()
        self.error = False

    def clear(self) -> None:
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self.total = 0
        self.images: list[Image] = []
        self.images_dropped = 0
        self._clear_pending = False

    def add(self, text: str) -> None:
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        live.emit(text)  # shown while the cell runs; the live view applies carriage returns
        if "\r" in text:  # progress bars: each line keeps what its last \r wrote
            lines = text.replace("\r\n", "\n").split("\n")
            text = "\n".join(line[line.rfind("\r") + 1 :] for line in lines)
        self.total += len(text)
        room = self.half - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += len(self._head[-1])
            text = text[room:]
        if text:
            self._tail = (self._tail + text[-self.half :])[-self.half :]

    def handle(self, msg: dict) -> bool:
        """Take one iopub message of the cell; True when the kernel reports idle."""
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind == "clear_output":  # progress displays: drop what came before
            if content.get("wait"):
                self._clear_pending = True
            else:
                self.clear()
            return False
        if self._clear_pending:
            self.clear()
        if kind == "stream":
            self.add(content.get("text", ""))
        elif kind in ("execute_result", "display_data", "update_display_data"):
            data = content.get("data", {})
            if not self._add_image(data) and "text/plain" in data:
                self.add(data["text/plain"] + "\n")
        elif kind == "error":
            self.error = True
            lines = content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"]
            self.add("\n".join(lines) + "\n")
        return False

    def _add_image(self, data: dict) -> bool:
        mime = next((m for m in ("image/png", "image/jpeg") if m in data), None)
        if mime is None:
            return False
        if len(self.images) >= MAX_IMAGES:
            self.images_dropped += 1
            self.add(f"[image not kept: more than {MAX_IMAGES} in one cell]\n")
        else:
            self.images.append(Image(base64.b64decode(data[mime]), mime))
            self.add(f"[image {len(self.images)}]\n")
        return True

    def excerpt(self, limit: int, why: str = "") -> str:
        """The text, or its first and last ``limit // 2`` characters around a marker."""
        head = "".join(self._head)
        whole = self.total == len(head) + len(self._tail)
        if whole and self.total <= limit:
            return head + self._tail or "(no output)"
        first, last = limit // 2, limit - limit // 2
        end = (head + self._tail)[-last:] if whole else self._tail[-last:]
        omitted = self.total - first - last
        because = f" ({why})" if why and not whole else ""
        return f"{head[:first]}\n… {omitted:,} characters omitted{because} …\n{end}"


# --- helpers --------------------------------------------------------------------------------


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


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the kernel's session until none is left (a fork loop may
    still be adding some while the first ones die)."""
    for _ in range(200):
        pids = [pid for pid in session_tasks(sid)[1] if pid != os.getpid()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    log.warning("processes of kernel session %d survived SIGKILL", sid)


def _user_tasks() -> int:
    """Threads running as this user: RLIMIT_NPROC headroom is counted on top of them."""
    uid, tasks = os.getuid(), 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        try:
            if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                with open(f"/proc/{name}/stat", "rb") as f:
                    tasks += int(f.read().rsplit(b")", 1)[1].split()[17])
        except (OSError, IndexError, ValueError):
            continue
    return tasks
