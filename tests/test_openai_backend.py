"""The OpenAI-compatible backend against a real HTTP server speaking vLLM's streaming protocol.

The server (tests/openai_server.py) replays raw GLM outputs over server-sent events; the app's
side is the real thing: httpx, the local tokenizer of a tiny GLM checkpoint rendering the
prompts, the agent loop parsing tool calls, the model manager choosing the backend. Failures
(errors, cuts, timeouts, Stop) are in test_openai_failures.py.
"""

from __future__ import annotations

import base64

from glm4_app.agent import run_agent
from glm4_app.backend.chat_backend import InProcessChatBackend
from glm4_app.backend.engine import Engine
from glm4_app.backend.manager import ModelManager
from glm4_app.backend.openai_backend import OpenAIBackend
from glm4_app.backend.openai_connect import connect_openai_backend, connect_openai_vision_backend
from glm4_app.events import Done, Error, ReasoningDelta, Started, TextDelta, ToolOutcome
from glm4_app.notices import Notice
from glm4_app.settings import Settings
from glm4_app.tool_steps import call_messages
from glm4_app.tools.base import ToolResult
from openai_helpers import PARAMS, QUESTION, backend, errors, server, settings_for, text_of, tokenizer  # noqa: F401 (fixtures)
from openai_server import OpenAIServer, Reply


def test_the_manager_serves_from_the_server_with_its_context_window(server, tiny_glm_path):
    job = ModelManager().chat(settings_for(server, tiny_glm_path))
    assert job.wait(30) and job.error is None
    backend = job.result
    assert isinstance(backend, OpenAIBackend)
    assert backend.info.context_window == server.max_model_len  # from /v1/models
    assert backend.info.tools and backend.info.notice is None


def test_streams_text_in_order_with_the_exact_prompt_and_token_counts(backend, server, tokenizer):
    server.replies = [Reply("Hi! How can I help you today?", chunk_chars=3)]
    events = list(backend.stream(QUESTION, PARAMS))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == "Hi! How can I help you today?" and len(deltas) > 5
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    (request,) = server.requests
    assert request.path == "/v1/completions"
    # The checkpoint's own template, rendered here: what the in-process backend would send.
    assert request.body["prompt"] == tokenizer.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True)
    assert request.body["prompt"].startswith("[gMASK]<sop><|system|>")
    assert request.body["skip_special_tokens"] is False
    assert request.body["stream_options"] == {"include_usage": True}
    stop = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|user|>", "<|observation|>"])
    assert sorted(request.body["stop_token_ids"]) == sorted(stop)
    # The meter's count is exact: it equals the server's usage and the Started event.
    stats = events[-1].stats
    assert backend.count_tokens(QUESTION) == stats.prompt_tokens == events[0].prompt_tokens
    assert stats.completion_tokens == 10 and stats.finish_reason == "stop"
    assert stats.context_window == server.max_model_len


class Weather:
    name = "get_weather"

    def __init__(self):
        self.calls = []

    def declaration(self):
        return {"type": "function", "function": {"name": self.name, "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}

    def run(self, call, cancel):
        self.calls.append(call.arguments)
        return ToolResult({"Paris": "18°C, light rain", "Rome": "25°C, sunny"}[call.arguments["city"]])


def test_a_two_step_tool_chain_sends_prompts_as_the_in_process_backend_renders_them(backend, server, tokenizer, tiny_glm):
    observation = tokenizer.convert_tokens_to_ids("<|observation|>")
    server.replies = [
        Reply('Let me check.<|assistant|>get_weather\n{"city": "Paris"}', stop_reason=observation),
        Reply('get_weather\n{"city": "Rome"}', stop_reason=observation),
        Reply("Paris has 18°C and rain; Rome 25°C and sun."),
    ]
    tool = Weather()
    question = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    events = list(run_agent(backend, question, PARAMS, {"get_weather": tool}))
    assert not errors(events)
    assert tool.calls == [{"city": "Paris"}, {"city": "Rome"}]
    assert text_of(events) == "Let me check.Paris has 18°C and rain; Rome 25°C and sun."
    steps = [e for e in events if isinstance(e, ToolOutcome)]
    assert isinstance(events[-1], Done) and events[-1].stats.completion_tokens == sum(len(r.pieces()) for r in server.replies)

    # Each prompt is byte-identical to the in-process backend's for the same history.
    engine = Engine(tiny_glm.model, tiny_glm.tokenizer, eos_token_ids=tiny_glm.eos_token_ids, context_window=4096)
    try:
        local = InProcessChatBackend(tiny_glm, engine)
        history = list(question)
        expected = [local.render(history, [tool.declaration()])]
        history += [{"role": "assistant", "content": "Let me check."}, *call_messages(steps[0].call, steps[0].result)]
        expected.append(local.render(history, [tool.declaration()]))
        history += call_messages(steps[1].call, steps[1].result)
        expected.append(local.render(history, [tool.declaration()]))
    finally:
        engine.close()
    assert server.prompts() == expected
    assert '<|assistant|>get_weather\n{"city": "Paris"}<|observation|>\n18°C, light rain' in expected[2]
    assert expected[2].endswith("<|observation|>\n25°C, sunny<|assistant|>")


def test_an_image_message_goes_to_chat_completions_as_a_data_url(backend, server, tmp_path):
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (8, 8), "red").save(path)
    server.replies = [Reply("A red square.")]
    messages = [{"role": "user", "content": "What is this?", "images": [str(path)]}]
    events = list(backend.stream(messages, PARAMS))
    assert text_of(events) == "A red square." and isinstance(events[-1], Done)
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    image, text = request.body["messages"][0]["content"]
    assert text == {"type": "text", "text": "What is this?"}
    prefix = "data:image/png;base64,"
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image["image_url"]["url"][len(prefix):]) == path.read_bytes()
    # No exact count for images without the server: the meter shows an estimate.
    assert backend.count_tokens(messages) >= 1600


def test_an_image_gone_from_disk_is_a_notice_not_english(backend, server, tmp_path):
    events = list(backend.stream([{"role": "user", "content": "What is this?", "images": [str(tmp_path / "red.png")]}], PARAMS))
    assert events[-1] == Error(Notice("images.gone", name="red.png"), "backend") and server.requests == []


def test_reasoning_is_split_as_the_in_process_backend_does(server, tiny_z1_path):
    backend = connect_openai_backend(settings_for(server, tiny_z1_path), lambda s: None)
    assert backend.info.reasoning
    server.replies = [Reply("Two and two.</think>It is 4.")]
    events = list(backend.stream([{"role": "user", "content": "2+2?"}], PARAMS))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Two and two."
    assert text_of(events) == "It is 4."


def test_without_a_local_tokenizer_the_server_renders_and_counts_are_estimates(server):
    backend = connect_openai_backend(settings_for(server, "none"), lambda s: None)
    assert not backend.info.tools and "estimates" in str(backend.info.notice)
    server.replies = [Reply("Hi.")]
    events = list(backend.stream(QUESTION, PARAMS))
    assert text_of(events) == "Hi."
    assert server.requests[0].path == "/v1/chat/completions"
    assert server.requests[0].body["messages"] == QUESTION
    # After the answer the stats hold the server's own count.
    assert events[-1].stats.prompt_tokens == server.count_prompt(__import__("json").dumps(QUESTION))
    (error,) = errors(backend.stream(QUESTION, PARAMS, tools=[Weather().declaration()]))
    assert "GLM4_OPENAI_TOKENIZER" in str(error.message)


def test_the_tokenizer_defaults_to_the_checkpoint_the_server_reports(tiny_glm_path):
    server = OpenAIServer(model="glm", root=str(tiny_glm_path))  # vllm serve DIR --served-model-name glm
    try:
        backend = connect_openai_backend(Settings(backend="openai", openai_base_url=server.base_url), lambda s: None)
        assert backend.renderer is not None and backend.info.tools and backend.model == "glm"
        server.root = "elsewhere"  # a served name that is no checkpoint here: the server renders
        backend = connect_openai_backend(Settings(backend="openai", openai_base_url=server.base_url), lambda s: None)
        assert backend.renderer is None and "estimates" in str(backend.info.notice)
    finally:
        server.close()


def test_vision_uses_its_own_server_and_model_name(server, tmp_path):
    vision = OpenAIServer(model="glm-4v", max_model_len=8192)  # --served-model-name glm-4v
    try:
        settings = Settings(backend="openai", openai_base_url=server.base_url, openai_tokenizer="none",
                            openai_vision_base_url=vision.base_url, vision_model="glm-4v")
        backend = connect_openai_vision_backend(settings, lambda s: None)
        assert backend.info.context_window == 8192
        assert backend.profile.max_images == 1, "the Vision page applies GLM-4V-9B's rules"
        path = tmp_path / "cat.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        vision.replies = [Reply("A cat.")]
        messages = [{"role": "user", "content": "Describe.", "images": [str(path)]}]
        assert text_of(backend.stream(messages, PARAMS)) == "A cat."
        assert vision.requests[0].body["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        assert server.requests == []
    finally:
        vision.close()


def test_without_a_tokenizer_a_z1_checkpoint_still_shows_its_reasoning_apart():
    server = OpenAIServer(model="z1", root="/models/GLM-Z1-9B-0414")  # a folder on the GPU box
    try:
        backend = connect_openai_backend(Settings(backend="openai", openai_base_url=server.base_url), lambda s: None)
        assert backend.renderer is None and backend.info.reasoning
        server.replies = [Reply("Two and two.</think>It is 4.")]
        events = list(backend.stream([{"role": "user", "content": "2+2?"}], PARAMS))
        assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Two and two."
        assert text_of(events) == "It is 4."
    finally:
        server.close()
