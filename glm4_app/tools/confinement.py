"""What holds one kernel: its cgroup, its own uid, and who counts as one of its processes.

The strongest mechanism the machine offers is used, each with a fallback (README, "Code
sandbox", says what each loses):

* processes: ``pids.max`` of the kernel's cgroup; else RLIMIT_NPROC, which binds only a
  non-root uid, so a root app runs each kernel as a uid of its own (``allocate_uid``); else a
  watchdog counting the kernel's processes.
* memory: the cgroup's limit on all its processes together; else a watchdog summing their
  resident memory. RLIMIT_AS per process stays in both cases, so one oversized allocation
  is a MemoryError rather than a killed kernel.
* kill: every process of the cgroup; else of the kernel's pid namespace (the sandbox); else
  every descendant of the reaper the kernel runs under outside the sandbox (a subreaper, so
  nothing the kernel starts leaves its tree), stopped first and then killed.

"Members" are found the same way, strongest first. psutil reads the process table.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from pathlib import Path

import psutil

from .cgroups import CgroupError, KernelCgroup
from .kernel_startup import send_signal, stop_then_kill

log = logging.getLogger(__name__)

# Kernel uids: a block no distribution hands out (systemd's container range ends at
# 1879048191), inside what /proc/self/uid_map maps when the app runs in a user namespace.
UID_BLOCK = (1_900_000_000, 1 << 20)
_TAKEN: set[int] = set()
_TAKEN_LOCK = threading.Lock()


def allocate_uid() -> int:
    """A uid no live process uses, reserved for one session's kernels (root only)."""
    start, size = _uid_block()
    live = {p.info["uids"].real for p in psutil.process_iter(["uids"]) if p.info["uids"]}
    with _TAKEN_LOCK:
        for _ in range(1000):
            uid = start + random.randrange(size)
            if uid not in live and uid not in _TAKEN:
                _TAKEN.add(uid)
                return uid
    raise RuntimeError("no free uid for the kernel")


def release_uid(uid: int) -> None:
    with _TAKEN_LOCK:
        _TAKEN.discard(uid)


def _uid_block() -> tuple[int, int]:
    """UID_BLOCK if this user namespace maps it, else the upper half of its largest range
    (less the top two ids: overflow and nobody)."""
    extents = []
    try:
        for line in Path("/proc/self/uid_map").read_text().splitlines():
            inside, _, count = (int(x) for x in line.split())
            extents.append((inside, count))
    except (OSError, ValueError):
        return UID_BLOCK
    start, size = UID_BLOCK
    if any(a <= start and start + size <= a + n for a, n in extents):
        return UID_BLOCK
    inside, count = max(extents, key=lambda e: e[1])
    usable = count - 2
    return inside + max(usable // 2, 1000), max(usable - max(usable // 2, 1000), 1)


def reachable_by_anyone(path: Path) -> bool:
    """Whether a process of another uid can open ``path``: every folder above it searchable
    and the file readable by others. (pyenv under /root is not: a kernel with a uid of its
    own could not even start Python there, outside the sandbox.)"""
    path = Path(path).resolve()
    try:
        if not path.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in path.parents)
    except OSError:
        return False


# --- the processes of one kernel ----------------------------------------------------------------


class Confinement:
    """One kernel's cgroup (when the machine allows one), uid, and processes."""

    def __init__(self, max_tasks: int, memory_mb: int, use_cgroups: bool = True) -> None:
        self.max_tasks, self.memory_mb = max_tasks, memory_mb
        self.cgroup: KernelCgroup | None = None
        if use_cgroups and (max_tasks or memory_mb):
            try:
                self.cgroup = KernelCgroup(max_tasks, memory_mb)
            except CgroupError as exc:
                log.info("kernel without a cgroup: %s", exc)
        self.kernel_pid = 0  # the ipykernel process
        self.plumbing: frozenset[int] = frozenset()  # bwrap and the sandbox's init
        self._pidns = 0
        self._hits = 0
        self._ooms = 0

    # limits held by the Linux kernel, not by this module's watchdog
    @property
    def hard_process_cap(self) -> bool:
        return self.cgroup is not None and self.cgroup.limits_processes

    @property
    def hard_memory_cap(self) -> bool:
        return self.cgroup is not None and self.cgroup.limits_memory

    def join_prefix(self) -> list[str]:
        """A command prefix that puts the launched process into the cgroup before it execs
        anything, so that nothing it starts is ever outside."""
        if self.cgroup is None:
            return []
        join = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", join, "glm4-join", *self.cgroup.join_files(), "--"]

    def started(self, launched_pid: int, depth: int) -> None:
        """Note the launched process and the kernel ``depth`` levels below it: outside the
        sandbox the launcher stays as the reaper (one level), inside bwrap and its init stand
        between (two)."""
        chain = [launched_pid]
        for _ in range(depth):
            chain.append(_only_child(chain[-1]) if chain[-1] else 0)
        self.kernel_pid = chain[-1] or launched_pid
        self.plumbing = frozenset(p for p in chain[:-1] if p)
        if depth > 1:  # the sandbox: its own pid namespace
            try:
                self._pidns = os.stat(f"/proc/{self.kernel_pid}/ns/pid").st_ino
            except OSError:
                self._pidns = 0
        self.mark()

    def members(self) -> list[int]:
        """Every live process the kernel started (and the kernel, and its plumbing): those of
        its cgroup; else of the sandbox's pid namespace; else the reaper's descendants (it is
        a subreaper: whatever leaves the kernel's session, ``setsid`` or a double fork, stays
        in its tree)."""
        if self.cgroup is not None:
            return self.cgroup.pids()
        if not self._pidns:
            tree = []
            for root in self.plumbing:
                try:
                    tree += [p.pid for p in psutil.Process(root).children(recursive=True)]
                except psutil.Error:
                    continue
            return [p for p in dict.fromkeys([*tree, *self.plumbing]) if _alive(p)]
        found = []
        for proc in psutil.process_iter(["status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue  # a zombie cannot be killed, only reaped (it holds no memory)
            try:
                if os.stat(f"/proc/{proc.pid}/ns/pid").st_ino == self._pidns:
                    found.append(proc.pid)
            except OSError:
                pass
        return list(dict.fromkeys([*found, *filter(_alive, self.plumbing)]))

    @property
    def _keep(self) -> frozenset[int]:
        """What killing the kernel's strays spares: the kernel and its plumbing."""
        return frozenset({self.kernel_pid, *self.plumbing})

    def strays(self) -> list[int]:
        """The processes the kernel started (not the kernel, not its plumbing)."""
        keep = self._keep
        return [pid for pid in self.members() if pid not in keep]

    def tasks(self, members: list[int] | None = None) -> int:
        """Processes and threads of the kernel (what pids.max and RLIMIT_NPROC count);
        ``members``: the kernel's processes, when the caller just listed them."""
        total = 0
        for pid in self.members() if members is None else members:
            try:
                total += psutil.Process(pid).num_threads()
            except psutil.Error:
                continue
        return total

    def resident_mb(self, members: list[int] | None = None) -> int:
        """Memory the kernel's processes use together: their proportional set sizes, which
        share the pages forked processes share (summed resident sizes would count the kernel's
        ~160 MB once per fork). ``members`` as for tasks()."""
        total = 0
        for pid in self.members() if members is None else members:
            try:
                total += psutil.Process(pid).memory_full_info().pss
            except psutil.Error:
                continue
        return total // (1024 * 1024)

    # --- what happened since mark() -------------------------------------------------------

    def mark(self) -> None:
        if self.cgroup is not None:
            self._hits, self._ooms = self.cgroup.process_limit_hits(), self.cgroup.oom_kills()

    def hit_process_limit(self, members: list[int] | None = None) -> bool:
        """Whether a fork or thread was refused since mark(): the cgroup counts its refusals.
        Without one (RLIMIT_NPROC refuses silently) the count being at the cap stands for it."""
        if self.hard_process_cap:
            return self.cgroup.process_limit_hits() > self._hits
        return bool(self.max_tasks) and self.tasks(members) >= self.max_tasks - 2

    def over_memory(self, members: list[int] | None = None) -> bool:
        """The group's memory limit killed a process (cgroup), or the sum of the processes'
        memory is over the limit (the watchdog's job without one)."""
        if self.hard_memory_cap:
            return self.cgroup.oom_kills() > self._ooms
        return bool(self.memory_mb) and self.resident_mb(members) > self.memory_mb

    def limits_hit(self) -> tuple[bool, bool]:
        """(hit_process_limit(), over_memory()), listing the kernel's processes once where
        both would (the watchdog asks four times a second)."""
        both_walk = not self.hard_process_cap and not self.hard_memory_cap and self.max_tasks and self.memory_mb
        members = self.members() if both_walk else None
        return self.hit_process_limit(members), self.over_memory(members)

    # --- ending processes --------------------------------------------------------------------

    def kill_strays(self) -> bool:
        """SIGKILL everything the kernel started, keeping the kernel and its variables.
        Whether there was anything to kill."""
        if not self.strays():
            return False
        self._kill(keep=self._keep)
        return True

    def kill_all(self) -> None:
        self._kill(keep=frozenset())

    def _kill(self, keep: frozenset[int]) -> None:
        if self.cgroup is not None:
            if not self.cgroup.kill(keep=keep):
                log.warning("processes of kernel %d survived SIGKILL", self.kernel_pid)
            return
        if not keep and self._pidns and self.plumbing:
            for pid in self.plumbing:  # the sandbox's init: its namespace dies with it
                send_signal(pid, signal.SIGKILL)
        # Without a cgroup nothing caps a fork loop: stopped first, then killed.
        left = stop_then_kill(lambda: [p for p in self.members() if p not in keep])
        if left:
            survivors = {p: _describe(p) for p in left}
            log.warning("processes of kernel %d survived SIGKILL: %s", self.kernel_pid, survivors)

    def release(self) -> None:
        """After the kernel stopped: nothing of it may be left."""
        self.kill_all()
        if self.cgroup is not None:
            self.cgroup.remove()


def _only_child(pid: int) -> int:
    """The first child of ``pid`` (bwrap's chain has one at each level), waiting briefly."""
    for _ in range(200):
        try:
            children = psutil.Process(pid).children()
        except psutil.Error:
            return 0
        if children:
            return min(c.pid for c in children)
        time.sleep(0.01)
    return 0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(pid: int) -> str:
    try:
        proc = psutil.Process(pid)
        return f"{proc.name()} {proc.status()} uid {proc.uids().real}"
    except psutil.Error:
        return "gone"
