"""Loading checkpoints: quantised, failing in every way users meet, and the auto choice."""

from __future__ import annotations

import shutil

import pytest

from glm4_app.backend.chat_backend import InProcessChatBackend
from glm4_app.backend.engine import Engine
from glm4_app.backend.loader import LoadError, load_model
from glm4_app.backend.manager import choose_chat_model, load_chat_backend
from glm4_app.backend.offline import OFFLINE_MODEL_ID
from glm4_app.events import Done, TextDelta
from glm4_app.generation import GenerationParams
from glm4_app.settings import Settings


def answer(backend, text="Hello there", max_new_tokens=12):
    params = GenerationParams(temperature=0, max_new_tokens=max_new_tokens)
    events = list(backend.stream([{"role": "user", "content": text}], params))
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1]


@pytest.mark.parametrize("quantization,layer_class", [("4bit", "Linear4bit"), ("8bit", "Linear8bitLt")])
def test_quantised_loading_on_cpu_generates(tiny_glm_path, quantization, layer_class):
    settings = Settings(chat_model=str(tiny_glm_path), quantization=quantization)
    loaded = load_model(str(tiny_glm_path), settings)
    layers = {type(m).__name__ for m in loaded.model.modules()}
    assert layer_class in layers
    assert loaded.precision in ("4-bit nf4", "8-bit")
    engine = Engine(loaded.model, loaded.tokenizer, eos_token_ids=[], context_window=loaded.context_window)
    try:
        text, last = answer(InProcessChatBackend(loaded, engine))
    finally:
        engine.close()
    assert isinstance(last, Done) and last.stats.completion_tokens == 12 and text


def test_unknown_local_path_says_what_to_set(tmp_path):
    with pytest.raises(LoadError) as err:
        load_model(str(tmp_path / "nope"), Settings())
    assert "No model folder" in str(err.value.title)
    assert "GLM4_CHAT_MODEL" in str(err.value.hint)


def test_unknown_hub_id_offline_says_weights_are_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(LoadError) as err:
        load_model("THUDM/glm-4-9b-chat-hf", Settings())
    assert "Could not find the model" in str(err.value.title)
    assert "cache" in str(err.value.hint)


def test_corrupt_checkpoint_is_named_corrupt(tiny_glm_path, tmp_path):
    broken = shutil.copytree(tiny_glm_path, tmp_path / "broken")
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    with pytest.raises(LoadError) as err:
        load_model(str(broken), Settings())
    assert "corrupt or incomplete" in str(err.value.title)


def test_model_without_chat_template_is_refused(tiny_glm_path, tmp_path):
    base = shutil.copytree(tiny_glm_path, tmp_path / "base")
    (base / "chat_template.jinja").unlink()
    with pytest.raises(LoadError) as err:
        load_model(str(base), Settings())
    assert "no chat template" in str(err.value.title)


def test_float16_is_refused_for_glm(tiny_glm_path):
    with pytest.raises(LoadError) as err:
        load_model(str(tiny_glm_path), Settings(dtype="float16"))
    assert "bfloat16" in str(err.value.hint)


def test_cuda_requested_without_a_gpu(tiny_glm_path):
    with pytest.raises(LoadError) as err:
        load_model(str(tiny_glm_path), Settings(device="cuda"))
    assert "no CUDA GPU" in str(err.value.title)


def test_loading_reports_its_steps(tiny_glm_path):
    steps = []
    load_model(str(tiny_glm_path), Settings(), steps.append)
    steps = [str(step) for step in steps]
    assert steps[0] == "Reading configuration"
    assert any(s.startswith("Loading weights (float32 on cpu)") for s in steps)
    assert steps[-1] == "Warming up"


def test_max_context_setting_caps_the_window(tiny_glm_path):
    assert load_model(str(tiny_glm_path), Settings(max_context=1000)).context_window == 1000
    assert load_model(str(tiny_glm_path), Settings()).context_window == 4096


@pytest.mark.parametrize(
    "chat_model,gpu,expected",
    [
        ("auto", True, ("THUDM/glm-4-9b-chat-hf", True)),
        ("auto", False, (OFFLINE_MODEL_ID, False)),
        ("THUDM/GLM-Z1-9B-0414", False, ("THUDM/GLM-Z1-9B-0414", False)),  # explicit wins
        ("/models/glm", True, ("/models/glm", False)),
    ],
)
def test_auto_model_choice(chat_model, gpu, expected):
    assert choose_chat_model(Settings(chat_model=chat_model), gpu) == expected


def test_auto_on_a_gpu_without_reachable_weights_falls_back_to_the_offline_model(
    offline_data_dir, monkeypatch, tmp_path
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr("glm4_app.backend.manager.gpu_available", lambda: True)
    monkeypatch.setattr("glm4_app.backend.loader.resolve_device", lambda setting: "cpu")
    steps = []
    backend = load_chat_backend(Settings(data_dir=offline_data_dir), steps.append)
    try:
        assert backend.info.name == "SmolLM2-135M-Instruct"
        assert "THUDM/glm-4-9b-chat-hf could not be loaded" in str(backend.info.notice)
        assert "GLM4_CHAT_MODEL" in str(backend.info.notice)
        assert any("loading the offline model instead" in str(s) for s in steps)
    finally:
        backend.engine.close()


def test_offline_default_answers_a_factual_question(offline_data_dir):
    backend = load_chat_backend(Settings(data_dir=offline_data_dir), lambda s: None)
    try:
        assert "No GPU was found" in str(backend.info.notice)
        text, last = answer(backend, "What is the capital of France?", max_new_tokens=24)
    finally:
        backend.engine.close()
    assert "Paris" in text
    assert last.stats.finish_reason == "stop"
