"""A control group per kernel: the Linux kernel itself counts and caps what a session runs.

``pids.max`` caps processes *and* threads of everything the kernel starts, wherever it goes
(``setsid``, double fork, a shell's children, C code): a fork is refused at the cap, not
noticed later. The memory limit is for the whole group, not per process, and the group's
processes can all be killed at once. Both cgroup versions are handled, each controller
where the machine has it: v2 (one tree, ``memory.max``, ``cgroup.kill``) or v1 (a tree per
controller, ``memory.limit_in_bytes``, a kill loop).

A kernel's group is created inside the app's own group, so limits set on the app (a
container, a systemd unit) still bind its kernels. Where no group can be created (a
read-only ``/sys/fs/cgroup`` in a container, a non-root app without delegation) ``problem()``
says why and the caller falls back to rlimits (kernel_process.py).
"""

from __future__ import annotations

import errno
import functools
import itertools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .kernel_startup import kill_until_gone

log = logging.getLogger(__name__)

CONTROLLERS = ("pids", "memory")
_COUNTER = itertools.count(1)


class CgroupError(OSError):
    pass


@dataclass(frozen=True)
class _Parent:
    """Where a controller's kernel groups are made: the app's own group in that tree."""

    version: int
    directory: Path


def _mounts() -> list[tuple[str, str, Path, set[str]]]:
    """(fstype, root inside the hierarchy, mount point, super options) of cgroup mounts."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if tail and tail[0] in ("cgroup", "cgroup2"):
                options = set(tail[2].split(",")) if len(tail) > 2 else set()
                found.append((tail[0], fields[3], Path(fields[4]), options))
    return found


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _inside(mount: Path, root: str, path: str) -> Path:
    relative = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    if relative.startswith(".."):  # our group is not under the mounted part
        raise CgroupError(errno.ENOENT, f"the app's cgroup {path} is outside {mount}")
    return mount / relative if relative != "." else mount


@functools.cache
def _parents() -> dict[str, _Parent]:
    """The parent directory for each controller this machine lets us use."""
    own = _own_paths()
    parents: dict[str, _Parent] = {}
    for fstype, root, mount, options in _mounts():
        if fstype == "cgroup2" and "" in own:
            try:
                available = set((mount / "cgroup.controllers").read_text().split())
            except OSError:
                continue
            directory = _inside(mount, root, own[""])
            for name in CONTROLLERS:
                if name in available and name not in parents:
                    parents[name] = _Parent(2, directory)
    for fstype, root, mount, options in _mounts():
        if fstype == "cgroup":
            for name in CONTROLLERS:
                if name in options and name not in parents and name in own:
                    parents[name] = _Parent(1, _inside(mount, root, own[name]))
    return parents


def _enable_v2(directory: Path, names: list[str]) -> None:
    """Let children of ``directory`` use the controllers. A non-root group holding processes
    cannot (the "no internal processes" rule): the app then moves itself into a leaf child,
    as nsjail does, which works when the app is the group's only process."""
    wanted = " ".join(f"+{n}" for n in names)
    control = directory / "cgroup.subtree_control"
    if set(names) <= set(control.read_text().split()):
        return
    try:
        control.write_text(wanted)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
        leaf = directory / "glm4-app"
        leaf.mkdir(exist_ok=True)
        for pid in (directory / "cgroup.procs").read_text().split():
            (leaf / "cgroup.procs").write_text(pid)
        control.write_text(wanted)


class KernelCgroup:
    """The groups of one kernel (one directory on v2, one per controller on v1)."""

    def __init__(self, max_tasks: int, memory_mb: int, use: tuple[str, ...] = CONTROLLERS) -> None:
        parents = {n: p for n, p in _parents().items() if n in use}
        if not parents:
            raise CgroupError(errno.ENOTSUP, "no pids or memory cgroup controller is mounted")
        for parent in {p.directory for p in parents.values()}:
            _sweep(parent)
        name = f"glm4-kernel-{os.getpid()}-{next(_COUNTER)}"
        self.directories: dict[str, Path] = {}  # controller -> its directory
        self.versions = {n: p.version for n, p in parents.items()}
        try:
            v2 = [n for n, p in parents.items() if p.version == 2]
            if v2:
                _enable_v2(parents[v2[0]].directory, v2)
            for controller, parent in parents.items():
                directory = parent.directory / name
                directory.mkdir(exist_ok=True)
                self.directories[controller] = directory
            if max_tasks and "pids" in self.directories:
                self._write("pids", "pids.max", str(max_tasks))
            if memory_mb and "memory" in self.directories:
                self._limit_memory(memory_mb * 1024 * 1024)
        except OSError as exc:
            self.remove()
            raise CgroupError(exc.errno, f"cannot set up a cgroup: {exc}") from None

    def _write(self, controller: str, file: str, value: str, optional: bool = False) -> None:
        path = self.directories[controller] / file
        if optional and not path.exists():
            return
        path.write_text(value)

    def _read(self, controller: str, file: str) -> str:
        try:
            return (self.directories[controller] / file).read_text()
        except (OSError, KeyError):
            return ""

    def _limit_memory(self, limit: int) -> None:
        if self.versions["memory"] == 2:
            self._write("memory", "memory.max", str(limit))
            self._write("memory", "memory.swap.max", "0", optional=True)  # no escape into swap
        else:
            self._write("memory", "memory.limit_in_bytes", str(limit))
            self._write("memory", "memory.memsw.limit_in_bytes", str(limit), optional=True)

    @property
    def limits_processes(self) -> bool:
        return "pids" in self.directories

    @property
    def limits_memory(self) -> bool:
        return "memory" in self.directories

    def join_files(self) -> list[str]:
        """The ``cgroup.procs`` files a launcher writes its pid to before it execs the kernel."""
        return [str(d / "cgroup.procs") for d in dict.fromkeys(self.directories.values())]

    def pids(self) -> list[int]:
        seen: dict[int, None] = {}
        for directory in dict.fromkeys(self.directories.values()):
            try:
                listed = (directory / "cgroup.procs").read_text().split()
                seen.update(dict.fromkeys(int(pid) for pid in listed))
            except OSError:
                continue
        return list(seen)

    def process_limit_hits(self) -> int:
        """How many times a fork or thread was refused at ``pids.max``."""
        return _counter(self._read("pids", "pids.events"), "max")

    def oom_kills(self) -> int:
        """Processes the kernel killed because the group reached its memory limit."""
        if "memory" not in self.directories:
            return 0
        file = "memory.events" if self.versions["memory"] == 2 else "memory.oom_control"
        return _counter(self._read("memory", file), "oom_kill")

    def memory_peak_mb(self) -> int:
        file = "memory.peak" if self.versions.get("memory") == 2 else "memory.max_usage_in_bytes"
        value = self._read("memory", file).strip()
        return int(value) // (1024 * 1024) if value.isdigit() else 0

    def kill(self, keep: frozenset[int] = frozenset(), rounds: int = 200) -> bool:
        """SIGKILL every process of the group but ``keep``, until none is left (a fork loop may
        still be adding some while the first die; at pids.max it cannot add many). True when
        none is left."""
        if not keep and "pids" in self.directories and self.versions["pids"] == 2:
            try:
                self._write("pids", "cgroup.kill", "1", optional=True)
            except OSError:
                pass
        if kill_until_gone(lambda: [pid for pid in self.pids() if pid not in keep and pid != os.getpid()], rounds):
            return False
        self._settle()
        return True

    def _settle(self, wait_s: float = 2.0) -> None:
        """Wait for the killed processes to be reaped: until then they still hold pids of the
        group (a zombie counts), and the kernel could not start a process after a fork bomb.
        The sandbox's init reaps at once; outside, the machine's init (or whoever adopted
        them) does, usually within a moment."""
        if "pids" not in self.directories:
            return
        deadline = time.monotonic() + wait_s
        last, steady = -1, 0
        while time.monotonic() < deadline:
            held = self._read("pids", "pids.current").strip()
            if not held.isdigit() or int(held) <= sum(_threads(p) for p in self.pids()):
                return
            # The kernel's own unreaped children stay counted: stop once nothing changes.
            steady = steady + 1 if int(held) == last else 0
            if steady >= 5:
                return
            last = int(held)
            time.sleep(0.02)

    def remove(self) -> None:
        for directory in self.directories.values():
            for _ in range(100):  # the last processes may still be exiting
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                log.warning("cgroup %s could not be removed", directory)


@functools.cache
def _sweep(parent: Path) -> None:
    """Remove the empty groups left by apps that died without cleaning up (killed, crashed):
    once per parent and process."""
    for leftover in left_by_dead_apps(parent):
        try:
            leftover.rmdir()  # fails, and so stays, while a process is still in it
        except OSError:
            pass


def left_by_dead_apps(parent: Path) -> list[Path]:
    """The ``glm4-kernel-<app pid>-...`` entries of ``parent`` (cgroups, kernels' private
    folders) whose app is no longer running."""
    found = []
    for leftover in parent.glob("glm4-kernel-*-*"):
        owner = leftover.name.split("-")[2]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            found.append(leftover)
    return found


def _threads(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[17])
    except (OSError, IndexError, ValueError):
        return 0


def _counter(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


@functools.cache
def problem() -> str | None:
    """None when kernel groups with both controllers can be made here, else why not."""
    try:
        probe = KernelCgroup(max_tasks=8, memory_mb=64)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        log.info("kernel cgroups: not available (%s)", reason)
        return str(reason)
    missing = [n for n in CONTROLLERS if n not in probe.directories]
    probe.remove()
    if missing:
        return f"no {' or '.join(missing)} cgroup controller here"
    return None
