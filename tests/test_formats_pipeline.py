"""The format's parsing rules hold end to end: raw model outputs go through the real backend
stream (the openai client reading a vLLM-style server, the reasoning splitter) into the agent
loop, and what the agent runs is exactly what the parser decides on the raw text.

The server streams each raw output in 3-character pieces; the backend renders prompts with a
tiny GLM checkpoint's tokenizer (GLM-4-9B-Chat's template, or GLM-Z1's, whose output starts
inside the reasoning). Every case of the parser's own table runs here too.
"""

from __future__ import annotations

import pytest
from test_formats_glm4 import CASES

from glm4_app.agent import run_agent
from glm4_app.backend.openai_connect import connect_openai_backend
from glm4_app.events import Done, ReasoningDelta, TextDelta, ToolOutcome
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings
from glm4_app.tool_types import ToolResult
from openai_server import OpenAIServer, Reply

PARAMS = GenerationParams(max_new_tokens=256)
QUESTION = [{"role": "user", "content": "Go."}]


class Echo:
    """A tool that records what it is asked and answers "ok"."""

    def __init__(self, name, runs):
        self.name, self.runs = name, runs

    def declaration(self):
        if self.name in ("python", "simple_browser", "cogview"):
            return {"type": self.name}
        return {"type": "function", "function": {"name": self.name, "description": self.name,
                "parameters": {"type": "object", "properties": {}}}}

    def run(self, call, cancel):
        self.runs.append(call)
        return ToolResult("ok")


def toolset(names):
    runs = []
    return {name: Echo(name, runs) for name in names}, runs


@pytest.fixture(scope="module")
def served(tiny_glm_path, tiny_z1_path):
    server = OpenAIServer()
    settings = Settings(backend="openai", openai_base_url=server.base_url)
    glm = connect_openai_backend(settings.with_(openai_tokenizer=str(tiny_glm_path)), lambda s: None)
    z1 = connect_openai_backend(settings.with_(openai_tokenizer=str(tiny_z1_path)), lambda s: None)
    assert z1.info.reasoning and not glm.info.reasoning
    yield server, glm, z1
    server.close()


def answer(server, backend, raws, tools):
    server.requests.clear()
    server.replies = [Reply(raw, chunk_chars=3) for raw in raws]
    return list(run_agent(backend, QUESTION, PARAMS, tools))


def text(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def outcomes(events):
    return [e for e in events if isinstance(e, ToolOutcome)]


@pytest.mark.parametrize("raw,expected_text,expected_calls", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_parser_case_through_the_backend_stream_and_the_agent(served, raw, expected_text, expected_calls):
    server, glm, _ = served
    tools, runs = toolset(("python", "simple_browser", "cogview", "get_weather", "get_time"))
    events = answer(server, glm, [raw, "Done."], tools)
    # Exactly the calls the parser finds on the raw text, in order; those of tools that exist ran.
    assert tuple(o.call for o in outcomes(events)) == expected_calls
    assert tuple(runs) == tuple(c for c in expected_calls if c.name in tools)
    expected = expected_text + ("Done." if expected_calls else "")
    assert text(events) == expected and isinstance(events[-1], Done)


@pytest.mark.parametrize("reasoning", [False, True], ids=["glm-4-9b-chat", "glm-z1"])
def test_a_blank_first_line_keeps_a_tool_name_as_prose(served, reasoning):
    """``\\npython\\n...``: the empty metadata line makes this an answer about Python, not code
    to run, also after the reasoning splitter took the reasoning off."""
    server, glm, z1 = served
    raw = "\npython\nis my favourite language."
    if reasoning:
        raw = "The user asks what I like.</think>" + raw
    tools, runs = toolset(("python",))
    events = answer(server, z1 if reasoning else glm, [raw], tools)
    assert runs == [] and text(events) == "python\nis my favourite language."
    thought = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert thought == ("The user asks what I like." if reasoning else "")


def test_after_reasoning_a_call_still_runs(served):
    server, _, z1 = served
    tools, runs = toolset(("python",))
    events = answer(server, z1, ["I should compute.</think><|assistant|>python\nprint(6 * 7)", "It printed 42.</think>42."], tools)
    assert [c.body for c in runs] == ["print(6 * 7)"] and text(events) == "42."


def test_json_naming_a_tool_not_offered_is_an_answer(served):
    server, glm, _ = served
    tools, runs = toolset(("get_weather",))
    raw = '{"name": "book_flight", "arguments": {"to": "Oslo"}}'
    events = answer(server, glm, [raw], tools)
    assert runs == [] and text(events) == raw
    offered = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    events = answer(server, glm, [offered, "Sunny."], tools)
    assert [c.arguments for c in runs] == [{"city": "Oslo"}] and text(events) == "Sunny."


def test_a_call_to_a_switched_off_builtin_is_not_run_and_the_model_is_told(served):
    server, glm, _ = served
    tools, runs = toolset(("get_weather",))  # the user switched Python off
    events = answer(server, glm, ["Let me compute.<|assistant|>python\nprint(1 + 1)", "It is 2."], tools)
    (step,) = outcomes(events)
    assert runs == [] and step.result.is_error and step.result.not_run == "switched_off"
    assert "switched off" in step.result.text
    observation = server.prompts()[1]
    assert "<|observation|>\nThe python tool is switched off in this conversation" in observation
    assert text(events) == "Let me compute.It is 2."
