"""The All Tools page, headless (AppTest), with a scripted model and real tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_helpers import send, stop_toolbox
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from glm4_app.events import ToolOutput
from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state
from glm4_app.ui.turn import LiveView

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TOOLS_MODEL = ModelInfo(name="scripted-glm", context_window=8192, tools=True)
PLOT_CALL = (
    "I'll draw it.<|assistant|>python\n```python\nimport matplotlib.pyplot as plt\n"
    "print('points:', 3)\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('平方')\nplt.show()\n```"
)


@pytest.fixture
def open_tools_page(tmp_path, monkeypatch):
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GLM4_TOOLS_DIR", str(tmp_path / "no_user_tools"))
    monkeypatch.setenv("GLM4_HOSTED", "false")  # AppTest has no server address: local use here
    opened = []

    def open_(backend) -> AppTest:
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=90)
        at.switch_page("pages/tools.py").run()
        assert not at.exception, at.exception
        opened.append(at)
        return at

    yield open_
    for at in opened:
        stop_toolbox(at)


def test_python_plot_then_answer_is_shown_kept_and_resent(open_tools_page, tmp_path):
    backend = ScriptedBackend([PLOT_CALL, "The plot shows y = x².", "Sure."], info=TOOLS_MODEL)
    at = open_tools_page(backend)
    send(at, "Plot the squares of 1..3")

    assert [s.label for s in at.get("status")] == ["🐍 Ran Python"]
    assert len(at.get("image")) == 1, "the figure is shown inline"
    assert not at.get("status")[0].get("image"), "the figure shows without opening the step's box"
    assert "points: 3" in "".join(c.value for c in at.code)
    answer = at.chat_message[1]
    assert "I'll draw it." in [m.value for m in answer.markdown]
    assert "The plot shows y = x²." in [m.value for m in answer.markdown]

    conversation = ConversationStore(tmp_path / "conversations.sqlite3").load(at.query_params["c"])
    roles = [(m.role, m.metadata) for m in conversation.messages]
    assert roles == [("user", ""), ("assistant", ""), ("assistant", "python"), ("observation", ""), ("assistant", "")]
    image = conversation.messages[3].images[0].path
    assert Path(image).read_bytes().startswith(b"\x89PNG")

    send(at, "Thanks")  # the next turn re-sends the tool step in GLM's format
    resent = backend.calls[-1]
    assert {"role": "assistant", "metadata": "python", "content": resent[2]["content"], "step": 1} == resent[2]
    assert resent[3]["role"] == "observation" and "points: 3" in resent[3]["content"]


def test_switching_a_tool_off_removes_it_from_the_prompt(open_tools_page):
    backend = ScriptedBackend(["Hello."], info=TOOLS_MODEL)
    at = open_tools_page(backend)
    at.toggle(key=f"tool_{at.session_state['conversation_tools'].id}_python").set_value(False).run()
    send(at, "hi")
    offered = [d["type"] for d in backend.tools[-1]]
    assert "python" not in offered and "simple_browser" in offered
    assert "cogview" not in offered  # no image API configured: not offered
    assert any("GLM4_IMAGE_API_URL" in c.value for c in at.sidebar.caption)


def test_a_model_that_cannot_take_tools_is_told_clearly(open_tools_page):
    at = open_tools_page(ScriptedBackend(["x"], info=ModelInfo(name="plain", context_window=4096)))
    assert "cannot call tools" in at.warning[0].value
    assert not at.chat_input


def test_a_call_to_a_switched_off_tool_is_shown_as_not_run(open_tools_page):
    """The model writes Python while the user has it switched off: the step says the tool is
    off and nothing ran (not plain code with no notice), and the model is told so."""
    backend = ScriptedBackend(["python\nprint(1 + 1)", "I cannot run code in this chat."], info=TOOLS_MODEL)
    at = open_tools_page(backend)
    at.toggle(key=f"tool_{at.session_state['conversation_tools'].id}_python").set_value(False).run()
    send(at, "What is 1 + 1?")
    (step,) = at.get("status")
    assert step.label == "🐍 Python is switched off: the model's call was not run"
    assert any("Switch the tool on" in w.value for w in at.chat_message[1].warning)
    assert "print(1 + 1)" in "".join(c.value for c in at.code)
    observation = backend.calls[1][-1]
    assert observation["role"] == "observation" and "switched off" in observation["content"]
    assert "I cannot run code in this chat." in [m.value for m in at.chat_message[1].markdown]


SLOW_CELL = "I'll wait.<|assistant|>python\nimport time\nprint('warming up', flush=True)\ntime.sleep(60)"


def test_a_running_step_shows_its_output_live_and_stop_keeps_it(open_tools_page, monkeypatch, tmp_path):
    def follow_until_output(view):  # the run ends there, as a click on Stop ends it
        cursor = 0
        while True:
            entries, cursor, ended = view.turn.read(cursor, 0.05)
            for entry in entries:
                view.take(entry)
            if any(isinstance(e, ToolOutput) and "warming up" in e.text for e in view.turn.read(0)[0]):
                view.draw()
                raise StopException()
            assert not ended

    monkeypatch.setattr(LiveView, "follow", follow_until_output)
    at = open_tools_page(ScriptedBackend([SLOW_CELL, "unused"], info=TOOLS_MODEL))
    send(at, "Wait a minute")

    (running,) = at.get("status")
    assert running.label.startswith("🐍 Running python") and running.state == "running"
    assert "warming up" in [c.value for c in running.code][-1]
    at.button(key="stop").click().run()

    assert at.get("status") == [], "a stopped step is not drawn as complete (✓) nor failed"
    (stopped,) = [e for e in at.main.expander if e.label.startswith("🐍")]
    assert stopped.label == "🐍 Ran Python (stopped)" and stopped.icon == ":material/stop_circle:"
    output = [c.value for c in stopped.code][-1]
    assert "warming up" in output and "interrupted" in output
    conversation = ConversationStore(tmp_path / "conversations.sqlite3").load(at.query_params["c"])
    assert [(m.role, m.stopped) for m in conversation.messages[-2:]] == [("observation", True), ("assistant", True)]


def test_a_written_file_swapped_for_a_link_is_not_offered_for_download(open_tools_page, tmp_path):
    """The code may replace the file it wrote with a link to a server file once its cell has
    ended: the download button reads the file itself, never through a link."""
    write = "<|assistant|>python\nopen('/mnt/data/report.csv', 'w').write('a,b\\n1,2\\n')"
    at = open_tools_page(ScriptedBackend([write, "Written."], info=TOOLS_MODEL))
    send(at, "Write a CSV")
    assert [b.proto.label for b in at.get("download_button")] == ["⬇️ report.csv"]

    conversation = ConversationStore(tmp_path / "conversations.sqlite3").load(at.query_params["c"])
    (written,) = [Path(p) for m in conversation.messages for p in m.files]
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's secret")
    written.unlink()
    written.symlink_to(secret)
    at.run()
    assert not at.exception, at.exception
    assert at.get("download_button") == []
