"""The API when something goes wrong around a request, on a real uvicorn on 127.0.0.1 serving
the server's routes and gate (``server.parts()``) in this process, called with httpx and the
official `openai` client: a client that leaves before its answer, a database held by a writer,
an engine that refuses, a bug between admission and the answer, a wrong method, a misspelled
model name while the model loads. Every user may run one request at a time
(GLM4_USER_CONCURRENT_REQUESTS=1), so a place that is never given back shows as a 429.

The chat model is a scripted backend loaded through the real model manager, fresh for each
test; its load can be held, so "while loading" is certain, not a race."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import httpx
import openai
import pytest
import uvicorn
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from browser_helpers import wait_for
from glm4_app.accounts import AccountStore
from glm4_app.backend import manager as manager_module
from glm4_app.events import Error, Queued
from glm4_app.generation import ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.server import api, parts
from glm4_app.server import state as server_state

pytestmark = pytest.mark.timeout(120)

MODEL = "glm-test"
QUESTION = {"model": MODEL, "messages": [{"role": "user", "content": "Hello?"}]}
LONG = "word " * 3000  # 5 characters a chunk, 0.02 s each: a minute of answer


def scripted(*replies: str, delay_s: float = 0.0) -> ScriptedBackend:
    info = ModelInfo(name=MODEL, context_window=8192)
    return ScriptedBackend(list(replies), info=info, chunk_chars=5, delay_s=delay_s)


class QueueFull(ScriptedBackend):
    """An engine whose queue is full: it queues the request, then refuses it."""

    def stream(self, messages, params, tools=None, cache_key=None):
        yield Queued(ahead=8)
        yield Error("The server is busy: 8 requests are waiting.", "queue_full")


class App:
    def __init__(self, url: str, database, keys: dict[str, str]) -> None:
        self.url, self.database, self.keys = url, database, keys

    def post(self, body: dict, user: str = "alice", **kwargs) -> httpx.Response:
        return httpx.post(
            self.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {self.keys[user]}"},
            **{"timeout": 30, **kwargs},
        )

    def client(self, user: str = "alice") -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.url + "/v1", api_key=self.keys[user], max_retries=0, timeout=30
        )

    def metric(self, name: str, **labels: str) -> float:
        for family in text_string_to_metric_families(httpx.get(self.url + "/metrics").text):
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return 0.0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("api_faults")
    database = data_dir / "conversations.sqlite3"
    accounts = AccountStore(database, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    keys = {}
    for name in ("alice", "bob"):
        accounts.add_user(name, f"{name}'s password")
        keys[name], _ = accounts.create_api_key(f"user:{name}", "tests")
    env = pytest.MonkeyPatch()
    for name, value in {
        "GLM4_DATA_DIR": str(data_dir),
        "GLM4_AUTH": "password",
        "GLM4_API": "on",
        "GLM4_CHAT_MODEL": MODEL,
        "GLM4_USER_CONCURRENT_REQUESTS": "1",
        "GLM4_METRICS_TOKEN": "",
    }.items():
        env.setenv(name, value)
    server_state.settings.cache_clear()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        Starlette(**{**parts(), "lifespan": None}),  # models load when a test says
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "uvicorn to start")
    try:
        yield App(f"http://127.0.0.1:{sock.getsockname()[1]}", database, keys)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        env.undo()
        server_state.settings.cache_clear()


class Models:
    """A fresh model manager for one test; its chat model's load waits for ``serve``."""

    def __init__(self, monkeypatch) -> None:
        self.manager = manager_module.ModelManager()
        self.backend, self.released = None, threading.Event()
        monkeypatch.setattr(manager_module, "MANAGER", self.manager)
        monkeypatch.setattr(manager_module, "load_chat_backend", self._load)

    def _load(self, settings, progress):
        assert self.released.wait(60), "the test never served a model"
        return self.backend

    def hold(self):
        """Start loading the chat model, and keep it loading."""
        return self.manager.chat(server_state.settings())

    def serve(self, backend) -> None:
        self.backend = backend
        self.released.set()
        job = self.hold()
        assert job.wait(10) and job.result is backend


@pytest.fixture
def models(app, monkeypatch):
    models = Models(monkeypatch)
    yield models
    models.released.set()


def test_a_client_that_leaves_frees_its_place_at_once(app, models):
    models.serve(scripted(LONG, LONG, "Short.", delay_s=0.02))
    stopped = app.metric("glm4_requests_total", mode="api", outcome="stopped")

    with pytest.raises(httpx.ReadTimeout):  # not streamed: the client gives up waiting
        app.post(QUESTION, timeout=1.5)
    wait_for(
        lambda: app.metric("glm4_requests_total", mode="api", outcome="stopped") == stopped + 1,
        10,
        "the abandoned answer to stop",
    )
    assert app.metric("glm4_requests_in_progress", mode="api") == 0

    with httpx.stream(  # streamed: the client reads a little, then leaves
        "POST",
        app.url + "/v1/chat/completions",
        json={**QUESTION, "stream": True},
        headers={"Authorization": f"Bearer {app.keys['alice']}"},
        timeout=30,
    ) as stream:
        assert next(stream.iter_lines()).startswith("data: ")
    wait_for(
        lambda: app.metric("glm4_requests_total", mode="api", outcome="stopped") == stopped + 2,
        10,
        "the abandoned stream to stop",
    )
    assert app.metric("glm4_requests_in_progress", mode="api") == 0

    # alice's one place is hers again (a 429 otherwise), and the model answers her
    reply = app.client().chat.completions.create(**QUESTION)
    assert reply.choices[0].message.content == "Short."


def test_each_request_is_counted_once_and_refusals_by_their_code(app, models):
    models.serve(QueueFull([]))

    def counts():
        return {
            "error": app.metric("glm4_requests_total", mode="api", outcome="error"),
            "refused": app.metric("glm4_requests_total", mode="api", outcome="refused"),
            "queue_full": app.metric("glm4_errors_total", kind="queue_full"),
            "no_key": app.metric("glm4_refusals_total", mode="api", code="invalid_api_key"),
            "no_model": app.metric("glm4_refusals_total", mode="api", code="model_not_found"),
            "not_allowed": app.metric("glm4_refusals_total", mode="api", code="method_not_allowed"),
        }

    before = counts()
    for stream in (False, True):
        busy = app.post({**QUESTION, "stream": stream})
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "server_busy"
        assert int(busy.headers["Retry-After"]) >= 1
    unknown_key = {"Authorization": "Bearer sk-glm4-nope"}
    assert httpx.get(app.url + "/v1/models", headers=unknown_key).status_code == 401
    assert app.post({**QUESTION, "model": "glm-tset"}).status_code == 404
    assert httpx.get(app.url + "/v1/chat/completions").status_code == 405
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "error": 2,  # the engine's refusals: errors, and not refusals as well
        "refused": 3,
        "queue_full": 2,
        "no_key": 1,
        "no_model": 1,
        "not_allowed": 1,
    }
    # the process itself, as every Prometheus client reports it
    assert app.metric("process_resident_memory_bytes") > 0
    assert app.metric("python_gc_collections_total", generation="0") >= 0
    assert any(
        f.name == "python_info"
        for f in text_string_to_metric_families(httpx.get(app.url + "/metrics").text)
    )


def test_a_locked_database_does_not_stall_the_server(app, models):
    """An API key's first use records it, a write that waits while another connection writes;
    meanwhile the server goes on answering everything that does not need the database."""
    models.serve(scripted("Hi."))
    accounts = AccountStore(app.database, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    fresh_key, _ = accounts.create_api_key("user:bob", "never used")
    locked, unlocked = threading.Event(), threading.Event()

    def writer():  # a long write elsewhere (a big import, a backup, another process)
        db = sqlite3.connect(app.database, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(6)
        db.execute("COMMIT")
        db.close()
        unlocked.set()

    listed = []
    threads = [
        threading.Thread(target=writer),
        threading.Thread(
            target=lambda: listed.append(
                httpx.get(
                    app.url + "/v1/models",
                    headers={"Authorization": f"Bearer {fresh_key}"},
                    timeout=30,
                )
            )
        ),
    ]
    threads[0].start()
    assert locked.wait(10)
    threads[1].start()
    time.sleep(1)  # the key's request is waiting for the database now
    health = httpx.get(app.url + "/healthz", timeout=30)
    answered_while_locked, key_waiting = not unlocked.is_set(), not listed
    for thread in threads:
        thread.join(30)
    assert health.status_code == 200
    assert answered_while_locked, "/healthz waited for another request's database write"
    assert key_waiting, "the key's request did not wait for the database: nothing was tested"
    assert listed[0].status_code == 200  # and the key's request went through after the write


def test_wrong_methods_and_misspelled_models_while_loading(app, models):
    models.hold()  # the chat model is loading
    auth = {"Authorization": f"Bearer {app.keys['alice']}"}
    wrong = httpx.get(app.url + "/v1/chat/completions", headers=auth)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    posted = httpx.post(app.url + "/v1/models", headers=auth)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    assert httpx.get(app.url + "/v1/embeddings", headers=auth).status_code == 404

    client = app.client()
    with pytest.raises(openai.NotFoundError) as misspelled:  # not a 503 the client retries
        client.chat.completions.create(**{**QUESTION, "model": "glm-tset"})
    assert misspelled.value.body["code"] == "model_not_found"
    with pytest.raises(openai.InternalServerError) as loading:
        client.chat.completions.create(**QUESTION)
    assert loading.value.status_code == 503 and loading.value.body["code"] == "model_loading"


def test_a_failure_after_admission_gives_the_place_back(app, models, monkeypatch):
    models.serve(scripted("Fine."))

    def broken(chat, settings):
        raise RuntimeError("a bug between admission and the answer")

    params_of = api.params_of
    monkeypatch.setattr(api, "params_of", broken)
    failed = app.post(QUESTION)
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal_error"
    monkeypatch.setattr(api, "params_of", params_of)
    again = app.post(QUESTION)  # alice may run one request at a time: her place is free
    assert again.status_code == 200, again.text
    assert again.json()["choices"][0]["message"]["content"] == "Fine."
