"""Settings: environment > secrets > defaults, with clear errors, all documented in README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from glm4_app.settings import Settings, SettingsError, env_name, settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_without_environment():
    settings = Settings.load(env={})
    assert settings.chat_model == "auto"
    assert settings.quantization == "none"
    assert settings.max_context == 0


def test_environment_wins_over_secrets_which_win_over_defaults():
    settings = Settings.load(
        env={"GLM4_CHAT_MODEL": "THUDM/glm-4-9b-chat-hf", "GLM4_QUANTIZATION": "4BIT"},
        secrets={"chat_model": "ignored/because-env", "max_context": "32768", "data_dir": "~/glm"},
    )
    assert settings.chat_model == "THUDM/glm-4-9b-chat-hf"
    assert settings.quantization == "4bit"
    assert settings.max_context == 32768
    assert settings.data_dir == Path("~/glm").expanduser()


@pytest.mark.parametrize(
    "env,message",
    [
        ({"GLM4_QUANTIZATION": "3bit"}, "GLM4_QUANTIZATION must be one of none, 8bit, 4bit"),
        ({"GLM4_MAX_CONTEXT": "lots"}, "GLM4_MAX_CONTEXT must be a whole number"),
        ({"GLM4_QUEUE_MAX": "-1"}, "must not be negative"),
        ({"GLM4_DTYPE": "int3"}, "GLM4_DTYPE must be one of"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load(env=env)


def test_readme_documents_every_setting():
    readme = README.read_text()
    for name in Settings.__dataclass_fields__:
        assert f"`{env_name(name)}`" in readme, f"{env_name(name)} missing from README"
    assert settings_table() in readme, "README's settings table is stale: paste settings_table()"
