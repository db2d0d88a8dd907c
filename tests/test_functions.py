"""User-defined function tools: schema generation, argument checking, running, loading a folder.

Schema cases are module-level functions (type hints of local classes would not resolve).
"""

import asyncio
import enum
import json
import textwrap
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import pytest

from glm4_app.settings import Settings
from glm4_app.tools.base import ToolCall
from glm4_app.tool_types import MAX_RESULT_CHARS
from glm4_app.tools.functions import (
    FunctionTool,
    load_tools_dir,
    tool,
)

REPO = Path(__file__).resolve().parent.parent
NO_CANCEL = threading.Event()


def call(t: FunctionTool, arguments: Any = None, body: str | None = None):
    """Run ``t`` the way the agent does: body as written, arguments as the parser parsed them."""
    if body is None:
        body = json.dumps(arguments, ensure_ascii=False)
    return t.run(ToolCall(t.name, body, arguments), threading.Event())


# --- Schema generation -----------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def plain_types(name: str, count: int, ratio: float, loud: bool):
    pass


def optional_and_defaults(a: Optional[str], b: int = 3, c: str | None = None, d: str = "x"):
    pass


def literal_and_enum(unit: Literal["celsius", "fahrenheit"], color: Color, level: Level = Level.LOW,
                     mixed: Literal[1, "one"] = 1):
    pass


def containers(xs: list[int], tags: list, pair: tuple[int, int], many: tuple[str, ...],
               scores: dict[str, float], anything: dict, whatever: Any, untyped):
    pass


def glm_annotated(
    seed: Annotated[int, "The random seed used by the generator", True],
    range: Annotated[tuple[int, int], "The range of the generated numbers", True],
    note: Annotated[str, "A note, may be left out", False],
):
    pass


def google_docstring(city: str, days: int = 1):
    """Get the weather forecast
    for a city.

    The forecast comes from a fixed table; this paragraph is not part of the description.

    Args:
        city (str): Name of the city,
            in English.
        days: How many days ahead.

    Returns:
        A forecast.
    """


def numpy_docstring(city: str, days: int = 1):
    """Get the weather forecast.

    Parameters
    ----------
    city : str
        Name of the city,
        in English.
    days : int
        How many days ahead.

    Returns
    -------
    dict
    """


def sphinx_docstring(city: str):
    """Get the weather forecast.

    :param str city: Name of the city.
    """


def annotated_beats_docstring(city: Annotated[str, "From Annotated"]):
    """Weather.

    Args:
        city: From the docstring.
    """


def no_docstring(x: int):
    pass


def takes_kwargs(x: int, **extra):
    pass


def takes_cancel(x: int, cancel: threading.Event):
    pass


S, I, N, B = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}

SCHEMA_CASES = [
    pytest.param(
        plain_types, "",
        {"type": "object", "properties": {"name": S, "count": I, "ratio": N, "loud": B},
         "required": ["name", "count", "ratio", "loud"], "additionalProperties": False},
        id="plain-types",
    ),
    pytest.param(
        optional_and_defaults, "",
        {"type": "object",
         "properties": {"a": S, "b": {**I, "default": 3}, "c": S, "d": {**S, "default": "x"}},
         "additionalProperties": False},
        id="optional-and-defaults-not-required",
    ),
    pytest.param(
        literal_and_enum, "",
        {"type": "object",
         "properties": {
             "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
             "color": {"type": "string", "enum": ["red", "green"]},
             "level": {"type": "integer", "enum": [1, 2], "default": 1},
             "mixed": {"enum": [1, "one"], "default": 1},
         },
         "required": ["unit", "color"], "additionalProperties": False},
        id="literal-and-enum",
    ),
    pytest.param(
        containers, "",
        {"type": "object",
         "properties": {
             "xs": {"type": "array", "items": I},
             "tags": {"type": "array"},
             "pair": {"type": "array", "prefixItems": [I, I], "minItems": 2, "maxItems": 2},
             "many": {"type": "array", "items": S},
             "scores": {"type": "object", "additionalProperties": N},
             "anything": {"type": "object"},
             "whatever": {},
             "untyped": {},
         },
         "required": ["xs", "tags", "pair", "many", "scores", "anything", "whatever", "untyped"],
         "additionalProperties": False},
        id="list-int-tuple-dict-any",
    ),
    pytest.param(
        glm_annotated, "",
        {"type": "object",
         "properties": {
             "seed": {**I, "description": "The random seed used by the generator"},
             "range": {"type": "array", "prefixItems": [I, I], "minItems": 2, "maxItems": 2,
                       "description": "The range of the generated numbers"},
             "note": {**S, "description": "A note, may be left out"},
         },
         "required": ["seed", "range"], "additionalProperties": False},
        id="annotated-glm-style",
    ),
    pytest.param(
        google_docstring, "Get the weather forecast for a city.",
        {"type": "object",
         "properties": {
             "city": {**S, "description": "Name of the city, in English."},
             "days": {**I, "description": "How many days ahead.", "default": 1},
         },
         "required": ["city"], "additionalProperties": False},
        id="docstring-google-args",
    ),
    pytest.param(
        numpy_docstring, "Get the weather forecast.",
        {"type": "object",
         "properties": {
             "city": {**S, "description": "Name of the city, in English."},
             "days": {**I, "description": "How many days ahead.", "default": 1},
         },
         "required": ["city"], "additionalProperties": False},
        id="docstring-numpy-parameters",
    ),
    pytest.param(
        sphinx_docstring, "Get the weather forecast.",
        {"type": "object", "properties": {"city": {**S, "description": "Name of the city."}},
         "required": ["city"], "additionalProperties": False},
        id="docstring-sphinx-param",
    ),
    pytest.param(
        annotated_beats_docstring, "Weather.",
        {"type": "object", "properties": {"city": {**S, "description": "From Annotated"}},
         "required": ["city"], "additionalProperties": False},
        id="annotated-description-wins",
    ),
    pytest.param(
        no_docstring, "",
        {"type": "object", "properties": {"x": I}, "required": ["x"],
         "additionalProperties": False},
        id="no-docstring",
    ),
    pytest.param(
        takes_kwargs, "",
        {"type": "object", "properties": {"x": I}, "required": ["x"]},
        id="kwargs-allow-extra-properties",
    ),
    pytest.param(
        takes_cancel, "",
        {"type": "object", "properties": {"x": I}, "required": ["x"],
         "additionalProperties": False},
        id="cancel-event-hidden",
    ),
]


@pytest.mark.parametrize("fn, description, parameters", SCHEMA_CASES)
def test_schema_from_hints_and_docstring(fn, description, parameters):
    t = tool(fn)
    assert t.parameters == parameters
    assert t.declaration() == {
        "type": "function",
        "function": {"name": fn.__name__, "description": description, "parameters": parameters},
    }
    json.dumps(t.declaration())  # the template renders it with tojson


def test_decorator_with_options_and_still_callable():
    @tool(name="add-numbers", description="Adds.", timeout_s=5)
    def add(a: int, b: int = 2) -> int:
        """Ignored description."""
        return a + b

    assert isinstance(add, FunctionTool)
    assert (add.name, add.description, add.timeout_s) == ("add-numbers", "Adds.", 5)
    assert add(1) == 3  # plain Python calls still work


def test_future_annotations_module_resolves(tmp_path):
    # Tool files usually start with `from __future__ import annotations`: hints are strings.
    (tmp_path / "future.py").write_text(textwrap.dedent("""
        from __future__ import annotations
        from typing import Optional
        from glm4_app.tools.functions import tool

        @tool
        def f(xs: list[int], name: Optional[str] = None) -> dict:
            return {"n": len(xs)}
    """))
    tools, errors = load_tools_dir(tmp_path)
    assert errors == []
    assert tools[0].parameters["properties"] == {
        "xs": {"type": "array", "items": {"type": "integer"}}, "name": {"type": "string"}
    }


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f(x: bytes): pass", "no JSON Schema for type"),
        ("def f(*xs: int): pass", "by name"),
        ("def f(x: int, /): pass", "by name"),
    ],
    ids=["unsupported-type", "star-args", "positional-only"],
)
def test_unofferable_functions_fail_at_decoration(source, message):
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(TypeError, match=message):
        tool(namespace["f"])


def test_bad_name_fails_at_decoration():
    with pytest.raises(ValueError, match="tool name"):
        tool(name="get weather")(no_docstring)


# --- Running: arguments, validation, errors as data ----------------------------------------


@tool
def weather(city: str, days: int = 1, unit: Literal["c", "f"] = "c") -> dict:
    """Fixed test data."""
    return {"city": city, "days": days, "unit": unit, "summary": "晴"}


def test_call_returns_json_text_keeping_non_ascii():
    result = call(weather, {"city": "Bangkok", "days": 2})
    assert not result.is_error
    assert json.loads(result.text) == {"city": "Bangkok", "days": 2, "unit": "c", "summary": "晴"}
    assert "晴" in result.text  # ensure_ascii=False
    assert result.metadata == ""


def test_string_return_value_is_sent_as_is():
    @tool
    def greet(name: str) -> str:
        return f"Hello, {name}!"

    assert call(greet, {"name": "GLM"}).text == "Hello, GLM!"


def test_arguments_are_parsed_from_the_body_when_the_parser_did_not():
    result = call(weather, None, body='{"city": "Oslo"}')
    assert not result.is_error and json.loads(result.text)["city"] == "Oslo"


def test_empty_body_calls_a_function_without_parameters():
    @tool
    def ping() -> str:
        return "pong"

    assert call(ping, None, body="").text == "pong"


def test_malformed_json_is_an_error_quoting_the_json_error():
    result = call(weather, None, body='{"city": "Bangkok",}')
    assert result.is_error
    assert "not valid JSON" in result.text
    assert "Expecting property name enclosed in double quotes at line 1 column 20" in result.text
    assert '{"city": "Bangkok",}' in result.text


def test_arguments_that_are_not_an_object():
    result = call(weather, ["Bangkok"])
    assert result.is_error and "one JSON object, not an array" in result.text


def test_validation_lists_every_problem_so_the_model_can_retry():
    ran = []

    @tool
    def book(city: str, nights: int, unit: Literal["c", "f"] = "c") -> str:
        ran.append(city)
        return "booked"

    result = call(book, {"nights": "three", "unit": "k", "colour": "red"})
    assert result.is_error
    assert ran == []  # never called with bad arguments
    text = result.text
    assert "Invalid arguments for book" in text
    assert "'city' is a required property" in text
    assert "nights: 'three' is not of type 'integer'" in text
    assert "unit: 'k' is not one of ['c', 'f']" in text
    assert "'colour' was unexpected" in text
    assert '"required":["city","nights"]' in text  # the schema, to get it right next time


def test_nested_validation_paths():
    @tool
    def total(xs: list[int]) -> int:
        return sum(xs)

    result = call(total, {"xs": [1, "2", 3]})
    assert result.is_error and "xs[1]: '2' is not of type 'integer'" in result.text
    assert call(total, {"xs": [1, 2, 3]}).text == "6"


def test_values_are_coerced_to_the_hinted_types():
    seen = {}

    @tool
    def f(color: Color, level: Optional[Level], pair: tuple[int, int], ratio: float,
          tags: set[str]) -> str:
        seen.update(color=color, level=level, pair=pair, ratio=ratio, tags=tags)
        return "ok"

    result = call(f, {"color": "red", "level": 2, "pair": [1, 2], "ratio": 3, "tags": ["a", "a"]})
    assert not result.is_error, result.text
    assert seen == {"color": Color.RED, "level": Level.HIGH, "pair": (1, 2), "ratio": 3.0,
                    "tags": {"a"}}
    assert isinstance(seen["ratio"], float)


def test_null_or_missing_optional_parameters_get_their_default_or_none():
    seen = []

    @tool
    def f(a: Optional[str], b: str | None = "dflt",
          note: Annotated[str, "optional by flag", False] = None) -> str:
        seen.append((a, b, note))
        return "ok"

    assert not call(f, {}).is_error
    assert not call(f, {"a": None, "b": None}).is_error
    assert seen == [(None, "dflt", None), (None, "dflt", None)]


def test_exception_becomes_an_error_result_without_traceback():
    @tool
    def fails(x: int) -> int:
        raise ValueError(f"x must be positive, got {x}")

    result = call(fails, {"x": -1})
    assert result.is_error
    assert result.text == "fails raised ValueError: x must be positive, got -1"
    assert "Traceback" not in result.text


def zh(result, tmp_path) -> str:
    """What a reader of Chinese sees of the step, after it is saved."""
    from glm4_app.tool_steps import step_messages

    _, observation = step_messages(ToolCall("f", "{}"), result, tmp_path)
    return observation.shown_in("zh")


def test_a_functions_failures_read_in_chinese(tmp_path):
    @tool
    def fails(x: int) -> int:
        raise ValueError(f"x must be positive, got {x}")

    assert zh(call(fails, {"x": -1}), tmp_path) == "fails 抛出了异常 ValueError: x must be positive, got -1"
    assert zh(call(fails, ["x"]), tmp_path).startswith("fails 的参数必须是一个 JSON 对象，而不是数组。参数：{")
    assert zh(call(fails, {"x": "one"}), tmp_path).startswith("fails 的参数无效：\n- x: 'one' is not of type")
    assert zh(call(fails, None, body='{"x": 1,'), tmp_path).startswith("fails 的参数不是有效的 JSON（")


def test_a_long_failure_is_capped_for_the_model_and_read_whole_in_chinese(tmp_path):
    @tool
    def loud() -> None:
        raise RuntimeError("e" * 1999)

    @tool
    def wide(a: Literal[tuple(f"choice-{i}" for i in range(1000))]) -> str:  # a schema of ~14K
        return a

    result = call(wide, {"a": "nope"})
    assert len(result.text) < MAX_RESULT_CHARS + 100 and "truncated" in result.text
    assert zh(result, tmp_path).startswith("wide 的参数无效：") and "choice-999" in zh(result, tmp_path)
    assert zh(call(loud, {}), tmp_path) == "loud 抛出了异常 RuntimeError: " + "e" * 1999


def test_system_exit_in_a_tool_is_an_error_too():
    @tool
    def quits() -> None:
        raise SystemExit(3)

    result = call(quits, {})
    assert result.is_error and "SystemExit" in result.text


def test_unserialisable_results_never_raise():
    @tool
    def circular() -> list:
        xs: list = []
        xs.append(xs)
        return xs

    @tool
    def odd() -> object:
        return {"when": threading, "tags": {"a"}}

    result = call(circular, {})
    assert result.is_error and "Circular reference" in result.text
    odd_result = call(odd, {})
    assert not odd_result.is_error and "module 'threading'" in odd_result.text


def test_long_results_are_capped_for_the_model_and_kept_for_the_ui():
    @tool
    def big() -> str:
        return "x" * 50_000

    result = call(big, {})
    assert len(result.text) < MAX_RESULT_CHARS + 100
    assert "truncated: 50,000 characters" in result.text
    assert result.shown.count("x") == 50_000


def test_async_functions_are_awaited():
    @tool
    async def later(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * 2

    assert call(later, {"x": 21}).text == "42"


def test_timeout_abandons_a_slow_function():
    release = threading.Event()

    @tool(timeout_s=0.2)
    def slow() -> str:
        release.wait(10)
        return "late"

    started = time.monotonic()
    result = call(slow, {})
    release.set()  # let the abandoned thread finish
    assert time.monotonic() - started < 2
    assert result.is_error
    assert "did not finish within 0.2 s" in result.text
    assert "may still be running" in result.text


def test_cancel_returns_promptly_even_if_the_function_ignores_it():
    release = threading.Event()

    @tool
    def stubborn() -> str:
        release.wait(10)
        return "late"

    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    result = stubborn.run(ToolCall("stubborn", "{}", {}), cancel)
    release.set()
    assert time.monotonic() - started < 2
    assert result.is_error and result.text == "stubborn was stopped before it finished."


def test_a_cooperative_function_receives_the_cancel_event():
    stopped = threading.Event()

    @tool
    def waits(cancel: threading.Event) -> str:
        cancel.wait(10)
        stopped.set()
        return "stopped"

    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    waits.run(ToolCall("waits", "{}", {}), cancel)
    assert stopped.wait(2)  # it saw the cancel itself, so its thread does not linger


# --- Loading a folder ------------------------------------------------------------------------


def write(folder: Path, name: str, source: str) -> None:
    (folder / name).write_text(textwrap.dedent(source))


def test_load_tools_dir_reports_broken_and_duplicate_files(tmp_path):
    write(tmp_path, "a_good.py", '''
        from glm4_app.tools.functions import tool

        @tool
        def double(x: int) -> int:
            """Twice x."""
            return 2 * x

        @tool
        def shout(text: str) -> str:
            return text.upper()

        def helper():  # not a tool
            pass
    ''')
    write(tmp_path, "b_broken.py", "def oops(:\n    pass\n")
    write(tmp_path, "c_duplicate.py", '''
        from glm4_app.tools.functions import tool

        @tool
        def double(x: int) -> int:
            return 3 * x

        @tool
        def python(code: str) -> str:
            return code
    ''')
    write(tmp_path, "d_import_error.py", "import module_that_does_not_exist\n")
    write(tmp_path, "e_bad_tool.py", '''
        from glm4_app.tools.functions import tool

        @tool
        def f(x: bytes) -> int:
            return 0
    ''')
    write(tmp_path, "_helper.py", "raise RuntimeError('private files are not loaded')\n")
    (tmp_path / "notes.txt").write_text("not python")

    tools, errors = load_tools_dir(tmp_path)

    assert [t.name for t in tools] == ["double", "shout"]
    assert call(tools[0], {"x": 4}).text == "8"  # the first definition wins
    assert len(errors) == 5, errors
    broken, duplicate, reserved, import_error, bad_tool = [str(e) for e in errors]
    assert broken.startswith("b_broken.py: SyntaxError")
    assert duplicate == (
        "c_duplicate.py: a tool named 'double' is already defined in a_good.py; "
        "this one is skipped."
    )
    assert reserved.startswith("c_duplicate.py: 'python' is the name of a built-in tool")
    assert import_error.startswith("d_import_error.py: ModuleNotFoundError")
    assert bad_tool.startswith("e_bad_tool.py: TypeError: f(x): no JSON Schema")


def test_same_file_names_in_two_folders_do_not_collide(tmp_path):
    for folder, value in (("one", 1), ("two", 2)):
        (tmp_path / folder).mkdir()
        write(tmp_path / folder, "tools.py", f'''
            from glm4_app.tools.functions import tool

            @tool
            def value_{value}() -> int:
                return {value}
        ''')
    one, _ = load_tools_dir(tmp_path / "one")
    two, _ = load_tools_dir(tmp_path / "two")
    again, _ = load_tools_dir(tmp_path / "one")  # loading twice works (a new session)
    assert [call(t, {}).text for t in one + two + again] == ["1", "2", "1"]


def test_missing_folder_is_an_error_not_an_exception(tmp_path):
    tools, errors = load_tools_dir(tmp_path / "nope")
    assert tools == [] and "does not exist" in str(errors[0])


# --- The shipped example tools ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, FunctionTool]:
    tools, errors = load_tools_dir(Settings().tools_dir)
    assert errors == []
    return {t.name: t for t in tools}


def test_shipped_tools_are_in_the_default_tools_dir(shipped):
    assert Settings().tools_dir == REPO / "user_tools"
    assert set(shipped) == {
        "get_current_time", "days_between", "calculate", "random_number", "random_choice"
    }
    for t in shipped.values():
        assert t.description, f"{t.name} has no description"
        for name, prop in t.parameters["properties"].items():
            assert prop.get("description"), f"{t.name}({name}) has no description"


def _value(result):
    assert not result.is_error, result.text
    return json.loads(result.text)


SHIPPED_CASES = [
    pytest.param("get_current_time", {"timezone": "Asia/Shanghai"},
                 lambda r: _value(r)["utc_offset"] == "+0800", id="time-shanghai"),
    pytest.param("get_current_time", {}, lambda r: _value(r)["timezone"] == "UTC",
                 id="time-default"),
    pytest.param("get_current_time", {"timezone": "Mars/Olympus"},
                 lambda r: r.is_error and "unknown time zone 'Mars/Olympus'" in r.text,
                 id="time-unknown-zone"),
    pytest.param("days_between", {"start_date": "2024-01-01", "end_date": "2024-03-01"},
                 lambda r: _value(r)["days"] == 60, id="days-leap-year"),
    pytest.param("days_between", {"start_date": "2024-01-01", "end_date": "March"},
                 lambda r: r.is_error and "ValueError" in r.text, id="days-bad-date"),
    pytest.param("calculate", {"expression": "(3 + 4.5) * 2 ** 10 / 2"},
                 lambda r: _value(r) == 3840.0, id="calc-arithmetic"),
    pytest.param("calculate", {"expression": "factorial(20) + sqrt(16) - -1 % 7"},
                 lambda r: _value(r) == 2432902008176640000 + 4.0 - 6, id="calc-functions"),
    pytest.param("calculate", {"expression": "round(pi, 4)"},
                 lambda r: _value(r) == 3.1416, id="calc-constants"),
    pytest.param("calculate", {"expression": "__import__('os').system('true')"},
                 lambda r: r.is_error and "unsupported" in r.text, id="calc-no-code"),
    pytest.param("calculate", {"expression": "(1).__class__"},
                 lambda r: r.is_error and "unsupported" in r.text, id="calc-no-attributes"),
    pytest.param("calculate", {"expression": "9 ** 9 ** 9"},
                 lambda r: r.is_error and "too large" in r.text, id="calc-huge-power"),
    pytest.param("calculate", {"expression": "1 / 0"},
                 lambda r: r.is_error and "ZeroDivisionError" in r.text, id="calc-div-zero"),
    pytest.param("calculate", {"expression": "2 ^ 8"},
                 lambda r: r.is_error and "write **" in r.text, id="calc-caret-hint"),
    pytest.param("calculate", {"expression": "2 +"},
                 lambda r: r.is_error and "not an arithmetic expression" in r.text,
                 id="calc-syntax-error"),
    pytest.param("random_number", {"minimum": 1, "maximum": 6, "count": 50, "seed": 7},
                 lambda r: len(_value(r)) == 50 and set(_value(r)) <= set(range(1, 7)),
                 id="random-dice"),
    pytest.param("random_number", {"minimum": 0, "maximum": 1, "kind": "decimal"},
                 lambda r: 0 <= _value(r) <= 1, id="random-decimal"),
    pytest.param("random_number", {"minimum": 10, "maximum": 1},
                 lambda r: r.is_error and "greater than maximum" in r.text, id="random-bad-range"),
    pytest.param("random_number", {"kind": "complex"},
                 lambda r: r.is_error and "Invalid arguments" in r.text, id="random-bad-kind"),
    pytest.param("random_choice", {"options": ["a", "b", "c"], "count": 3},
                 lambda r: sorted(_value(r)) == ["a", "b", "c"], id="choice-unique"),
    pytest.param("random_choice", {"options": ["a"], "count": 2},
                 lambda r: r.is_error and "cannot pick 2" in r.text, id="choice-too-many"),
]


@pytest.mark.parametrize("name, arguments, check", SHIPPED_CASES)
def test_shipped_tools_work(shipped, name, arguments, check):
    assert check(call(shipped[name], arguments))


def test_random_number_seed_is_reproducible(shipped):
    args = {"minimum": 1, "maximum": 1000, "count": 5, "seed": 42}
    assert call(shipped["random_number"], args).text == call(shipped["random_number"], args).text


# --- Richer types through pydantic -------------------------------------------------------------


from dataclasses import dataclass as _dataclass  # noqa: E402

from pydantic import BaseModel, Field  # noqa: E402


@_dataclass
class Point:
    x: float
    y: float = 0.0


class Trip(BaseModel):
    city: str = Field(description="Where to.")
    nights: int = Field(ge=1)


def plan(trip: Trip, start: Point, stops: list[Point] | None = None):
    pass


def test_dataclasses_and_pydantic_models_become_nested_schemas_and_values():
    t = tool(plan)
    props = t.parameters["properties"]
    assert props["trip"] == {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "Where to."}, "nights": {"type": "integer", "minimum": 1}},
        "required": ["city", "nights"],
    }
    assert props["stops"] == {"type": "array", "items": props["start"]}
    assert t.parameters["required"] == ["trip", "start"]
    seen = []

    @tool
    def book(trip: Trip, start: Point) -> str:
        seen.append((trip, start))
        return "ok"

    assert call(book, {"trip": {"city": "Oslo", "nights": 2}, "start": {"x": 1}}).text == "ok"
    assert seen == [(Trip(city="Oslo", nights=2), Point(1.0, 0.0))]
    bad = call(book, {"trip": {"city": "Oslo", "nights": 0}, "start": {"x": 1}})
    assert bad.is_error and "nights: 0 is less than the minimum of 1" in bad.text
