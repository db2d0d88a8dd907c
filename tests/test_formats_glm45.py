"""GLM-4.5/4.6/4.7's format (formats/glm45.py): the parser on raw outputs, whole and chunked,
arguments typed by the declared schemas; stored steps rendered back exactly as the checkpoint's
template writes an API conversation; and the agent loop driven by scripted GLM-4.5 outputs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from glm4_app.agent import run_agent
from glm4_app.events import Done, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStart, ToolOutcome
from glm4_app.formats import Glm45Format, format_for_template, get_format, thinking_switch
from glm4_app.generation import GenerationParams, ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.tool_steps import call_messages
from glm4_app.tool_types import ToolCall, ToolResult

TEMPLATE = (Path(__file__).parent / "data" / "templates" / "glm-4.6.jinja").read_text()
FMT = Glm45Format()
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "hourly": {"type": "boolean"},
        "units": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "spots": {"type": "array", "items": {"type": "string"}},
        "limit": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "note": {"description": "anything"},
    },
}}}
DECLARATIONS = [{"type": "python"}, {"type": "simple_browser"}, WEATHER]
NAMES = ["python", "simple_browser", "get_weather"]


def call(name, **args):
    return f"<tool_call>{name}\n" + "".join(
        f"<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n" for k, v in args.items()) + "</tool_call>"


def weather(**args):
    return ToolCall("get_weather", json.dumps(args, ensure_ascii=False), args)


CASES = [
    # id, raw output (reasoning already split off), text, calls
    ("plain", "\nThe weather is fine.", "The weather is fine.", ()),
    ("text-then-call", "\nLet me check.\n" + call("get_weather", city="Beijing"), "Let me check.",
     (weather(city="Beijing"),)),
    ("typed-arguments", call("get_weather", city="Paris", days=3, hourly="true", spots='["a", "b"]', limit="2.5"), "",
     (weather(city="Paris", days=3, hourly=True, spots=["a", "b"], limit=2.5),)),
    ("a-string-stays-a-string", call("get_weather", city="1984", units="null"), "", (weather(city="1984", units="null"),)),
    ("undeclared-or-unparsable-stay-raw", call("get_weather", note="42", days="three", extra="[1]"), "",
     (ToolCall("get_weather", json.dumps({"note": "42", "days": "three", "extra": "[1]"}),
               {"note": "42", "days": "three", "extra": "[1]"}),)),
    ("parallel-calls", "Both cities.\n" + call("get_weather", city="Rome") + "\n" + call("get_weather", city="Oslo"),
     "Both cities.", (weather(city="Rome"), weather(city="Oslo"))),
    ("python-code-raw", call("python", code="x = [1, 2]\nprint(x[0] < 2, '</tool_call>')\n"), "",
     (ToolCall("python", "x = [1, 2]\nprint(x[0] < 2, '</tool_call>')"),)),
    ("browser", call("simple_browser", command='search("GLM-4.6")'), "", (ToolCall("simple_browser", 'search("GLM-4.6")'),)),
    ("no-arguments", "<tool_call>get_time\n</tool_call>", "", (ToolCall("get_time", "{}", {}),)),
    ("no-newline-anywhere", "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Lima</arg_value></tool_call>", "",
     (weather(city="Lima"),)),
    ("unknown-tool-is-a-call", call("book_flight", to="Oslo"), "", (ToolCall("book_flight", '{"to": "Oslo"}', {"to": "Oslo"}),)),
    ("json-body", '<tool_call>get_weather\n{"city": "Kyiv", "days": 2}\n</tool_call>', "",
     (weather(city="Kyiv", days=2),)),
    ("chinese", "我来查一下。\n" + call("get_weather", city="北京"), "我来查一下。", (weather(city="北京"),)),
    ("stop-token-left-in", "Sure." + call("get_weather", city="Rome") + "<|observation|>", "Sure.", (weather(city="Rome"),)),
    ("prose-after-a-call", call("get_weather", city="Rome") + "\nThen I will summarise.", "Then I will summarise.",
     (weather(city="Rome"),)),
    ("cut-in-a-value", "Checking.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Bei", "Checking.",
     (ToolCall("get_weather", '{"city": "Bei"}', None),)),
    ("cut-python", "<tool_call>python\n<arg_key>code</arg_key>\n<arg_value>for i in range(3):\n    pri", "",
     (ToolCall("python", "for i in range(3):\n    pri"),)),
    ("cut-in-the-name", "Hm.<tool_call>get_wea", "Hm.", (ToolCall("get_wea", "{}", None),)),
    ("a-lone-angle-bracket", "a < b and <tool is not a tag", "a < b and <tool is not a tag", ()),
]


def chunkings(raw, seed):
    rng = random.Random(seed)
    yield [raw]
    yield list(raw)
    for _ in range(3):
        pieces, i = [], 0
        while i < len(raw):
            n = rng.randint(1, 7)
            pieces.append(raw[i : i + n])
            i += n
        yield pieces


@pytest.mark.parametrize("raw,text,calls", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_parser_gives_the_same_result_whole_and_chunked(raw, text, calls):
    for n, pieces in enumerate(chunkings(raw, hash(raw) % 1000)):
        parser = FMT.parser(NAMES, DECLARATIONS)
        events = [e for p in pieces for e in parser.feed(p)] + parser.flush()
        parsed = parser.finish()
        assert (parsed.text, parsed.calls) == (text, calls), f"chunking {n}: {pieces}"
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == text
        assert [e.name for e in events if isinstance(e, ToolCallStart)] == [c.name for c in calls]


def test_the_streamed_view_of_a_call_is_its_body_as_it_is_written():
    raw = "Go.\n" + call("get_weather", city='Say "hi"', days=3) + call("python", code="print(1)")
    parser = FMT.parser(NAMES, DECLARATIONS)
    events = [e for ch in raw for e in parser.feed(ch)] + parser.flush()
    bodies, current = [], None
    for e in events:
        if isinstance(e, ToolCallStart):
            current = []
            bodies.append(current)
        elif isinstance(e, ToolCallDelta):
            current.append(e.text)
    assert ["".join(b) for b in bodies] == [json.dumps({"city": 'Say "hi"', "days": 3}), "print(1)"]
    assert ["".join(b) for b in bodies] == [c.body for c in parser.finish().calls]


def test_without_declarations_every_value_is_the_raw_string():
    parsed = FMT.parse(call("get_weather", days=3), ["get_weather"])
    assert parsed.calls[0].arguments == {"days": "3"}


def test_the_format_is_chosen_from_the_checkpoint_template(glm46_tokenizer):
    assert glm46_tokenizer.chat_template == TEMPLATE
    assert isinstance(format_for_template(TEMPLATE), Glm45Format)
    assert thinking_switch(TEMPLATE) and not thinking_switch("{{ messages }}")
    assert isinstance(get_format("glm45"), Glm45Format)
    prompt = glm46_tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert not FMT.starts_in_reasoning(prompt)


# -- rendering: stored steps become what the checkpoint's template expects -------------------


@pytest.fixture(scope="module")
def render(glm46_tokenizer):
    """The checkpoint's template as transformers renders it."""

    def render(messages, tools=None, **kwargs):
        return glm46_tokenizer.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True, **kwargs
        )

    return render


def stored(python_result="14"):
    """Two turns: the first with a call; the second, in progress, with thinking and two
    parallel calls, as the agent and the page store them."""
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "Checking."},
        *call_messages(weather(city="Rome"), ToolResult("18°C"), step=1),
        {"role": "assistant", "content": "18°C in Rome."},
        {"role": "user", "content": "And Oslo and Lima, in days?"},
        {"role": "assistant", "content": "Both at once.", "reasoning": "Two cities: two calls."},
        *call_messages(weather(city="Oslo", days=2), ToolResult("5°C"), step=1),
        *call_messages(weather(city="Lima", days=2), ToolResult("20°C"), step=1),
        *call_messages(ToolCall("python", "print(5 + 9)"), ToolResult(python_result), step=2),
    ]


def api_messages():
    """The same conversation as an OpenAI-style client sends it to the template."""
    def tool_call(name, **args):
        return {"type": "function", "function": {"name": name, "arguments": args}}

    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [tool_call("get_weather", city="Rome")]},
        {"role": "tool", "content": "18°C"},
        {"role": "assistant", "content": "18°C in Rome."},
        {"role": "user", "content": "And Oslo and Lima, in days?"},
        {"role": "assistant", "content": "Both at once.", "reasoning_content": "Two cities: two calls.",
         "tool_calls": [tool_call("get_weather", city="Oslo", days=2), tool_call("get_weather", city="Lima", days=2)]},
        {"role": "tool", "content": "5°C"},
        {"role": "tool", "content": "20°C"},
        {"role": "assistant", "content": "", "tool_calls": [tool_call("python", code="print(5 + 9)")]},
        {"role": "tool", "content": "14"},
    ]


@pytest.mark.parametrize("thinking", [None, False])
def test_stored_steps_render_as_the_template_writes_the_api_conversation(render, thinking):
    kwargs = {} if thinking is None else {"enable_thinking": thinking}
    messages, extra = FMT.template_inputs(stored(), DECLARATIONS)
    ours = render(messages, **extra, **kwargs)
    specs = [{"type": "function", "function": {"name": "python", "description": extra["tools"][0]["function"]["description"],
              "parameters": extra["tools"][0]["function"]["parameters"]}}, extra["tools"][1], WEATHER]
    assert ours == render(api_messages(), specs, **kwargs)
    # What that means, in the template's own words:
    assert '{"type": "function", "function": {"name": "get_weather"' in ours
    first, second = ours.split("<|user|>")[1:]
    assert "<|assistant|>\n<think></think>\nChecking.\n<tool_call>get_weather" in first  # earlier thinking: dropped
    assert "<|assistant|>\n<think>Two cities: two calls.</think>\nBoth at once." in second  # this answer's: kept
    assert second.count("<|observation|>") == 2 and second.count("<tool_response>") == 3  # parallel: one turn
    assert "<arg_key>days</arg_key>\n<arg_value>2</arg_value>" in second
    assert ("/nothink" in ours) == (thinking is False)
    assert ours.endswith("<|assistant|>" + ("\n<think></think>" if thinking is False else ""))


def test_a_step_renders_back_exactly_as_the_model_wrote_it(render):
    """The prompt of the next step extends the previous prompt by the model's own output, so
    the model reads its step as written and the prefix cache keeps hitting."""
    history = [{"role": "user", "content": "Weather in Rome?"}]
    prompt = render(*FMT.template_inputs(history, [WEATHER])[:1], tools=[WEATHER])
    output = "\n<think>I should look it up.</think>\nChecking.\n" + call("get_weather", city="Rome")
    parsed = FMT.parse(output.split("</think>")[1], ["get_weather"], [WEATHER])
    history += [{"role": "assistant", "content": parsed.text, "reasoning": "I should look it up."},
                *call_messages(parsed.calls[0], ToolResult("18°C"), step=1)]
    messages, extra = FMT.template_inputs(history, [WEATHER])
    assert render(messages, **extra).startswith(prompt + output)


# -- the agent loop on scripted GLM-4.5 outputs ----------------------------------------------


class Recorder:
    def __init__(self, name, declaration, answer="ok"):
        self.name, self._declaration, self.answer, self.calls = name, declaration, answer, []

    def declaration(self):
        return self._declaration

    def run(self, call, cancel):
        self.calls.append(call)
        return ToolResult(self.answer)


def test_the_agent_runs_parallel_typed_calls_and_sends_the_step_back_with_its_thinking():
    weather_tool = Recorder("get_weather", WEATHER, "sunny")
    python_tool = Recorder("python", {"type": "python"}, "14")
    tools = {"get_weather": weather_tool, "python": python_tool}
    replies = [
        "<think>Two cities.</think>\nBoth at once.\n" + call("get_weather", city="Oslo", days=2) + "\n"
        + call("get_weather", city="Lima", days=2),
        "<think>Now add.</think>" + call("python", code="print(5 + 9)"),
        "<think>Done.</think>\nOslo and Lima are sunny; 5 + 9 = 14.",
    ]
    backend = ScriptedBackend(replies, info=ModelInfo(name="glm-4.6", context_window=8192, tools=True, tool_format="glm45"))
    events = list(run_agent(backend, [{"role": "user", "content": "Oslo and Lima?"}], GenerationParams(), tools))
    assert [c.arguments for c in weather_tool.calls] == [{"city": "Oslo", "days": 2}, {"city": "Lima", "days": 2}]
    assert [c.body for c in python_tool.calls] == ["print(5 + 9)"]
    assert [(o.step, o.call.name) for o in events if isinstance(o, ToolOutcome)] == [
        (1, "get_weather"), (1, "get_weather"), (2, "python")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Both at once.Oslo and Lima are sunny; 5 + 9 = 14."
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Two cities.Now add.Done."
    assert isinstance(events[-1], Done)
    # The third request carries both steps, with their thinking, in the format's own shape.
    messages, _ = FMT.template_inputs(backend.calls[2], DECLARATIONS)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "assistant", "tool"]
    assert messages[1]["reasoning_content"] == "Two cities." and len(messages[1]["tool_calls"]) == 2
    assert messages[4]["reasoning_content"] == "Now add." and messages[4]["content"] == ""
