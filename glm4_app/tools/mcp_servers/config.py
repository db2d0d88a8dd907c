"""The MCP servers file (GLM4_MCP_CONFIG), in the layout Claude Desktop and Cursor use::

    {"mcpServers": {
        "time":  {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv/shared"],
                  "trusted": true, "timeout": 120},
        "search": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${SEARCH_KEY}"}}
    }}

An entry with ``command`` runs a local server over stdio; one with ``url`` talks streamable
HTTP (``"type": "sse"`` selects the older SSE transport). Extras this app reads: ``trusted``
(a hosted app runs the stdio server without the code sandbox), ``timeout`` (seconds per call)
and ``disabled``. ``${VAR}`` in args, env, url and headers is taken from the app's environment,
so keys stay out of the file. A broken entry is reported and skipped; the others still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...notices import Notice, NoticeError, of

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME_OK = re.compile(r"[^A-Za-z0-9_]")
MAX_NAME = 64  # OpenAI-style tool names


class _Entry(BaseModel):
    """One ``mcpServers`` entry as written; unknown keys (``description``, ...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    type: Literal["stdio", "http", "streamable-http", "streamableHttp", "sse"] | None = None
    trusted: bool = False
    timeout: float | None = Field(default=None, gt=0)
    disabled: bool = False


@dataclass(frozen=True)
class ServerConfig:
    name: str  # the key in mcpServers, shown in the UI
    prefix: str  # its tools are offered as ``{prefix}__{tool}``
    transport: Literal["stdio", "http", "sse"]
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    trusted: bool = False
    timeout_s: float | None = None
    disabled: bool = False

    @property
    def shared(self) -> bool:
        """Remote servers are stateless from here: one connection serves the whole process.
        A local server is a process of each browser session's own."""
        return self.transport != "stdio"


def load_config(path: str | Path) -> tuple[list[ServerConfig], list[Notice]]:
    """(servers, problems). Never raises: a missing or broken file is one problem."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], [Notice("mcp.no_file", path=str(path))]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Notice("mcp.unreadable", path=str(path), error=exc)]
    except json.JSONDecodeError as exc:
        return [], [Notice("mcp.not_json", path=str(path), error=exc.msg, line=exc.lineno, column=exc.colno)]
    servers_data = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers_data, dict):
        return [], [Notice("mcp.no_servers", path=str(path))]
    servers, problems, prefixes = [], [], set()
    for name, raw in servers_data.items():
        try:
            entry = _Entry.model_validate(raw)
            server = _server(str(name), entry, prefixes)
        except ValidationError as exc:
            problems.append(Notice("mcp.server_skipped", name=str(name), problem=_first_error(exc)))
            continue
        except ValueError as exc:
            problems.append(Notice("mcp.server_skipped", name=str(name), problem=of(exc)))
            continue
        prefixes.add(server.prefix)
        servers.append(server)
    return servers, problems


def _server(name: str, entry: _Entry, taken: set[str]) -> ServerConfig:
    if bool(entry.command) == bool(entry.url):
        raise _Invalid(Notice("mcp.one_transport"))
    transport = "stdio" if entry.command else ("sse" if entry.type == "sse" else "http")
    return ServerConfig(
        name=name,
        prefix=_prefix(name, taken),
        transport=transport,
        command=_expand(entry.command or ""),
        args=tuple(_expand(a) for a in entry.args),
        env={k: _expand(v) for k, v in entry.env.items()},
        cwd=_expand(entry.cwd) if entry.cwd else None,
        url=_expand(entry.url or ""),
        headers={k: _expand(v) for k, v in entry.headers.items()},
        trusted=entry.trusted,
        timeout_s=entry.timeout,
        disabled=entry.disabled,
    )


def _expand(text: str) -> str:
    def value(match: re.Match) -> str:
        var = match.group(1)
        if var not in os.environ:
            raise _Invalid(Notice("mcp.variable_unset", variable=f"${{{var}}}"))
        return os.environ[var]

    return _VAR.sub(value, text)


class _Invalid(NoticeError, ValueError):
    """An entry that validates but cannot be used."""


def _prefix(name: str, taken: set[str]) -> str:
    """A tool-name-safe form of the server's name, unique among the servers."""
    prefix = _NAME_OK.sub("_", name).strip("_")[:24] or "mcp"
    if not prefix[0].isalpha():
        prefix = "mcp_" + prefix
    if prefix in taken:
        prefix = f"{prefix[:19]}_{hashlib.sha1(name.encode()).hexdigest()[:4]}"
    return prefix


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
