"""Models start loading when the server starts (the st.App lifespan), the log shows each step,
a visitor arriving early watches that same load on the page, and /healthz tells a load
balancer where it stands. The load is held on an event, so "early" is certain, not a race."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from glm4_app.backend import manager as manager_module
from glm4_app.backend.loader import LoadError
from glm4_app.scripted import ScriptedBackend
from glm4_app.server import health, lifespan as lifespan_module, state as server_state
from glm4_app.settings import Settings
from glm4_app.ui import state as page_state

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def held_load(tmp_path, monkeypatch):
    """A fresh model manager whose chat load reports a step, then waits for ``release``."""
    monkeypatch.setenv("GLM4_DATA_DIR", str(tmp_path))
    release = threading.Event()
    calls = []

    def load(settings, progress):
        calls.append(settings)
        progress("Reading configuration")
        assert release.wait(30), "the test never released the load"
        if getattr(release, "fail", False):
            raise LoadError("The checkpoint is damaged.", "Download it again.")
        progress("Warming up")
        return ScriptedBackend(["Hello from the model."])

    fresh = manager_module.ModelManager()
    monkeypatch.setattr(manager_module, "load_chat_backend", load)
    monkeypatch.setattr(manager_module, "MANAGER", fresh)
    monkeypatch.setattr(page_state, "MANAGER", fresh)
    server_state.settings.cache_clear()
    release.calls, release.manager = calls, fresh
    yield release
    release.set()
    server_state.settings.cache_clear()


def test_the_lifespan_starts_loading_and_logs_each_step(held_load, caplog):
    caplog.set_level(logging.INFO, logger="glm4_app.server")

    async def serve():
        async with lifespan_module.lifespan(None):
            ((kind, job),) = held_load.manager.jobs()  # started before anyone asked
            assert kind == "chat" and not job.done
            code, body = health.report([(kind, job)])
            assert code == 503 and body["status"] == "loading"
            assert (
                "loading" in body["reason"] and body["models"][0]["step"] == "Reading configuration"
            )
            held_load.set()
            await asyncio.to_thread(job.wait, 30)
            await asyncio.sleep(0.8)  # the progress reporter's next look
            code, body = health.report([(kind, job)])
            assert code == 200 and body == {
                "status": "ok",
                "reason": None,
                "models": [
                    {
                        "kind": "chat",
                        "seconds": body["models"][0]["seconds"],
                        "state": "ready",
                        "model": "scripted",
                    }
                ],
            }

    asyncio.run(serve())
    logged = caplog.text
    assert "Loading the chat model: Reading configuration" in logged
    assert "Loading the chat model: Warming up" in logged
    assert "The chat model scripted is ready after" in logged


def test_a_failed_load_makes_the_server_unhealthy_with_the_reason(held_load):
    job = held_load.manager.chat(Settings.load())
    held_load.fail = True
    held_load.set()
    job.wait(30)
    code, body = health.report([("chat", job)])
    assert code == 503 and body["status"] == "failed"
    assert body["reason"] == "The chat model failed to load: The checkpoint is damaged."
    assert body["models"][0]["hint"] == "Download it again."


def test_an_early_visitor_watches_the_load_the_server_started(held_load, monkeypatch):
    async def start():
        async with lifespan_module.lifespan(None):
            pass

    asyncio.run(start())  # the server started; the load is held
    watch = page_state._show_progress

    def release_once_watched(job, what):
        held_load.set()  # the load ends while the visitor watches it
        watch(job, what)

    monkeypatch.setattr(page_state, "_show_progress", release_once_watched)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert len(held_load.calls) == 1  # the page waited for the server's load, it did not start one
    status = [child for child in at.main.children.values() if type(child).__name__ == "Status"]
    assert [s.label for s in status] == ["Loaded the chat model"]  # it waited, showing the steps
    assert at.chat_input and any("What can I help you with?" in m.value for m in at.markdown)


def test_start_up_tells_the_operator_what_to_fix():
    notes = lifespan_module.startup_notes
    assert notes(Settings(), {}, {}) == []
    assert "users migrate" in notes(Settings(auth="password"), {"GLM4_PASSWORD": "old"}, {})[0]
    assert "users migrate" in notes(Settings(auth="password"), {}, {"password": "old"})[0]
    header = notes(Settings(auth="header", trusted_proxies="10.0.0.1, proxy.local"), {}, {})
    assert any("not addresses: proxy.local" in n for n in header)
    assert any("FORWARDED_ALLOW_IPS" in n for n in header)
    assert any(
        "nobody can sign in" in n
        for n in notes(Settings(auth="header"), {"FORWARDED_ALLOW_IPS": ""}, {})
    )
    assert (
        notes(Settings(auth="header", trusted_proxies="10.0.0.1"), {"FORWARDED_ALLOW_IPS": ""}, {})
        == []
    )
