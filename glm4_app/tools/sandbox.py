"""Isolation of the python tool's kernel: bubblewrap, wherever it works.

Each session's kernel runs inside bubblewrap (``bwrap``): its own process namespace (it cannot
see or signal the app or other kernels), a read-only view of the system and of the Python
installation, private tmpfs for ``/tmp`` and ``/dev/shm`` (sized to the disk quota), and only
its session's own folder, read-write at ``/mnt/data``. The app's data directory (SQLite
database, other sessions' folders, logs), the repository (secrets) and the rest of ``/etc``
and ``/root`` are simply not there. The network is a namespace of its own without any
interface unless ``GLM4_KERNEL_NETWORK`` allows it (by default: locally yes, hosted no).
A root app also gives each kernel a uid of its own inside (the launcher switches to it, with
the two capabilities bwrap lets it keep for that), so RLIMIT_NPROC binds it; a non-root app's
bwrap makes a user namespace, where it binds just as well.

The sandbox is the default, hosted or not (``GLM4_KERNEL_SANDBOX=auto``). Where bwrap is
missing or cannot create namespaces, a local app runs the kernel without it and says what
that loses; a hosted one does not offer the python tool unless
``GLM4_ALLOW_UNSANDBOXED_KERNEL`` says to. bwrap is the only mechanism used: ``unshare -n``
alone would cut the network but leave every file readable, and rebuilding bwrap's mount setup
out of ``unshare -m`` and shell would be a second, weaker sandbox to maintain.

The kernel talks to the app over ZMQ ``ipc`` sockets (Unix socket files) in its private
folder, which is bound into the sandbox at the same path: Unix sockets on the file system work
across network namespaces, where TCP to the host would not.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..notices import Notice
from ..settings import APP_DIR, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

MNT_DATA = "/mnt/data"
HOME = "/tmp/home"  # on the sandbox's private /tmp tmpfs
# The parts of /etc a Python kernel uses (loader, fonts, certificates, names, time zone);
# the rest (shadow, ssh keys, app configs) stays outside.
ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "ssl", "ca-certificates",
    "ca-certificates.conf", "pki", "localtime", "timezone", "mime.types", "magic", "matplotlibrc",
    "nsswitch.conf", "passwd", "group", "host.conf", "hosts", "resolv.conf", "gai.conf",
    "protocols", "services", "os-release", "debian_version", "xdg",
)  # fmt: skip
# The launcher run first in every sandbox (limits, the folder's uid, capabilities dropped).
STARTUP = Path(__file__).with_name("kernel_startup.py")
SYSTEM = ("/usr", "/opt")  # read-only; /bin, /lib... are symlinks into /usr on merged-usr systems


def launcher_command(limits: dict) -> list[str]:
    """The launcher with ``limits`` (kernel_startup.py's --launch), before the command it execs."""
    return [sys.executable, str(STARTUP), "--launch", json.dumps(limits), "--"]


# --- what the python tool does -------------------------------------------------------------


@dataclass(frozen=True)
class KernelPolicy:
    sandboxed: bool  # run the kernel inside bwrap
    network: bool  # the sandbox keeps the host's network
    off_reason: Notice | None = None  # the python tool is not offered, and this says why
    notice: Notice | None = None  # what the UI and the log tell about the kernel's isolation

    @property
    def available(self) -> bool:
        return not self.off_reason


def kernel_policy(settings: Settings, hosted: bool) -> KernelPolicy:
    """How this app runs the python tool, from the settings, hosted or not, and whether bwrap
    works on this machine (probed once)."""
    network = settings.kernel_network == "true" or (
        settings.kernel_network == "auto" and not hosted
    )
    if settings.kernel_sandbox == "off":
        if hosted:
            return KernelPolicy(False, True, notice=Notice("sandbox.off_when_hosted"))
        return KernelPolicy(False, True)
    problem = isolation_problem()
    if problem is None:
        note = Notice("sandbox.with_network") if network else Notice("sandbox.without_network")
        return KernelPolicy(True, network, notice=note)
    if not hosted and settings.kernel_sandbox == "auto":
        return KernelPolicy(False, True, notice=Notice("sandbox.unsandboxed", problem=problem))
    if settings.allow_unsandboxed_kernel == "true":
        return KernelPolicy(False, True, notice=Notice("sandbox.allowed_unsandboxed", problem=problem))
    reason = Notice("sandbox.none_available", problem=problem)
    return KernelPolicy(False, network, off_reason=reason, notice=Notice("sandbox.python_off", reason=reason))


# --- the bwrap command ----------------------------------------------------------------------


def bwrap_command(
    workdir: Path,
    private: Path,
    network: bool,
    startup: Path,
    data_dir: Path | None = None,
    scratch_mb: int = 256,
    switch_uid: bool = False,
) -> list[str]:
    """The prefix that runs a command in the sandbox: ``[*bwrap_command(...), *cmd]``.

    ``private`` (connection file, ipc sockets, caches) is bound read-write at its own path so
    the app and the kernel name the same files; ``startup`` (the launcher) read-only at its
    own path; ``workdir`` read-write at /mnt/data. Nothing else of the app is visible. /tmp
    and /dev/shm are tmpfs of ``scratch_mb`` each (memory: unbounded they could take half of
    it); everything else is read-only. ``switch_uid`` (a root app) keeps CAP_SETUID and
    CAP_SETGID for the launcher, which uses them to become the kernel's own uid and so
    loses them before the kernel starts.
    """
    scratch = ["--perms", "01777", "--size", str(max(scratch_mb, 16) * 1024 * 1024), "--tmpfs"]
    bwrap = shutil.which("bwrap") or "bwrap"
    cmd = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not network:
        cmd.append("--unshare-net")
    # --die-with-parent: the sandbox is killed with the app (see spawn()).
    cmd += ["--die-with-parent", "--cap-drop", "ALL", "--hostname", "sandbox"]
    if switch_uid:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    cmd += ["--proc", "/proc", "--dev", "/dev", *scratch, "/dev/shm", *scratch, "/tmp"]
    cmd += ["--perms", "01777", "--dir", HOME]
    cmd += _system_view([startup, private, Path(MNT_DATA)], data_dir)
    cmd += ["--ro-bind", str(startup), str(startup)]
    cmd += ["--bind", str(private), str(private), "--bind", str(workdir), MNT_DATA]
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]  # last: mount points are made by now
    # ipykernel would take bwrap's init (pid 1 here) for an orphaned parent and exit.
    # The launcher enters /mnt/data once it is the kernel's uid: bwrap, root without
    # CAP_DAC_OVERRIDE by then, could not enter a folder private to that uid.
    cmd += ["--unsetenv", "JPY_PARENT_PID", "--setenv", "HOME", HOME, "--chdir", "/"]
    return cmd


def worker_sandbox(package: Path = APP_DIR / "glm4_app") -> list[str]:
    """The prefix for a document worker (doc_worker.py): the system, Python and the app's
    package read-only at /app/glm4_app, a small private /tmp, and nothing else; no network,
    no other process in sight, no capability."""
    bwrap = shutil.which("bwrap") or "bwrap"
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(64 * 1024 * 1024), "--tmpfs", "/tmp"]
    cmd += _system_view([Path("/app/glm4_app")])
    cmd += ["--ro-bind", str(package), "/app/glm4_app", "--remount-ro", "/"]
    return [*cmd, "--setenv", "HOME", "/tmp", "--chdir", "/app"]


def _system_view(targets: list[Path], data_dir: Path | None = None) -> list[str]:
    """Read-only binds of the system, the parts of /etc a Python program uses and the Python
    installation, with the folders on the way to ``targets`` (bound afterwards) searchable."""
    cmd: list[str] = []
    for path in SYSTEM:
        cmd += ["--ro-bind-try", path, path]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        cmd += _top_level(name)
    roots = python_roots()
    # Folders bwrap makes on the way to a bound path are private to root: make them searchable
    # for a kernel with a uid of its own (/etc among them).
    for folder in _parents([t for _, t in roots] + targets + [Path("/etc/hosts")]):
        cmd += ["--perms", "0755", "--dir", str(folder)]
    for name in ETC:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for source, target in roots:
        cmd += ["--ro-bind", str(source), str(target)]
    for hidden in hidden_paths(data_dir):  # should the app or its data lie in a bound folder
        cmd += ["--tmpfs", str(hidden), "--remount-ro", str(hidden)]
    return cmd


def give_folder(root: Path, uid: int) -> None:
    """``root`` and everything in it to ``uid`` (a root app's session folder to the uid its
    kernel and sandboxed servers run as), unless it is that uid's already."""
    if root.stat().st_uid == uid:
        return
    os.chown(root, uid, uid)
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            try:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
            except OSError:
                continue


_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawner")


def spawn(start: Callable[[], T]) -> T:
    """Run ``start`` (which starts a bwrap process) on a thread that lives with the app: bwrap
    --die-with-parent ties the sandbox to the thread that started it (Linux PR_SET_PDEATHSIG
    follows threads), and a Streamlit script thread ends after every rerun."""
    return _SPAWNER.submit(start).result()


def _parents(paths: list[Path]) -> list[Path]:
    """The folders above ``paths`` that the sandbox does not have already, top down."""
    found: dict[Path, None] = {}
    for path in paths:
        for parent in reversed(Path(path).parents):
            # /tmp itself is the sandbox's own tmpfs, but a folder inside it (an app or a venv
            # in a mktemp folder, private to root) must still be made searchable.
            if parent in (Path("/"), Path("/tmp")) or any(parent.is_relative_to(s) for s in SYSTEM):
                continue
            found[parent] = None
    return list(found)


def _top_level(name: str) -> list[str]:
    path = Path("/", name)
    if path.is_symlink():
        return ["--symlink", os.readlink(path), str(path)]
    return ["--ro-bind-try", str(path), str(path)]


def python_roots() -> list[tuple[Path, Path]]:
    """(source, target) of the Python installation: the venv at the path the app knows it by
    (it may be a symlink), and the base interpreter's prefix; those inside /usr are already
    there."""
    roots: dict[Path, Path] = {}
    for prefix in {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}:
        target = Path(prefix).absolute()
        source = target.resolve()
        if not any(source.is_relative_to(s) for s in SYSTEM):
            roots[target] = source
    return [(source, target) for target, source in sorted(roots.items())]


def hidden_paths(data_dir: Path | None = None) -> list[Path]:
    """The app's folder and its data directory, should they lie inside a folder bound into
    the sandbox (an app installed under /opt, a data dir inside the venv)."""
    bound = [Path(p) for p in SYSTEM] + [target for _, target in python_roots()]
    candidates = {APP_DIR.resolve(), APP_DIR.absolute()}
    if data_dir is not None:
        candidates |= {Path(data_dir).resolve(), Path(data_dir).absolute()}
    return sorted(p for p in candidates if any(p.is_relative_to(b) for b in bound))


# --- can this machine do it ---------------------------------------------------------------


@functools.cache
def isolation_problem() -> Notice | str | None:
    """None when bwrap can build the sandbox here, else why not. Probed once per process by
    running ``true`` in the very sandbox the kernels get."""
    if shutil.which("bwrap") is None:
        problem = Notice("sandbox.no_bwrap")
    else:
        with tempfile.TemporaryDirectory(prefix="glm4-sandbox-probe-") as tmp:
            work, private = Path(tmp, "work"), Path(tmp, "private")
            work.mkdir()
            private.mkdir()
            switch = os.geteuid() == 0  # the very capabilities a root app's kernels keep
            cmd = [*bwrap_command(work, private, False, STARTUP, switch_uid=switch), "true"]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                failed = done.returncode != 0
                problem = _first_line(done.stderr, done.returncode) if failed else None
            except (OSError, subprocess.TimeoutExpired) as exc:
                problem = Notice("sandbox.bwrap_failed", error=exc)
    if problem is None:
        log.info("kernel sandbox: bubblewrap works; hosted sessions run Python isolated")
    else:
        log.warning("kernel sandbox: no isolation available: %s", problem)
    return problem


def _first_line(stderr: str, code: int) -> Notice:
    line = next((l.strip() for l in stderr.splitlines() if l.strip()), f"exit code {code}")
    return Notice("sandbox.bwrap_cannot", error=line)
