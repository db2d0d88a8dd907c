"""What the AppTest page tests do as a user: type and send, attach files."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, *files) -> AppTest:
    at.file_uploader[0].set_value(list(files)).run()
    assert not at.exception, at.exception
    return at
