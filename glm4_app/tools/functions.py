"""User-defined functions the model may call: a ``@tool`` decorator and a folder loader.

Write a typed, documented Python function and decorate it::

    @tool
    def get_current_time(timezone: str = "UTC") -> str:
        '''Current date and time in a time zone.

        Args:
            timezone: IANA name such as "Asia/Shanghai".
        '''

The JSON Schema the model sees comes from the type hints (through pydantic's ``TypeAdapter``,
so dataclasses and pydantic models work too) and the docstring (Google, NumPy or Sphinx, read
by ``docstring_parser``); arguments are turned back into the hinted types by pydantic. GLM's own style ``Annotated[str, "The city", True]``
(type, description, required) works too. Every call is checked against that schema before the
function runs, and every failure (malformed JSON, bad arguments, an exception, a timeout)
comes back as an ``is_error`` observation the model can react to: ``run`` never raises.

Functions run on a worker thread with a timeout (runner.py). Python cannot kill a thread, so a function
that ignores the timeout keeps running in the background until it returns; a function that
wants to stop early can take a parameter annotated ``threading.Event`` and receives the
call's cancel event there (that parameter is not shown to the model).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import importlib.util
import inspect
import json
import logging
import re
import sys
import threading
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import docstring_parser
import jsonschema
from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticSchemaGenerationError, PydanticUserError

from .. import runner
from ..builtin_tools import BUILTINS
from ..notices import Notice
from ..tool_types import clip
from .base import ToolCall, ToolResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0

# Names the tool-call parser already gives to the built-in tools; a function with one of
# these names would never be called (or would shadow the built-in).
RESERVED_NAMES = frozenset(BUILTINS)
# GLM writes a call as ``name\n{json}``, so a name must be one plain token.
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


# --- The tool ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FunctionTool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object
    fn: Callable[..., Any]
    timeout_s: float = DEFAULT_TIMEOUT_S
    # How to turn the validated JSON back into Python values (Enum members, tuples, ...).
    _hints: dict[str, Any] = field(default_factory=dict, repr=False)
    _nullable: frozenset[str] = field(default=frozenset(), repr=False)  # null = left out
    _none_if_missing: frozenset[str] = field(default=frozenset(), repr=False)
    _cancel_param: str | None = field(default=None, repr=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The decorated function stays callable as plain Python."""
        return self.fn(*args, **kwargs)

    def declaration(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        try:
            return self._run(call, cancel)
        except Exception as exc:  # a bug in this module must still not end the turn
            log.exception("function tool %s failed unexpectedly", self.name)
            error = f"{type(exc).__name__}: {exc}"
            return ToolResult.failure(Notice("functions.could_not_run", name=self.name, error=error))

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        arguments, problem = check_arguments(self.name, self.parameters, call, self._nullable)
        if problem:
            return ToolResult.failure(problem)
        try:
            kwargs = {k: _coerce(v, self._hints.get(k, Any)) for k, v in arguments.items()}
        except ValidationError as exc:  # a check JSON Schema cannot express (a model's validator)
            invalid = Notice("functions.invalid_value", name=self.name, error=clip(str(exc), 2000))
            return ToolResult.failure(invalid)
        for name in self._none_if_missing - kwargs.keys():
            kwargs[name] = None  # "not required" but no Python default: the function gets None
        if self._cancel_param:
            kwargs[self._cancel_param] = cancel

        outcome = runner.run(
            lambda: self.fn(**kwargs), timeout_s=self.timeout_s, cancel=cancel, name=self.name
        )
        if outcome.cancelled:
            return ToolResult.failure(Notice("functions.stopped", name=self.name))
        if outcome.timed_out:
            seconds = f"{self.timeout_s:g}"
            return ToolResult.failure(Notice("functions.timed_out", name=self.name, seconds=seconds))
        if outcome.error is not None:
            exc = outcome.error
            log.warning("function tool %s raised", self.name, exc_info=exc)
            error = f"{type(exc).__name__}: {clip(str(exc), 2000)}"
            return ToolResult.failure(Notice("functions.raised", name=self.name, error=error))
        return _success(outcome.value)


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """Turn a typed function into a FunctionTool: ``@tool`` or ``@tool(name=..., ...)``.

    Raises TypeError/ValueError at decoration time for what cannot be offered to a model
    (an unsupported type, ``*args``, a bad name), so the mistake shows up when the file loads.
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return make_tool(f, name=name, description=description, timeout_s=timeout_s)

    return wrap if fn is None else wrap(fn)


def make_tool(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> FunctionTool:
    tool_name = name or fn.__name__
    if not _NAME_RE.match(tool_name):
        raise ValueError(
            f"tool name {tool_name!r} must be letters, digits, _ or - (starting with a letter "
            "or _), at most 64 characters"
        )
    summary, param_docs = _parse_docstring(inspect.getdoc(fn) or "")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # e.g. a forward reference to a name that does not exist
        raise TypeError(f"{tool_name}: cannot resolve its type hints: {exc}") from exc

    properties: dict[str, Any] = {}
    required: list[str] = []
    call_hints: dict[str, Any] = {}
    nullable: set[str] = set()
    none_if_missing: set[str] = set()
    cancel_param = None
    extra_allowed = False
    for param in inspect.signature(fn).parameters.values():
        where = f"{tool_name}({param.name})"
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise TypeError(f"{where}: the model passes arguments by name; drop *args and '/'")
        if param.kind is param.VAR_KEYWORD:
            extra_allowed = True  # **kwargs: the function takes names we do not know
            continue
        hint = hints.get(param.name, Any)
        if hint is threading.Event:
            cancel_param = param.name
            continue
        hint, note, required_flag = _split_annotated(hint)
        prop = _schema_for(hint, where)
        if note or param_docs.get(param.name):
            prop["description"] = note or param_docs[param.name]
        has_default = param.default is not inspect.Parameter.empty
        if has_default and param.default is not None:
            default = _jsonable(param.default)
            if default is not _NOT_JSON:
                prop["default"] = default
        properties[param.name] = prop
        call_hints[param.name] = hint

        may_be_none = _is_optional(hint) or (has_default and param.default is None)
        is_required = required_flag if required_flag is not None else not (
            has_default or may_be_none
        )
        if is_required:
            required.append(param.name)
        if may_be_none:
            nullable.add(param.name)
        if not is_required and not has_default:
            none_if_missing.add(param.name)

    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    if not extra_allowed:
        parameters["additionalProperties"] = False
    return FunctionTool(
        name=tool_name,
        description=(description if description is not None else summary),
        parameters=parameters,
        fn=fn,
        timeout_s=timeout_s,
        _hints=call_hints,
        _nullable=frozenset(nullable),
        _none_if_missing=frozenset(none_if_missing),
        _cancel_param=cancel_param,
    )


# --- JSON Schema from type hints (pydantic) --------------------------------------------------

_UNION_TYPES = (Union, types.UnionType)
_NOT_FOR_MODELS = (bytes, bytearray, memoryview)  # a model writes text, not raw bytes


@functools.lru_cache(maxsize=None)
def _adapter(hint: Any) -> TypeAdapter:
    return TypeAdapter(hint)


def _schema_for(hint: Any, where: str) -> dict[str, Any]:
    """JSON Schema for one type hint, from pydantic, in the plain form models read best.

    Anything pydantic validates works: str/int/float/bool, list/set/tuple/dict of them,
    Literal and Enum (``enum``), Optional (optional-ness lives in ``required``), unions
    (``anyOf``), Any (``{}``), dataclasses, TypedDicts and pydantic models (inlined).
    """
    hint, _, _ = _split_annotated(hint)
    try:
        if hint in _NOT_FOR_MODELS:
            raise TypeError(hint)
        schema = _adapter(hint).json_schema()
    except (TypeError, PydanticUserError, PydanticSchemaGenerationError, PydanticInvalidForJsonSchema):
        raise TypeError(
            f"{where}: no JSON Schema for type {hint!r}; use str, int, float, bool, list, tuple, "
            "dict, Literal, an Enum, Optional, Any, a dataclass or a pydantic model"
        ) from None
    return _plain(schema, schema.get("$defs", {}), where)


def _plain(node: Any, defs: dict, where: str, depth: int = 0) -> Any:
    """pydantic's schema without what only clutters a prompt: titles, ``$defs`` (inlined),
    the ``null`` branch of Optional, ``uniqueItems`` (a set takes duplicates and drops them),
    ``additionalProperties: true`` and empty ``items``."""
    if depth > 20:
        raise TypeError(f"{where}: a recursive type cannot be offered to a model")
    if isinstance(node, list):
        return [_plain(n, defs, where, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        ref = node.pop("$ref")
        return _plain({**defs[ref.rsplit("/", 1)[-1]], **node}, defs, where, depth + 1)
    if "anyOf" in node:
        options = [o for o in node.pop("anyOf") if o != {"type": "null"}]
        if len(options) == 1:
            return _plain({**options[0], **node}, defs, where, depth + 1)
        node["anyOf"] = options
    out = {}
    for key, value in node.items():
        if key in ("title", "$defs", "uniqueItems") or (key, value) in (("additionalProperties", True), ("items", {})):
            continue
        if key == "properties":
            value = {name: _plain(v, defs, where, depth + 1) for name, v in value.items()}
        elif key not in _LITERAL_KEYS:
            value = _plain(value, defs, where, depth + 1)
        out[key] = value
    return out


_LITERAL_KEYS = ("enum", "default", "const", "examples", "required")  # values, not schemas


def _split_annotated(hint: Any) -> tuple[Any, str | None, bool | None]:
    """``Annotated[T, "description", required]`` (GLM's tool_registry style) -> its parts.
    Metadata that is neither a string nor a bool (e.g. from other libraries) is ignored."""
    if typing.get_origin(hint) is not typing.Annotated:
        return hint, None, None
    base, *metadata = typing.get_args(hint)
    note = next((m for m in metadata if isinstance(m, str)), None)
    required = next((m for m in metadata if isinstance(m, bool)), None)
    return base, note, required


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in _UNION_TYPES and type(None) in typing.get_args(hint)


def _coerce(value: Any, hint: Any) -> Any:
    """Validated JSON -> what the hint promised (Enum members, tuples, sets, floats, models),
    by pydantic."""
    return value if value is None else _adapter(hint).validate_python(value)


# --- Docstrings (docstring_parser) ------------------------------------------------------------


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph as one line, {parameter: description}) from a Google, NumPy or
    Sphinx (``:param name:``) docstring."""
    parsed = docstring_parser.parse(doc)
    summary = parsed.short_description or ""
    if parsed.long_description and not parsed.blank_after_short_description:
        summary += " " + parsed.long_description.split("\n\n")[0]  # the summary wraps onto more lines
    params = {p.arg_name: _join(p.description) for p in parsed.params if p.description}
    return _join(summary), params


def _join(text: str) -> str:
    return " ".join(text.split())


# --- Validation and results ----------------------------------------------------------------


def check_arguments(
    name: str,
    schema: dict[str, Any],
    call: ToolCall,
    nullable: frozenset[str] = frozenset(),
    schema_chars: int | None = None,
) -> tuple[dict[str, Any] | None, Notice | None]:
    """A call's arguments checked against ``schema`` (a function's or an MCP tool's): (the
    arguments, None), or (None, what to tell the model so it can call again).

    A JSON null for a parameter in ``nullable`` means "use the default" and is left out. The
    schema is quoted whole, or its first ``schema_chars`` characters (a server's may be huge).
    """
    arguments = call.arguments
    if arguments is None:
        # The parser leaves ``arguments`` empty when the JSON did not parse; parse again
        # here to tell the model exactly what was wrong with it.
        arguments, problem = parse_arguments(call.body)
        if problem:
            sent = clip(call.body, 300)
            return None, Notice("functions.bad_json", name=name, problem=problem, sent=sent)
    if not isinstance(arguments, dict):
        kind, quoted = _json_type(arguments), compact(schema)[:schema_chars]
        return None, Notice("functions.not_an_object", name=name, type=kind, schema=quoted)
    arguments = {k: v for k, v in arguments.items() if not (v is None and k in nullable)}
    problems = validation_problems(schema, arguments)
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)  # JSON Schema's words, in English
        quoted = compact(schema)[:schema_chars]
        notice = Notice("functions.invalid_arguments", name=name, problems=listed, schema=quoted)
        return None, notice
    return arguments, None


def validation_problems(schema: dict[str, Any], arguments: Any) -> list[str]:
    """Every way ``arguments`` breaks ``schema``, one readable line each (empty: valid)."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(arguments):
        path = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"{path.lstrip('.')}: {error.message}" if path else error.message)
    return sorted(problems)


def parse_arguments(body: str) -> tuple[Any, str | None]:
    """A call's JSON arguments, or None and what is wrong with them."""
    if not body.strip():
        return {}, None  # a call with no arguments at all: fine for a function without any
    try:
        return json.loads(body), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"


def _success(value: Any) -> ToolResult:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=_json_default)
    return ToolResult.capped(text)


def compact(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def _json_type(value: Any) -> Notice:
    if isinstance(value, list):
        return Notice("json.array")
    if isinstance(value, str):
        return Notice("json.string")
    if isinstance(value, bool):
        return Notice("json.boolean")
    return Notice("json.null") if value is None else Notice("json.number")


_NOT_JSON = object()


def _jsonable(value: Any) -> Any:
    """A default value as it appears in the schema, or _NOT_JSON to leave it out."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (tuple, frozenset, set)):
        value = list(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return _NOT_JSON
    return value


def _json_default(value: Any) -> Any:
    """Return values json cannot dump by itself: dataclasses, enums, sets; else ``str()``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


# --- Loading a folder of tools -------------------------------------------------------------


def load_tools_dir(folder: Path) -> tuple[list[FunctionTool], list[Notice]]:
    """Import every ``*.py`` in ``folder`` (not those starting with ``_``) and collect the
    ``@tool`` functions each defines, in file then definition order.

    Never raises: a file that fails to import, a name used twice or a built-in's name gives
    an error line (for the UI) and the rest still load. The files are trusted code: they run
    in the app's own process, like any plugin.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [], [Notice("functions.no_folder", folder=str(folder))]
    tools: list[FunctionTool] = []
    errors: list[Notice] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = _import_file(path)
        except BaseException as exc:  # SyntaxError, ImportError, SystemExit, a bad @tool...
            if isinstance(exc, KeyboardInterrupt):
                raise
            errors.append(Notice("functions.import_failed", file=path.name, error=f"{type(exc).__name__}: {exc}"))
            continue
        for value in list(vars(module).values()):
            # Only tools defined in this file: one imported from elsewhere is not listed twice.
            if not isinstance(value, FunctionTool) or value.fn.__module__ != module.__name__:
                continue
            if value.name in RESERVED_NAMES:
                errors.append(Notice("functions.builtin_name", file=path.name, name=value.name))
            elif value.name in seen:
                errors.append(
                    Notice("functions.defined_twice", file=path.name, name=value.name, other=seen[value.name])
                )
            else:
                seen[value.name] = path.name
                tools.append(value)
    return tools, errors


def _import_file(path: Path) -> types.ModuleType:
    # A name unique to the file's full path, so two folders' ``utils.py`` never collide and
    # loading the same file again replaces its module instead of piling up new ones.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"glm4_user_tools_{digest}_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
