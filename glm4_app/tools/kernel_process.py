"""One kernel process: launched, limited, confined, watched while a cell runs, and killed.

The launch chain, each link ``exec``ing the next so that nothing runs outside what the
previous one set up::

    sh (joins the kernel's cgroup)  ->  bwrap (the sandbox)  ->  kernel_startup.py --launch
    (rlimits, the kernel's own uid, no capabilities)  ->  ipykernel

Limits, and how each holds (README, "Code sandbox", says what is lost where a mechanism is
missing):

* time: after ``python_timeout_s`` the kernel gets SIGINT, so variables survive; a kernel that
  ignores it for ``GRACE_S`` is restarted. The user's Stop does the same.
* processes and memory: the kernel's cgroup caps all its processes together (confinement.py);
  RLIMIT_AS also caps each process (at twice the limit where the cgroup holds it), so one
  oversized allocation is a MemoryError rather than a killed kernel. A cell that
  hits either limit is stopped and every process it started is killed; the kernel and its
  variables stay unless the kernel itself was the one killed.
* CPU and file size: RLIMIT_CPU, RLIMIT_FSIZE.
* disk: the sandbox's /tmp and /dev/shm are tmpfs of ``python_disk_mb``; /mnt/data (a folder
  of the host) is measured every ``DISK_WATCH_S`` while a cell runs, and a cell that writes
  the session past the quota is stopped. Between cells, what a cell left running is watched
  (``watch_between_cells``, every ``IDLE_DISK_WATCH_S``) and checked again when the next cell
  starts: processes writing past the quota are killed and the next cell is told; a kernel
  that keeps writing itself (a thread) is stopped. Measuring runs in a child process
  (``find``), never in the app's, which would hold the GIL for every file.
* secrets: the kernel gets a minimal environment of its own, never the app's.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

import psutil
from jupyter_client import KernelManager

from ..notices import Notice
from ..settings import Settings
from .cgroups import left_by_dead_apps
from .confinement import Confinement
from .sandbox import MNT_DATA, STARTUP, bwrap_command, give_folder, launcher_command, spawn
from .transcript import Transcript

log = logging.getLogger(__name__)

POLL_S = 0.1  # cancel is honoured within this
WATCH_S = 0.25  # process and memory checks while a cell runs
DISK_WATCH_S = 1.0  # disk checks (a find over /mnt/data) while a cell runs
IDLE_DISK_WATCH_S = 5.0  # between cells, where something the cell left may still write
QUIET_WRITES = 1 << 20  # what an idle kernel may write between cells before it is measured
DISK_MEASURE_TIMEOUT_S = 60.0  # a folder that takes longer holds millions of files: over quota
GRACE_S = 3.0  # how long an interrupted kernel gets to come back before it is restarted
START_TIMEOUT_S = 60.0
MB = 1024 * 1024


class CellOutcome(str, Enum):
    """How a cell ended. The values are what the cell log records."""

    OK = "ok"
    ERROR = "error"  # the code raised
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    DIED = "died"  # the kernel process ended
    PROCESSES = "processes"  # the process limit was reached
    MEMORY = "memory"  # the memory limit was reached
    DISK = "disk"  # the disk quota was reached
    # processes an earlier cell left running wrote past the disk quota (they were killed)
    DISK_BETWEEN_CELLS = "disk-between-cells"


class _LaunchingKernelManager(KernelManager):
    """Starts ipykernel through the launch chain instead of directly."""

    launcher: ClassVar[list[str]] = []  # set per instance
    kernel_args: ClassVar[list[str]] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        return [*self.launcher, *kernel, *self.kernel_args, *(extra_arguments or [])]


class Kernel:
    """One kernel process with its limits, its confinement, its client and its private folder."""

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        sandboxed: bool,
        network: bool,
        uid: int = 0,
        use_cgroups: bool = True,
    ) -> None:
        self.settings = settings
        self.workdir = workdir
        self.sandboxed = sandboxed
        self.uid = uid
        self.executed = False  # whether a cell ran, i.e. whether stopping loses user state
        # Disk between cells: MB used when the last cell ended, MB at the latest look, whether
        # processes were killed for the quota since, looks in a row that found the kernel
        # itself writing past it, and the bytes the kernel had written at the latest look.
        self._disk_after_cell: int | None = None
        self._disk_seen: int | None = None
        self._disk_killed = False
        self._growing = 0
        self._written = 0
        self.kc: Any = None
        tasks = settings.python_max_processes
        plumbing = 2 if sandboxed else 1  # bwrap and its init, or the reaper
        self.confinement = Confinement(
            tasks + plumbing if tasks else 0, settings.python_memory_mb, use_cgroups
        )
        # Connection file, ipc sockets, caches and TMPDIR: private, and gone with the kernel.
        _sweep_private_folders()
        self.private = Path(tempfile.mkdtemp(prefix=f"glm4-kernel-{os.getpid()}-"))
        # ipc sockets instead of TCP: no open port, no "running over TCP" warning.
        self.km = _LaunchingKernelManager(
            transport="ipc", connection_file=str(self.private / "kernel.json")
        )
        launcher = launcher_command(self._limits())
        if sandboxed:
            sandbox = bwrap_command(
                workdir,
                self.private,
                network,
                STARTUP,
                settings.data_dir,
                settings.python_disk_mb or 1024,
                switch_uid=bool(uid),
            )
            launcher = [*sandbox, *launcher]
        self.km.launcher = [*self.confinement.join_prefix(), *launcher]
        # The in-kernel guard only where nothing in the Linux kernel caps processes.
        capped = bool(uid) or os.geteuid() != 0 or self.confinement.hard_process_cap
        guard = 0 if capped else tasks
        setup = (
            f"__import__('runpy').run_path({str(STARTUP)!r}, {{'MAX_TASKS': {guard}}}, "
            "'__glm4_kernel_setup__')"
        )
        no_history = "--HistoryManager.enabled=False"  # no sqlite file, no extra thread
        self.km.kernel_args = [f"--IPKernelApp.exec_lines={setup}", no_history]

    def _limits(self) -> dict[str, int]:
        s = self.settings
        root = os.geteuid() == 0
        capped = self.confinement.hard_process_cap
        # Address space per process: a process maps far more than it uses (the kernel ~550 MB
        # for ~160 MB resident), so where the cgroup holds the real limit this is only the
        # backstop that turns one absurd allocation into a MemoryError.
        address_space = s.python_memory_mb * (2 if self.confinement.hard_memory_cap else 1)
        return {
            "memory_mb": address_space,
            "cpu_s": s.python_cpu_s,
            "file_mb": s.python_file_mb,
            # RLIMIT_NPROC binds every uid but 0; the cgroup, where there is one, refuses first
            # (and counts it, so the cell can be told)
            "nproc": s.python_max_processes if (self.uid or not root) and not capped else 0,
            "shared_tasks": 0 if root or not s.python_max_processes else _user_tasks(),
            "uid": self.uid,
            "reaper": not self.sandboxed,  # the sandbox's init reaps inside it
            "cwd": MNT_DATA if self.sandboxed else "",
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

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            env = self._env()
            self.km.write_connection_file()
            if os.geteuid() == 0:  # the kernel's folders belong to its uid (0 has no caps)
                give_folder(self.private, self.uid)
                give_folder(self.workdir, self.uid)
            with open(self.private / "kernel.log", "wb") as log_file:
                launch = functools.partial(
                    self.km.start_kernel,
                    env=env,
                    cwd=str(self.workdir),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
                spawn(launch) if self.sandboxed else launch()
            self.kc = self.km.client()
            self.kc.start_channels(stdin=False, hb=False)
            self.kc.wait_for_ready(timeout=START_TIMEOUT_S)
            self.confinement.started(self.km.provisioner.pid, depth=2 if self.sandboxed else 1)
        except Exception as exc:
            logged = (self.private / "kernel.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{exc}\n{logged}".strip()) from None

    @property
    def pid(self) -> int:
        """The ipykernel process (inside the sandbox: not the bwrap that started it)."""
        return self.confinement.kernel_pid

    def alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def interrupt(self) -> None:
        if not self.sandboxed:
            self.km.interrupt_kernel()  # SIGINT to the kernel's process group (not the reaper)
            return
        # jupyter_client's SIGINT to the process group would kill bwrap itself (and with it
        # the kernel): interrupt the processes of that group inside the sandbox only.
        try:
            group = os.getpgid(self.pid)
        except OSError:
            return
        for pid in self.confinement.members():
            try:
                if pid not in self.confinement.plumbing and os.getpgid(pid) == group:
                    os.kill(pid, signal.SIGINT)
            except OSError:
                pass  # exited meanwhile

    def death_reason(self) -> Notice:
        """Why the kernel died, for the model (English) and the user (their language)."""
        if self.confinement.over_memory():
            return Notice("kernel.memory_limit", mb=self.settings.python_memory_mb)
        code = getattr(getattr(self.km.provisioner, "process", None), "returncode", None)
        if self.sandboxed and code is not None and code > 128:
            code = 128 - code  # bwrap exits with 128 + the signal that ended the kernel
        if code is None or code >= 0:
            return Notice("kernel.exit_code", code=code) if code else Notice("kernel.exited")
        reasons = {
            signal.SIGKILL: Notice("kernel.killed"),
            signal.SIGXCPU: Notice("kernel.cpu_limit", seconds=self.settings.python_cpu_s),
            signal.SIGXFSZ: Notice("kernel.file_limit", mb=self.settings.python_file_mb),
            signal.SIGSEGV: Notice("kernel.segfault"),
        }
        return reasons.get(-code) or Notice("kernel.signal", name=signal.Signals(-code).name)

    def stop(self) -> None:
        # Every process of the kernel first, while the tree that finds them is whole: without
        # a cgroup or the sandbox they are the reaper's descendants, and shutdown_kernel kills
        # the reaper (with its process group), leaving a setsid child to nobody.
        self.confinement.kill_all()
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)  # connection file and sockets
        except Exception as exc:
            log.debug("kernel shutdown: %s", exc)
        self.confinement.release()
        shutil.rmtree(self.private, ignore_errors=True)

    # --- running a cell ----------------------------------------------------------------------

    def execute(
        self, code: str, out: Transcript, stop: Callable[[], bool], timeout: float
    ) -> tuple[CellOutcome, bool]:
        """Run one cell, collecting its outputs into ``out``. Returns the outcome and whether
        the kernel must be replaced."""
        # The disk is judged before the cell is sent: what the new cell starts and writes is
        # its own, never taken for what earlier code left running.
        quota = self.settings.python_disk_mb
        disk_before, left_over = self._disk_at_start()
        outcome = CellOutcome.DISK_BETWEEN_CELLS if left_over else CellOutcome.OK
        interrupted_at = None
        msg_id = self.kc.execute(code, store_history=True, allow_stdin=False)
        self.executed = True
        self.confinement.mark()
        now = time.monotonic()
        deadline = now + timeout if timeout > 0 else float("inf")
        next_watch, next_disk = now + WATCH_S, now + DISK_WATCH_S
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=POLL_S)
            except queue.Empty:
                msg = None
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id and out.handle(msg):
                break  # the kernel went idle: the cell is done
            now = time.monotonic()
            if interrupted_at is None:
                problem = None
                if stop():
                    problem = CellOutcome.CANCELLED
                elif now >= deadline:
                    problem = CellOutcome.TIMEOUT
                elif now >= next_watch:
                    next_watch = now + WATCH_S
                    problem = self._over_limit(disk_before if now >= next_disk else None)
                    next_disk = next_disk if now < next_disk else now + DISK_WATCH_S
                if problem is CellOutcome.PROCESSES and outcome is not problem:
                    # The first time, refusing the forks and killing what the code started
                    # is enough: a fork or thread bomb fails with its own error. Code that
                    # keeps at it is stopped at the next check.
                    outcome, problem = problem, None
                    self.confinement.kill_strays()
                    self.confinement.mark()
                if problem is not None:
                    outcome, interrupted_at = problem, now
                    self._end_cell(problem)
            elif now - interrupted_at > GRACE_S:
                return outcome, True
            if msg is None and not self.alive():
                self._drain(msg_id, out)
                return CellOutcome.DIED, True
        used = self.disk_used_mb() if quota else None  # measured once: a walk in a child process
        if outcome in (CellOutcome.OK, CellOutcome.DISK_BETWEEN_CELLS):
            # a short cell may have hit a limit between two checks
            problem = self._over_limit(disk_before, used)
            if problem is not None:
                outcome = problem
        if quota:
            self._disk_after_cell = self._disk_seen = used
            self._growing, self._written = 0, self._kernel_written() or 0
        if outcome in (CellOutcome.PROCESSES, CellOutcome.MEMORY, CellOutcome.DISK):
            self.confinement.kill_strays()
        if outcome is CellOutcome.MEMORY and not self.confinement.hard_memory_cap:
            if self.confinement.over_memory():  # the kernel itself holds it: start afresh
                return outcome, True
        while True:  # the execute_reply adds nothing the iopub messages did not say
            try:
                self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                break
        return outcome, False

    def _over_limit(self, disk_before: int | None, used: int | None = None) -> CellOutcome | None:
        """Which limit the running cell reached, if any. ``disk_before``: the usage when the
        cell started, or None to skip the (slower) disk check this time; ``used``: the usage
        now, when the caller measured it already."""
        processes, memory = self.confinement.limits_hit()
        if processes:
            return CellOutcome.PROCESSES
        if memory:
            return CellOutcome.MEMORY
        quota = self.settings.python_disk_mb
        if quota and disk_before is not None:
            used = self.disk_used_mb() if used is None else used
            if used > quota and used > disk_before:  # a cell that frees space is never stopped
                return CellOutcome.DISK
        return None

    # --- between cells -------------------------------------------------------------------------

    def _disk_at_start(self) -> tuple[int, bool]:
        """At a cell's start, before it is sent: MB the session uses (0 without a quota), and
        whether what earlier cells left running wrote it past its disk quota since the last
        cell ended. Whatever they left running is killed then."""
        told, self._disk_killed = self._disk_killed, False
        quota = self.settings.python_disk_mb
        if not quota:
            return 0, told
        used = self.disk_used_mb()
        if used <= quota:
            return used, told
        killed = self.confinement.kill_strays()
        grew = self._disk_after_cell is not None and used > self._disk_after_cell
        if killed:
            used = self.disk_used_mb()  # what they wrote until killed is not the cell's
        return used, told or killed or grew

    def watch_between_cells(self) -> bool:
        """Between cells: stop what writes the session past its disk quota. Processes a cell
        left running are killed (the next cell is told). Returns True when the kernel itself
        keeps writing past it (a thread a cell left running), which only stopping it ends."""
        quota = self.settings.python_disk_mb
        if not quota or not self.executed:
            return False
        strays = self.confinement.strays()
        written = self._kernel_written()
        if not strays and written is not None and written - self._written < QUIET_WRITES:
            return False  # nothing else runs and the kernel wrote next to nothing: not measured
        self._written = written or 0
        used, seen = self.disk_used_mb(), self._disk_seen
        self._disk_seen = used
        if used <= quota:
            self._growing = 0
            return False
        if strays:
            self.confinement.kill_strays()
            self._disk_killed = True
            return False
        # Two looks in a row that found it growing: one could be a process that wrote and
        # exited just before.
        self._growing = self._growing + 1 if seen is not None and used > seen else 0
        return self._growing >= 2

    def _kernel_written(self) -> int | None:
        """Bytes the kernel process wrote so far (files and sockets, all its threads), or None
        where the app may not read it (a non-root app's kernel outside the sandbox is not
        dumpable)."""
        try:
            return psutil.Process(self.pid).io_counters().write_chars
        except (psutil.Error, AttributeError):
            return None

    def _end_cell(self, why: CellOutcome) -> None:
        """Stop the cell: every process it started, then the code itself (SIGINT)."""
        if why in (CellOutcome.PROCESSES, CellOutcome.MEMORY, CellOutcome.DISK):
            self.confinement.kill_strays()
        self.interrupt()  # KeyboardInterrupt: the namespace survives

    def _drain(self, msg_id: str, out: Transcript) -> None:
        """Outputs a dying kernel sent just before the end."""
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") == msg_id:
                out.handle(msg)

    def disk_used_mb(self) -> int:
        """MB the session's files take: /mnt/data, and the sandbox's /tmp and /dev/shm."""
        used = 0
        if self.sandboxed and self.pid:
            for scratch in ("tmp", "dev/shm"):
                try:
                    fs = os.statvfs(f"/proc/{self.pid}/root/{scratch}")
                    used += (fs.f_blocks - fs.f_bfree) * fs.f_frsize
                except OSError:
                    pass
        return (used + _folder_bytes(self.workdir)) // MB


# At least a block for each entry: a million empty files use the disk too.
_FOLDER_BYTES = (
    'find "$1" -mindepth 1 -printf "%b\\n" 2>/dev/null'
    " | awk '{ b = $1 * 512; s += (b > 4096 ? b : 4096) } END { printf \"%.0f\\n\", s }'"
)


def _folder_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` take, counted by ``find`` in a child process: the walk
    of a folder of 100,000 files would hold the app's GIL for a third of a second. Where that
    pipeline does not work (busybox's find has no -printf) it would count 0 and switch the
    quota off unnoticed: the folder is walked here instead."""
    return _find_bytes(folder) if _find_works() else _walk_bytes(folder)


@functools.cache
def _find_works() -> bool:
    """Whether the find pipeline counts a file of one byte as the block it takes (once)."""
    with tempfile.TemporaryDirectory(prefix="glm4-du-") as probe:
        Path(probe, "one").write_bytes(b"1")
        works = _find_bytes(Path(probe)) >= 4096
    if not works:
        log.warning("find -printf or awk does not work here: the disk quota walks in the app")
    return works


def _walk_bytes(folder: Path) -> int:
    """What _FOLDER_BYTES counts, walked in this process."""
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                total += max(os.lstat(os.path.join(root, name)).st_blocks * 512, 4096)
            except OSError:
                continue  # deleted meanwhile
    return total


def _find_bytes(folder: Path) -> int:
    measure = subprocess.Popen(
        ["/bin/sh", "-c", _FOLDER_BYTES, "glm4-du", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # find and awk are killed with it on a timeout
    )
    try:
        out, _ = measure.communicate(timeout=DISK_MEASURE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(measure.pid, signal.SIGKILL)
        measure.wait()
        log.warning("measuring %s took too long: counted as over quota", folder)
        return 1 << 50
    try:
        return int(out.strip() or 0)
    except ValueError:
        return 0


@functools.cache
def _sweep_private_folders() -> None:
    """Remove the private folders of kernels whose app died without cleaning up (once)."""
    for leftover in left_by_dead_apps(Path(tempfile.gettempdir())):
        shutil.rmtree(leftover, ignore_errors=True)


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
