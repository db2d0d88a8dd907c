"""Kernel-side code of the python tool: it runs in the kernel's process, never in the app's.

Two roles, chosen by how the file is run (importing it runs neither; the app imports it only
for ``session_tasks``):

* ``python kernel_startup.py --launch LIMITS_JSON -- CMD...`` is the launcher. It applies the
  resource limits, gives up root's capabilities, then ``exec``s the kernel, so the limits hold
  from the kernel's first instruction and bind everything it starts. A separate process rather
  than a Popen ``preexec_fn``, because ``preexec_fn`` may deadlock in a threaded app.
* ``runpy.run_path(this, {"MAX_TASKS": n}, "__glm4_kernel_setup__")`` from the kernel's
  ``exec_lines`` configures the kernel: matplotlib inline with a font that has Chinese glyphs,
  the usual libraries pre-imported, and the process guard. It runs before the kernel answers
  ``kernel_info`` (inside the app's background warm-up) and in a namespace of its own, so the
  user's namespace stays clean.
"""

import os
import sys

# Fonts that carry Chinese glyphs, best first (sans before serif).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "Droid Sans Fallback",
    "AR PL UKai CN",
    "AR PL UMing CN",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38


def session_tasks(sid: int) -> tuple[int, list[int]]:
    """Threads in session ``sid``, zombies included (RLIMIT_NPROC counts them too), and the
    pids of its live processes."""
    tasks, pids = 0, []
    try:
        names = os.listdir("/proc")
    except OSError:  # not Linux: nothing to count
        return 0, []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[3]) == sid:  # fields after "(comm)": state ppid pgrp session ...
            tasks += int(fields[17])  # num_threads
            if fields[0] not in (b"Z", b"X"):  # a zombie cannot be killed, only reaped
                pids.append(int(name))
    return tasks, pids


# --- the launcher ---------------------------------------------------------------------------


def launch(limits: dict, cmd: list) -> None:
    import resource

    mb = 1024 * 1024
    caps = {
        resource.RLIMIT_AS: limits.get("memory_mb", 0) * mb,
        resource.RLIMIT_FSIZE: limits.get("file_mb", 0) * mb,
        resource.RLIMIT_NPROC: limits.get("nproc", 0),
    }
    for res, value in caps.items():
        if value > 0:  # 0 in the settings means "no limit"
            resource.setrlimit(res, (value, value))
    cpu = limits.get("cpu_s", 0)
    if cpu > 0:  # SIGXCPU at the soft limit, SIGKILL at the hard one should SIGXCPU be caught
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    _drop_privileges()
    os.execv(cmd[0], cmd)


def _drop_privileges() -> None:
    """As root, empty the capability bounding set: after ``exec`` the kernel is uid 0 without
    any capability. It still reads and writes root-owned files (as their owner), but it cannot
    raise its hard limits (CAP_SYS_RESOURCE), mount, change uid, or read another process's
    /proc/PID/environ or memory: ptrace access to a process whose capabilities are not a
    subset of one's own needs CAP_SYS_PTRACE, which is gone. NO_NEW_PRIVS keeps setuid
    binaries and file capabilities from giving any of it back."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except Exception:  # not Linux
        return
    if os.geteuid() == 0:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                last = int(f.read())
        except OSError:
            last = 63  # dropping capabilities the kernel does not know fails harmlessly
        for cap in range(last + 1):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


# --- setup inside the kernel ------------------------------------------------------------------


def setup_kernel(max_tasks: int) -> None:
    if max_tasks > 0:
        _guard_process_creation(max_tasks)
    for name in ("numpy", "pandas"):  # imported once here, during the background warm-up
        try:
            __import__(name)
        except Exception:
            pass
    try:
        import matplotlib
        import matplotlib.pyplot  # selects the inline backend named by MPLBACKEND
        from matplotlib import font_manager
    except Exception:
        return
    installed = {f.name for f in font_manager.fontManager.ttflist}
    chosen = next((name for name in CJK_FONTS if name in installed), None)
    if chosen is None:  # an unlisted CJK font: anything whose family says so
        chosen = next((n for n in sorted(installed) if "CJK" in n or "Han Sans" in n), None)
    if chosen is not None:
        sans = [f for f in matplotlib.rcParams["font.sans-serif"] if f != chosen]
        matplotlib.rcParams["font.sans-serif"] = [chosen, *sans]
        matplotlib.rcParams["font.family"] = "sans-serif"
    # CJK fonts often lack U+2212 MINUS SIGN; the ASCII hyphen renders everywhere.
    matplotlib.rcParams["axes.unicode_minus"] = False


def _guard_process_creation(max_tasks: int) -> None:
    """Refuse to start a process once the kernel's session holds ``max_tasks`` threads, the
    way RLIMIT_NPROC would if it applied to root (it does not). Covers os.fork (so
    ``while True: os.fork()`` and multiprocessing), subprocess and posix_spawn; a fork made in
    C (ctypes, os.system's shell) gets past it, and the app's watchdog catches that one."""
    import _posixsubprocess
    import errno
    import functools

    sid = os.getsid(0)

    def guarded(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if session_tasks(sid)[0] >= max_tasks:
                raise BlockingIOError(
                    errno.EAGAIN, f"process limit reached ({max_tasks} processes and threads)"
                )
            return fn(*args, **kwargs)

        return wrapper

    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, guarded(getattr(os, name)))
    _posixsubprocess.fork_exec = guarded(_posixsubprocess.fork_exec)


if __name__ == "__main__" and sys.argv[1:2] == ["--launch"]:
    import json

    launch(json.loads(sys.argv[2]), sys.argv[sys.argv.index("--") + 1 :])
elif __name__ == "__glm4_kernel_setup__":
    setup_kernel(globals().get("MAX_TASKS", 0))
