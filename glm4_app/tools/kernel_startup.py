"""Kernel-side code of the python tool: it runs in the kernel's process, never in the app's.

Two roles, chosen by how the file is run (importing it runs neither):

* ``python kernel_startup.py --launch LIMITS_JSON -- CMD...`` is the launcher. It applies the
  resource limits, switches to the kernel's own uid when it was given one (a root app), gives
  up every capability, then ``exec``s the kernel (or a sandboxed MCP server, as the same uid so
  both write the session's folder), so the limits hold from the kernel's first instruction and
  bind everything it starts. A separate process rather than a Popen
  ``preexec_fn``, because ``preexec_fn`` may deadlock in a threaded app. Outside the sandbox it
  first forks: the parent stays as the reaper of the kernel's process tree (the sandbox's init
  does that inside).
* ``runpy.run_path(this, {"MAX_TASKS": n}, "__glm4_kernel_setup__")`` from the kernel's
  ``exec_lines`` configures the kernel: not readable by other processes of its uid, matplotlib
  inline with fonts for Latin and Chinese text, the usual libraries pre-imported,
  DataFrames displayed with their data as well (``TABLE_MIME``) for an interactive table, and
  plotly figures as self-contained HTML (``plotly_figures``). It runs
  before the kernel answers ``kernel_info`` (inside the app's background warm-up) and in a
  namespace of its own, so the user's namespace stays clean.
"""

import os
import sys

# Fonts that carry Chinese glyphs, best first (sans before serif). Several may be used at
# once: matplotlib takes each glyph from the first font of the family list that has it.
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
# Latin glyphs (digits, brackets, the minus sign) come from matplotlib's own font: some CJK
# fonts (Droid Sans Fallback) have none of them.
LATIN_FONT = "DejaVu Sans"
# Names that generated code sets (``rcParams["font.sans-serif"] = ["SimHei"]``) although
# they are Windows or macOS fonts: they resolve to the CJK font installed here.
CJK_ALIASES = (
    "SimHei", "Microsoft YaHei", "SimSun", "KaiTi", "FangSong", "STHeiti", "STSong",
    "Heiti SC", "Heiti TC", "PingFang SC", "Arial Unicode MS", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC",
)  # fmt: skip
# A DataFrame's (or Series') first rows as data: the page shows them as an interactive table
# instead of re-reading the HTML (glm4_app/artifacts/saved.py).
TABLE_MIME = "application/vnd.glm4.table+json"
TABLE_ROWS = 1000
TABLE_COLUMNS = 200
TABLE_CHARS = 2_000_000
PR_CAPBSET_DROP, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 24, 4, 38, 36


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
    uid = limits.get("uid", 0)
    nproc = limits.get("nproc", 0)
    if nproc and not uid and not _own_user_namespace():
        nproc += limits.get("shared_tasks", 0)  # RLIMIT_NPROC counts all of this user's tasks
    caps = {
        resource.RLIMIT_AS: limits.get("memory_mb", 0) * mb,
        resource.RLIMIT_FSIZE: limits.get("file_mb", 0) * mb,
        resource.RLIMIT_NPROC: nproc,
    }
    for res, value in caps.items():
        if value > 0:  # 0 in the settings means "no limit"
            resource.setrlimit(res, (value, value))
    cpu = limits.get("cpu_s", 0)
    if cpu > 0:  # SIGXCPU at the soft limit, SIGKILL at the hard one should SIGXCPU be caught
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    _drop_privileges(uid)
    if limits.get("cwd"):
        os.chdir(limits["cwd"])
    if limits.get("reaper"):
        _reap_for(os.fork())  # returns in the child only
    os.execvp(cmd[0], cmd)  # an MCP server may be named by its command (npx, uvx) on PATH


def _reap_for(child: int) -> None:
    """Outside the sandbox (whose init does it) someone must reap the processes the kernel's
    code leaves behind: until reaped, each still counts against the process limit. The
    parent becomes that reaper, a subreaper for the kernel's whole tree. It ends as the kernel
    ends (the same exit code or signal), so that it stands for the kernel to the app, but
    first kills every process left in the tree (``setsid`` ones too); and if the app goes
    away (a crash: nobody would stop the kernel, which sees this reaper as its parent), it
    kills the kernel and its tree as well."""
    if child == 0:
        return
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel
    app = os.getppid()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # waited for below
    status = _reap(child)
    while status is None:
        if os.getppid() != app:  # the app is gone
            status = signal.SIGKILL  # as waitpid reports a kernel killed by SIGKILL
            break
        signal.sigtimedwait({signal.SIGCHLD}, 1.0)
        status = _reap(child)
    _end_tree()
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _reap(child: int) -> "int | None":
    """Reap every child that exited; the wait status of ``child`` if it was one of them."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        except InterruptedError:
            continue
        if pid == 0:
            return found
        if pid == child:
            found = status


def _end_tree() -> None:
    """SIGKILL every process below this one, and reap them."""
    stop_then_kill(_descendants)
    _reap(0)


def stop_then_kill(targets) -> list:
    """SIGKILL every process ``targets()`` lists (the confinement uses it too). Nothing caps a
    fork loop here: each is stopped first (a stopped process cannot fork) until a round finds
    no new one, then all are killed. Returns those still alive after 200 rounds."""
    import signal

    stopped: set = set()
    for _ in range(50):
        found = [pid for pid in targets() if pid not in stopped]
        if not found:
            break
        for pid in found:
            send_signal(pid, signal.SIGSTOP)
        stopped.update(found)
    return kill_until_gone(targets)


def kill_until_gone(targets, rounds: int = 200) -> list:
    """SIGKILL what ``targets()`` lists, round after round, until it lists nothing (a fork
    loop may still add some while the first die). Returns those left after ``rounds``."""
    import signal
    import time

    for _ in range(rounds):
        left = targets()
        if not left:
            return []
        for pid in left:
            send_signal(pid, signal.SIGKILL)
        time.sleep(0.005)
    return targets()


def _descendants() -> list:
    """Live processes below this one (zombies are only reaped)."""
    children: dict = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()  # state ppid ...
        except (OSError, IndexError):
            continue
        if fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


def send_signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass  # exited meanwhile


def _own_user_namespace() -> bool:
    """Whether this process is in a user namespace of its own (bwrap makes one for a non-root
    app), where RLIMIT_NPROC counts only the sandbox's tasks."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def _drop_privileges(uid: int) -> None:
    """As root: empty the capability bounding set, then become ``uid`` if given. With a uid of
    its own the kernel is an ordinary user: RLIMIT_NPROC binds it, it cannot signal or read
    the app or other sessions' kernels, nor open files other users cannot. Without one it
    stays uid 0 without capabilities: it cannot raise its hard limits, mount, or read another
    process's memory, but it reads and writes root-owned files as their owner. NO_NEW_PRIVS
    keeps setuid binaries and file capabilities from giving anything back."""
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
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails without CAP_SETPCAP: bwrap did it
        if uid:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)  # clears every capability
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


# --- setup inside the kernel ------------------------------------------------------------------


def setup_kernel(max_tasks: int) -> None:
    _not_dumpable()
    if max_tasks > 0:
        _guard_process_creation(max_tasks)
    for name in ("numpy", "pandas"):  # imported once here, during the background warm-up
        try:
            __import__(name)
        except Exception:
            pass
    try:
        configure_fonts()
    except ImportError:
        pass
    _note_missing_glyphs()
    try:
        _display_tables()
    except Exception:  # not in IPython, no pandas: DataFrames (if any) show as their HTML
        pass
    try:
        plotly_figures()
    except Exception:  # plotly not installed (or not the API this expects): its own defaults
        pass


def _not_dumpable() -> None:
    """Other processes of the same uid (another session's kernel, where kernels cannot get a
    uid of their own) may then not read this one's memory or environment through /proc."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except Exception:
        pass


def configure_fonts() -> list[str]:
    """The family list plots use: Latin glyphs from LATIN_FONT, Chinese ones from the CJK fonts
    installed, glyph by glyph. Returns the CJK fonts found (best first)."""
    import dataclasses
    import logging

    import matplotlib
    import matplotlib.pyplot  # noqa: F401 (selects the inline backend named by MPLBACKEND)
    from matplotlib import font_manager

    # "findfont: Font family 'X' not found" for every text drawn: noise for the model.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    manager = font_manager.fontManager
    installed = {f.name for f in manager.ttflist}
    cjk = [name for name in CJK_FONTS if name in installed]
    cjk += [n for n in sorted(installed) if ("CJK" in n or "Han Sans" in n) and n not in cjk]
    if not cjk:
        return []
    best = [f for f in manager.ttflist if f.name == cjk[0]]
    for alias in CJK_ALIASES:
        if alias not in installed:
            manager.ttflist.extend(dataclasses.replace(f, name=alias) for f in best)
    # "sans-serif" first keeps rcParams["font.sans-serif"] (as code sets it) in charge.
    matplotlib.rcParams["font.family"] = ["sans-serif", LATIN_FONT, *cjk[:3]]
    return cjk


def _note_missing_glyphs() -> None:
    """A glyph no installed font has (Chinese without any CJK font, an emoji) gets one short
    line per cell instead of matplotlib's warning per glyph (with the library's local path)."""
    import re
    import warnings

    glyph = re.compile(r"Glyph (\d+) .*missing from font")
    missing: list[str] = []
    show = warnings.showwarning

    def show_glyphs_once(message, category, filename, lineno, file=None, line=None):
        found = glyph.search(str(message))
        if found is None:
            return show(message, category, filename, lineno, file, line)
        if not missing:
            print(
                f"[Some characters of this plot (such as {chr(int(found.group(1)))!r}) have no "
                "font on this server and show as empty boxes.]",
                file=sys.stderr,
            )
        missing.append(found.group(1))

    warnings.showwarning = show_glyphs_once
    warnings.filterwarnings("always", message=glyph.pattern)  # each cell may note it again
    try:
        get_ipython().events.register("pre_run_cell", lambda *_: missing.clear())  # noqa: F821
    except Exception:  # not in IPython
        pass


def _display_tables() -> None:
    """Every DataFrame or Series displayed carries ``TABLE_MIME`` beside its HTML and text."""
    from IPython import get_ipython
    from IPython.core.formatters import JSONFormatter
    from traitlets import ObjectName, Unicode

    class TableFormatter(JSONFormatter):
        format_type = Unicode(TABLE_MIME)
        print_method = ObjectName("_repr_glm4_table_")

    shell = get_ipython()
    formatter = TableFormatter(parent=shell.display_formatter)
    import pandas  # imported by setup_kernel already; the formatter needs its classes

    formatter.for_type(pandas.DataFrame, table_data)
    formatter.for_type(pandas.Series, lambda s: table_data(s.to_frame()))
    # Registered last: the model's text and the other formats come first and stay as they were.
    shell.display_formatter.formatters[TABLE_MIME] = formatter


def table_data(frame) -> dict | None:
    """The first ``TABLE_ROWS`` rows and ``TABLE_COLUMNS`` columns of a DataFrame as JSON-able
    data, fewer rows when that is over ``TABLE_CHARS``; with the full size and each column's
    type, so the page can say what it shows and restore dates. None (the HTML shows instead)
    for a frame that will not go: one row over the budget, values JSON cannot hold."""
    try:
        return _table_data(frame)
    except Exception:  # a formatter's traceback would land in the model's text
        return None


def _table_data(frame) -> dict | None:
    import json

    rows, columns = frame.shape
    part = frame.iloc[:TABLE_ROWS, :TABLE_COLUMNS]
    while True:
        text = part.to_json(orient="split", date_format="iso", default_handler=str)
        if len(text) <= TABLE_CHARS:
            break
        if len(part) <= 1:
            return None
        part = part.iloc[: max(1, len(part) * TABLE_CHARS // len(text) * 9 // 10)]
    data = json.loads(text)
    return {
        "columns": [" · ".join(map(str, c)) if isinstance(c, (list, tuple)) else str(c) for c in data["columns"]],
        "index": [list(i) if isinstance(i, (list, tuple)) else i for i in data["index"]],
        "index_names": [None if n is None else str(n) for n in part.index.names],
        "data": data["data"],
        "dtypes": [str(t) for t in part.dtypes],
        "rows": rows,
        "columns_total": columns,
    }


def plotly_figures() -> None:
    """``fig.show()`` and a figure as a cell's result give one ``text/html`` output holding
    plotly.js itself (about 4.7 MB), and a line of text for the model. Plotly's own choice in
    a kernel (``plotly_mimetype``, or ``notebook`` with plotly.js loaded once by an earlier
    output) draws nothing here: each output is a preview of its own, in a sandbox that may
    load nothing from the network (``GLM4_ARTIFACT_NETWORK=off``) on a server that may have
    none. Importing ``plotly.io`` costs little (it loads the rest lazily)."""
    import plotly.io as pio
    from plotly.io.base_renderers import MimetypeRenderer

    class SelfContained(MimetypeRenderer):
        def to_mimebundle(self, fig_dict):
            # No MathJax: plotly would load it from a CDN in <head> for every figure, which
            # stalls the preview where the network drops packets (LaTeX labels stay as typed).
            html = pio.to_html(
                fig_dict, include_plotlyjs=True, include_mathjax=False, full_html=True,
                default_width="100%", default_height=525, validate=False,
            )  # fmt: skip
            return {"text/html": html, "text/plain": figure_text(fig_dict)}

    pio.renderers["glm4"] = SelfContained()
    pio.renderers.default = "glm4"


def figure_text(fig_dict: dict) -> str:
    """What the model reads of a plotly figure: its title and the kinds of its traces."""
    title = (fig_dict.get("layout") or {}).get("title") or {}
    title = title.get("text", "") if isinstance(title, dict) else str(title)
    kinds = [str(trace.get("type", "scatter")) for trace in fig_dict.get("data") or ()]
    traces = f"{len(kinds)} trace{'s' if len(kinds) != 1 else ''}"
    if kinds:
        traces += ": " + ", ".join(dict.fromkeys(kinds))
    return f"[plotly figure{f' {title!r}' if title else ''}, {traces}]"


def _guard_process_creation(max_tasks: int) -> None:
    """Refuse to start a process once the kernel's session holds ``max_tasks`` threads, the
    way RLIMIT_NPROC would if it applied to root. Only used where nothing in the Linux kernel
    caps the processes (no cgroup, no uid of its own): a fork made in C (ctypes, os.system's
    shell) gets past it, and the app's watchdog catches that one."""
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
