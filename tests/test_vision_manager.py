"""Chat and vision models side by side: loaded once, never reloaded on a mode switch, and
under a memory budget the unused one is really freed."""

from __future__ import annotations

import gc
import weakref

import pytest

from glm4_app.backend.loader import LoadError
from glm4_app.backend.manager import ModelManager
from glm4_app.backend.vision_loader import load_vision_model
from glm4_app.settings import Settings


def loaded(job):
    assert job.wait(120), "load did not finish"
    assert job.error is None, job.error
    return job.result


@pytest.mark.timeout(180)
def test_switching_modes_back_and_forth_never_reloads(tiny_glm_path, tiny_glm4v_path):
    manager = ModelManager()
    settings = Settings(chat_model=str(tiny_glm_path), vision_model=str(tiny_glm4v_path))
    chat, vision = loaded(manager.chat(settings)), loaded(manager.vision(settings))
    try:
        for _ in range(3):  # Chat page, Vision page, Chat page...
            assert loaded(manager.chat(settings)) is chat
            assert loaded(manager.vision(Settings(**vars(settings)))) is vision
        assert {kind for kind, _ in manager.resident()} == {"chat", "vision"}
        assert chat.engine._thread.is_alive() and vision.engine._thread.is_alive()
    finally:
        chat.engine.close()
        vision.engine.close()


@pytest.mark.timeout(180)
def test_over_the_budget_the_other_model_is_unloaded_and_freed(tiny_glm_path, tiny_glm4v_path):
    manager = ModelManager()
    # Each tiny model is about a megabyte: a 1 MiB budget holds one of them, not both.
    settings = Settings(chat_model=str(tiny_glm_path), vision_model=str(tiny_glm4v_path), model_memory_mb=1)
    chat = loaded(manager.chat(settings))
    chat_model, chat_engine = weakref.ref(chat.loaded.model), chat.engine
    del chat
    vision = loaded(manager.vision(settings))
    assert [kind for kind, _ in manager.resident()] == ["vision"]
    gc.collect()
    assert chat_model() is None, "the chat model is still referenced somewhere"
    assert not chat_engine._thread.is_alive()
    vision_model = weakref.ref(vision.loaded.model)
    del vision
    chat = loaded(manager.chat(settings))  # back to Chat: reloaded, and vision makes room
    gc.collect()
    assert vision_model() is None and [kind for kind, _ in manager.resident()] == ["chat"]
    chat.engine.close()


def test_a_roomy_budget_keeps_both(tiny_glm_path, tiny_glm4v_path):
    manager = ModelManager()
    settings = Settings(chat_model=str(tiny_glm_path), vision_model=str(tiny_glm4v_path), model_memory_mb=1024)
    chat, vision = loaded(manager.chat(settings)), loaded(manager.vision(settings))
    assert {kind for kind, _ in manager.resident()} == {"chat", "vision"}
    chat.engine.close()
    vision.engine.close()


def test_a_chat_checkpoint_is_refused_as_vision_model_with_words(tiny_glm_path):
    with pytest.raises(LoadError, match="not a vision model"):
        load_vision_model(str(tiny_glm_path), Settings(vision_model=str(tiny_glm_path)))


def test_a_failed_vision_load_is_shown_until_retried(tmp_path):
    manager = ModelManager()
    settings = Settings(vision_model=str(tmp_path / "missing"))
    job = manager.vision(settings)
    assert job.wait(60) and "No model folder" in str(job.error.title) and "GLM4_VISION_MODEL" in str(job.error.hint)
    assert manager.vision(settings) is job
    manager.forget_failed(settings, "vision")
    assert manager.vision(settings) is not job
