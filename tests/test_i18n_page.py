"""Switching the UI language on the real pages (AppTest, scripted model): labels, the
answer's metrics and errors from other modules change language, and the choice survives
a page switch and a refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from glm4_app.conversation import DEFAULT_TITLE, Conversation
from glm4_app.events import Error
from glm4_app.generation import ModelInfo
from glm4_app.messages import Message
from glm4_app.notices import Notice
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SWITCH = "ui_language_switch"


@pytest.fixture
def local_server():
    """A server on this machine only: no open-server banner above the errors under test."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", before)


@pytest.fixture
def open_app(tmp_path, monkeypatch, local_server):
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))

    def open_(backend=None, lang: str | None = None, **query: str) -> AppTest:
        backend = backend or ScriptedBackend(["Hi!"], info=ModelInfo(name="scripted", context_window=4096))
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=30)
        if lang is not None:
            at.query_params["lang"] = lang
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, at.exception
        return at

    return open_


def labels(at: AppTest) -> dict[str, str]:
    return {
        "new": at.sidebar.button[0].label,
        "placeholder": at.chat_input[0].placeholder,
        "generation": next(e.label for e in at.sidebar.expander if e.slider),  # after 📥 Import
        "import": next(e.label for e in at.sidebar.expander if e.file_uploader),
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
        "import": "📥 Import",
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
        "import": "📥 导入",
        "temperature": "温度",
        "system": "系统提示词",
        "clear": "🗑 清空对话",
        "greeting": "#### 有什么可以帮你的？",
    }
    assert at.query_params["lang"] == "zh"  # a refresh keeps it
    assert [link.label for link in at.sidebar.get("page_link")] == ["对话", "全部工具", "长文档", "视觉理解"]

    at.chat_input[0].set_value("Hello").run()  # what the user and the model write is untouched
    bubble = at.chat_message[-1]
    assert bubble.markdown[0].value == "Hi!"
    assert "首字延迟" in bubble.caption[0].value and "上下文" in bubble.caption[0].value
    assert at.button(key="regenerate").label == "🔄 重新生成"
    assert at.text_input(key="history_query").placeholder == "🔎 搜索标题和消息"  # the history panel
    assert "📝 当前对话" in [e.label for e in at.sidebar.expander]
    at.session_state["conversation_menu"] = True  # its content is drawn once it is open
    at.run()
    assert at.button(key="rename").label == "重命名" and at.button(key="delete").label == "🗑 删除"

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
def test_errors_from_the_engine_show_in_the_readers_language(open_app, tmp_path):
    """The engine says what happened as a notice; the answer keeps it as data, so it reads in
    whichever language the page is in, now and later. An English sentence saved by an older
    version shows as it is."""
    class Busy(ScriptedBackend):
        def stream(self, messages, params, tools=None, cache_key=None):
            yield Error(Notice("engine.queue_full", count=32), "queue_full")

    at = open_app(Busy([], info=ModelInfo(name="scripted", context_window=4096)), lang="zh")
    at.chat_input[0].set_value("Hello").run()
    assert at.error[0].value == "服务器繁忙：已有 32 个请求在排队。请稍后再试。"
    switch(at, "en")
    assert at.error[0].value == "The server is busy: 32 requests are already waiting. Try again in a moment."

    store = ConversationStore(tmp_path / "conversations.sqlite3")
    owner = store.load(at.query_params["c"]).owner
    old = Conversation(mode="chat", owner=owner)
    old.add_user("Hello")
    old.add_answer("").error = "The model ran out of memory (saved by an older version)."
    store.save(old)
    again = AppTest.from_file(APP, default_timeout=30)
    again.query_params["c"], again.query_params["lang"] = old.id, "zh"
    again.run()
    assert again.error[0].value == "The model ran out of memory (saved by an older version)."


@pytest.mark.timeout(120)
def test_tool_failures_and_untitled_chats_read_in_chinese(open_app, tmp_path):
    """A tool's failure is kept as a notice beside the English the model read, so the step box
    shows it in the reader's language; a step saved before notices shows its text as it was.
    An untitled conversation is listed under the reader's words for "New chat"."""
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    failed = {"kind": "python.no_kernel", "values": {"error": "no kernel today"}}
    conversation = Conversation(mode="chat", owner="alice", messages=[
        Message("user", "Run it"),
        Message("assistant", "print(1)", metadata="python"),
        Message.from_dict({"role": "observation", "content": "Could not start the Python kernel: no kernel today",
                           "is_error": True, "notices": [failed]}),
        Message("assistant", "print(2)", metadata="python"),
        Message("observation", "Could not start the Python kernel: saved long ago", is_error=True),
        Message("assistant", "It failed."),
    ])
    store.save(conversation)
    at = open_app(lang="zh", u="alice", c=conversation.id)
    steps = at.get("status")
    assert [s.label for s in steps] == ["🐍 运行了 Python（失败）"] * 2
    assert [c.value for c in steps[0].code] == ["print(1)", "无法启动 Python 内核：no kernel today"]
    assert [c.value for c in steps[1].code] == ["print(2)", "Could not start the Python kernel: saved long ago"]
    assert conversation.title == DEFAULT_TITLE
    assert "▸ 新对话" in [b.label for b in at.sidebar.button]
    switch(at, "en")
    assert [c.value for c in at.get("status")[0].code][-1] == "Could not start the Python kernel: no kernel today"
    assert "▸ New chat" in [b.label for b in at.sidebar.button]


@pytest.mark.timeout(120)
def test_a_refused_upload_is_explained_in_chinese(open_app):
    at = open_app(lang="zh")
    at.switch_page("pages/documents.py").run()
    assert at.main.expander[0].label == "📎 文档（0）"
    assert at.chat_input[0].placeholder == "针对你的文档提问…"
    at.file_uploader[0].set_value([("notes.txt", b"", "text/plain")]).run()
    assert not at.exception, at.exception
    assert at.error[0].value == "**notes.txt**：notes.txt 是空文件（0 字节）。"


@pytest.fixture
def fresh_counters():
    """Limits are counted per process; each test starts from zero."""
    from glm4_app import limits

    limits._shared.cache_clear()
    yield
    limits._shared.cache_clear()


@pytest.mark.timeout(120)
def test_sign_in_prompt_account_corner_and_a_limit_refusal_in_chinese(open_app, monkeypatch, tmp_path, fresh_counters):
    from argon2 import PasswordHasher

    from glm4_app.accounts import AccountStore
    from glm4_app.ui import identity

    monkeypatch.setenv("GLM4_AUTH", "password")
    monkeypatch.setenv("GLM4_USER_REQUESTS_PER_MINUTE", "1")
    monkeypatch.setenv("GLM4_API", "on")
    browser: dict[str, str] = {}
    monkeypatch.setattr(identity, "cookies", lambda: dict(browser))
    at = open_app(lang="zh")
    assert at.main.markdown[0].value == "### 登录"
    assert at.info[0].value == "你已退出登录，或登录已过期。请登录后继续。"
    assert not at.chat_input

    store = AccountStore(tmp_path / "conversations.sqlite3", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    alice = store.add_user("alice", "secret words", "admin")
    browser["glm4_session"] = store.start_session(alice, days=1)
    at.run()
    assert not at.exception, at.exception
    assert "已登录：**alice** · 管理员" in [c.value for c in at.sidebar.caption]
    assert [e.label for e in at.sidebar.expander][:2] == ["🔑 API 密钥", "👥 账号"]

    for question in ("Q1", "Q2"):  # one answer a minute: the second is refused, and kept
        at.chat_input[0].set_value(question).run()
        assert not at.exception, at.exception
    warning = at.warning[0].value
    assert "你在过去一分钟内已请求 1 次回答" in warning and "秒后再试" in warning
    assert "你的消息已保留" in warning and "Try again" not in warning
    assert at.button(key="regenerate").label == "▶️ 回答"


@pytest.mark.timeout(120)
def test_vision_page_in_chinese(open_app, monkeypatch):
    import io

    from PIL import Image

    from glm4_app.vision.profiles import GLM_4V_9B

    monkeypatch.delenv("GLM4_VISION_MODEL", raising=False)
    at = open_app(lang="zh")
    assert [link.label for link in at.sidebar.get("page_link")][-1] == "视觉理解"
    at.switch_page("pages/vision.py").run()  # no vision model: the setup explanation
    assert not at.exception, at.exception
    text = at.info[0].value
    assert text.startswith("**视觉理解模式需要视觉模型") and "GLM4_VISION_MODEL=THUDM/glm-4v-9b" in text
    assert "Vision mode" not in text and not at.chat_input

    backend = ScriptedBackend(["A picture."], info=ModelInfo(name="scripted", context_window=4096))
    backend.profile = GLM_4V_9B
    monkeypatch.setattr(state, "vision_backend", lambda settings: backend)
    at.run()
    assert not at.exception, at.exception
    assert at.main.expander[0].label == "🖼 添加图片（已添加 0 张）"
    assert at.chat_input[0].placeholder == "针对图片提问…"

    def png(colour: str) -> tuple[str, bytes, str]:
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), colour).save(buffer, "PNG")
        return (f"{colour}.png", buffer.getvalue(), "image/png")

    at.file_uploader[0].set_value([png("red"), png("blue"), ("empty.png", b"", "image/png")]).run()
    assert not at.exception, at.exception
    assert at.error[0].value == "empty.png 是空文件。"  # vision/images.py's sentence, translated
    assert at.main.expander[0].label == "🖼 添加图片（已添加 2 张）"
    at.chat_input[0].set_value("Which colours?").run()  # GLM-4V-9B reads one image
    assert not at.exception, at.exception
    assert at.warning[0].value == "GLM-4V-9B 每段对话只能读取一张图片，你添加了 2 张。请移除 1 张。"
    assert at.caption[0].value == "未发送的消息：Which colours?"
    assert at.button(key="vision_dismiss").label == "保留当前对话"
    assert backend.calls == []
