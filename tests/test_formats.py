"""The format interface (formats/) beyond the GLM-4 parser's own cases: declarations, tool
steps rendered back into each format's messages, the fine-tuned JSON format, native tool-call
assembly, and the entry points an OpenAI-compatible API adapter uses."""

from __future__ import annotations

import json

import pytest

from glm4_app.events import TextDelta, ToolCallChunk, ToolCallDelta, ToolCallStart
from glm4_app.formats import (
    Glm4Format,
    JsonCallFormat,
    OpenAIToolsFormat,
    format_for_template,
    from_openai_messages,
    get_format,
    names_of,
    openai_tool_calls,
    template_style,
)
from glm4_app.tool_steps import call_messages
from glm4_app.tool_types import ToolCall, ToolResult

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
HISTORY = [
    {"role": "user", "content": "Weather in Paris? Then plot it."},
    {"role": "assistant", "content": "Let me check.", "reasoning": "never sent back"},
    *call_messages(ToolCall("get_weather", '{"city": "Paris"}', {"city": "Paris"}), ToolResult("18°C")),
    *call_messages(ToolCall("python", "print(18)"), ToolResult("18", metadata="")),
    {"role": "assistant", "content": "18°C."},
]


def test_glm4_styles_declare_tools_where_their_templates_read_them():
    messages, extra = Glm4Format("glm4").template_inputs(HISTORY, [{"type": "python"}, WEATHER])
    assert extra == {} and messages[0] == {"role": "system", "content": "", "tools": [{"type": "python"}, WEATHER]}
    assert messages[3] == {"role": "assistant", "metadata": "get_weather", "content": '{"city": "Paris"}'}
    assert "reasoning" not in messages[2]
    messages, extra = Glm4Format("functions").template_inputs(HISTORY, [{"type": "python"}, WEATHER])
    assert messages[0]["role"] == "user"
    assert [t["function"]["name"] for t in extra["tools"]] == ["python", "get_weather"]
    assert extra["tools"][0]["function"]["parameters"]["required"] == ["code"]


def test_the_format_follows_the_checkpoint_template(tiny_glm_path, tiny_z1_path):
    glm = (tiny_glm_path / "chat_template.jinja").read_text()
    z1 = (tiny_z1_path / "chat_template.jinja").read_text()
    assert template_style(glm) == "glm4" and template_style(z1) == "functions"
    assert template_style("{{ messages }}") is None and format_for_template("{{ messages }}") is None
    assert isinstance(format_for_template(glm), Glm4Format)
    assert isinstance(format_for_template(z1, "json"), JsonCallFormat)
    fmt = format_for_template(z1)
    assert fmt.starts_in_reasoning("[gMASK]<sop><|user|>\nhi<|assistant|>\n<think>")
    assert not get_format("openai").starts_in_reasoning("<think>")


def test_fine_tuned_json_calls_render_and_parse_as_json():
    fmt = JsonCallFormat("functions")
    messages, _ = fmt.template_inputs(HISTORY, [WEATHER])
    assert json.loads(messages[2]["content"]) == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert json.loads(messages[4]["content"]) == {"name": "python", "arguments": {"code": "print(18)"}}
    assert "metadata" not in messages[2] and messages[3]["role"] == "observation"
    parsed = fmt.parse('Checking.<|assistant|>{"name": "get_weather", "arguments": {"city": "Oslo"}}', ["get_weather"])
    assert parsed.text == "Checking." and parsed.calls == (ToolCall("get_weather", '{"city": "Oslo"}', {"city": "Oslo"}),)
    # A header call is prose to this format: fine-tuned models do not write them.
    assert fmt.parse('get_weather\n{"city": "Oslo"}', ["get_weather"]).calls == ()


def test_stored_steps_become_openai_tool_calls_and_tool_messages():
    messages, extra = OpenAIToolsFormat().template_inputs(HISTORY, [{"type": "python"}, WEATHER])
    assert [t["function"]["name"] for t in extra["tools"]] == ["python", "get_weather"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    first, second = messages[1]["tool_calls"][0], messages[3]["tool_calls"][0]
    assert messages[1]["content"] == "Let me check."  # the prose and its call are one message
    assert first["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert json.loads(second["function"]["arguments"]) == {"code": "print(18)"}
    assert messages[2]["tool_call_id"] == first["id"] and messages[4]["tool_call_id"] == second["id"]
    assert first["id"] != second["id"]  # steps stored by a GLM backend get stable ids of their own


def test_an_interrupted_call_still_gets_an_answer_the_api_accepts():
    cut = [{"role": "user", "content": "?"}, {"role": "assistant", "metadata": "python", "content": "while True: pass"},
           {"role": "user", "content": "never mind"}]
    messages, _ = OpenAIToolsFormat().template_inputs(cut, None)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[2]["content"] == "[no result]"


def chunks(*pieces):
    return [ToolCallChunk(**p) for p in pieces]


@pytest.mark.parametrize(
    "pieces",
    [
        chunks({"index": 0, "id": "a", "name": "get_weather"}, {"index": 0, "arguments": '{"ci'}, {"index": 0, "arguments": 'ty": "Oslo"}'}),
        chunks({"index": 0, "id": "a", "name": "get_weather", "arguments": '{"city": "Oslo"}'}),  # Ollama: one piece
        chunks({"index": 0, "id": "a", "name": "get_weather", "arguments": ""},
               {"index": 0, "name": "get_weather", "arguments": '{"city": '}, {"index": 0, "arguments": '"Oslo"}'}),  # name repeated
        chunks({"index": 0, "arguments": '{"city": '}, {"index": 0, "id": "a", "name": "get_weather"}, {"index": 0, "arguments": '"Oslo"}'}),
    ],
    ids=["split-arguments", "one-piece", "name-repeated", "arguments-before-name"],
)
def test_native_calls_assemble_the_same_whatever_the_chunking(pieces):
    parser = OpenAIToolsFormat().parser(["get_weather"])
    events = parser.feed("  Let me look. ") + [e for p in pieces for e in parser.feed_call(p)] + parser.flush()
    parsed = parser.finish()
    assert parsed.text == "Let me look."
    assert parsed.calls == (ToolCall("get_weather", '{"city": "Oslo"}', {"city": "Oslo"}, "a"),)
    assert [e for e in events if isinstance(e, ToolCallStart)] == [ToolCallStart("get_weather")]
    assert "".join(e.text for e in events if isinstance(e, ToolCallDelta)) == '{"city": "Oslo"}'
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."


def test_an_openai_api_adapter_maps_tools_in_and_tool_calls_out(tiny_glm_path):
    """OpenAI messages and tools in, the checkpoint's own prompt out; raw output in,
    ``tool_calls`` out: what an OpenAI-compatible API served by the app does."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_glm_path))
    request = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
    ]
    fmt = format_for_template(tokenizer.chat_template)
    messages, extra = fmt.template_inputs(from_openai_messages(request), [WEATHER])
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
    assert '<|assistant|>get_weather\n{"city": "Paris"}<|observation|>\n18°C<|assistant|>' in prompt
    assert '"name": "get_weather"' in prompt  # the declaration, as the template writes it
    parsed = fmt.parse('Checking Rome too.<|assistant|>get_weather\n{"city": "Rome"}', names_of([WEATHER]))
    assert parsed.text == "Checking Rome too."
    assert openai_tool_calls(parsed.calls) == [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]
    assert openai_tool_calls([ToolCall("python", "print(1)")])[0]["function"]["arguments"] == '{"code": "print(1)"}'
