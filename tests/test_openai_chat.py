"""All Tools through a chat-completions API with native tool calls (GLM4_BACKEND=openai-chat).

A real HTTP server on 127.0.0.1 (tests/openai_server.py) streams scripted chat-completion
chunks in the shapes servers really send: arguments split across chunks, several calls,
parallel calls, reasoning_content, malformed JSON, unknown tools, errors and cut streams. The
app's side is the real thing: the official openai client, the backend, the agent loop.
"""

from __future__ import annotations

import json

import pytest

from glm4_app.agent import run_agent
from glm4_app.backend.manager import ModelManager
from glm4_app.backend.openai_chat import OpenAIChatBackend
from glm4_app.backend.openai_connect import connect_openai_chat_backend
from glm4_app.events import Done, Error, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStart, ToolOutcome
from glm4_app.generation import GenerationParams
from glm4_app.notices import Notice, word
from glm4_app.settings import Settings
from glm4_app.tool_types import ToolResult
from glm4_app.tools.functions import make_tool
from openai_server import OpenAIServer, Reply

PARAMS = GenerationParams(max_new_tokens=256)
QUESTION = [{"role": "user", "content": "Weather in Paris and Rome?"}]


def get_weather(city: str) -> str:
    """Current weather of a city.

    Args:
        city: The city's name.
    """
    return {"Paris": "18°C, light rain", "Rome": "25°C, sunny"}.get(city, "unknown city")


WEATHER = make_tool(get_weather)


class FakePython:
    """Stands in for the kernel: records the code it is given."""

    name = "python"

    def __init__(self):
        self.code = []

    def declaration(self):
        return {"type": "python"}

    def run(self, call, cancel):
        self.code.append(call.body)
        return ToolResult("4")


def call(index, *, id=None, name=None, arguments=""):
    function = {"arguments": arguments}
    if name:
        function["name"] = name
    entry = {"index": index, "function": function}
    if id:
        entry.update(id=id, type="function")
    return {"tool_calls": [entry]}


@pytest.fixture
def server():
    srv = OpenAIServer(model="glm-4-flash", max_model_len=131072)
    yield srv
    srv.close()


@pytest.fixture
def backend(server) -> OpenAIChatBackend:
    return connect_openai_chat_backend(Settings(backend="openai-chat", openai_base_url=server.base_url), lambda s: None)


def text(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def outcomes(events):
    return [e for e in events if isinstance(e, ToolOutcome)]


def test_arguments_split_across_chunks_run_once_and_the_result_goes_back_as_a_tool_message(backend, server):
    server.replies = [
        Reply(deltas=[
            {"role": "assistant", "content": "Let me check."},
            call(0, id="call_a1", name="get_weather"),
            call(0, arguments='{"ci'), call(0, arguments='ty": "Pa'), call(0, arguments='ris"}'),
        ], finish_reason="tool_calls"),
        Reply("It is 18°C with light rain in Paris."),
    ]
    events = list(run_agent(backend, QUESTION, PARAMS, {"get_weather": WEATHER}))
    (step,) = outcomes(events)
    assert step.call.arguments == {"city": "Paris"} and step.call.id == "call_a1"
    assert step.result.text == "18°C, light rain"
    assert text(events) == "Let me check.It is 18°C with light rain in Paris."
    # The call streamed into its step box as the arguments arrived.
    deltas = [e.text for e in events if isinstance(e, ToolCallDelta)]
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["get_weather"] and len(deltas) == 3
    assert isinstance(events[-1], Done) and events[-1].stats.prompt_tokens > 0  # the server's usage
    first, second = (r.body for r in server.requests)
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert second["messages"][1:] == [
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_a1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_a1", "content": "18°C, light rain"},
    ]


def test_parallel_calls_in_one_reply_each_get_their_result(backend, server):
    server.replies = [
        Reply(deltas=[
            call(0, id="c1", name="get_weather", arguments='{"city": "Paris"}'),
            call(1, id="c2", name="get_weather"), call(1, arguments='{"city": '), call(1, arguments='"Rome"}'),
        ], finish_reason="tool_calls"),
        Reply("Paris 18°C, Rome 25°C."),
    ]
    events = list(run_agent(backend, QUESTION, PARAMS, {"get_weather": WEATHER}))
    assert [(o.call.id, o.result.text) for o in outcomes(events)] == [("c1", "18°C, light rain"), ("c2", "25°C, sunny")]
    # The calls go back as the one message that made them, each answered in order.
    user, made, *answers = server.requests[1].body["messages"]
    assert [c["id"] for c in made["tool_calls"]] == ["c1", "c2"]
    assert [(m["role"], m["tool_call_id"]) for m in answers] == [("tool", "c1"), ("tool", "c2")]
    assert text(events) == "Paris 18°C, Rome 25°C."


def test_the_thinking_of_the_answer_being_written_goes_back_with_its_steps(backend, server):
    """GLM-4.5+ templates (as vLLM and SGLang serve them) render the thinking of the tool
    steps after the last user message: without it the model forgets why it called them."""
    server.replies = [
        Reply(deltas=[
            {"reasoning_content": "Both cities, "}, {"reasoning_content": "at once."},
            call(0, id="c1", name="get_weather", arguments='{"city": "Paris"}'),
            call(1, id="c2", name="get_weather", arguments='{"city": "Rome"}'),
        ], finish_reason="tool_calls"),
        Reply(deltas=[
            {"reasoning_content": "Rome again, to be sure."}, {"content": "Checking Rome."},
            call(0, id="c3", name="get_weather", arguments='{"city": "Rome"}'),
        ], finish_reason="tool_calls"),
        Reply("Paris 18°C, Rome 25°C."),
    ]
    earlier = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!", "reasoning": "A greeting."}]
    events = list(run_agent(backend, earlier + QUESTION, PARAMS, {"get_weather": WEATHER}))
    assert text(events) == "Checking Rome.Paris 18°C, Rome 25°C."
    sent = server.requests[2].body["messages"]
    assert sent[1] == {"role": "assistant", "content": "Hello!"}  # an earlier answer's thinking stays home
    both, first, second, rome, third = sent[3:]
    assert both["reasoning_content"] == "Both cities, at once." and both["content"] is None
    assert [c["function"]["arguments"] for c in both["tool_calls"]] == ['{"city": "Paris"}', '{"city": "Rome"}']
    assert [first["tool_call_id"], second["tool_call_id"], third["tool_call_id"]] == ["c1", "c2", "c3"]
    assert rome["reasoning_content"] == "Rome again, to be sure." and rome["content"] == "Checking Rome."
    assert [c["id"] for c in rome["tool_calls"]] == ["c3"]


def test_a_builtin_is_offered_as_a_function_and_its_code_reaches_the_tool(backend, server):
    python = FakePython()
    server.replies = [
        Reply(deltas=[call(0, id="p1", name="python", arguments=json.dumps({"code": "print(2 + 2)"}))], finish_reason="tool_calls"),
        Reply("2 + 2 = 4."),
    ]
    events = list(run_agent(backend, QUESTION, PARAMS, {"python": python}))
    assert python.code == ["print(2 + 2)"] and text(events) == "2 + 2 = 4."
    (spec,) = server.requests[0].body["tools"]
    assert spec["function"]["name"] == "python" and spec["function"]["parameters"]["required"] == ["code"]
    assert json.loads(server.requests[1].body["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"code": "print(2 + 2)"}


def test_malformed_arguments_and_an_unknown_tool_are_observations_the_model_recovers_from(backend, server):
    server.replies = [
        Reply(deltas=[call(0, id="m1", name="get_weather", arguments='{"city": Paris')], finish_reason="tool_calls"),
        Reply(deltas=[call(0, id="u1", name="get_wether", arguments='{"city": "Paris"}')], finish_reason="tool_calls"),
        Reply(deltas=[call(0, id="ok", name="get_weather", arguments='{"city": "Paris"}')], finish_reason="tool_calls"),
        Reply("18°C in Paris."),
    ]
    events = list(run_agent(backend, QUESTION, PARAMS, {"get_weather": WEATHER}))
    bad, unknown, good = outcomes(events)
    assert bad.result.is_error and "not valid JSON" in bad.result.text
    assert unknown.result.is_error and unknown.result.not_run == "unknown" and "get_weather" in unknown.result.text
    assert not good.result.is_error and text(events) == "18°C in Paris."
    tool_messages = [m for m in server.requests[2].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["m1", "u1"]
    assert "not valid JSON" in tool_messages[0]["content"]


def test_reasoning_content_and_an_inline_think_block_show_as_reasoning(backend, server):
    server.replies = [
        Reply(deltas=[{"reasoning_content": "The user "}, {"reasoning_content": "greets me."}, {"content": "Hello!"}]),
        Reply("<think>Short.</think>Hi again."),
    ]
    for expected_reasoning, expected_text in (("The user greets me.", "Hello!"), ("Short.", "Hi again.")):
        events = list(backend.stream([{"role": "user", "content": "Hi"}], PARAMS))
        assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == expected_reasoning
        assert text(events) == expected_text and isinstance(events[-1], Done)


def test_a_stream_cut_in_the_middle_of_a_call_runs_nothing_and_says_so(backend, server):
    server.replies = [Reply(deltas=[call(0, id="x", name="get_weather"), call(0, arguments='{"city"'), call(0, arguments=': "Paris"}')], drop_after=2)]
    events = list(run_agent(backend, QUESTION, PARAMS, {"get_weather": WEATHER}))
    assert not outcomes(events)
    (error,) = [e for e in events if isinstance(e, Error)]
    assert "broke in the middle of the answer" in str(error.message) and server.base_url in str(error.message)


@pytest.mark.parametrize(
    "status, words, kind",
    [(401, "GLM4_OPENAI_API_KEY", "backend"), (429, "busy", "queue_full"), (503, "HTTP 503", "backend")],
)
def test_api_errors_end_the_answer_with_words(backend, server, status, words, kind):
    server.replies = [Reply(status=status, error="no thanks")]
    events = list(run_agent(backend, QUESTION, PARAMS, {"get_weather": WEATHER}))
    error = events[-1]
    assert isinstance(error, Error) and words in str(error.message) and "no thanks" in str(error.message) and error.kind == kind


def test_the_manager_picks_the_chat_backend_and_the_meter_says_it_estimates(server, tmp_path):
    job = ModelManager().chat(Settings(backend="openai-chat", openai_base_url=server.base_url, data_dir=tmp_path))
    assert job.wait(30) and job.error is None
    backend = job.result
    assert isinstance(backend, OpenAIChatBackend) and backend.info.tools and not backend.info.exact_counts
    assert backend.info.context_window == 131072 and backend.info.tool_format == "openai"
    assert backend.count_tokens(QUESTION) > 0


def test_without_a_models_route_the_configured_model_is_used(tmp_path):
    server = OpenAIServer(model="glm-4.6")
    server.models_status = 404  # some hosted APIs have no /models
    try:
        settings = Settings(backend="openai-chat", openai_base_url=server.base_url, openai_model="glm-4.6")
        backend = connect_openai_chat_backend(settings, lambda s: None)
        assert backend.model == "glm-4.6" and backend.info.notice and "GLM4_MAX_CONTEXT" in str(backend.info.notice)
        server.replies = [Reply("Hi.")]
        assert text(backend.stream([{"role": "user", "content": "Hi"}], PARAMS)) == "Hi."
    finally:
        server.close()


def test_images_go_as_content_parts(backend, server, tmp_path):
    from PIL import Image

    path = tmp_path / "dot.png"
    Image.new("RGB", (4, 4), "blue").save(path)
    server.replies = [Reply("A blue square.")]
    events = list(backend.stream([{"role": "user", "content": "What is it?", "images": [str(path)]}], PARAMS))
    assert text(events) == "A blue square."
    image, words = server.requests[0].body["messages"][0]["content"]
    assert image["image_url"]["url"].startswith("data:image/png;base64,") and words == {"type": "text", "text": "What is it?"}


def test_an_image_gone_from_disk_ends_the_answer_in_the_readers_language(backend, server, tmp_path):
    events = list(backend.stream([{"role": "user", "content": "What is it?", "images": [str(tmp_path / "dot.png")]}], PARAMS))
    (error,) = [e for e in events if isinstance(e, Error)]
    assert error.message == Notice("images.gone", name="dot.png") and server.requests == []
    assert "dot.png" in word(error.message, "zh") and "重新上传" in word(error.message, "zh")
