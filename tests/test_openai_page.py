"""The Chat page served by a vLLM-style server instead of in-process models (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from openai_server import OpenAIServer, Reply

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def own_markdown(bubble) -> str:
    return "\n".join(c.value for c in bubble.children.values() if c.type == "markdown")


@pytest.mark.timeout(120)
def test_chat_page_answers_from_the_server_and_keeps_a_cut_answer(tmp_path, monkeypatch, tiny_glm_path):
    server = OpenAIServer()
    try:
        monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("GLM4_BACKEND", "openai")
        monkeypatch.setenv("GLM4_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("GLM4_OPENAI_TOKENIZER", str(tiny_glm_path))
        server.replies = [Reply("Hello from **vLLM**!"), Reply("A long answer that breaks", drop_after=2)]
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        at.chat_input[0].set_value("Hi").run()
        assert not at.exception
        assert own_markdown(at.chat_message[1]) == "Hello from **vLLM**!"
        assert "served by" in at.sidebar.markdown[0].value or any(
            "served by" in c.value for c in at.sidebar.caption
        )

        at.chat_input[0].set_value("Tell me more").run()
        assert own_markdown(at.chat_message[3]) == "A long a"  # the partial text is kept
        assert "broke in the middle" in at.chat_message[3].error[0].value
        assert server.prompts()[1].endswith("<|user|>\nTell me more<|assistant|>")
    finally:
        server.close()
