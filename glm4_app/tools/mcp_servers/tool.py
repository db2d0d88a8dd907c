"""An MCP server's tools as tools the model may call.

Names are prefixed by the server (``time__get_current_time``) so two servers never clash;
the JSON Schema and the description are passed through. What a model cannot be offered is
left out with a note the sidebar shows: a schema that is not JSON Schema, a name used twice,
tools beyond ``MAX_TOOLS`` (a prompt holds only so many declarations).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

from ...notices import Notice
from ...tool_types import ToolCall, ToolResult
from ..functions import check_arguments
from .config import MAX_NAME, ServerConfig

if TYPE_CHECKING:
    from .connection import Connection

MAX_TOOLS = 100  # per server
MAX_DESCRIPTION = 2000
MAX_SCHEMA_QUOTED = 2000  # of a tool's schema, in what a call with wrong arguments is told
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ToolInfo:
    name: str  # as offered to the model: server prefix + "__" + the tool's name
    remote: str  # the name the server knows it by
    description: str
    schema: dict[str, Any]


def offered(server: ServerConfig, listed: list[Any]) -> tuple[list[ToolInfo], list[Notice]]:
    """(tools to offer, notes on those left out) from a ``tools/list`` answer."""
    tools: list[ToolInfo] = []
    notes: list[Notice] = []
    seen: set[str] = set()
    for tool in listed:
        if len(tools) == MAX_TOOLS:
            notes.append(Notice("mcp.too_many_tools", count=len(listed), limit=MAX_TOOLS))
            break
        schema = tool.input_schema if isinstance(tool.input_schema, dict) else None
        problem = schema_problem(schema)
        if problem:
            notes.append(Notice("mcp.bad_schema", name=tool.name, problem=problem))
            continue
        name = namespaced(server.prefix, tool.name)
        if name in seen:
            notes.append(Notice("mcp.same_name", name=tool.name))
            continue
        seen.add(name)
        description = (tool.description or tool.title or tool.name or "").strip()[:MAX_DESCRIPTION]
        tools.append(ToolInfo(name, tool.name, description, {"type": "object", **schema}))
    return tools, notes


def namespaced(prefix: str, tool: str) -> str:
    name = f"{prefix}__{_UNSAFE.sub('_', tool)}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(tool.encode()).hexdigest()[:6]
    return f"{name[: MAX_NAME - 7]}_{digest}"


def schema_problem(schema: dict | None) -> Notice | str | None:
    if schema is None:
        return Notice("mcp.schema_not_object")
    if schema.get("type", "object") != "object":
        return Notice("mcp.schema_type", type=repr(schema.get("type")))
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return exc.message[:200]
    except Exception as exc:  # noqa: BLE001 - e.g. an unresolvable $ref: not usable either
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


class McpTool:
    """One MCP tool in the toolbox; calls go to its server's connection."""

    def __init__(self, info: ToolInfo, connection: "Connection") -> None:
        self.info = info
        self.name = info.name
        self.connection = connection

    def declaration(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.info.description, "parameters": self.info.schema},
        }

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        # Checked before the server is bothered, as a function's arguments are (same words).
        arguments, problem = check_arguments(
            self.name, self.info.schema, call, schema_chars=MAX_SCHEMA_QUOTED
        )
        if problem:
            return ToolResult.failure(problem)
        return self.connection.call(self.info.remote, arguments, cancel)
