"""Hosted or local, sandboxed or not, and what the UI says: the decisions around the sandbox.

The sandboxed kernels themselves are exercised in test_sandbox.py.
"""

from __future__ import annotations

import threading

import pytest

from glm4_app import hosting
from glm4_app.settings import APP_DIR, Settings
from glm4_app.tools import cell_log, sandbox
from glm4_app.tools.base import ToolCall
from glm4_app.tools.toolbox import Toolbox

pytestmark = pytest.mark.timeout(120)

PROBLEM = sandbox.isolation_problem()
needs_bwrap = pytest.mark.skipif(
    PROBLEM is not None, reason=f"no kernel sandbox on this machine: {PROBLEM}"
)


def run(tool, code: str):
    return tool.run(ToolCall("python", code), threading.Event())


# --- hosted or local, sandbox or not ---------------------------------------------------------


@pytest.mark.parametrize(
    "address, hosted",
    [
        ("127.0.0.1", False), ("localhost", False), ("::1", False), ("[::1]", False),
        ("127.0.1.1", False), ("", True), (None, True), ("0.0.0.0", True), ("::", True),
        ("192.168.1.20", True), ("chat.example.org", True),
    ],
)  # fmt: skip
def test_hosted_means_listening_beyond_loopback(address, hosted):
    assert hosting.address_is_hosted(address) is hosted
    settings = Settings()
    assert hosting.is_hosted(settings, address) is hosted
    assert hosting.is_hosted(settings.with_(hosted="false"), address) is False
    assert hosting.is_hosted(settings.with_(hosted="true"), address) is True


@pytest.fixture
def without_bwrap(monkeypatch, tmp_path):
    """This machine as one without bubblewrap: a PATH where no bwrap is found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    sandbox.isolation_problem.cache_clear()
    yield
    monkeypatch.undo()
    sandbox.isolation_problem.cache_clear()


def test_hosted_without_isolation_turns_python_off_and_says_why(without_bwrap, tmp_path):
    settings = Settings().with_(data_dir=tmp_path)
    policy = sandbox.kernel_policy(settings, hosted=True)
    assert not policy.available and "bubblewrap" in str(policy.off_reason)
    box = Toolbox(settings, tmp_path / "w", hosted=True)
    assert "python" not in box.tools and "simple_browser" in box.tools
    (off,) = [u for u in box.unavailable if u.name == "python"]
    assert "GLM4_ALLOW_UNSANDBOXED_KERNEL" in str(off.reason) and "not installed" in str(off.reason)
    assert str(box.kernel_notice).startswith("The Python tool is off")
    box.shutdown()


def test_hosted_without_isolation_runs_unsandboxed_only_when_allowed(without_bwrap, tmp_path):
    settings = Settings().with_(data_dir=tmp_path, allow_unsandboxed_kernel="true")
    box = Toolbox(settings, tmp_path / "w", hosted=True)
    try:
        assert "python" in box.tools and not box.python.sandboxed
        assert "runs unisolated" in str(box.kernel_notice)
        assert "ok" in run(box.python, "print('ok')").text
    finally:
        box.shutdown()


def test_locally_without_bubblewrap_python_runs_and_the_page_says_what_is_lost(without_bwrap, tmp_path):
    policy = sandbox.kernel_policy(Settings().with_(data_dir=tmp_path), hosted=False)
    assert policy.available and not policy.sandboxed
    assert str(policy.notice).startswith("Python runs without a sandbox (bubblewrap (bwrap) is not installed)")
    assert "conversations database" in str(policy.notice) and "Install bubblewrap" in str(policy.notice)
    strict = sandbox.kernel_policy(Settings().with_(data_dir=tmp_path, kernel_sandbox="on"), hosted=False)
    assert not strict.available, "`on` never runs without the sandbox"


@needs_bwrap
def test_the_sandbox_is_the_default_locally_too_with_network(tmp_path):
    box = Toolbox(Settings().with_(data_dir=tmp_path), tmp_path / "w", hosted=False)
    try:
        assert box.python.sandboxed and box.python.network
        assert str(box.kernel_notice) == "Python runs in a bubblewrap sandbox with network access."
        off = sandbox.kernel_policy(Settings().with_(kernel_network="false"), hosted=False)
        assert off.sandboxed and not off.network
        local_off = sandbox.kernel_policy(Settings().with_(kernel_sandbox="off"), hosted=False)
        assert not local_off.sandboxed and not local_off.notice
    finally:
        box.shutdown()


@needs_bwrap
def test_hosted_toolbox_sandboxes_the_kernel(tmp_path):
    box = Toolbox(Settings().with_(data_dir=tmp_path), tmp_path / "w", hosted=True)
    try:
        assert box.python.ready(60), "the warm-up kernel outlives the thread that started it"
        assert box.python.sandboxed and not box.python.network
        assert str(box.kernel_notice) == "Python runs in a bubblewrap sandbox without network access."
    finally:
        box.shutdown()


def test_owner_names_become_distinct_safe_file_names():
    names = ["alice", "alice/../bob", "alice_", "../..", ".hidden", "用户", ""]
    files = [cell_log.safe_name(n) for n in names]
    assert files[0] == "alice" and files[-1] == "anonymous"
    assert len(set(files)) == len(files)
    assert all("/" not in f and not f.startswith(".") and f for f in files)


def test_the_tools_page_says_why_python_is_off(without_bwrap, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from glm4_app.generation import ModelInfo
    from glm4_app.scripted import ScriptedBackend
    from glm4_app.ui import state

    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GLM4_TOOLS_DIR", str(tmp_path / "no_user_tools"))
    monkeypatch.setenv("GLM4_HOSTED", "true")
    backend = ScriptedBackend(["Hello."], info=ModelInfo("scripted-glm", 8192, tools=True))
    monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
    at = AppTest.from_file(str(APP_DIR / "app.py"), default_timeout=90)
    at.switch_page("pages/tools.py").run()
    assert not at.exception, at.exception
    assert any("The Python tool is off" in w.value for w in at.sidebar.warning)
    at.chat_input[0].set_value("hi").run()
    assert [d["type"] for d in backend.tools[-1]] == ["simple_browser"], "python is not offered"
    at.session_state["toolbox"].shutdown()


def test_folders_on_the_way_to_a_bound_path_inside_tmp_are_made_searchable():
    """An app cloned into a root-private mktemp folder (its venv inside): the sandbox's own
    /tmp is a fresh tmpfs, but the folders bwrap makes inside it on the way to the venv must be
    searchable by a kernel with a uid of its own, or it cannot even start Python."""
    from pathlib import Path

    parents = sandbox._parents([Path("/tmp/ci.Ab12/.venv/bin/python")])
    assert [Path("/tmp/ci.Ab12"), Path("/tmp/ci.Ab12/.venv"), Path("/tmp/ci.Ab12/.venv/bin")] == parents
