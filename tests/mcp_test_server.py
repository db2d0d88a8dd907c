"""An MCP server written with the SDK's MCPServer (FastMCP in mcp 1.x), for the MCP tests.

    python tests/mcp_test_server.py stdio
    python tests/mcp_test_server.py http PORT

Its tools cover what servers really return: text, an image, structured content, an error,
a slow call, a 10 MB answer, and a crash. ``MCP_TEST_MANY=500`` adds that many more tools;
``MCP_TEST_BAD_SCHEMA=1`` adds one whose input schema is not JSON Schema.
"""

from __future__ import annotations

import base64
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel

server = MCPServer("glm4-test", instructions="Test tools for the GLM-4 app.", log_level="WARNING")
# A 1x1 red PNG.
RED_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


class Forecast(BaseModel):
    city: str
    celsius: float
    sky: str


@server.tool()
def forecast(city: str) -> Forecast:
    """Tomorrow's weather of a city, as structured data."""
    return Forecast(city=city, celsius=21.5, sky="clear")


@server.tool()
def red_dot() -> Image:
    """A tiny red image."""
    return Image(data=RED_PNG, format="png")


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def slow(seconds: float) -> str:
    """Sleeps that long, then answers."""
    time.sleep(seconds)
    return f"slept {seconds} s"


@server.tool()
def huge() -> str:
    """Ten megabytes of text."""
    return "x" * 10_000_000


@server.tool()
def crash() -> str:
    """The server process dies in the middle of the call."""
    sys.stderr.write("crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server's process id (tells a restarted server from the old one)."""
    return os.getpid()


@server.tool()
def read_file(path: str) -> str:
    """The text of a file (tells a sandboxed server from a trusted one)."""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@server.tool()
def write_file(path: str, text: str) -> str:
    """Write a file (tells whether the session's folder is writable for the server)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return "written"


def _numbered(n: int):
    def tool_n(x: int = 0) -> int:
        return n + x

    return tool_n


if os.environ.get("MCP_TEST_BAD_SCHEMA"):
    server.add_tool(lambda: "never", name="broken", description="Its schema is not JSON Schema.")
    server._tool_manager._tools["broken"].parameters = {"type": "object", "properties": {"q": {"type": "banana"}}}

for _n in range(int(os.environ.get("MCP_TEST_MANY", "0"))):
    server.add_tool(_numbered(_n), name=f"tool_{_n}", description=f"Tool number {_n}.")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]), stateless_http=True)
    else:
        server.run("stdio")
