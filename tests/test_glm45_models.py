"""GLM-4.5-Air / GLM-4.6 (Glm4Moe) and GLM-4.7-Flash (Glm4MoeLite) as tiny random checkpoints
with the GLM-4.6 template: loaded and run in-process by the app's own loader and engine, and
through raw completions (prompts rendered here, raw outputs parsed here) with the thinking
switch, tools and the agent loop."""

from __future__ import annotations

import threading

import pytest
import torch

from glm4_app.agent import run_agent
from glm4_app.backend.manager import load_chat_backend
from glm4_app.backend.openai_connect import connect_openai_backend, connect_openai_chat_backend
from glm4_app.events import Done, ReasoningDelta, TextDelta, ToolOutcome
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings
from glm4_app.tool_types import ToolResult
from openai_server import OpenAIServer, Reply
from tiny_models import build_tiny_checkpoint

GREEDY = GenerationParams(temperature=0, max_new_tokens=12)
QUESTION = [{"role": "user", "content": "Weather in Rome?"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}


@pytest.fixture(scope="module")
def moe(tiny_moe_path):
    backend = load_chat_backend(Settings(chat_model=str(tiny_moe_path)), lambda step: None)
    yield backend
    backend.engine.close()


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    path = build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_moe_lite"), "glm4_moe_lite", "glm-4.6")
    backend = load_chat_backend(Settings(chat_model=str(path)), lambda step: None)
    yield backend
    backend.engine.close()


def answer(backend, messages, params=GREEDY, tools=None):
    events = list(backend.stream(messages, params, tools))
    assert isinstance(events[-1], Done), events[-1]
    return "".join(e.text for e in events if isinstance(e, (TextDelta, ReasoningDelta))), events


def reference(backend, prompt: str, params=GREEDY) -> str:
    """What transformers' own generate() writes after the same prompt."""
    ids = backend.renderer.encode_text(prompt)
    model = backend.loaded.model
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=params.max_new_tokens,
                             eos_token_id=backend.loaded.eos_token_ids)
    new = [t for t in out[0, len(ids):].tolist() if t not in backend.loaded.eos_token_ids]
    return backend.tokenizer.decode(new)


def test_glm4_moe_is_loaded_with_the_glm45_format_and_the_thinking_switch(moe):
    info = moe.info
    assert (info.tools, info.tool_format, info.thinking_switch, info.reasoning) == (True, "glm45", True, False)
    off = moe.render(QUESTION, [WEATHER], thinking=False)
    assert off.endswith("Weather in Rome?/nothink<|assistant|>\n<think></think>")
    assert moe.render(QUESTION, [WEATHER]).endswith("Weather in Rome?<|assistant|>")
    assert "<tools>" in off and '"name": "get_weather"' in off


@pytest.mark.parametrize("thinking", [None, False], ids=["thinking-on", "thinking-off"])
def test_the_engine_streams_what_transformers_generates(moe, thinking):
    params = GenerationParams(temperature=0, max_new_tokens=12, thinking=thinking)
    text, events = answer(moe, QUESTION, params, [WEATHER])
    assert text.strip() == reference(moe, moe.render(QUESTION, [WEATHER], thinking), params).strip()
    started = next(e for e in events if hasattr(e, "prompt_tokens"))
    assert started.prompt_tokens == len(moe.encode(QUESTION, [WEATHER], thinking))


def test_continue_keeps_the_thinking_switch_of_the_conversation(moe):
    """▶️ Continue of an answer written with thinking off carries on after the same prompt
    (``/nothink`` and the empty think block), with what the answer had written."""
    sent = []
    submit = moe.engine.submit
    moe.engine.submit = lambda ids, *args, **kwargs: sent.append(ids) or submit(ids, *args, **kwargs)
    try:
        params = GenerationParams(temperature=0, max_new_tokens=4, thinking=False)
        events = list(moe.stream_continuation(QUESTION, "It is", "", params))
    finally:
        moe.engine.submit = submit
    assert isinstance(events[-1], Done)
    assert moe.tokenizer.decode(sent[0]) == moe.render(QUESTION, thinking=False) + "It is"


def test_the_static_cache_serves_glm4_moe_and_leaves_latent_attention_to_the_dynamic_one(tiny_moe_path, lite):
    """GLM-4.5/4.6 decode on the static cache (a GPU's default) with the same answers; GLM-4.7-
    Flash caches a compressed latent of its own shape, so it stays on the dynamic cache."""
    static = load_chat_backend(Settings(chat_model=str(tiny_moe_path), kv_cache="static", batch_tokens=2048), lambda s: None)
    dynamic = load_chat_backend(Settings(chat_model=str(tiny_moe_path), kv_cache="dynamic"), lambda s: None)
    try:
        assert (static.engine.decode_path, dynamic.engine.decode_path) == ("static", "dynamic")
        question = [{"role": "user", "content": "Tell me more."}]
        assert answer(static, question)[0] == answer(dynamic, question)[0]
    finally:
        static.engine.close()
        dynamic.engine.close()
    path = lite.loaded.name
    asked = load_chat_backend(Settings(chat_model=path, kv_cache="static", batch_tokens=2048), lambda s: None)
    try:
        assert asked.engine.decode_path == "dynamic"
        assert answer(asked, QUESTION)[0] == answer(lite, QUESTION)[0]
    finally:
        asked.engine.close()


def test_glm4_moe_lite_decodes_in_a_batch_as_alone(lite):
    """GLM-4.7-Flash's latent attention caches keys and values of different widths; rows
    joining and leaving the batch must not disturb each other."""
    assert lite.info.tool_format == "glm45" and lite.info.thinking_switch
    conversations = [[{"role": "user", "content": "hi " * (n + 1)}] for n in range(3)]
    alone = [answer(lite, c)[0] for c in conversations]
    together = [None] * 3
    streams = [lite.stream(c, GREEDY) for c in conversations]
    [next(s) for s in streams]  # all three are submitted before any is read

    def read(i):
        together[i] = "".join(e.text for e in streams[i] if isinstance(e, (TextDelta, ReasoningDelta)))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert together == alone


# -- raw completions: prompts rendered here, outputs parsed here ----------------------------


class Weather:
    name = "get_weather"

    def __init__(self):
        self.calls = []

    def declaration(self):
        return WEATHER

    def run(self, call, cancel):
        self.calls.append(call)
        return ToolResult("18°C")


@pytest.fixture(scope="module")
def served(tiny_moe_path):
    server = OpenAIServer(model="glm-4.6")
    settings = Settings(backend="openai", openai_base_url=server.base_url, openai_tokenizer=str(tiny_moe_path))
    yield server, connect_openai_backend(settings, lambda s: None)
    server.close()


def test_raw_completions_run_a_glm45_tool_chain_with_the_step_sent_back_as_written(served):
    server, backend = served
    assert backend.info.tool_format == "glm45" and backend.info.thinking_switch
    first = ("<think>The user wants Rome.</think>\nLet me check.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n"
             "<arg_value>Rome</arg_value>\n<arg_key>days</arg_key>\n<arg_value>2</arg_value>\n</tool_call>")
    server.requests.clear()
    server.replies = [Reply(first, chunk_chars=3), Reply("<think>Done.</think>\nIt is 18°C in Rome.", chunk_chars=3)]
    tool = Weather()
    events = list(run_agent(backend, QUESTION, GenerationParams(max_new_tokens=200), {"get_weather": tool}))
    assert [c.arguments for c in tool.calls] == [{"city": "Rome", "days": 2}]  # typed by the schema
    assert [o.call.name for o in events if isinstance(o, ToolOutcome)] == ["get_weather"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check.It is 18°C in Rome."
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "The user wants Rome.Done."
    one, two = server.prompts()
    # The second prompt is the first, the model's own output, then the observation.
    assert two.startswith(one + "\n" + first)
    assert two[len(one) + 1 + len(first):] == "<|observation|>\n<tool_response>\n18°C\n</tool_response><|assistant|>"


def test_thinking_off_reaches_the_prompt_and_the_chat_completions_request(served, tiny_moe_path):
    server, backend = served
    server.requests.clear()
    server.replies = [Reply("\nHello.")]
    list(backend.stream(QUESTION, GenerationParams(max_new_tokens=8, thinking=False)))
    assert server.prompts()[0].endswith("Weather in Rome?/nothink<|assistant|>\n<think></think>")
    # A chat-completions server (vLLM, SGLang, Zhipu) is asked through its own fields.
    chat = connect_openai_chat_backend(Settings(backend="openai-chat", openai_base_url=server.base_url), lambda s: None)
    assert chat.info.thinking_switch  # known by the name: glm-4.6
    server.requests.clear()
    list(chat.stream(QUESTION, GenerationParams(max_new_tokens=8, thinking=False)))
    list(chat.stream(QUESTION, GenerationParams(max_new_tokens=8)))
    off, default = (r.body for r in server.requests)
    assert off["chat_template_kwargs"] == {"enable_thinking": False} and off["thinking"] == {"type": "disabled"}
    assert "chat_template_kwargs" not in default and "thinking" not in default
