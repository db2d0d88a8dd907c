"""GLM-4.6V-Flash as a tiny random Glm46V: loaded natively with its rules, calling tools about
an image in GLM-4.5's format, thinking switched off; and every vision backend (in-process, raw
completions, chat completions) answering without ``<answer>`` tags, boxes kept for history."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from glm4_app.agent import run_agent
from glm4_app.backend.manager import load_vision_backend
from glm4_app.backend.openai_connect import connect_openai_vision_backend
from glm4_app.events import Done, ReasoningDelta, Stats, TextDelta, ToolOutcome
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings
from glm4_app.tool_steps import call_messages
from glm4_app.tool_types import ToolCall, ToolResult
from glm4_app.vision.profiles import GLM_46V
from openai_server import OpenAIServer, Reply
from tiny_models import build_tiny_glm4v_checkpoint

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
GREEDY = GenerationParams(temperature=0, max_new_tokens=10, thinking=False)
ANSWER = ("<think>A red square.</think><answer>The square is at <|begin_of_box|>[[100,100,600,600]]<|end_of_box|>"
          "</answer>")
SHOWN = "The square is at <|begin_of_box|>[[100,100,600,600]]<|end_of_box|>"


@pytest.fixture(scope="module")
def flash_path(tmp_path_factory):
    return build_tiny_glm4v_checkpoint(tmp_path_factory.mktemp("tiny_glm46v"), arch="glm46v")


@pytest.fixture(scope="module")
def flash(flash_path):
    backend = load_vision_backend(Settings(vision_model=str(flash_path)), lambda step: None)
    yield backend
    backend.engine.close()


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    path = tmp_path_factory.mktemp("pictures") / "square.png"
    Image.new("RGB", (96, 64), "red").save(path)
    return str(path)


def reference(backend, ids, extra) -> str:
    """What transformers' own generate() writes for the same processed inputs (tags aside)."""
    eos = backend.loaded.eos_token_ids
    with torch.inference_mode():
        out = backend.loaded.model.generate(
            input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), **extra,
            do_sample=False, max_new_tokens=GREEDY.max_new_tokens, eos_token_id=eos)
    text = backend.loaded.tokenizer.decode([t for t in out[0, len(ids):].tolist() if t not in eos])
    return text.replace("<answer>", "").replace("</answer>", "").strip()


def shown(events) -> str:
    return "".join(e.text for e in events if isinstance(e, (TextDelta, ReasoningDelta))).strip()


def test_glm46v_loads_natively_with_tools_and_the_thinking_switch(flash):
    assert type(flash.loaded.model).__name__ == "Glm46VForConditionalGeneration"
    assert flash.profile is GLM_46V and flash.profile.max_images == 10 and flash.profile.grounding
    assert (flash.info.tools, flash.info.tool_format, flash.info.thinking_switch) == (True, "glm45", True)


def test_an_image_and_a_tool_step_render_in_one_prompt_and_generate(flash, picture):
    messages = [
        {"role": "user", "content": "Where is this? Check the weather there.", "images": [picture]},
        {"role": "assistant", "content": "It looks like Rome."},
        *call_messages(ToolCall("get_weather", '{"city": "Rome"}', {"city": "Rome"}), ToolResult("18°C"), step=1),
    ]
    ids, extra = flash.encode(messages, [WEATHER], thinking=False)
    prompt = flash.loaded.tokenizer.decode(ids)
    assert "<tools>" in prompt and '"name": "get_weather"' in prompt
    assert prompt.count("<|begin_of_image|>") == 1 and extra["image_grid_thw"].shape[0] == 1
    assert "It looks like Rome.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Rome</arg_value>" in prompt
    assert prompt.endswith("<tool_response>\n18°C\n</tool_response><|assistant|>\n<think></think>")
    events = list(flash.stream(messages, GREEDY, [WEATHER]))
    assert isinstance(events[-1], Done)
    assert shown(events) == reference(flash, ids, extra)  # the engine's answer is transformers' own


class Replay:
    """Stands in for the engine's request: replays a raw model output in 5-character pieces."""

    def __init__(self, raw):
        self.raw = raw

    def events(self, heartbeat_s=None):
        yield from (TextDelta(self.raw[i : i + 5]) for i in range(0, len(self.raw), 5))
        yield Done(Stats(10, 5, 4096, 0.01, 0.01, "stop"))

    def cancel(self):
        pass


def scripted_engine(monkeypatch, backend, *raws):
    """The real vision backend (prompts, images, <answer> filter) on scripted GLM-4.6V outputs;
    returns the prompts it submitted."""
    prompts, replies = [], list(raws)

    def submit(ids, params, cache_key=None, inputs=None):
        prompts.append(backend.loaded.tokenizer.decode(ids))
        return Replay(replies.pop(0))

    monkeypatch.setattr(backend.engine, "submit", submit)
    return prompts


def test_vision_and_tools_meet_in_one_answer(flash, picture, monkeypatch):
    class Weather:
        name = "get_weather"

        def declaration(self):
            return WEATHER

        def run(self, call, cancel):
            return ToolResult(f"18°C in {call.arguments['city']}")

    prompts = scripted_engine(
        monkeypatch, flash,
        "<think>The Colosseum: Rome.</think>\nThat is Rome.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n"
        "<arg_value>Rome</arg_value>\n</tool_call>",
        "<think>Done.</think><answer>It is 18°C in Rome.</answer>",
    )
    question = [{"role": "user", "content": "Where is this, and how warm is it?", "images": [picture]}]
    events = list(run_agent(flash, question, GenerationParams(), {"get_weather": Weather()}))
    assert [o.result.text for o in events if isinstance(o, ToolOutcome)] == ["18°C in Rome"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "That is Rome.It is 18°C in Rome."
    assert prompts[1].count("<|begin_of_image|>") == 1  # the image stays in the conversation
    assert "<think>The Colosseum: Rome.</think>\nThat is Rome.\n<tool_call>get_weather" in prompts[1]


# -- <answer> handled by every vision backend ------------------------------------------------


def test_in_process_vision_drops_answer_tags(flash, picture, monkeypatch):
    scripted_engine(monkeypatch, flash, ANSWER)
    events = list(flash.stream([{"role": "user", "content": "Where?", "images": [picture]}], GREEDY))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == SHOWN
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "A red square."


@pytest.mark.parametrize("kind", ["openai", "openai-chat"])
def test_served_vision_drops_answer_tags_on_every_route(kind, tiny_glm4v_path, picture):
    """Raw completions (a text follow-up, rendered here) and chat completions (an image)."""
    server = OpenAIServer(model="glm-4.1v-thinking", root=str(tiny_glm4v_path))
    try:
        settings = Settings(backend=kind, openai_base_url=server.base_url, vision_model="glm-4.1v-thinking")
        backend = connect_openai_vision_backend(settings, lambda s: None)
        server.replies = [Reply(ANSWER, chunk_chars=3), Reply(ANSWER, chunk_chars=3)]
        with_image = [{"role": "user", "content": "Where?", "images": [picture]}]
        follow_up = [*with_image, {"role": "assistant", "content": SHOWN}, {"role": "user", "content": "Sure?"}]
        for messages in (with_image, follow_up[2:]):
            events = list(backend.stream(messages, GenerationParams(max_new_tokens=50)))
            assert "".join(e.text for e in events if isinstance(e, TextDelta)) == SHOWN
            assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "A red square."
        routes = [r.path.rsplit("/", 2)[-2:] for r in server.requests]
        expected = [["chat", "completions"], ["v1", "completions"]] if kind == "openai" else [["chat", "completions"]] * 2
        assert routes == expected
    finally:
        server.close()


def test_a_vision_model_served_as_the_chat_model_answers_without_tags_too():
    from glm4_app.backend.openai_connect import connect_openai_chat_backend

    server = OpenAIServer(model="glm-4.5v")
    try:
        chat = connect_openai_chat_backend(Settings(backend="openai-chat", openai_base_url=server.base_url), lambda s: None)
        server.replies = [Reply(ANSWER, chunk_chars=4)]
        events = list(chat.stream([{"role": "user", "content": "Where?"}], GenerationParams(max_new_tokens=50)))
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == SHOWN
    finally:
        server.close()


def test_tools_in_vision_need_a_server_that_parses_them(flash_path):
    """Through raw completions images go to chat completions, where the app cannot parse
    GLM-4.5 calls; chat-completions servers with their own parser can."""
    server = OpenAIServer(model="glm-4.5v", root=str(flash_path))
    try:
        for kind, tools in (("openai", False), ("openai-chat", True)):
            settings = Settings(backend=kind, openai_base_url=server.base_url, vision_model="glm-4.5v")
            backend = connect_openai_vision_backend(settings, lambda s: None)
            assert backend.info.tools is tools and backend.info.thinking_switch
    finally:
        server.close()


def test_glm45v_loads_as_glm4v_moe_and_answers_as_transformers_does(tmp_path, picture):
    path = build_tiny_glm4v_checkpoint(tmp_path / "tiny_glm45v", arch="glm4v_moe")
    backend = load_vision_backend(Settings(vision_model=str(path)), lambda step: None)
    try:
        assert type(backend.loaded.model).__name__ == "Glm4vMoeForConditionalGeneration"
        assert backend.profile.label == "GLM-4.5V" and backend.info.tools and backend.info.thinking_switch
        messages = [{"role": "user", "content": "What is it?", "images": [picture]}]
        ids, extra = backend.encode(messages, thinking=False)
        assert shown(backend.stream(messages, GREEDY)) == reference(backend, ids, extra)
    finally:
        backend.engine.close()
