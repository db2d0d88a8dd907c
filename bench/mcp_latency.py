"""Latency of a trivial MCP tool call vs a trivial Python cell, through the same tool runner.

* mcp: ``add(1, 1)`` on a local (stdio) MCP server written with the SDK's MCPServer
  (tests/mcp_test_server.py), started once and warm, through ``agent.run_tool``.
* python: the cell ``1+1`` on a warm session kernel, through ``agent.run_tool``.

Both are what an All Tools step costs besides the model: the runner's worker thread and
heartbeats, the tool's own work and its result conversion. Calls interleave so that machine
noise hits both alike.

    python bench/mcp_latency.py [--calls 40]

Last line: mcp_vs_python_ratio=<mcp median / python median> (ceiling 1.0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glm4_app.agent import run_tool  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from glm4_app.tool_types import ToolCall  # noqa: E402
from glm4_app.tools.mcp_servers import McpSession  # noqa: E402
from glm4_app.tools.python_tool import PythonTool  # noqa: E402

SERVER = ROOT / "tests" / "mcp_test_server.py"


def timed(tool, call: ToolCall, expected: str) -> float:
    start = time.perf_counter()
    steps = run_tool(tool, call, {})
    try:
        while True:
            next(steps)  # heartbeats, as the agent loop relays them
    except StopIteration as done:
        result = done.value
    elapsed = time.perf_counter() - start
    if result.is_error or result.text.strip() != expected:
        raise RuntimeError(f"unexpected result of {call.name}: {result.text!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "mcp.json")
        config.write_text(json.dumps({"mcpServers": {"bench": {"command": sys.executable, "args": [str(SERVER), "stdio"]}}}))
        settings = Settings(data_dir=Path(tmp), mcp_config=str(config))
        servers = McpSession(settings, Path(tmp, "work"), hosted=False)
        python = PythonTool(settings, Path(tmp, "work"))
        try:
            servers.start()
            python.start()
            servers.wait_started(60)
            if not python.ready(120):
                raise RuntimeError("the kernel did not start")
            mcp_tool = servers.tools()["bench__add"]
            kinds = {
                "mcp": (mcp_tool, ToolCall("bench__add", '{"a": 1, "b": 1}', {"a": 1, "b": 1})),
                "python": (python, ToolCall("python", "1+1")),
            }
            for tool, call in kinds.values():  # warm both paths once
                timed(tool, call, "2")
            times: dict[str, list[float]] = {"mcp": [], "python": []}
            for i in range(args.calls):
                for kind in ("mcp", "python") if i % 2 == 0 else ("python", "mcp"):
                    times[kind].append(timed(*kinds[kind], "2"))
        finally:
            servers.shutdown()
            python.shutdown()
    mcp, py = (statistics.median(times[k]) for k in ("mcp", "python"))
    print(f"MCP tool call (stdio server, add 1 1): median {mcp * 1000:.2f} ms over {args.calls} calls")
    print(f"Python cell (warm kernel, 1+1):        median {py * 1000:.2f} ms over {args.calls} calls")
    print(f"mcp_vs_python_ratio={mcp / py:.2f}")


if __name__ == "__main__":
    main()
