"""Prompts rendered through the checkpoint's own template, exactly as GLM expects them."""

from __future__ import annotations

import pytest

from glm4_app.backend.chat_backend import InProcessChatBackend
from glm4_app.backend.detokenizer import IncrementalDetokenizer
from glm4_app.backend.engine import Engine
from glm4_app.conversation import Conversation
from glm4_app.events import Error, ReasoningDelta, TextDelta
from glm4_app.generation import GenerationParams


@pytest.fixture
def backend_for(request):
    made = []

    def make(loaded, **engine_kwargs):
        engine_kwargs.setdefault("eos_token_ids", loaded.eos_token_ids)
        engine_kwargs.setdefault("context_window", loaded.context_window)
        engine = Engine(loaded.model, loaded.tokenizer, **engine_kwargs)
        made.append(engine)
        return InProcessChatBackend(loaded, engine)

    yield make
    for engine in made:
        engine.close()


def conversation_with_history() -> Conversation:
    conversation = Conversation(system_prompt="You are a helpful assistant.")
    conversation.add_user("What is 2+2?")
    conversation.add_answer("4.", reasoning="Two plus two is four.")
    conversation.add_user("And 3+3?")
    return conversation


def test_multi_turn_with_system_prompt_renders_the_glm4_turn_format(tiny_glm, backend_for):
    backend = backend_for(tiny_glm)
    messages = conversation_with_history().prompt_messages()
    assert backend.render(messages) == (
        "[gMASK]<sop><|system|>\nYou are a helpful assistant.<|user|>\nWhat is 2+2?"
        "<|assistant|>\n4.<|user|>\nAnd 3+3?<|assistant|>"
    )
    ids = backend.encode(messages)
    assert ids == tiny_glm.tokenizer.apply_chat_template(messages, add_generation_prompt=True)["input_ids"]
    assert ids.count(tiny_glm.tokenizer.convert_tokens_to_ids("[gMASK]")) == 1
    assert backend.count_tokens(messages) == len(ids)
    assert backend.info.reasoning is False


def test_z1_prompt_drops_earlier_reasoning_and_opens_thinking(tiny_z1, backend_for):
    backend = backend_for(tiny_z1)
    conversation = conversation_with_history()
    prompt = backend.render(conversation.prompt_messages())
    # What the published template renders when given the raw output, reasoning included.
    raw_history = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Two plus two is four.</think>4."},
        {"role": "user", "content": "And 3+3?"},
    ]
    assert prompt == tiny_z1.tokenizer.apply_chat_template(raw_history, tokenize=False, add_generation_prompt=True)
    assert "Two plus two" not in prompt
    assert prompt.endswith("<|assistant|>\n<think>")
    assert backend.info.reasoning is True


def test_z1_output_streams_as_reasoning_until_think_closes(tiny_z1, backend_for):
    backend = backend_for(tiny_z1, eos_token_ids=[])
    events = list(backend.stream([{"role": "user", "content": "Hi"}], GenerationParams(temperature=0, max_new_tokens=16)))
    # A random model never writes </think>: everything it says is (unfinished) reasoning.
    assert any(isinstance(e, ReasoningDelta) for e in events)
    assert not any(isinstance(e, TextDelta) for e in events)


def test_a_message_longer_than_the_context_is_refused_not_cut(tiny_glm, backend_for):
    backend = backend_for(tiny_glm, context_window=64)
    events = list(backend.stream([{"role": "user", "content": "word " * 200}], GenerationParams()))
    assert len(events) == 1 and isinstance(events[0], Error) and events[0].kind == "context"
    assert "Nothing was cut" in str(events[0].message)
    assert f"{backend.count_tokens([{'role': 'user', 'content': 'word ' * 200}]):,}" in str(events[0].message)


@pytest.mark.parametrize(
    "text",
    ["plain English words", "中文字符和标点，还有emoji 🎉🚀", "code:\n    def f(x):\n        return x ** 2\n", "<|assistant|>python\nprint(1)"],
    ids=["english", "chinese-emoji", "code", "special-tokens-kept"],
)
def test_incremental_detokenizer_matches_whole_decode(tiny_glm, text):
    tokenizer = tiny_glm.tokenizer
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok = IncrementalDetokenizer(tokenizer)
    pieces = [detok.push(i) for i in ids] + [detok.flush()]
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=False)
    assert "\ufffd" not in "".join(pieces)


PYTHON = {"type": "python"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
TOOL_HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Plot it"},
    {"role": "assistant", "metadata": "python", "content": "print(42)"},
    {"role": "observation", "metadata": "", "content": "42"},
    {"role": "assistant", "content": "Done: 42."},
    {"role": "user", "content": "Again"},
]


def test_glm4_chat_template_gets_typed_tool_entries_and_tool_turns(tiny_glm, backend_for):
    backend = backend_for(tiny_glm)
    assert backend.info.tools and backend.tool_style == "glm4"
    prompt = backend.render(TOOL_HISTORY, tools=[PYTHON, WEATHER])
    assert prompt.startswith("[gMASK]<sop><|system|>\n你是一个名为 ChatGLM 的人工智能助手")
    assert "## python" in prompt and '"name": "get_weather"' in prompt
    assert "<|system|>\nBe brief.<|user|>\nPlot it<|assistant|>python\nprint(42)<|observation|>\n42" in prompt
    assert prompt.endswith("<|assistant|>\nDone: 42.<|user|>\nAgain<|assistant|>")


def test_z1_template_gets_tools_as_function_specs(tiny_z1, backend_for):
    backend = backend_for(tiny_z1)
    assert backend.tool_style == "functions"
    prompt = backend.render(TOOL_HISTORY, tools=[PYTHON, WEATHER])
    assert '"name": "python"' in prompt and '"code"' in prompt  # built-in tool as a function
    assert '"name": "get_weather"' in prompt
    assert "<|assistant|>python\nprint(42)<|observation|>\n42" in prompt


def test_a_template_without_tools_is_reported(tiny_glm_path, tmp_path):
    import shutil

    from glm4_app.backend.loader import load_model
    from glm4_app.settings import Settings

    plain = shutil.copytree(tiny_glm_path, tmp_path / "plain")
    (plain / "chat_template.jinja").write_text(
        "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{% endfor %}<|assistant|>"
    )
    loaded = load_model(str(plain), Settings())
    engine = Engine(loaded.model, loaded.tokenizer, eos_token_ids=loaded.eos_token_ids, context_window=64)
    try:
        backend = InProcessChatBackend(loaded, engine)
        assert backend.info.tools is False
        with pytest.raises(ValueError, match="cannot declare tools"):
            backend.render([{"role": "user", "content": "hi"}], tools=[PYTHON])
    finally:
        engine.close()


def test_continue_sends_the_prompt_then_what_the_stopped_answer_had_written(tiny_z1, backend_for):
    backend = backend_for(tiny_z1)
    messages = conversation_with_history().prompt_messages()
    sent = []
    submit = backend.engine.submit
    backend.engine.submit = lambda ids, *args, **kwargs: sent.append(ids) or submit(ids, *args, **kwargs)
    params = GenerationParams(max_new_tokens=4, temperature=0)

    answering = list(backend.stream_continuation(messages, "It is", "Three plus three.", params))
    thinking = list(backend.stream_continuation(messages, "", "Three plus", params))

    decode = tiny_z1.tokenizer.decode
    prompt = backend.render(messages)  # ends with the <think> the template opens
    assert decode(sent[0]) == prompt + "Three plus three.</think>It is"
    assert decode(sent[1]) == prompt + "Three plus"
    # Past the closed reasoning, everything that follows is answer text.
    assert not [e for e in answering if isinstance(e, ReasoningDelta)]
    assert [e for e in answering if isinstance(e, TextDelta)] and [e for e in thinking if isinstance(e, (TextDelta, ReasoningDelta))]


REPORT = "Revenue grew by eight percent in the third quarter, driven by exports. " * 12


def test_documents_reach_the_checkpoint_template_in_the_reference_layout(tiny_glm, backend_for):
    """FORMATS.md "Documents": the files go into the user turn they came with, then
    "\\n\\n\\n{n} files uploaded.\\n" and the question; fed to the template as written by hand."""
    backend = backend_for(tiny_glm)
    conversation = Conversation(mode="documents", system_prompt="Answer from the files.")
    conversation.add_user("Hi")
    conversation.add_answer("Hello.")
    conversation.documents += [
        {"name": "report.txt", "kind": "text", "pages": 0, "text": REPORT, "bytes": 1, "tokens": 1},
        {"name": "notes.md", "kind": "markdown", "pages": 0, "text": "# Notes\nExports doubled.", "bytes": 1, "tokens": 1},
    ]
    conversation.add_user("What grew?")
    reference = [
        {"role": "system", "content": "Answer from the files."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": f"[File Name]\nreport.txt\n[File Content]\n{REPORT}\n\n[File Name]\nnotes.md\n"
                                    "[File Content]\n# Notes\nExports doubled.\n\n\n2 files uploaded.\nWhat grew?"},
    ]
    expected = tiny_glm.tokenizer.apply_chat_template(reference, tokenize=False, add_generation_prompt=True)
    assert backend.render(conversation.prompt_messages()) == expected
    assert expected.startswith("[gMASK]<sop><|system|>\nAnswer from the files.<|user|>\nHi<|assistant|>\nHello.<|user|>\n[File Name]")


def test_an_upload_at_a_later_turn_keeps_the_earlier_prompt_and_its_cache(tiny_glm, backend_for):
    backend = backend_for(tiny_glm, prefix_cache_bytes=64 * 2**20)
    params = GenerationParams(temperature=0, max_new_tokens=8)
    conversation = Conversation(mode="documents")
    conversation.add_user("Hello there, I will send you a report in a moment. " * 8)
    asked = backend.encode(conversation.prompt_messages())
    first = list(backend.stream(conversation.prompt_messages(), params, cache_key="c"))
    conversation.add_answer("".join(e.text for e in first if isinstance(e, TextDelta)))
    before = backend.encode(conversation.prompt_messages())
    conversation.documents.append({"name": "report.txt", "kind": "text", "pages": 0, "text": REPORT, "bytes": 1, "tokens": 1})
    conversation.add_user("What grew?")
    after = backend.encode(conversation.prompt_messages())
    assert after[: len(before) - 1] == before[:-1]  # all but the generation prompt: unchanged
    *_, done = backend.stream(conversation.prompt_messages(), params, cache_key="c")
    assert done.stats.cached_tokens >= len(asked) - 1 > 100  # the first turn is not read again
