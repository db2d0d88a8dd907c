"""The API's pure parts on raw strings and event lists: OpenAI tools onto GLM's format and
back (whole and chunked), stop sequences cut across chunks, the answer's finish and usage,
the trusted-header gate, sign-in redirects, and the metrics an answer leaves behind."""

from __future__ import annotations

import json

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from glm4_app import metrics
from glm4_app.events import Done, Error, ReasoningDelta, Started, Stats, TextDelta
from glm4_app.server.completion import Answer
from glm4_app.server.gate import is_page_load, without_untrusted_identity
from glm4_app.server.signin import safe_next
from glm4_app.server.tool_format import (
    OutputSplitter,
    ToolChoiceError,
    declarations,
    prompt_messages,
)

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


def test_a_tool_round_trip_becomes_glm_turns():
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"function": {"name": "now", "arguments": ""}},
            ],
        },
        {"role": "tool", "content": "sunny, 21 C"},
        {"role": "tool", "content": ""},
    ]
    assert prompt_messages(history) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Let me look."},
        {"role": "assistant", "metadata": "get_weather", "content": '{"city": "Paris"}'},
        {
            "role": "assistant",
            "metadata": "now",
            "content": "{}",
        },  # never empty: GLM drops empty turns
        {"role": "observation", "metadata": "", "content": "sunny, 21 C"},
        {"role": "observation", "metadata": "", "content": "[no output]"},
    ]


RAW = 'I will check.<|assistant|>get_weather\n{"city": "Paris", "unit": "C"}'


@pytest.mark.parametrize("size", [1, 3, 7, len(RAW)])
def test_raw_output_splits_into_content_and_tool_calls_in_any_chunks(size):
    splitter = OutputSplitter(["get_weather"])
    text = "".join(splitter.feed(RAW[i : i + size]) for i in range(0, len(RAW), size))
    tail, calls = splitter.finish()
    assert text + tail == "I will check."
    assert [(c["type"], c["function"]["name"]) for c in calls] == [("function", "get_weather")]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris", "unit": "C"}
    assert calls[0]["id"].startswith("call_")


def test_prose_that_starts_like_a_name_stays_prose():
    splitter = OutputSplitter(["get_weather"])
    text = splitter.feed("get well soon\nand rest.")
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
    answer = Answer(["get_weather"], [])
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


def scope(path="/", headers=(), client=("203.0.113.9", 50000), method="GET", kind="http"):
    return {
        "type": kind,
        "path": path,
        "method": method,
        "headers": list(headers),
        "client": client,
        "query_string": b"",
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
