"""Shared parts of the OpenAI-backend tests: a vLLM-style server per test, a backend on it
rendering prompts with the tiny GLM checkpoint's tokenizer, and event helpers."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from glm4_app.backend.openai_backend import OpenAIBackend
from glm4_app.backend.openai_connect import connect_openai_backend
from glm4_app.events import Error, TextDelta
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings
from openai_server import OpenAIServer

PARAMS = GenerationParams(max_new_tokens=256)
QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]


@pytest.fixture(scope="module")
def tokenizer(tiny_glm_path):
    return AutoTokenizer.from_pretrained(str(tiny_glm_path))


@pytest.fixture
def server(tokenizer):
    # The server's usage counts the prompt with the same tokenizer, as vLLM would.
    srv = OpenAIServer(count_prompt=lambda p: len(tokenizer(p, add_special_tokens=False)["input_ids"]))
    yield srv
    srv.close()


def settings_for(server: OpenAIServer, tokenizer_source, **changes) -> Settings:
    return Settings(
        backend="openai",
        openai_base_url=server.base_url,
        openai_tokenizer=str(tokenizer_source),
        **changes,
    )


@pytest.fixture
def backend(server, tiny_glm_path) -> OpenAIBackend:
    return connect_openai_backend(settings_for(server, tiny_glm_path), lambda step: None)


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def errors(events) -> list[Error]:
    return [e for e in events if isinstance(e, Error)]
