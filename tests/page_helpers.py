"""What the AppTest page tests do as a user: type and send, attach files; and ending a page's kernel."""

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


def stop_toolbox(at: AppTest) -> None:
    """End the kernel (and MCP servers) a page's session started, as its session's end would."""
    box = at.session_state["toolbox"] if "toolbox" in at.session_state else None
    if box is not None:
        box.shutdown()
