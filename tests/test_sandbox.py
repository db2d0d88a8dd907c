"""The hosted code sandbox: real bwrap, real Jupyter kernels, a real HTTP server and SQLite.

One sandboxed kernel serves most tests (module scope); it belongs to session "alice" of an app
whose data directory also holds the conversations database and another session's folder.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from glm4_app.conversation import Conversation
from glm4_app.settings import APP_DIR, Settings
from glm4_app.store import ConversationStore
from glm4_app.tools import cell_log, cgroups, kernel_process, sandbox
from glm4_app.tools.base import ToolCall
from glm4_app.tools.python_tool import PythonTool

pytestmark = pytest.mark.timeout(120)

PROBLEM = sandbox.isolation_problem()
needs_bwrap = pytest.mark.skipif(
    PROBLEM is not None, reason=f"no kernel sandbox on this machine: {PROBLEM}"
)
OWNER = "alice/../bob"  # a name that must not steer the cell log out of its folder


def run(tool: PythonTool, code: str):
    return tool.run(ToolCall("python", textwrap.dedent(code)), threading.Event())


class _Counting(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"host secret page")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def app_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    secret = [{"role": "user", "content": "bob's secret"}]
    ConversationStore(data / "conversations.sqlite3").save(
        Conversation(mode="tools", owner="bob", messages=secret)
    )
    other = data / "workspaces" / "bob"
    other.mkdir(parents=True)
    (other / "private.txt").write_text("bob's file")
    return data


@pytest.fixture(scope="module")
def alice(app_data):
    settings = Settings().with_(data_dir=app_data, python_timeout_s=2, python_max_processes=32)
    tool = PythonTool(settings, app_data / "workspaces" / "alice", sandboxed=True, network=False)
    tool.owner, tool.conversation_id = OWNER, "conv-1"
    yield tool
    tool.shutdown()


# --- what a sandboxed kernel can and cannot do ---------------------------------------------------


@needs_bwrap
def test_the_network_is_unreachable(alice, host_server):
    hits = _Counting.hits
    result = run(
        alice,
        f"""
        import socket, urllib.request
        for name, attempt in [
            ("host", lambda: urllib.request.urlopen({host_server!r}, timeout=5).read()),
            ("outbound", lambda: socket.create_connection(("1.1.1.1", 53), timeout=5)),
            ("dns", lambda: socket.getaddrinfo("example.com", 443)),
        ]:
            try:
                attempt()
                print(name, "REACHED")
            except OSError as exc:
                print(name, "failed:", type(exc).__name__)
        """,
    )
    assert "REACHED" not in result.text, result.text
    for name in ("host", "outbound", "dns"):
        assert f"{name} failed" in result.text
    assert _Counting.hits == hits, "the host's server got no request"


@needs_bwrap
def test_network_can_be_allowed(app_data, host_server, tmp_path):
    settings = Settings().with_(data_dir=app_data)
    tool = PythonTool(settings, tmp_path / "w", sandboxed=True, network=True)
    try:
        code = f"import urllib.request; print(urllib.request.urlopen({host_server!r}).read())"
        assert "host secret page" in run(tool, code).text
    finally:
        tool.shutdown()


@needs_bwrap
def test_the_apps_files_and_other_sessions_are_out_of_reach(alice, app_data):
    targets = [
        app_data / "conversations.sqlite3",
        app_data / "workspaces" / "bob" / "private.txt",
        app_data / "workspaces",
        APP_DIR / "glm4_app" / "settings.py",
        Path("/etc/shadow"),
    ]
    app_cmdline = Path("/proc/self/cmdline").read_bytes()  # this test process: the app
    result = run(
        alice,
        f"""
        import os
        for path in {[str(p) for p in targets]!r}:
            try:
                seen = os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(9)
                print(path, "READ", seen)
            except OSError as exc:
                print(path, "unreadable:", type(exc).__name__)
        app = [p for p in os.listdir("/proc") if p.isdigit()
               and open(f"/proc/{{p}}/cmdline", "rb").read() == {app_cmdline!r}]
        print("app processes visible:", len(app))
        """,
    )
    assert "READ" not in result.text, result.text
    assert result.text.count("unreadable: FileNotFoundError") == len(targets)
    assert "app processes visible: 0" in result.text


@needs_bwrap
def test_a_data_dir_inside_a_bound_folder_is_hidden(tmp_path):
    data_dir = Path("/usr/share/doc")  # stands for an app installed under /usr or /opt
    assert os.listdir(data_dir), "the host sees files there"
    startup = APP_DIR / "glm4_app" / "tools" / "kernel_startup.py"
    cmd = sandbox.bwrap_command(tmp_path, tmp_path, False, startup, data_dir)
    listing = subprocess.run([*cmd, "ls", "-A", str(data_dir)], capture_output=True, text=True)
    assert listing.returncode == 0 and listing.stdout == "", "the sandbox sees an empty folder"


@needs_bwrap
@pytest.mark.parametrize("scratch", ["/tmp", "/dev/shm"])
def test_scratch_space_in_memory_is_bounded(tmp_path, scratch):
    startup = APP_DIR / "glm4_app" / "tools" / "kernel_startup.py"
    cmd = sandbox.bwrap_command(tmp_path, tmp_path, False, startup, scratch_mb=16)
    fill = f"head -c 20000000 /dev/zero > {scratch}/fill"
    done = subprocess.run([*cmd, "sh", "-c", fill], capture_output=True, text=True)
    assert done.returncode != 0 and "No space left on device" in done.stderr


@needs_bwrap
def test_mnt_data_is_the_sessions_folder_and_the_rest_is_read_only(alice, app_data):
    result = run(
        alice,
        """
        import pandas as pd
        pd.DataFrame({"x": [1, 2]}).to_csv("/mnt/data/result.csv", index=False)
        for path in ["/usr/lib/evil", "/etc/passwd", "/evil", "/mnt/evil", "/dev/evil"]:
            try:
                open(path, "w")
            except OSError as exc:
                print(path, "not writable:", type(exc).__name__)
        import os; print(os.getcwd())
        """,
    )
    workdir = app_data / "workspaces" / "alice"
    assert result.files == (workdir / "result.csv",), "offered as a download"
    assert (workdir / "result.csv").read_text() == "x\n1\n2\n"
    assert result.text.count("not writable") == 5 and "/mnt/data" in result.text


@needs_bwrap
def test_plots_still_work(alice):
    result = run(alice, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")
    assert not result.is_error, result.text
    assert len(result.images) == 1 and result.images[0].data.startswith(b"\x89PNG")


@needs_bwrap
def test_a_timeout_interrupts_and_keeps_the_variables(alice):
    run(alice, "kept = 42")
    result = run(alice, "while True:\n    pass")
    assert "Timed out after 2 s" in result.text and "KeyboardInterrupt" in result.text
    assert "Variables defined so far are kept" in result.text
    assert run(alice, "print(kept)").text.strip() == "42"


@needs_bwrap
def test_a_killed_kernel_restarts_and_keeps_the_files(alice):
    run(alice, "open('/mnt/data/before.txt', 'w').write('kept')")
    died = run(alice, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert died.is_error and "killed" in died.text and "restarted" in died.text
    assert run(alice, "print(open('/mnt/data/before.txt').read())").text.strip() == "kept"


@needs_bwrap
def test_every_cell_is_logged_per_user(alice, app_data):
    run(alice, "print('logged cell')")
    run(alice, "1 / 0")
    log_file = cell_log.log_path(app_data, OWNER)
    assert log_file.parent == app_data / "logs" / "cells", "a name cannot leave the folder"
    entries = cell_log.read(app_data, OWNER)
    assert {e["owner"] for e in entries} == {OWNER}
    assert {e["conversation"] for e in entries} == {"conv-1"}
    last_two = [(e["code"], e["outcome"]) for e in entries[-2:]]
    assert last_two == [("print('logged cell')", "ok"), ("1 / 0", "error")]
    assert all(e["time"].endswith("+00:00") and e["duration_s"] >= 0 for e in entries)
    assert not cell_log.read(app_data, "bob"), "nothing of alice's in another user's log"


@needs_bwrap
def test_the_sandbox_dies_with_the_app(tmp_path):
    """A kernel must not outlive a crashed app (bwrap --die-with-parent)."""
    script = f"""
        import sys, time
        from pathlib import Path
        from glm4_app.settings import Settings
        from glm4_app.tools.python_tool import PythonTool
        settings = Settings().with_(data_dir=Path({str(tmp_path)!r}))
        tool = PythonTool(settings, Path({str(tmp_path / "w")!r}), sandboxed=True)
        tool.start()
        assert tool.ready(60)
        confinement = tool._kernel.confinement
        print(*confinement.plumbing, confinement.kernel_pid, flush=True)
        time.sleep(600)
    """
    app = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=APP_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    pids = [int(pid) for pid in app.stdout.readline().split()]  # bwrap, its init, the kernel
    assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    app.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the kernel's own tie
    app.wait()
    for _ in range(100):  # waits for the exit, up to 10 s
        if not any(_alive(pid) for pid in pids):
            break
        time.sleep(0.1)
    assert [pid for pid in pids if _alive(pid)] == []
    # What the dead app could not clean up, the next one does as it starts its first kernel.
    left = [Path(tempfile.gettempdir()).glob(f"glm4-kernel-{app.pid}-*")]
    if cgroups.problem() is None:
        cgroups._sweep.cache_clear()
        cgroups.KernelCgroup(8, 64).remove()
        left += [p.directory.glob(f"glm4-kernel-{app.pid}-*") for p in cgroups._parents().values()]
    kernel_process._sweep_private_folders.cache_clear()
    kernel_process._sweep_private_folders()
    assert [path for found in left for path in found] == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False
