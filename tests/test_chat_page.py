"""The Chat page driven headless (Streamlit's AppTest) with a scripted backend.

ScriptedBackend replays raw model outputs through the same event protocol as the real engine,
so these tests cover what a user sees and does: bubbles, streaming results, metrics, Stop,
Regenerate, Edit, Clear, reasoning, errors and persistence across a refresh.
"""

from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path

import pytest
from page_helpers import send
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from glm4_app import store as conversation_store
from glm4_app.conversation import Conversation
from glm4_app.events import Error, Started, TextDelta
from glm4_app.generation import ModelInfo
from glm4_app.notices import Notice
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.turns import TURNS
from glm4_app.ui import state
from glm4_app.ui.turn import LiveView

APP = str(Path(__file__).resolve().parent.parent / "app.py")


# --- Helpers ------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh conversations database per test."""
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def open_page(data_dir, monkeypatch):
    """open_page(backend, c=None) -> the Chat page after its first run, served by ``backend``."""

    def open_(backend: ScriptedBackend, c: str | None = None) -> AppTest:
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=30)
        if c is not None:
            at.query_params["c"] = c
        at.run()
        assert not at.exception
        return at

    return open_


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception
    return at


def own_markdown(bubble) -> str:
    """The markdown written directly in a bubble: not what is inside an expander in it."""
    return "\n".join(c.value for c in bubble.children.values() if c.type == "markdown")


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    """(role, text) of every chat bubble on the page, top to bottom."""
    return [(m.name, own_markdown(m)) for m in at.chat_message]


def stored(data_dir: Path, conversation_id: str) -> Conversation | None:
    return ConversationStore(data_dir / "conversations.sqlite3").load(conversation_id)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


class HeldBackend(ScriptedBackend):
    """Writes ``pieces`` chunks of its reply, then holds, sending the heartbeats the engine
    sends while a request waits, until the answer is stopped (the turn closes the stream)."""

    def __init__(self, replies, *, pieces: int, **kwargs) -> None:
        super().__init__(replies, **kwargs)
        self.pieces = pieces
        self.closed = threading.Event()

    def stream(self, messages, params, tools=None, cache_key=None):
        seen = 0
        try:
            for event in super().stream(messages, params):
                if isinstance(event, TextDelta):
                    if seen == self.pieces:
                        break
                    seen += 1
                yield event
            while True:
                time.sleep(0.01)
                yield Started(prompt_tokens=1)
        finally:
            self.closed.set()


@pytest.fixture
def clicks_during_streaming(monkeypatch):
    """The page's run ends once the live answer shows ``chars`` characters, as a click on
    Stop does (Streamlit ends the running script at its next yield point to run the click).
    ``None``: runs follow their answers to the end again."""
    original = LiveView.follow

    def interrupt_at(chars: int | None) -> None:
        def follow(view):
            while True:
                entries, _, ended = view.turn.read(0, 0.05)
                if len("".join(e.text for e in entries if isinstance(e, TextDelta))) >= chars:
                    raise StopException()
                if ended:
                    return

        monkeypatch.setattr(LiveView, "follow", original if chars is None else follow)

    return interrupt_at


class ContextLimitBackend(ScriptedBackend):
    """Refuses prompts that do not fit its window, with the Error the in-process backend sends."""

    def stream(self, messages, params, tools=None, cache_key=None):
        prompt = self.count_tokens(messages)
        window = self.info.context_window
        if prompt < window:
            yield from super().stream(messages, params)
            return
        self.calls.append([dict(m) for m in messages])
        yield Error(Notice("engine.context_too_long", tokens=prompt, window=window), "context")


# --- Sending ------------------------------------------------------------------------------


def test_send_shows_answer_metrics_and_sends_system_prompt_and_history(open_page):
    reply = "Hello **there**!"
    backend = ScriptedBackend([reply], info=ModelInfo(name="scripted", context_window=4096))
    at = open_page(backend)
    assert at.markdown[0].value == "#### What can I help you with?"

    next(t for t in at.text_area if t.label == "System prompt").set_value("Be brief.")
    send(at, "Hi")

    assert bubbles(at) == [("user", "Hi"), ("assistant", reply)]
    assert backend.calls == [[{"role": "system", "content": "Be brief."}, user("Hi")]]

    caption = at.chat_message[1].caption[0].value
    m = re.fullmatch(
        r"⏱ \d+\.\d\d s to first token · [\d,]+\.\d tokens/s"
        r" · ([\d,]+) / 4,096 tokens of context",
        caption,
    )
    assert m, caption
    context = backend.count_tokens(backend.calls[0]) + math.ceil(len(reply) / backend.chunk_chars)
    assert m.group(1) == f"{context:,}"
    assert "What can I help you with?" not in [e.value for e in at.markdown]


def test_second_request_carries_the_first_exchange(open_page):
    backend = ScriptedBackend(["Paris.", "About two million."])
    at = open_page(backend)
    send(at, "Capital of France?")
    send(at, "Population?")

    assert bubbles(at) == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Population?"),
        ("assistant", "About two million."),
    ]
    assert backend.calls[1] == [
        user("Capital of France?"),
        assistant("Paris."),
        user("Population?"),
    ]


@pytest.mark.parametrize("text", ["", "   ", " \n\t "], ids=["empty", "spaces", "whitespace"])
def test_blank_message_is_ignored(open_page, text):
    backend = ScriptedBackend(["unused"])
    at = open_page(backend)
    send(at, text)

    assert at.chat_message.len == 0
    assert backend.calls == []
    assert [t.value for t in at.toast] == ["Empty message ignored."]


# --- Regenerate, edit, clear ------------------------------------------------------------


def test_regenerate_replaces_the_last_answer(open_page, data_dir):
    backend = ScriptedBackend(["First answer", "Second answer"])
    at = open_page(backend)
    send(at, "Hi")
    assert at.button(key="regenerate").label == "🔄 Regenerate"

    click(at, "regenerate")

    assert bubbles(at) == [("user", "Hi"), ("assistant", "Second answer")]
    assert backend.calls == [[user("Hi")], [user("Hi")]]  # the old answer was not sent back
    assert stored(data_dir, at.query_params["c"]).messages[-1].content == "Second answer"


def test_edit_last_message_and_resend(open_page, data_dir):
    backend = ScriptedBackend(["A1", "A2", "A2 for the edited question"])
    at = open_page(backend)
    send(at, "Q1")
    send(at, "Q2 with a tpyo")

    click(at, "edit")
    box = at.text_area(key="edit_text")
    assert box.value == "Q2 with a tpyo"
    box.set_value("Q2 without a typo")
    click(at, "edit_send")

    expected = [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2 without a typo"),
        ("assistant", "A2 for the edited question"),
    ]
    assert bubbles(at) == expected
    assert backend.calls[2] == [user("Q1"), assistant("A1"), user("Q2 without a typo")]
    saved = stored(data_dir, at.query_params["c"])
    assert [(m.role, m.content) for m in saved.messages] == expected


def test_cancel_edit_keeps_the_conversation(open_page):
    backend = ScriptedBackend(["A1"])
    at = open_page(backend)
    send(at, "Q1")
    click(at, "edit")
    at.text_area(key="edit_text").set_value("something else")
    click(at, "edit_cancel")

    assert bubbles(at) == [("user", "Q1"), ("assistant", "A1")]
    assert len(backend.calls) == 1


def test_clear_empties_the_conversation(open_page, data_dir):
    backend = ScriptedBackend(["A1", "A2"])
    at = open_page(backend)
    send(at, "Q1")
    send(at, "Q2")
    clear = next(b for b in at.sidebar.button if b.label == "🗑 Clear conversation")
    assert not clear.disabled

    clear.click().run()

    assert not at.exception
    assert at.chat_message.len == 0
    assert at.markdown[0].value == "#### What can I help you with?"
    assert next(b for b in at.sidebar.button if b.label == "🗑 Clear conversation").disabled
    assert stored(data_dir, at.query_params["c"]).messages == []


# --- Stop ---------------------------------------------------------------------------------


def test_stop_during_streaming_keeps_the_partial_answer(open_page, data_dir, clicks_during_streaming):
    backend = HeldBackend(["One two three four five six"], pieces=3, chunk_chars=4)
    clicks_during_streaming(12)
    at = open_page(backend)
    send(at, "Count")  # the run ends mid-answer, with the Stop button on screen
    assert at.button(key="stop").label == "⏹ Stop"
    assert TURNS.live(at.query_params["c"]) is not None  # the answer goes on without the page

    click(at, "stop")

    assert backend.closed.wait(5), "the model request was not cancelled"
    assert bubbles(at) == [("user", "Count"), ("assistant", "One two thre")]
    assert at.chat_message[1].caption[-1].value == "⏹ stopped"
    assert at.button(key="regenerate").label == "🔄 Regenerate"
    assert len(backend.calls) == 1  # Stop does not start another answer
    saved = stored(data_dir, at.query_params["c"]).messages[-1]
    assert (saved.role, saved.content, saved.stopped, saved.partial) == ("assistant", "One two thre", True, False)


@pytest.mark.parametrize("how", ["regenerate", "edit"])
def test_stop_right_after_regenerate_or_edit_before_the_first_token(
    open_page, data_dir, clicks_during_streaming, monkeypatch, how
):
    """Stop comes while the new answer still shows "Starting…": the answer ends, stays in the
    conversation as an explicit stopped (empty) answer, and the next prompt does not hold
    two user turns in a row."""
    at = open_page(ScriptedBackend(["First answer"]))
    send(at, "Q1")
    held = HeldBackend(["never written"], pieces=0)
    monkeypatch.setattr(state, "chat_backend", lambda settings: held)
    clicks_during_streaming(0)
    if how == "regenerate":
        click(at, "regenerate")
    else:
        click(at, "edit")
        at.text_area(key="edit_text").set_value("Q1")
        click(at, "edit_send")
    assert at.button(key="stop").label == "⏹ Stop"

    click(at, "stop")

    assert held.closed.wait(5), "the model request was not cancelled"
    assert [role for role, _ in bubbles(at)] == ["user", "assistant"]
    captions = [c.value for c in at.chat_message[1].caption]  # the stopped answer is a new version
    assert "⏹ stopped" in captions[0] and captions[-1] == ("2/2" if how == "regenerate" else "⏹ stopped")
    assert at.button(key="regenerate").label == "🔄 Regenerate"
    saved = stored(data_dir, at.query_params["c"]).messages
    assert [(m.role, m.content, m.stopped) for m in saved] == [("user", "Q1", False), ("assistant", "", True)]

    after = ScriptedBackend(["Hello!"])
    monkeypatch.setattr(state, "chat_backend", lambda settings: after)
    send(at, "Q2")
    assert after.calls == [[user("Q2")]]  # the unanswered Q1 is left out with its empty answer


def test_continue_carries_on_a_stopped_answer_in_the_same_message(
    open_page, data_dir, clicks_during_streaming, monkeypatch
):
    held = HeldBackend(["Once upon a time"], pieces=2, chunk_chars=5)
    clicks_during_streaming(10)
    at = open_page(held)
    send(at, "Story")
    click(at, "stop")
    stopped = stored(data_dir, at.query_params["c"]).messages[-1]
    assert stopped.content == "Once upon " and stopped.stopped
    assert at.button(key="continue").label == "▶️ Continue"

    carried = ScriptedBackend(["a dragon baked bread."])
    monkeypatch.setattr(state, "chat_backend", lambda settings: carried)
    clicks_during_streaming(None)
    click(at, "continue")

    assert bubbles(at) == [("user", "Story"), ("assistant", "Once upon a dragon baked bread.")]
    assert carried.calls == [[user("Story"), {"role": "assistant", "content": "Once upon ", "continued": True}]]
    answer = stored(data_dir, at.query_params["c"]).messages[-1]
    assert (answer.content, answer.stopped, answer.id) == ("Once upon a dragon baked bread.", False, stopped.id)
    assert not at.button(key="regenerate").disabled and "continue" not in [b.key for b in at.button]


def test_an_answer_cut_by_a_crash_shows_as_interrupted(open_page, data_dir):
    saved = Conversation(owner="me", messages=[user("Tell me a story"), {"role": "assistant", "content": "Once upon a", "partial": True}])
    ConversationStore(data_dir / "conversations.sqlite3").save(saved)
    backend = ScriptedBackend(["The end."])
    at = open_page(backend, c=saved.id)

    assert bubbles(at) == [("user", "Tell me a story"), ("assistant", "Once upon a")]
    assert "Interrupted" in at.chat_message[1].caption[0].value
    assert at.button(key="regenerate").label == "🔄 Regenerate"
    assert backend.calls == []  # nothing is asked on its own

    send(at, "And then?")  # the partial answer goes back as it is: no two user turns
    assert backend.calls[-1] == [user("Tell me a story"), assistant("Once upon a"), user("And then?")]


# --- Reasoning, errors, notices, LaTeX ----------------------------------------------------


def test_reasoning_is_collapsed_and_not_sent_back(open_page):
    info = ModelInfo(name="z1", context_window=8192, reasoning=True)
    replies = ["I should greet.</think>Hello!", "Fine.</think>Good, thanks."]
    backend = ScriptedBackend(replies, info=info)
    at = open_page(backend)
    send(at, "Hi")

    answer = at.chat_message[1]
    thoughts = [e for e in answer.expander if e.label == "💭 Reasoning"]
    assert len(thoughts) == 1
    assert not thoughts[0].proto.expanded
    assert [m.value for m in thoughts[0].markdown] == ["I should greet."]
    assert own_markdown(answer) == "Hello!"

    send(at, "How are you?")
    assert backend.calls[1] == [user("Hi"), assistant("Hello!"), user("How are you?")]
    assert own_markdown(at.chat_message[3]) == "Good, thanks."


def test_context_too_long_error_is_shown_in_the_chat(open_page, data_dir):
    backend = ContextLimitBackend(["A1"], info=ModelInfo(name="tiny", context_window=64))
    at = open_page(backend)
    send(at, "Hi")
    long_message = " ".join(["word"] * 200)
    send(at, long_message)

    assert [role for role, _ in bubbles(at)] == ["user", "assistant", "user", "assistant"]
    assert own_markdown(at.chat_message[2]) == long_message  # the user's message is kept
    errors = at.chat_message[3].error
    assert len(errors) == 1
    assert errors[0].value.startswith("This conversation is ")
    assert "reads at most 64" in errors[0].value
    assert stored(data_dir, at.query_params["c"]).messages[2].content == long_message


@pytest.mark.parametrize("notice", [None, "No GPU found: using the bundled offline model."])
def test_offline_notice_banner(open_page, notice):
    info = ModelInfo(name="offline", context_window=2048, notice=notice)
    at = open_page(ScriptedBackend([], info=info))
    assert [i.value for i in at.info] == ([notice] if notice else [])


@pytest.mark.parametrize(
    "raw, shown",
    [
        (r"The square is \( x^2 \).", "The square is $x^2$."),
        (r"\[ \int_0^1 x\,dx \]", r"$$ \int_0^1 x\,dx $$"),
        (r"In code: `\( x \)` stays.", r"In code: `\( x \)` stays."),
    ],
    ids=["inline", "display", "code-untouched"],
)
def test_latex_is_rendered_as_streamlit_math(open_page, raw, shown):
    at = open_page(ScriptedBackend([raw]))
    send(at, "Math please")
    assert own_markdown(at.chat_message[1]) == shown


# --- Persistence --------------------------------------------------------------------------


def test_refresh_with_conversation_in_url_shows_it_again(open_page):
    backend = ScriptedBackend(["A1", "A2"])
    at = open_page(backend)
    send(at, "Q1")
    send(at, "Q2")
    conversation_id = at.query_params["c"]
    assert conversation_id == at.session_state["conversation"].id
    conversation_store.shared.cache_clear()  # nothing kept in memory: the page must read it from SQLite

    fresh_backend = ScriptedBackend(["unused"])
    refreshed = open_page(fresh_backend, c=conversation_id)

    assert bubbles(refreshed) == [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
        ("assistant", "A2"),
    ]
    assert "tokens of context" in refreshed.chat_message[3].caption[0].value
    assert fresh_backend.calls == []  # reopening does not ask the model again
    assert any(b.label == "▸ Q1" for b in refreshed.sidebar.button)  # listed as the open chat


def test_another_browser_does_not_see_my_conversations(open_page):
    at = open_page(ScriptedBackend(["A1"]))
    send(at, "my private question")
    assert any("my private question" in b.label for b in at.sidebar.button)
    mine = at.query_params["u"]

    stranger = open_page(ScriptedBackend(["unused"]))  # no link: a new visitor
    assert stranger.query_params["u"] != mine
    assert not any("my private question" in b.label for b in stranger.sidebar.button)
