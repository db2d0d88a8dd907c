"""Shared pytest fixtures.

The tiny GLM checkpoints are built once per test session (about a second each) under pytest's
temporary directory; see tests/tiny_models.py for what they do and do not imitate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tiny_models import build_tiny_checkpoint


# --- Tiny GLM checkpoints ----------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_glm_path(tmp_path_factory) -> Path:
    """Like THUDM/glm-4-9b-chat-hf: GlmForCausalLM with the glm-4-9b-chat template."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_glm"), "glm", "glm-4-9b-chat")


@pytest.fixture(scope="session")
def tiny_z1_path(tmp_path_factory) -> Path:
    """Like GLM-Z1-9B-0414: Glm4ForCausalLM with the reasoning (<think>) template."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_z1"), "glm4", "glm-z1-9b-0414")


@pytest.fixture(scope="session")
def tiny_moe_path(tmp_path_factory) -> Path:
    """Like GLM-4.5-Air / GLM-4.6: Glm4MoeForCausalLM with the GLM-4.6 template."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_moe"), "glm4_moe", "glm-4.6")


@pytest.fixture(scope="session")
def glm46_tokenizer(tiny_moe_path):
    """The tokenizer of the tiny GLM-4.6, carrying the checkpoint's template."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_moe_path))


# --- The bundled offline model -------------------------------------------------------------


@pytest.fixture(scope="session")
def offline_data_dir(tmp_path_factory) -> Path:
    """A data dir holding the converted offline model (the ~25 s conversion runs once)."""
    from glm4_app.backend.offline import ensure_converted

    data_dir = tmp_path_factory.mktemp("offline_data")
    ensure_converted(data_dir)
    return data_dir


# --- Loaded tiny models and engines ----------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_glm(tiny_glm_path):
    """The tiny GlmForCausalLM loaded through the app's own loader."""
    from glm4_app.backend.loader import load_model
    from glm4_app.settings import Settings

    return load_model(str(tiny_glm_path), Settings(chat_model=str(tiny_glm_path)))


@pytest.fixture(scope="session")
def tiny_z1(tiny_z1_path):
    from glm4_app.backend.loader import load_model
    from glm4_app.settings import Settings

    return load_model(str(tiny_z1_path), Settings(chat_model=str(tiny_z1_path)))


# --- Vision ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_glm4v_path(tmp_path_factory) -> Path:
    """Like zai-org/GLM-4.1V-9B-Thinking: Glm4vForConditionalGeneration, image processor, tokenizer."""
    from tiny_models import build_tiny_glm4v_checkpoint

    return build_tiny_glm4v_checkpoint(tmp_path_factory.mktemp("tiny_glm4v"))


@pytest.fixture(scope="session")
def tiny_vision(tiny_glm4v_path):
    """The tiny GLM-4.1V loaded through the app's vision loader, behind a running engine."""
    from glm4_app.backend.manager import load_vision_backend
    from glm4_app.settings import Settings

    backend = load_vision_backend(Settings(vision_model=str(tiny_glm4v_path)), lambda step: None)
    yield backend
    backend.engine.close()


# --- Browser tests -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, one per browser test module (each test makes its own
    contexts: cookies and sessions of their own)."""
    from browser_helpers import chromium

    with chromium() as browser:
        yield browser
