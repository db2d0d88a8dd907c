"""The API's pure parts on raw strings and event lists: OpenAI tools onto the checkpoint's
format and back (GLM-4, GLM-4.5, native calls; whole and chunked), stop sequences cut across chunks, the answer's finish and usage,
the trusted-header gate, public share links through it, sign-in redirects, and the metrics an answer
leaves behind."""

from __future__ import annotations

import json

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import HTTPConnection

from glm4_app import metrics, shares
from glm4_app.backend.prompt import PromptRenderer
from glm4_app.conversation import Conversation
from glm4_app.events import Done, Error, ReasoningDelta, Started, Stats, TextDelta, ToolCallChunk
from glm4_app.generation import ModelInfo
from glm4_app.server.completion import Answer
from glm4_app.server.gate import is_page_load, public_share, without_untrusted_identity
from glm4_app.server.signin import safe_next
from glm4_app.server.tool_format import (
    OutputSplitter,
    ToolChoiceError,
    declarations,
    from_openai_messages,
)
from glm4_app.settings import Settings
from glm4_app.store import ConversationStore

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
}
CLOCK = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}


def stats(prompt=10, completion=5, reason="stop") -> Stats:
    return Stats(prompt, completion, 8192, 0.1, 0.5, reason)


# --- Tools: OpenAI <-> GLM -----------------------------------------------------------------------


def test_tool_choice_decides_what_is_declared():
    assert declarations([WEATHER, CLOCK], None) == [WEATHER, CLOCK]
    assert declarations([WEATHER, CLOCK], "auto") == [WEATHER, CLOCK]
    assert declarations([WEATHER, CLOCK], "none") is None
    assert declarations([WEATHER, CLOCK], {"type": "function", "function": {"name": "now"}}) == [
        CLOCK
    ]
    with pytest.raises(ToolChoiceError, match="'sunrise'"):
        declarations([WEATHER], {"type": "function", "function": {"name": "sunrise"}})
    assert declarations(None, "auto") is None


def test_a_tool_round_trip_becomes_stored_steps():
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "reasoning_content": "Two tools at once.",
            "tool_calls": [
                {"id": "a", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "b", "function": {"name": "now", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "sunny, 21 C"},
        {"role": "tool", "tool_call_id": "b", "content": ""},
    ]
    assert from_openai_messages(history) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Let me look.", "reasoning": "Two tools at once."},
        # the calls of one message are one step (parallel calls); never empty: GLM drops empty turns
        {"role": "assistant", "metadata": "get_weather", "content": '{"city": "Paris"}', "call_id": "a", "step": 2},
        {"role": "observation", "metadata": "", "content": "sunny, 21 C", "call_id": "a"},
        {"role": "assistant", "metadata": "now", "content": "{}", "call_id": "b", "step": 2},
        {"role": "observation", "metadata": "", "content": "[no output]", "call_id": "b"},
    ]
    # each result after its own call, whatever order the results came in; unanswered ids keep their place
    reordered = [*history[:3], history[4], history[3]]
    assert from_openai_messages(reordered) == from_openai_messages(history)
    stray = from_openai_messages([*history[:3], {"role": "tool", "tool_call_id": "x", "content": "?"}])
    assert [m["role"] for m in stray[2:]] == ["assistant", "assistant", "assistant", "observation"]


def test_the_round_trip_renders_as_each_checkpoint_writes_it(tiny_glm_path, glm46_tokenizer):
    """What the backends send for an API conversation with parallel calls: GLM-4's turns, or
    GLM-4.5's one assistant turn with both calls, its thinking kept, results as responses."""
    from transformers import AutoTokenizer

    history = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "reasoning_content": "Both at once.", "tool_calls": [
            {"id": "a", "function": {"name": "get_weather", "arguments": '{"city": "Paris", "days": 2}'}},
            {"id": "b", "function": {"name": "get_weather", "arguments": '{"city": "Rome", "days": 2}'}}]},
        {"role": "tool", "tool_call_id": "a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "b", "content": "rain"},
    ]
    stored = from_openai_messages(history)
    glm4 = PromptRenderer(AutoTokenizer.from_pretrained(str(tiny_glm_path)), "glm-4-9b-chat")
    prompt = glm4.render(stored, [WEATHER])
    assert (  # each call and its result, as GLM-4 writes a step
        '<|assistant|>get_weather\n{"city": "Paris", "days": 2}<|observation|>\nsunny'
        '<|assistant|>get_weather\n{"city": "Rome", "days": 2}<|observation|>\nrain<|assistant|>'
    ) in prompt
    assert "Both at once." not in prompt  # GLM-4's template keeps no thinking
    glm45 = PromptRenderer(glm46_tokenizer, "glm-4.6")
    prompt = glm45.render(stored, [WEATHER])
    turn = prompt[prompt.index("<|assistant|>"):]
    assert turn.count("<|assistant|>") == 2 and turn.count("<tool_call>get_weather") == 2  # one turn, both calls
    assert "<think>Both at once.</think>" in turn
    assert "<arg_key>days</arg_key>\n<arg_value>2</arg_value>" in turn
    assert turn.count("<tool_response>") == 2 and turn.count("<|observation|>") == 1


GLM4 = ModelInfo(name="glm-4", context_window=8192, tools=True, tool_format="glm4")
GLM45 = ModelInfo(name="glm-4.6", context_window=8192, tools=True, tool_format="glm45")
NATIVE = ModelInfo(name="api", context_window=8192, tools=True, tool_format="openai")
RAW = 'I will check.<|assistant|>get_weather\n{"city": "Paris", "unit": "C"}'
TYPED_WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}
RAW45 = (
    "\nBoth cities.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Rome</arg_value>\n"
    "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>\n"
    "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n</tool_call>"
)


def split(splitter: OutputSplitter, raw: str, size: int) -> tuple[str, list[dict]]:
    text = "".join(splitter.feed(TextDelta(raw[i : i + size])) for i in range(0, len(raw), size))
    tail, calls = splitter.finish()
    return text + tail, calls


@pytest.mark.parametrize("size", [1, 3, 7, len(RAW)])
def test_raw_output_splits_into_content_and_tool_calls_in_any_chunks(size):
    text, calls = split(OutputSplitter(GLM4, [WEATHER]), RAW, size)
    assert text == "I will check."
    assert [(c["type"], c["function"]["name"]) for c in calls] == [("function", "get_weather")]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris", "unit": "C"}
    assert calls[0]["id"].startswith("call_")


@pytest.mark.parametrize("size", [1, 5, len(RAW45)])
def test_glm45_output_splits_into_parallel_calls_typed_by_their_schema(size):
    text, calls = split(OutputSplitter(GLM45, [TYPED_WEATHER]), RAW45, size)
    assert text == "Both cities."
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Rome", "days": 3}, {"city": "Oslo"}]
    assert len({c["id"] for c in calls}) == 2


def test_a_chat_completions_backend_streams_native_calls():
    splitter = OutputSplitter(NATIVE, [WEATHER])
    text = splitter.feed(TextDelta("Checking."))
    text += splitter.feed(ToolCallChunk(0, "call_up", "get_weather", '{"city": '))
    text += splitter.feed(ToolCallChunk(0, None, None, '"Oslo"}'))
    tail, calls = splitter.finish()
    assert text + tail == "Checking."
    assert calls == [{"id": "call_up", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]


def test_prose_that_starts_like_a_name_stays_prose():
    splitter = OutputSplitter(GLM4, [WEATHER])
    text = splitter.feed(TextDelta("get well soon\nand rest."))
    tail, calls = splitter.finish()
    assert text + tail == "get well soon\nand rest." and calls == []


# --- The answer: deltas, stop sequences, finish, usage ---------------------------------------------


def feed_all(answer: Answer, events) -> list[dict]:
    out = []
    for event in events:
        out += answer.feed(event)
    return out + answer.finish()


@pytest.mark.parametrize(
    "pieces",
    [
        ["Hello wor", "ld. STOP here"],
        ["Hello world. S", "T", "OP here"],
        ["Hello world. STOP here"],
    ],
)
def test_a_stop_sequence_cuts_the_answer_even_across_chunks(pieces):
    answer = Answer(None, ["STOP", "never"])
    deltas = feed_all(answer, [Started(12), *map(TextDelta, pieces)])
    assert "".join(d["content"] for d in deltas) == "Hello world. "
    assert answer.ended and answer.hit_stop and answer.finish_reason == "stop"
    assert answer.usage() == {
        "prompt_tokens": 12,
        "completion_tokens": len(pieces),
        "total_tokens": 12 + len(pieces),
    }
    assert answer.feed(TextDelta("more")) == []  # nothing after the stop


def test_held_text_that_was_not_a_stop_is_sent_at_the_end():
    answer = Answer(None, ["STOP"])
    deltas = feed_all(answer, [TextDelta("almost ST"), Done(stats())])
    assert "".join(d["content"] for d in deltas) == "almost ST"


def test_reasoning_content_tool_calls_and_usage_of_a_finished_answer():
    answer = Answer(OutputSplitter(GLM4, [WEATHER]), [])
    events = [
        ReasoningDelta("Paris, so "),
        ReasoningDelta("weather."),
        TextDelta("get_weather\n"),
        TextDelta('{"city": "Paris"}'),
        Done(stats(30, 9)),
    ]
    deltas = feed_all(answer, events)
    assert deltas[:2] == [{"reasoning_content": "Paris, so "}, {"reasoning_content": "weather."}]
    assert deltas[-1]["tool_calls"][0]["index"] == 0
    message = answer.message()
    assert message["content"] is None and message["reasoning_content"] == "Paris, so weather."
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert answer.finish_reason == "tool_calls"
    assert answer.usage() == {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}


def test_length_and_errors():
    cut = Answer(None, [])
    feed_all(cut, [TextDelta("partial"), Done(stats(reason="length"))])
    assert cut.finish_reason == "length" and cut.message()["content"] == "partial"
    failed = Answer(None, [])
    feed_all(failed, [Error("The model ran out of memory.", "oom")])
    assert failed.ended and failed.error.kind == "oom"


# --- The gate ---------------------------------------------------------------------------------------


def scope(path="/", headers=(), client=("203.0.113.9", 50000), method="GET", kind="http", query=b""):
    return {
        "type": kind,
        "path": path,
        "method": method,
        "headers": list(headers),
        "client": client,
        "query_string": query,
    }


def test_only_a_trusted_proxy_may_name_the_user():
    named = [(b"x-forwarded-email", b"alice@example.org"), (b"accept", b"text/html")]
    stripped = without_untrusted_identity(scope(headers=named), "X-Forwarded-Email", "10.0.0.0/8")
    assert stripped["headers"] == [(b"accept", b"text/html")]
    kept = without_untrusted_identity(
        scope(headers=named, client=("10.1.2.3", 443)), "X-Forwarded-Email", "10.0.0.0/8"
    )
    assert kept["headers"] == named
    websocket = without_untrusted_identity(
        scope(headers=named, kind="websocket"), "X-Forwarded-Email", ""
    )
    assert websocket["headers"] == [
        (b"accept", b"text/html")
    ]  # the page reads the websocket's headers


def test_page_loads_are_told_apart_from_everything_else():
    html = [(b"accept", b"text/html,application/xhtml+xml")]
    assert is_page_load(scope("/", html)) and is_page_load(scope("/tools", html))
    for path in (
        "/_stcore/stream",
        "/static/js/main.js",
        "/v1/models",
        "/healthz",
        "/metrics",
        "/signin",
    ):
        assert not is_page_load(scope(path, html))
    assert not is_page_load(scope("/", [(b"accept", b"application/json")]))
    assert not is_page_load(scope("/", html, method="POST"))


def test_a_signed_out_page_load_passes_only_for_a_link_open_to_anyone(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = Conversation(owner="user:alice")
    conversation.add_user("Q")
    conversation.add_answer("A")
    store.save(conversation)
    public, private = shares.create(store, conversation, public=True), shares.create(store, conversation)
    revoked = shares.create(store, conversation, public=True)
    shares.revoke(store, revoked.id, "user:alice")

    def passes(share_id: str, allowed: str = "true") -> bool:
        settings = Settings(auth="password", public_shares=allowed, data_dir=tmp_path)
        return public_share(HTTPConnection(scope(query=f"share={share_id}".encode())), settings)

    assert passes(public.id)
    assert not passes(public.id, allowed="false")  # the admin does not allow public links
    assert not passes(private.id)  # for signed-in users only: the URL cannot say otherwise
    assert not passes(revoked.id) and not passes("NoSuchShareLinkAtAll123") and not passes("../x' OR 1")
    assert not public_share(HTTPConnection(scope()), Settings(auth="password", public_shares="true", data_dir=tmp_path))


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/tools?c=1", "/tools?c=1"),
        ("", "/"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/signin", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),  # browsers drop the tab: //evil.example
        ("/?share=AbC-12_xyz", "/?share=AbC-12_xyz"),
    ],
)
def test_after_sign_in_only_this_site(target, expected):
    assert safe_next(target) == expected


# --- Metrics ------------------------------------------------------------------------------------------


def sample(name: str, **labels) -> float:
    text = generate_latest(metrics.REGISTRY).decode()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_an_observed_answer_moves_the_counters():
    before = {
        "ok": sample("glm4_requests_total", mode="documents", outcome="ok"),
        "stopped": sample("glm4_requests_total", mode="documents", outcome="stopped"),
        "prompt": sample("glm4_prompt_tokens_total", mode="documents"),
        "ttft": sample("glm4_time_to_first_token_seconds_count", mode="documents"),
        "oom": sample("glm4_errors_total", kind="oom"),
        "cached": sample("glm4_prefix_cache_hit_tokens_total", mode="documents"),
    }
    done = Stats(100, 21, 8192, 0.3, 2.0, "stop", cached_tokens=64)
    assert list(metrics.observe(iter([Started(100), TextDelta("x"), Done(done)]), "documents"))[
        -1
    ] == Done(done)
    assert sample("glm4_requests_total", mode="documents", outcome="ok") == before["ok"] + 1
    assert sample("glm4_prompt_tokens_total", mode="documents") == before["prompt"] + 100
    assert sample("glm4_time_to_first_token_seconds_count", mode="documents") == before["ttft"] + 1
    assert sample("glm4_prefix_cache_hit_tokens_total", mode="documents") == before["cached"] + 64

    closed = []

    def endless():
        try:
            while True:
                yield TextDelta("y")
        finally:
            closed.append(True)

    stream = metrics.observe(endless(), "documents")
    next(stream)
    stream.close()  # Stop: the model's stream is closed at once, and counted as stopped
    assert closed == [True]
    assert (
        sample("glm4_requests_total", mode="documents", outcome="stopped") == before["stopped"] + 1
    )
    list(metrics.observe(iter([Error("no memory", "oom")]), "documents"))
    assert sample("glm4_errors_total", kind="oom") == before["oom"] + 1
    assert sample("glm4_requests_in_progress", mode="documents") == 0
