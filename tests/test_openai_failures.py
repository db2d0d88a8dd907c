"""The OpenAI-compatible backend when things go wrong: every failure is an Error event in
words (which URL, which setting), partial text is kept, and Stop hangs up on the server.

Against the real HTTP server of tests/openai_server.py (vLLM's streaming protocol).
"""

from __future__ import annotations

import socket

import pytest

from glm4_app.backend.loader import LoadError
from glm4_app.backend.openai_connect import connect_openai_backend
from glm4_app.events import Done, Error, Started, TextDelta
from glm4_app.settings import Settings
from openai_helpers import PARAMS, QUESTION, backend, errors, server, settings_for, text_of, tokenizer  # noqa: F401 (fixtures)
from openai_server import OpenAIServer, Reply


def test_a_missing_image_is_a_clear_error_before_any_request(backend, server, tmp_path):
    messages = [{"role": "user", "content": "And this?", "images": [str(tmp_path / "gone.png")]}]
    (event,) = list(backend.stream(messages, PARAMS))
    assert isinstance(event, Error) and "gone.png" in str(event.message) and "upload it again" in str(event.message)
    assert server.requests == []


@pytest.mark.parametrize("cleanly", [False, True], ids=["connection-lost", "body-ended-without-done"])
def test_a_dropped_connection_keeps_the_partial_text_and_says_it_was_cut(backend, server, cleanly):
    server.replies = [Reply("The answer is forty-two, because", chunk_chars=4, drop_after=3, drop_cleanly=cleanly)]
    events = list(backend.stream(QUESTION, PARAMS))
    assert text_of(events) == "The answer i"
    (error,) = errors(events)
    assert "broke in the middle of the answer" in str(error.message) and "kept" in str(error.message)
    assert not any(isinstance(e, Done) for e in events)


@pytest.mark.parametrize(
    "status, said, kind, words",
    [
        (500, "EngineCore encountered an issue.", "backend", "HTTP 500"),
        (400, "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", "context", "rejected"),
        (429, "Too many requests", "queue_full", "busy"),
    ],
)
def test_http_errors_are_shown_with_the_servers_own_words(backend, server, status, said, kind, words):
    server.replies = [Reply(status=status, error=said)]
    events = list(backend.stream(QUESTION, PARAMS))
    assert {type(e) for e in events[:-1]} == {Started} and isinstance(events[-1], Error)  # heartbeats, then the error
    assert events[-1].kind == kind and said in str(events[-1].message) and words in str(events[-1].message)
    # The client retried what may pass (busy, server errors) twice with backoff, not a bad request.
    assert len(server.requests) == (1 if status == 400 else 3)


def test_an_unknown_model_lists_what_the_server_offers(backend, server):
    server.replies = [Reply("never sent")]
    backend.model = "glm-5-huge"
    (error,) = errors(backend.stream(QUESTION, PARAMS))
    assert "'glm-5-huge'" in str(error.message) and "It serves: glm-test" in str(error.message)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_names_the_url_at_start_and_mid_conversation(backend, tiny_glm_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(LoadError) as raised:
        connect_openai_backend(Settings(backend="openai", openai_base_url=url), lambda step: None)
    assert url in str(raised.value.hint) and "vllm serve" in str(raised.value.hint)
    backend.base_url = url  # the server went away after the app connected
    (error,) = errors(backend.stream(QUESTION, PARAMS))
    assert url in str(error.message) and "Is the server running there" in str(error.message)


@pytest.mark.timeout(30)
def test_a_silent_server_times_out_with_a_clear_message(server, tiny_glm_path):
    backend = connect_openai_backend(settings_for(server, tiny_glm_path, openai_timeout_s=1), lambda s: None)
    server.replies = [Reply("too late", silent_s=10)]
    (error,) = errors(backend.stream(QUESTION, PARAMS))
    assert "sent nothing for 1 s" in str(error.message) and "GLM4_OPENAI_TIMEOUT_S" in str(error.message)


@pytest.mark.timeout(30)
def test_stop_closes_the_stream_and_the_server_sees_the_client_hang_up(backend, server):
    server.replies = [Reply(endless=True)]
    stream = backend.stream(QUESTION, PARAMS)
    received = 0
    for event in stream:
        received += isinstance(event, TextDelta)
        if received == 3:
            break
    stream.close()  # what Stop does
    assert server.hung_up.wait(20)


def test_the_api_key_is_sent_and_a_wrong_one_is_explained(tiny_glm_path, tokenizer):
    server = OpenAIServer(api_key="sekret")
    try:
        with pytest.raises(LoadError) as raised:
            connect_openai_backend(settings_for(server, tiny_glm_path, openai_api_key="wrong"), lambda s: None)
        assert "API key" in str(raised.value.title) and "GLM4_OPENAI_API_KEY" in str(raised.value.hint)
        backend = connect_openai_backend(settings_for(server, tiny_glm_path, openai_api_key="sekret"), lambda s: None)
        server.replies = [Reply("Hello.")]
        assert text_of(backend.stream(QUESTION, PARAMS)) == "Hello."
        headers = {k.lower(): v for k, v in server.requests[-1].headers.items()}
        assert headers["authorization"] == "Bearer sekret"
    finally:
        server.close()


def test_a_prompt_longer_than_the_servers_window_is_refused_before_sending(server, tiny_glm_path):
    server.max_model_len = 64
    backend = connect_openai_backend(settings_for(server, tiny_glm_path), lambda s: None)
    (error,) = errors(backend.stream([{"role": "user", "content": "word " * 200}], PARAMS))
    assert error.kind == "context" and "at most 64" in str(error.message)
    assert server.requests == []


@pytest.mark.timeout(30)
def test_stop_while_the_server_reads_the_prompt_is_heard_and_the_request_dropped(backend, server):
    server.replies = [Reply(endless=True, silent_s=25)]  # a long prefill: nothing to read yet
    stream = backend.stream(QUESTION, PARAMS)
    heartbeats = 0
    for event in stream:
        assert isinstance(event, Started)  # heartbeats let the page notice a Stop click
        heartbeats += 1
        if heartbeats == 3:
            break
    stream.close()
    server.release.set()  # the server starts answering; the client has hung up by then
    assert server.hung_up.wait(20)
