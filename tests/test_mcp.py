"""MCP servers as All Tools tools, against real servers: one written with the SDK's MCPServer
(tests/mcp_test_server.py, over stdio and over streamable HTTP on 127.0.0.1) and the published
reference server mcp-server-time from PyPI, called through whole agent loops driven by the
scripted backend. Bad servers (missing, hanging, crashing, huge, 500 tools, a schema that is
not JSON Schema) end as words in the sidebar or as observations, and the rest keeps working.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from glm4_app.agent import run_agent
from glm4_app.events import Done, TextDelta, ToolOutcome
from glm4_app.generation import GenerationParams
from glm4_app.notices import word
from glm4_app.scripted import ScriptedBackend
from glm4_app.settings import Settings
from glm4_app.tool_types import MAX_RESULT_CHARS, ToolCall
from glm4_app.tools.mcp_servers import McpSession, load_config
from glm4_app.tools.mcp_servers.session import hub_for

HERE = Path(__file__).resolve().parent
SERVER = str(HERE / "mcp_test_server.py")
PARAMS = GenerationParams()
A = "<|assistant|>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_server():
    port = _free_port()
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    process.kill()  # uvicorn would wait for the shared connection, which stays open
    process.wait(5)


def write_config(path: Path, servers: dict) -> str:
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return str(path)


def local(**env):
    return {"command": sys.executable, "args": [SERVER, "stdio"], "env": env}


def settings_for(config: str, tmp: Path, **changes) -> Settings:
    return Settings(**{"mcp_config": config, "data_dir": tmp, "mcp_timeout_s": 20, "mcp_start_timeout_s": 20, **changes})


@pytest.fixture(scope="module")
def servers(tmp_path_factory, http_server):
    """One session with the test server over stdio and HTTP, and mcp-server-time."""
    tmp = tmp_path_factory.mktemp("mcp")
    config = write_config(tmp / "mcp.json", {
        "local": local(),
        "web": {"url": http_server},
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]},
    })
    session = McpSession(settings_for(config, tmp), tmp / "work", hosted=False)
    session.start()
    session.wait_started(60)
    yield session
    session.shutdown()


def call(name: str, **arguments) -> str:
    return f"{A}{name}\n{json.dumps(arguments)}"


def agent(session, replies):
    backend = ScriptedBackend(replies)
    events = list(run_agent(backend, [{"role": "user", "content": "Go."}], PARAMS, session.tools()))
    return backend, [e for e in events if isinstance(e, ToolOutcome)], events


def test_tools_of_local_remote_and_published_servers_run_through_the_agent(servers):
    assert {s.name: s.state for s in servers.statuses()} == {"local": "ready", "web": "ready", "time": "ready"}
    tools = servers.tools()
    assert {"local__add", "web__forecast", "time__get_current_time", "time__convert_time"} <= set(tools)
    backend, steps, events = agent(servers, [
        "Adding." + call("local__add", a=2, b=3),
        call("web__forecast", city="Oslo"),
        call("time__get_current_time", timezone="Asia/Shanghai"),
        call("local__red_dot"),
        "5; Oslo 21.5°C; it is late in Shanghai.",
    ])
    add, forecast, clock, image = (s.result for s in steps)
    assert add.text == "5" and not add.is_error
    assert json.loads(forecast.text) == {"city": "Oslo", "celsius": 21.5, "sky": "clear"}  # structured, as text
    assert json.loads(clock.text)["timezone"] == "Asia/Shanghai" and "+08:00" in json.loads(clock.text)["datetime"]
    assert image.images[0].data.startswith(b"\x89PNG") and "shown to the user" in image.text
    assert isinstance(events[-1], Done)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).endswith("it is late in Shanghai.")
    # The model was offered the servers' own schemas and descriptions under prefixed names.
    offered = {d["function"]["name"]: d["function"] for d in backend.tools[0]}
    assert offered["local__add"]["parameters"]["required"] == ["a", "b"]
    assert offered["time__get_current_time"]["description"] == "Get current time in a specific timezone"
    # Each observation went back to the model.
    assert backend.calls[1][-1] == {"role": "observation", "metadata": "", "content": "5"}


def test_failures_are_observations_and_the_server_keeps_working(servers):
    tools = servers.tools()
    cancel = threading.Event()
    failed = tools["local__fail"].run(ToolCall("local__fail", '{"reason": "no disk"}'), cancel)
    assert failed.is_error and "failed on purpose: no disk" in failed.text
    wrong = tools["web__add"].run(ToolCall("web__add", '{"a": "two"}'), cancel)
    assert wrong.is_error and "Invalid arguments for web__add" in wrong.text and "'b' is a required property" in wrong.text
    broken = tools["local__add"].run(ToolCall("local__add", '{"a": 1,'), cancel)
    assert broken.is_error and "not valid JSON" in broken.text
    assert 'You sent: {"a": 1,' in broken.text  # checked as a function's arguments are
    listed = tools["local__add"].run(ToolCall("local__add", "[1, 2]"), cancel)
    assert listed.is_error and "one JSON object, not an array" in listed.text and '"required":["a","b"]' in listed.text
    assert word(wrong.notices[0], "zh").startswith("web__add 的参数无效：\n- 'b' is a required property")
    assert word(broken.notices[0], "zh").startswith("local__add 的参数不是有效的 JSON（")
    assert broken.text == str(broken.notices[0])  # the model reads the English
    huge = tools["local__huge"].run(ToolCall("local__huge", "{}"), cancel)
    assert len(huge.text) < 9000 and "10,000,000 characters" in huge.text  # capped for the model
    assert tools["local__add"].run(ToolCall("local__add", '{"a": 1, "b": 1}'), cancel).text == "2"


def test_huge_failures_are_capped_for_the_model_like_any_result(servers):
    """Whatever a failure quotes (a server's error, the arguments the model sent) costs the
    prompt no more than a function's failure would; the UI still has it whole."""
    tools, cancel = servers.tools(), threading.Event()
    reason = "disk " * 10_000
    failed = tools["local__fail"].run(ToolCall("local__fail", json.dumps({"reason": reason})), cancel)
    sent = json.dumps({"text": ["x" * 50_000]})  # jsonschema quotes the whole value it rejects
    wrong = tools["web__echo"].run(ToolCall("web__echo", sent), cancel)
    for result in (failed, wrong):
        assert result.is_error and len(result.text) < MAX_RESULT_CHARS + 100 and "truncated" in result.text
    assert reason.strip() in failed.shown
    assert "Invalid arguments for web__echo" in wrong.text and "x" * 50_000 in wrong.shown
    assert "x" * 50_000 in word(wrong.notices[0], "zh")  # the translated words are whole too


def test_an_empty_result_reads_as_the_apps_own_in_the_readers_language(tmp_path):
    """A server's answer without content: the model reads what it reads for any tool's empty
    result, the user their own language's words; an error without content says so too."""
    import mcp_types

    from glm4_app.tool_steps import step_messages
    from glm4_app.tools.mcp_servers.results import to_result

    call = ToolCall("web__quiet", "{}")
    _, empty = step_messages(call, to_result(mcp_types.CallToolResult(content=[])), tmp_path)
    assert empty.content == "[no output]" and not empty.is_error
    assert empty.shown_in("zh") == "[没有输出]"
    silent = mcp_types.CallToolResult(content=[], isError=True)
    _, failed = step_messages(call, to_result(silent), tmp_path)
    assert failed.content == "[the tool failed without saying why]" and failed.is_error
    assert failed.shown_in("zh") == "[工具运行失败，没有说明原因]"


def test_a_slow_call_times_out_and_stop_cancels_one(servers):
    connection = next(c for c in servers.connections if c.config.name == "web")
    connection.call_timeout_s = 1
    try:
        tools = servers.tools()
        slow = tools["web__slow"].run(ToolCall("web__slow", '{"seconds": 30}'), threading.Event())
        assert slow.is_error and "did not answer slow within 1 s" in slow.text
        assert [word(n, "zh") for n in slow.notices] == ["MCP 服务器 web 在 1 秒内没有回应对 slow 的调用，已放弃。"]
        cancel = threading.Event()
        threading.Timer(0.5, cancel.set).start()
        started = time.monotonic()
        stopped = tools["web__slow"].run(ToolCall("web__slow", '{"seconds": 30}'), cancel)
        assert stopped.is_error and "stopped" in stopped.text and time.monotonic() - started < 5
        assert [word(n, "zh") for n in stopped.notices] == ["对 slow 的调用已停止。"]
    finally:
        connection.call_timeout_s = 20
    assert servers.tools()["web__echo"].run(ToolCall("web__echo", '{"text": "still here"}'), threading.Event()).text == "still here"


def test_a_local_server_that_dies_mid_call_restarts_for_the_next_call(servers):
    tools = servers.tools()
    cancel = threading.Event()
    before = tools["local__pid"].run(ToolCall("local__pid", "{}"), cancel).text
    crashed = tools["local__crash"].run(ToolCall("local__crash", "{}"), cancel)
    assert crashed.is_error and "stopped during the call to crash" in crashed.text and "crashing on purpose" in crashed.text
    (notice,) = crashed.notices
    assert str(notice) == crashed.text and "MCP 服务器 local 在调用 crash 时停止了" in word(notice, "zh")
    assert "crashing on purpose" in word(notice, "zh")  # what the server said, as it said it
    (local,) = [s for s in servers.statuses() if s.name == "local"]
    assert local.state == "stopped" and "exited" in str(local.problem) and local.stderr == "crashing on purpose"
    after = servers.tools()["local__pid"].run(ToolCall("local__pid", "{}"), cancel)  # started again
    assert not after.is_error and after.text != before
    assert [s.state for s in servers.statuses() if s.name == "local"] == ["ready"]


def test_servers_that_cannot_be_used_say_why_and_the_others_still_work(tmp_path):
    config = write_config(tmp_path / "mcp.json", {
        "missing": {"command": "no-such-mcp-server-here"},
        "silent": {"command": sys.executable, "args": ["-c", "import sys, time; print('booting', file=sys.stderr); time.sleep(60)"]},
        "crowded": local(MCP_TEST_MANY="500", MCP_TEST_BAD_SCHEMA="1"),
        "nonsense": {"command": "x", "url": "http://127.0.0.1:9/mcp"},
    })
    session = McpSession(settings_for(config, tmp_path, mcp_start_timeout_s=3), tmp_path / "work", hosted=False)
    try:
        session.start()
        session.wait_started(20)
        status = {s.name: s for s in session.statuses()}
        assert status["missing"].state == "failed" and "command was not found" in str(status["missing"].problem)
        assert status["silent"].state == "failed" and "did not start within 3 s" in str(status["silent"].problem)
        assert status["silent"].stderr == "booting"  # what the server said on stderr
        crowded = status["crowded"]
        assert crowded.state == "ready" and len(crowded.tools) == 100
        notes = [str(n) for n in crowded.notes]
        assert any("'broken' is left out" in n and "JSON Schema" in n for n in notes)
        assert any("only the first 100" in n for n in notes)
        assert [str(p) for p in session.problems] == ["MCP server 'nonsense': give either `command` (a local server) or `url` (a remote one); it is skipped."]
        call = session.tools()["crowded__tool_7"].run(ToolCall("crowded__tool_7", '{"x": 1}'), threading.Event())
        assert call.text == "8"
        missing = session.connections[0].call("anything", {}, threading.Event())
        assert missing.is_error and "is not available" in missing.text
        (notice,) = missing.notices
        assert str(notice) == missing.text and word(notice, "zh").startswith("MCP 服务器 missing 不可用：")
        assert "命令" in word(notice, "zh")  # the reason inside is worded in Chinese too
    finally:
        session.shutdown()


def test_remote_servers_are_shared_local_ones_belong_to_one_session(tmp_path, http_server):
    config = write_config(tmp_path / "shared.json", {"local": local(), "web": {"url": http_server}})
    settings = settings_for(config, tmp_path)
    alice, bob = (McpSession(settings, tmp_path / name, hosted=False) for name in ("alice", "bob"))
    try:
        for session in (alice, bob):
            session.start()
            session.wait_started(30)
        web_a, local_a = alice.connections[1], alice.connections[0]
        assert web_a is bob.connections[1] and local_a is not bob.connections[0]
        pids = [int(s.tools()["local__pid"].run(ToolCall("local__pid", "{}"), threading.Event()).text) for s in (alice, bob)]
        assert pids[0] != pids[1]
        alice.shutdown()  # Alice's tab closed: her server process ends, Bob's and the shared one stay
        assert _gone(pids[0])
        os.kill(pids[1], 0)  # Bob's is alive (raises if not)
        assert bob.tools()["web__echo"].run(ToolCall("web__echo", '{"text": "hi"}'), threading.Event()).text == "hi"
        assert [s.state for s in bob.statuses()] == ["ready", "ready"]
    finally:
        alice.shutdown()
        bob.shutdown()


def test_an_idle_sessions_local_server_is_reaped_and_the_next_call_starts_it_again(tmp_path):
    """A closed tab's session may never be garbage-collected: the reaper that ends idle kernels
    ends its local servers' processes too, and their tools keep working when called again."""
    from glm4_app.tools.toolbox import REAPER, Toolbox

    config = write_config(tmp_path / "idle.json", {"local": local()})
    toolbox = Toolbox(settings_for(config, tmp_path, kernel_idle_s=60), tmp_path / "work", hosted=False)
    try:
        toolbox.mcp.wait_started(30)
        def pid():
            return toolbox.tools["local__pid"].run(ToolCall("local__pid", "{}"), threading.Event())

        first = int(pid().text)
        REAPER.reap()  # just used: it stays
        os.kill(first, 0)
        assert REAPER.reap(now=time.monotonic() + 120) >= 1
        assert _gone(first)
        (status,) = toolbox.mcp.statuses()
        assert status.state == "stopped" and "after 2 min unused" in str(status.problem)
        assert "local__pid" in toolbox.tools  # still offered: the next call starts it
        again = pid()
        assert not again.is_error and int(again.text) != first
        assert [s.state for s in toolbox.mcp.statuses()] == ["ready"]
    finally:
        toolbox.shutdown()


def _gone(pid: int, wait_s: float = 10) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_hosted_local_servers_run_in_the_sandbox_unless_trusted(tmp_path, monkeypatch):
    secret = tmp_path / "app-secret.txt"
    secret.write_text("hunter2")
    work = tmp_path / "work"  # the session's folder: /mnt/data in the sandbox, the only one there
    work.mkdir()
    (work / "server.py").write_text(Path(SERVER).read_text())
    boxed = {"command": sys.executable, "args": ["/mnt/data/server.py", "stdio"]}
    trusted = {"command": sys.executable, "args": [str(work / "server.py"), "stdio"], "trusted": True}
    config = write_config(tmp_path / "hosted.json", {"boxed": boxed, "trusted": trusted})
    session = McpSession(settings_for(config, tmp_path), work, hosted=True)
    try:
        session.start()
        session.wait_started(30)
        boxed, trusted = session.statuses()
        assert boxed.sandboxed and not trusted.sandboxed and boxed.state == trusted.state == "ready"
        tools, cancel = session.tools(), threading.Event()
        peek = tools["boxed__read_file"].run(ToolCall("boxed__read_file", json.dumps({"path": str(secret)})), cancel)
        assert peek.is_error and "hunter2" not in peek.text  # the app's files are not there
        assert tools["trusted__read_file"].run(ToolCall("trusted__read_file", json.dumps({"path": str(secret)})), cancel).text == "hunter2"
        assert int(tools["boxed__pid"].run(ToolCall("boxed__pid", "{}"), cancel).text) < 10  # its own pid namespace
        own = tools["boxed__read_file"].run(ToolCall("boxed__read_file", json.dumps({"path": "server.py"})), cancel)
        assert not own.is_error and "def read_file" in own.text  # it works in the session's folder
    finally:
        session.shutdown()
    # Without a working sandbox a hosted app does not start untrusted local servers.
    from glm4_app.tools import sandbox

    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    session = McpSession(settings_for(config, tmp_path), tmp_path / "work2", hosted=True)
    try:
        boxed, trusted = session.statuses()
        assert boxed.state == "off" and "trusted" in str(boxed.problem) and "bubblewrap" in str(boxed.problem)
        assert trusted.state == "idle"
    finally:
        session.shutdown()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root app gives the session's folder a uid of its own")
def test_a_hosted_local_server_and_the_python_kernel_share_the_session_folder(tmp_path):
    """A root app's kernel owns the session's folder under a uid of its own; a sandboxed
    local server must read and write there as well (a files server, a git server), and what
    each writes the other can change."""
    from glm4_app.tools.sandbox import isolation_problem
    from glm4_app.tools.toolbox import Toolbox

    if isolation_problem():
        pytest.skip(f"no sandbox here: {isolation_problem()}")
    work = tmp_path / "work"  # the session's folder: /mnt/data in the sandbox
    work.mkdir()
    (work / "server.py").write_text(Path(SERVER).read_text())
    server = {"command": sys.executable, "args": ["/mnt/data/server.py", "stdio"]}
    config = write_config(tmp_path / "hosted.json", {"files": server})
    toolbox = Toolbox(settings_for(config, tmp_path), work, hosted=True)
    try:
        python, cancel = toolbox.local_tools["python"], threading.Event()
        made = python.run(ToolCall("python", "open('from_code.txt', 'w').write('code'); print('ok')"), cancel)
        assert made.text.strip() == "ok", made.text
        toolbox.mcp.wait_started(30)
        tools = toolbox.tools
        read = tools["files__read_file"].run(ToolCall("files__read_file", json.dumps({"path": "from_code.txt"})), cancel)
        assert not read.is_error and read.text == "code", read.text
        wrote = tools["files__write_file"].run(
            ToolCall("files__write_file", json.dumps({"path": "from_server.txt", "text": "server"})), cancel
        )
        assert not wrote.is_error, wrote.text
        changed = python.run(ToolCall("python", "p = 'from_server.txt'; open(p, 'a').write('+code'); print(open(p).read())"), cancel)
        assert changed.text.strip() == "server+code", changed.text
        over = tools["files__write_file"].run(
            ToolCall("files__write_file", json.dumps({"path": "from_code.txt", "text": "both"})), cancel
        )
        assert not over.is_error, over.text
    finally:
        toolbox.shutdown()


def test_the_config_file_layout_and_its_mistakes(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_KEY", "k-123")
    path = write_config(tmp_path / "c.json", {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "search engine": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${SEARCH_KEY}"}, "timeout": 5},
        "old": {"type": "sse", "url": "https://old.example.com/sse"},
        "keyless": {"url": "https://x.example.com/mcp", "headers": {"Authorization": "Bearer ${NOT_SET_ANYWHERE}"}},
        "typo": {"comand": "npx"},
        "badargs": {"command": "npx", "args": "-y server"},
        "off": {"command": "npx", "disabled": True},
    })
    servers, problems = load_config(path)
    by_name = {s.name: s for s in servers}
    assert by_name["time"].transport == "stdio" and not by_name["time"].shared and by_name["time"].env == {"TZ": "UTC"}
    engine = by_name["search engine"]
    assert engine.shared and engine.prefix == "search_engine" and engine.headers["Authorization"] == "Bearer k-123"
    assert engine.timeout_s == 5 and by_name["old"].transport == "sse" and by_name["off"].disabled
    assert len(problems) == 3
    problems = [str(p) for p in problems]
    assert "'keyless'" in problems[0] and "${NOT_SET_ANYWHERE}" in str(problems[0])
    assert "'typo'" in problems[1] and "either `command`" in problems[1]
    assert "'badargs'" in problems[2] and "args" in problems[2]
    (tmp_path / "broken.json").write_text("{not json")
    assert "is not JSON" in str(load_config(tmp_path / "broken.json")[1][0])
    assert "does not exist" in str(load_config(tmp_path / "nowhere.json")[1][0])
    assert hub_for(path) is hub_for(str(tmp_path / "." / "c.json"))  # read once per process


def test_the_tools_page_shows_each_server_and_runs_its_tools(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from glm4_app.generation import ModelInfo
    from glm4_app.ui import state
    from page_helpers import send

    config = write_config(tmp_path / "page.json", {"calc": local(), "gone": {"command": "no-such-mcp-server-here"}})
    for name, value in {"GLM4_DATA_DIR": str(tmp_path), "GLM4_TOOLS_DIR": str(tmp_path / "none"),
                        "GLM4_HOSTED": "false", "GLM4_MCP_CONFIG": config}.items():
        monkeypatch.setenv(name, value)
    backend = ScriptedBackend([call("calc__add", a=20, b=22), "20 + 22 = 42."], info=ModelInfo("scripted", 8192, tools=True))
    monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
    at = AppTest.from_file(str(HERE.parent / "app.py"), default_timeout=90)
    at.switch_page("pages/tools.py").run()
    try:
        assert "⏳ starting…" in " ".join(m.value for m in at.sidebar.markdown)  # the page did not wait
        at.session_state["toolbox"].mcp.wait_started(30)
        at.run()
        conversation = at.session_state["conversation_tools"]
        at.toggle(key=f"tool_{conversation.id}_calc__echo").set_value(False).run()
        sidebar = " ".join(m.value for m in at.sidebar.markdown)
        assert "**calc** · 🟢 ready · local" in sidebar and "**gone** · 🔴 failed · local" in sidebar
        assert any("command was not found" in e.value for e in at.sidebar.error)
        assert any(b.label == "🔄 Restart calc" for b in at.sidebar.button)
        send(at, "What is 20 + 22?")
        offered = [d["function"]["name"] for d in backend.tools[0] if d["type"] == "function"]
        assert "calc__add" in offered and "calc__echo" not in offered  # switched off for this chat
        assert [s.label for s in at.get("status")] == ["🔧 Called `calc__add`"]
        assert "42" in "".join(c.value for c in at.code)
        assert "20 + 22 = 42." in [m.value for m in at.chat_message[1].markdown]
    finally:
        at.session_state["toolbox"].shutdown()
