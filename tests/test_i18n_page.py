"""Switching the UI language on the real pages (AppTest, scripted model): labels, the
answer's metrics and errors from other modules change language, and the choice survives
a page switch and a refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from glm4_app.events import Error
from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.ui import state

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SWITCH = "ui_language_switch"


@pytest.fixture
def open_app(tmp_path, monkeypatch):
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))

    def open_(backend=None, lang: str | None = None) -> AppTest:
        backend = backend or ScriptedBackend(["Hi!"], info=ModelInfo(name="scripted", context_window=4096))
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=30)
        if lang is not None:
            at.query_params["lang"] = lang
        at.run()
        assert not at.exception, at.exception
        return at

    return open_


def labels(at: AppTest) -> dict[str, str]:
    return {
        "new": at.sidebar.button[0].label,
        "placeholder": at.chat_input[0].placeholder,
        "generation": at.sidebar.expander[0].label,
        "temperature": at.sidebar.slider[0].label,
        "system": at.sidebar.text_area[0].label,
        "clear": at.sidebar.button[-1].label,
        "greeting": at.main.markdown[0].value,
    }


def switch(at: AppTest, lang: str) -> AppTest:
    at.selectbox(key=SWITCH).set_value(lang).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.timeout(120)
def test_chat_page_switches_to_chinese_and_back(open_app):
    at = open_app()
    english = labels(at)
    assert english == {
        "new": "➕ New chat",
        "placeholder": "Message the model…",
        "generation": "⚙️ Generation",
        "temperature": "Temperature",
        "system": "System prompt",
        "clear": "🗑 Clear conversation",
        "greeting": "#### What can I help you with?",
    }
    at.sidebar.slider[0].set_value(1.5).run()  # a setting the user made survives the switch
    switch(at, "zh")
    assert at.sidebar.slider[0].value == 1.5
    assert labels(at) == {
        "new": "➕ 新对话",
        "placeholder": "给模型发消息…",
        "generation": "⚙️ 生成参数",
        "temperature": "温度",
        "system": "系统提示词",
        "clear": "🗑 清空对话",
        "greeting": "#### 有什么可以帮你的？",
    }
    assert at.query_params["lang"] == "zh"  # a refresh keeps it
    assert [link.label for link in at.sidebar.get("page_link")] == ["对话", "全部工具", "长文档"]

    at.chat_input[0].set_value("Hello").run()  # what the user and the model write is untouched
    bubble = at.chat_message[-1]
    assert bubble.markdown[0].value == "Hi!"
    assert "首字延迟" in bubble.caption[0].value and "上下文" in bubble.caption[0].value
    assert at.button(key="regenerate").label == "🔄 重新生成"

    switch(at, "en")
    assert labels(at)["new"] == "➕ New chat"
    assert "s to first token" in at.chat_message[-1].caption[0].value
    assert at.query_params["lang"] == "en"


@pytest.mark.timeout(120)
def test_language_from_url_setting_and_across_pages(open_app, monkeypatch):
    assert labels(open_app(lang="zh"))["new"] == "➕ 新对话"  # ?lang=zh: a refreshed page
    monkeypatch.setenv("GLM4_LANGUAGE", "zh")
    at = open_app()
    assert labels(at)["new"] == "➕ 新对话"
    assert at.selectbox(key=SWITCH).value == "zh"
    switch(at, "en")
    at.switch_page("pages/documents.py").run()  # the choice outlives the page's widgets
    assert not at.exception, at.exception
    assert at.chat_input[0].placeholder == "Ask about your documents…"
    switch(at, "zh")
    at.switch_page("app.py").run()
    assert labels(at)["placeholder"] == "给模型发消息…"


@pytest.mark.timeout(120)
def test_errors_from_the_engine_show_in_chinese(open_app):
    class Busy(ScriptedBackend):
        def stream(self, messages, params, tools=None, cache_key=None):
            yield Error("The server is busy: 32 requests are already waiting. Try again in a moment.", "queue_full")

    at = open_app(Busy([], info=ModelInfo(name="scripted", context_window=4096)), lang="zh")
    at.chat_input[0].set_value("Hello").run()
    assert at.error[0].value == "服务器繁忙：已有 32 个请求在排队。请稍后再试。"


@pytest.mark.timeout(120)
def test_a_refused_upload_is_explained_in_chinese(open_app):
    at = open_app(lang="zh")
    at.switch_page("pages/documents.py").run()
    assert at.main.expander[0].label == "📎 文档（0）"
    assert at.chat_input[0].placeholder == "针对你的文档提问…"
    at.file_uploader[0].set_value([("notes.txt", b"", "text/plain")]).run()
    assert not at.exception, at.exception
    assert at.error[0].value == "**notes.txt**：notes.txt 是空文件（0 字节）。"
