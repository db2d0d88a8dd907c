"""Tools from MCP servers (Model Context Protocol), through the official ``mcp`` SDK.

config.py reads the servers file, connection.py runs one server's client, tool.py turns its
tools into the app's tools, results.py its results into observations, session.py decides
what is shared and what belongs to one browser session.
"""

from .config import ServerConfig, load_config
from .session import McpSession, ServerStatus

__all__ = ["McpSession", "ServerConfig", "ServerStatus", "load_config"]
