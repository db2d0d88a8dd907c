"""The chat-completions backend against a real OpenAI-compatible server on this CPU:
``transformers serve`` (FastAPI, from transformers' serving extras) serving the bundled
offline model, answering the plain chat path through the official openai client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from glm4_app.backend.openai_connect import connect_openai_chat_backend
from glm4_app.events import Done, TextDelta
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings


@pytest.fixture(scope="module")
def served(offline_data_dir):
    from glm4_app.backend.offline import FOLDER_NAME

    folder = next(offline_data_dir.rglob(FOLDER_NAME))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [str(cli), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("transformers serve did not start within 120 s")
            time.sleep(0.5)
        yield base_url, str(folder)
    finally:
        process.kill()
        process.wait(10)


@pytest.mark.timeout(300)
def test_a_plain_chat_answer_streams_from_transformers_serve(served):
    base_url, model = served
    backend = connect_openai_chat_backend(Settings(backend="openai-chat", openai_base_url=base_url), lambda s: None)
    assert backend.model == model  # the server's only model, from /v1/models
    question = [{"role": "user", "content": "What is the capital of France?"}]
    events = list(backend.stream(question, GenerationParams(temperature=0, max_new_tokens=8)))
    assert isinstance(events[-1], Done), events[-1]
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "Paris" in answer
    stats = events[-1].stats
    assert stats.prompt_tokens > 10 and 1 <= stats.completion_tokens <= 8  # the server's usage
    assert stats.finish_reason in ("stop", "length")
