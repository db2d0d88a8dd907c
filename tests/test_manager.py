"""Models load once per process, in the background, shared by every session."""

from __future__ import annotations

import json
import threading
import time

import pytest

from glm4_app.backend.loader import trust_remote_code, weight_shards
from glm4_app.backend.manager import LoadJob, ModelManager
from glm4_app.settings import Settings


def test_one_load_shared_by_every_session(tiny_glm_path):
    manager = ModelManager()
    settings = Settings(chat_model=str(tiny_glm_path))
    first, second = manager.chat(settings), manager.chat(Settings(chat_model=str(tiny_glm_path)))
    assert first is second
    assert first.wait(60) and first.error is None
    assert first.result is manager.chat(settings).result
    assert "Warming up" in [str(step) for step in first.steps]
    first.result.engine.close()


def test_a_failed_load_is_shown_until_retried(tmp_path):
    manager = ModelManager()
    settings = Settings(chat_model=str(tmp_path / "missing"))
    job = manager.chat(settings)
    assert job.wait(60)
    assert job.result is None and "No model folder" in str(job.error.title)
    assert manager.chat(settings) is job  # every session sees the same failure
    manager.forget_failed(settings)
    assert manager.chat(settings) is not job


def test_a_load_that_waited_for_another_counts_its_own_time():
    holding, release = threading.Event(), threading.Event()
    first = LoadJob(lambda job: holding.set() or release.wait(30))
    assert holding.wait(10)  # the first load holds the one-load-at-a-time lock
    second = LoadJob(lambda job: "loaded")
    while not second.steps:
        time.sleep(0.01)
    assert str(second.steps[-1]) == "Waiting for another model to finish loading"
    released_at = time.monotonic()
    release.set()
    assert first.wait(10) and second.wait(10) and second.result == "loaded"
    assert second.started_at >= released_at  # its load began when the first one's ended


@pytest.mark.parametrize(
    "setting,source,allowed",
    [
        ("auto", "THUDM/glm-4-9b-chat", True),
        ("auto", "zai-org/glm-4v-9b", True),
        ("auto", "someone/glm-4-9b-chat", False),
        ("auto", "THUDM/glm-4-9b-chat-hf", False),
        ("false", "THUDM/glm-4-9b-chat", False),
        ("true", "someone/custom", True),
    ],
)
def test_remote_code_is_trusted_only_when_meant(setting, source, allowed):
    assert trust_remote_code(Settings(trust_remote_code=setting), source) is allowed


def test_weight_shards_come_from_the_index(tmp_path):
    index = {"weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                            "c": "model-00001-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert weight_shards(tmp_path) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert weight_shards(tmp_path / "nothing") == ["model.safetensors"]
