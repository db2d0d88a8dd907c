"""The Long document page, headless (AppTest), with a scripted model and real extraction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from page_helpers import send, upload
from streamlit.testing.v1 import AppTest

from glm4_app import metrics
from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.store import ConversationStore
from glm4_app.ui import state

APP = str(Path(__file__).resolve().parent.parent / "app.py")
REPORT = ("Revenue grew by eight percent in the third quarter. " * 20).encode()


@pytest.fixture
def open_page(tmp_path, monkeypatch):
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))

    def open_(backend, c: str | None = None) -> AppTest:
        monkeypatch.setattr(state, "chat_backend", lambda settings: backend)
        at = AppTest.from_file(APP, default_timeout=60)
        if c is not None:
            at.query_params["c"] = c
        at.switch_page("pages/documents.py").run()
        assert not at.exception, at.exception
        return at

    return open_


def card_labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander if e.label.startswith("📄")]


def meter(at: AppTest) -> tuple[int, str]:
    """The sidebar's context meter: tokens used, and its text."""
    text = at.sidebar.progress[-1].proto.text
    return int(re.search(r"Context: ([\d,]+) /", text).group(1).replace(",", "")), text


def with_files(question: str, *files: tuple[str, str]) -> str:
    """A question with documents, as GLM-4's reference demo writes it (FORMATS.md)."""
    blocks = "\n\n".join(f"[File Name]\n{name}\n[File Content]\n{text}" for name, text in files)
    return f"{blocks}\n\n\n{len(files)} files uploaded.\n{question}"


def test_documents_go_into_the_question_they_came_with_and_the_panel_and_meter_show_them_at_once(open_page, tmp_path):
    backend = ScriptedBackend(["Eight percent.", "No costs are given."])
    at = open_page(backend)
    assert at.main.expander[0].label == "📎 Documents (0)" and meter(at)[0] == 0
    upload(at, ("report.txt", REPORT, "text/plain"))
    (label,) = card_labels(at)
    assert "report.txt" in label and "tokens" in label
    text = REPORT.decode().strip()
    # Right after the upload, before any question: counted, and in the meter.
    assert at.main.expander[0].label == "📎 Documents (1)"
    assert meter(at)[0] == backend.count_tokens([{"role": "user", "content": with_files("", ("report.txt", text))}])
    send(at, "How much did revenue grow?")
    send(at, "And the costs?")

    first, second = backend.calls
    assert first == [{"role": "user", "content": with_files("How much did revenue grow?", ("report.txt", text))}]
    assert second[:2] == [*first, {"role": "assistant", "content": "Eight percent."}]  # the first turn never changes
    assert second[2:] == [{"role": "user", "content": "And the costs?"}]
    assert meter(at)[0] == backend.count_tokens([*second, {"role": "assistant", "content": "No costs are given."}])
    assert "📄 report.txt" in at.chat_message[0].caption[0].value  # shown with its question
    saved = ConversationStore(tmp_path / "conversations.sqlite3").load(at.query_params["c"])
    assert [d["name"] for d in saved.messages[0].documents] == ["report.txt"] and saved.documents == []


def test_a_bad_file_gets_a_message_and_loses_nothing(open_page):
    at = open_page(ScriptedBackend(["ok"]))
    upload(at, ("report.txt", REPORT, "text/plain"))
    send(at, "Summarise")
    upload(at, ("empty.pdf", b"", "application/pdf"), ("broken.docx", b"PK\x03\x04garbage", "application/octet-stream"))
    errors = [e.value for e in at.error]
    assert any("empty.pdf" in e for e in errors) and any("broken.docx" in e for e in errors)
    assert len(card_labels(at)) == 1  # the earlier document is still there
    assert [m.markdown[0].value for m in at.chat_message] == ["Summarise", "ok"]


def test_a_file_over_the_conversation_total_is_refused_without_counting_as_unreadable(open_page, monkeypatch):
    """The total limit refuses the file before anything reads it: it is no extraction failure."""
    monkeypatch.setenv("GLM4_DOC_MAX_TOTAL_MB", "1")

    def failures() -> float:
        return metrics.REGISTRY.get_sample_value("glm4_document_extraction_failures_total")

    before = failures()
    at = open_page(ScriptedBackend(["ok"]))
    upload(at, ("huge.txt", b"word " * 300_000, "text/plain"))  # 1.4 MB
    refusal = "**huge.txt**: Adding this file would bring the documents to 1.4 MB; the limit is 1 MB in all."
    assert f"{refusal} Remove a document first." in [e.value for e in at.error]
    assert card_labels(at) == []
    assert failures() == before


def test_documents_can_be_added_at_a_later_turn_without_changing_the_earlier_ones(open_page):
    backend = ScriptedBackend(["Hello.", "It is about revenue."])
    at = open_page(backend)
    send(at, "Hi")
    upload(at, ("notes.md", b"# Notes\n\nThe project is about revenue.", "text/markdown"))
    send(at, "What is the file about?")
    first, second = backend.calls
    assert second[:2] == [*first, {"role": "assistant", "content": "Hello."}]
    assert second[2]["content"] == with_files("What is the file about?", ("notes.md", "# Notes\n\nThe project is about revenue."))


def test_too_long_asks_what_gives_and_shortening_is_visible(open_page):
    backend = ScriptedBackend(["Short answer."], info=ModelInfo(name="small", context_window=1200))
    at = open_page(backend)
    upload(at, ("big.txt", ("word " * 4000).encode(), "text/plain"))
    send(at, "Summarise")
    assert backend.calls == []  # nothing is sent, nothing cut, until the user chooses
    assert "What should give?" in at.warning[0].value
    asked = int(re.search(r"take ([\d,]+) tokens", at.warning[0].value).group(1).replace(",", ""))
    used, text = meter(at)
    assert used == asked and text.startswith(":red[")  # the meter says what the question says
    at.radio(key="fit_choice").set_value("truncate").run()
    at.button(key="fit_go").click().run()
    assert not at.exception, at.exception
    (call,) = backend.calls
    assert "left out to fit the context" in call[0]["content"]
    assert call[0]["content"].endswith("\n\n\n1 files uploaded.\nSummarise")
    assert backend.count_tokens(call) <= 1200 - 300
    assert any("shortened" in c.value for c in at.chat_message[-1].caption)
    used, text = meter(at)  # what is sent now, shortened: in the window, not red
    assert used <= 1200 and not text.startswith(":red[")


def test_the_meter_turns_red_where_sending_would_ask_what_gives(open_page):
    """Inside the window but over what leaves room for the answer (the fit step's budget):
    the meter is red and says why, and sending asks what gives, as the meter warned."""
    backend = ScriptedBackend(["Short answer."], info=ModelInfo(name="small", context_window=1200))
    at = open_page(backend)
    upload(at, ("mid.txt", ("word " * 800).encode(), "text/plain"))
    used, text = meter(at)
    budget = 1200 - 300  # a quarter of the window is kept for the answer
    assert budget < used <= 1200
    assert text.startswith(":red[") and "over the 900 that leave room for the answer" in text
    send(at, "Summarise")
    assert backend.calls == [] and "What should give?" in at.warning[0].value


def test_a_hostile_upload_is_refused_in_words_and_a_repaired_one_says_what_was_lost(open_page, monkeypatch):
    from hostile_files import nested_forms_pdf, repaired_pdf

    monkeypatch.setenv("GLM4_DOC_TIMEOUT_S", "2")
    at = open_page(ScriptedBackend(["ok"]))
    upload(at, ("forms.pdf", nested_forms_pdf(26), "application/pdf"))  # minutes of MuPDF
    assert "**forms.pdf**: forms.pdf took too long to read (over 2 s); nothing was added." in [
        e.value for e in at.error
    ]
    assert card_labels(at) == []
    at.run()  # the page as the browser redraws it: a fresh, empty uploader
    upload(at, ("repaired.pdf", repaired_pdf(), "application/pdf"))
    assert len(card_labels(at)) == 1, [e.value for e in at.error]
    assert any("1 of its 3 pages came out without text" in c.value for c in at.caption)


def test_the_choice_of_what_gives_survives_a_reload(open_page):
    backend = ScriptedBackend(["Short answer."], info=ModelInfo(name="small", context_window=1200))
    at = open_page(backend)
    upload(at, ("big.txt", ("word " * 4000).encode(), "text/plain"))
    conversation_id = at.query_params["c"]  # linked at the first upload
    send(at, "Summarise")
    assert "What should give?" in at.warning[0].value

    again = open_page(backend, c=conversation_id)  # a reload while the choice is pending
    assert "What should give?" in again.warning[0].value and backend.calls == []
    again.radio(key="fit_choice").set_value("truncate").run()
    again.button(key="fit_go").click().run()
    assert not again.exception, again.exception
    assert len(backend.calls) == 1 and again.chat_message[-1].markdown[0].value == "Short answer."
