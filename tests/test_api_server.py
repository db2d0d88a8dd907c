"""The OpenAI-compatible API, health and metrics of a real server: `uvicorn app:app` (as a team
hosts it) on 127.0.0.1 with the bundled offline model, called with the official `openai`
client. Tool calls go through the real HTTP path with a scripted model (GLM4_SCRIPTED_REPLIES,
test-only) whose raw output is GLM-Z1's: reasoning, then a call in GLM's own format; and on a
second server GLM-4.5's: thinking, parallel calls in its XML, beside the tiny random GLM-4.6."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families

from browser_helpers import serve_app, wait_for
from glm4_app.accounts import AccountStore
from glm4_app.backend.offline import FOLDER_NAME, OFFLINE_MODEL_NAME

pytestmark = pytest.mark.timeout(300)

MODEL = OFFLINE_MODEL_NAME
METRICS_TOKEN = "metrics-secret"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
SCRIPT = {
    "reasoning": True,  # like GLM-Z1: the output starts inside <think>
    "replies": [
        'The user wants the weather; I should call the tool.</think>get_weather\n{"city": "Paris"}',
        "The tool said sunny.</think>It is sunny in Paris, 21 °C.",
        'Again the tool.</think>Checking.<|assistant|>get_weather\n{"city": "Lyon"}',
        "Short.</think>one two three STOP four five",
    ],
}


class Server:
    def __init__(
        self, url: str, data_dir, keys: dict[str, str], first_health: httpx.Response
    ) -> None:
        self.url, self.data_dir, self.keys, self.first_health = url, data_dir, keys, first_health

    def client(self, user: str = "alice", **kwargs) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.url + "/v1", api_key=self.keys[user], max_retries=0, timeout=120, **kwargs
        )

    def post(self, body, key: str | None = "alice", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys.get(key, key)}"} if key else {}
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return httpx.post(
            self.url + "/v1/chat/completions",
            content=content,
            headers=headers,
            timeout=120,
            **kwargs,
        )

    def metrics(self) -> dict[tuple, float]:
        text = httpx.get(
            self.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        ).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def prepare(data_dir, script: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Accounts with an API key each (alice, bob) and the scripted model's outputs in
    ``data_dir``: (their keys, the server's settings for them)."""
    accounts = AccountStore(
        data_dir / "conversations.sqlite3", hasher=PasswordHasher(time_cost=1, memory_cost=1024)
    )
    keys = {}
    for name in ("alice", "bob"):
        accounts.add_user(name, f"{name}'s password")
        keys[name], _ = accounts.create_api_key(f"user:{name}", "tests")
    (data_dir / "script.json").write_text(json.dumps(script))
    env = {
        "GLM4_DATA_DIR": str(data_dir),
        "GLM4_AUTH": "password",
        "GLM4_API": "on",
        "GLM4_SCRIPTED_REPLIES": str(data_dir / "script.json"),
    }
    return keys, env


@pytest.fixture(scope="module")
def server(offline_data_dir, tiny_glm4v_path, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("api_data")
    (data_dir / "models").mkdir()
    (data_dir / "models" / FOLDER_NAME).symlink_to(
        offline_data_dir / "models" / FOLDER_NAME, target_is_directory=True
    )
    keys, env = prepare(data_dir, SCRIPT)
    env.update({
        "GLM4_CHAT_MODEL": "offline:smollm2",
        "GLM4_MAX_NEW_TOKENS": "24",
        "GLM4_USER_CONCURRENT_REQUESTS": "1",
        "GLM4_METRICS_TOKEN": METRICS_TOKEN,
        "GLM4_VISION_MODEL": str(tiny_glm4v_path),  # a tiny random GLM-4.1V
    })
    with serve_app(env, tmp_path_factory.mktemp("api_server"), uvicorn=True) as url:
        first = httpx.get(url + "/healthz")  # at once: the model started loading with the server
        early = httpx.post(
            url + "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "too early?"}]},
            headers={"Authorization": f"Bearer {keys['alice']}"},
        )
        served = Server(url, data_dir, keys, first)
        served.early_completion = early
        served.vision = str(tiny_glm4v_path)  # a local folder's model is named by its path
        yield served


# --- Health and metrics ------------------------------------------------------------------------


def test_health_while_loading_then_ready(server):
    # Asked at once, the server usually still loads (~1 s here); a run slow to reach the
    # first request may find it loaded. test_server_start and test_api_faults hold the load
    # to test this state for sure.
    first, early = server.first_health, server.early_completion
    if first.status_code != 200:
        assert first.status_code == 503 and first.json()["status"] == "loading"
        assert first.json()["reason"].startswith("The chat model is loading")
    if early.status_code != 200:  # the API says so too, and when to come back
        assert early.status_code == 503 and early.json()["error"]["code"] == "model_loading"
        assert int(early.headers["Retry-After"]) >= 1
        assert first.status_code == 503, "loading again after it was ready"
    wait_for(
        lambda: httpx.get(server.url + "/healthz").status_code == 200, 120, "the model to load"
    )
    ready = httpx.get(server.url + "/healthz").json()
    assert ready["status"] == "ok" and ready["models"][0] == {
        **ready["models"][0],
        "state": "ready",
        "model": MODEL,
    }
    assert httpx.get(server.url + "/metrics").status_code == 401  # GLM4_METRICS_TOKEN is set
    samples = server.metrics()
    assert samples[("glm4_model_ready", (("kind", "chat"),))] == 1
    assert samples[("glm4_queue_depth", (("kind", "chat"), ("model", MODEL)))] == 0
    assert ("glm4_live_kernels", ()) in samples


# --- Completions with the default model --------------------------------------------------------


def test_models_and_a_completion(server):
    client = server.client()
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {MODEL, "scripted", server.vision}
    assert models[server.vision].model_extra["capabilities"]["vision"]
    before = server.metrics()
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=16,
    )
    choice = reply.choices[0]
    assert "Paris" in choice.message.content
    assert choice.finish_reason in ("stop", "length") and reply.model == MODEL
    assert 0 < reply.usage.completion_tokens <= 16 and reply.usage.prompt_tokens > 10
    after = server.metrics()
    key = ("glm4_requests_total", (("mode", "api"), ("outcome", "ok")))
    assert after[key] == before.get(key, 0) + 1
    tokens = ("glm4_completion_tokens_total", (("mode", "api"),))
    assert after[tokens] == before.get(tokens, 0) + reply.usage.completion_tokens
    ttft = ("glm4_time_to_first_token_seconds_count", (("mode", "api"),))
    assert after[ttft] == before.get(ttft, 0) + 1


def test_a_streamed_completion(server):
    stream = server.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Name three colours."}],
        max_tokens=20,
        seed=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) >= 3 and "".join(pieces).strip()  # it streamed, token by token
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] in (["stop"], ["length"])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= len(pieces)


# --- Tools, through the real HTTP path (scripted model) -------------------------------------------


def test_a_tool_call_round_trip(server):
    client = server.client()
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    first = client.chat.completions.create(
        model="scripted", messages=messages, tools=[WEATHER_TOOL]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert (
        choice.message.model_extra["reasoning_content"]
        == "The user wants the weather; I should call the tool."
    )

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
    ]
    second = client.chat.completions.create(
        model="scripted", messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "It is sunny in Paris, 21 °C."
    assert second.choices[0].finish_reason == "stop" and not second.choices[0].message.tool_calls

    streamed = client.chat.completions.create(
        model="scripted", messages=messages[:1], tools=[WEATHER_TOOL], stream=True
    )
    content, reasoning, calls, finish = "", "", {}, None
    for chunk in streamed:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
        for piece in delta.tool_calls or []:
            entry = calls.setdefault(piece.index, {"name": "", "arguments": ""})
            entry["name"] += piece.function.name or ""
            entry["arguments"] += piece.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (content, reasoning, finish) == ("Checking.", "Again the tool.", "tool_calls")
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Lyon"})
    ]

    cut = client.chat.completions.create(model="scripted", messages=messages[:1], stop=["STOP"])
    assert (
        cut.choices[0].message.content == "one two three "
        and cut.choices[0].finish_reason == "stop"
    )


# --- GLM-4.5's format through the API ---------------------------------------------------------------

TRIP = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
    },
}


def glm45_call(**args) -> str:
    pairs = "".join(f"<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n" for k, v in args.items())
    return f"<tool_call>get_weather\n{pairs}</tool_call>"


CALLS_45 = (
    "<think>Two cities: both at once.</think>\nChecking both.\n"
    + glm45_call(city="Paris", days=2) + "\n" + glm45_call(city="Rome", days=2)
)
SCRIPT_45 = {
    "format": "glm45",  # GLM-4.5/4.6: <think> written by the model, <tool_call> XML
    "replies": [CALLS_45, CALLS_45, "<think>Both answered.</think>\nParis is sunny, Rome rainy."],
}


@pytest.fixture(scope="module")
def glm45_server(tiny_moe_path, tmp_path_factory):
    """The tiny random GLM-4.6 (Glm4Moe, the checkpoint's template) as the chat model, and
    a scripted model speaking GLM-4.5's format."""
    data_dir = tmp_path_factory.mktemp("api45_data")
    keys, env = prepare(data_dir, SCRIPT_45)
    env.update({"GLM4_CHAT_MODEL": str(tiny_moe_path), "GLM4_MAX_NEW_TOKENS": "4"})
    with serve_app(env, tmp_path_factory.mktemp("api45_server"), uvicorn=True) as url:
        wait_for(lambda: httpx.get(url + "/healthz").status_code == 200, 120, "the model to load")
        yield Server(url, data_dir, keys, None)


def test_glm45_parallel_calls_and_thinking_round_trip(glm45_server, tiny_moe_path):
    client = glm45_server.client()
    messages = [{"role": "user", "content": "Weather in Paris and Rome for two days?"}]
    first = client.chat.completions.create(model="scripted", messages=messages, tools=[TRIP])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content == "Checking both."
    assert message.model_extra["reasoning_content"] == "Two cities: both at once."
    # typed by the declared schema: "2" came back as the integer 2
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        {"city": "Paris", "days": 2}, {"city": "Rome", "days": 2}]
    assert len({c.id for c in message.tool_calls}) == 2

    streamed = client.chat.completions.create(model="scripted", messages=messages, tools=[TRIP], stream=True)
    content, reasoning, calls = "", "", {}
    for chunk in streamed:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
        for piece in delta.tool_calls or []:
            calls.setdefault(piece.index, "")
            calls[piece.index] += piece.function.arguments or ""
    assert (content, reasoning) == ("Checking both.", "Two cities: both at once.")
    assert [json.loads(a) for a in calls.values()] == [{"city": "Paris", "days": 2}, {"city": "Rome", "days": 2}]

    trip = messages + [
        message.model_dump(exclude_none=True),  # reasoning_content included, as clients send it
        *({"role": "tool", "tool_call_id": c.id, "content": w} for c, w in zip(message.tool_calls, ("sunny", "rain"))),
    ]
    final = client.chat.completions.create(model="scripted", messages=trip, tools=[TRIP])
    assert final.choices[0].message.content == "Paris is sunny, Rome rainy."
    assert final.choices[0].message.model_extra["reasoning_content"] == "Both answered."

    # The real (tiny, random) GLM-4.6 takes the same conversation in its own template: the
    # declarations and both steps are in its prompt, and it answers.
    model = str(tiny_moe_path)
    bare = client.chat.completions.create(model=model, messages=messages, max_tokens=2)
    offered = client.chat.completions.create(model=model, messages=messages, tools=[TRIP], max_tokens=2)
    answered = client.chat.completions.create(model=model, messages=trip, tools=[TRIP], max_tokens=2)
    assert bare.usage.prompt_tokens < offered.usage.prompt_tokens < answered.usage.prompt_tokens
    quick = client.chat.completions.create(  # thinking off, as vLLM takes it: "/nothink", "<think></think>"
        model=model, messages=messages, max_tokens=2, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert quick.usage.prompt_tokens > bare.usage.prompt_tokens
    assert answered.choices[0].finish_reason in ("stop", "length", "tool_calls")


# --- Images for the vision model ------------------------------------------------------------------


def png_data_url(colour: str, size=(48, 32)) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_images_as_data_urls_for_the_vision_model(server):
    client = server.client()
    picture = {"type": "image_url", "image_url": {"url": png_data_url("red")}}
    reply = client.chat.completions.create(
        model=server.vision,
        max_tokens=6,
        temperature=0,
        messages=[
            {"role": "user", "content": [picture, {"type": "text", "text": "What colour is this?"}]}
        ],
    )
    assert (
        reply.usage.completion_tokens >= 1 and reply.usage.prompt_tokens > 10
    )  # the image's tokens count
    text_only = client.chat.completions.create(
        model=server.vision,
        max_tokens=6,
        temperature=0,
        messages=[{"role": "user", "content": "What colour is this?"}],
    )
    assert reply.usage.prompt_tokens > text_only.usage.prompt_tokens
    for url, reason in [
        ("https://example.org/cat.png", "fetches no URLs"),
        ("data:image/png;base64,not-base64!", "not valid base64"),
        ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA", "damaged or truncated"),
    ]:
        with pytest.raises(openai.BadRequestError, match=reason) as refused:
            client.chat.completions.create(
                model=server.vision,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": url}},
                            {"type": "text", "text": "?"},
                        ],
                    }
                ],
            )
        assert refused.value.body["param"] == "messages.0.content.0"
    assert not list((server.data_dir / "media").glob("api-*"))  # each request's images are gone


# --- Bad input: a clear OpenAI error each, nothing else touched ------------------------------------


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_bad_keys_and_requests_get_openai_errors(server):
    question = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert server.post(question, key=None).status_code == 401
    with pytest.raises(openai.AuthenticationError) as wrong:
        openai.OpenAI(
            base_url=server.url + "/v1", api_key="sk-glm4-not-a-key", max_retries=0
        ).models.list()
    assert wrong.value.body["code"] == "invalid_api_key"

    store = AccountStore(
        server.data_dir / "conversations.sqlite3",
        hasher=PasswordHasher(time_cost=1, memory_cost=1024),
    )
    store.add_user("carol", "carol's password")
    carols, _ = store.create_api_key("user:carol")
    assert server.post(question, key=carols).status_code == 200
    store.remove_user("carol")  # her key goes with her account
    assert error_of(server.post(question, key=carols))["code"] == "invalid_api_key"

    bad_json = server.post("{not json")
    assert bad_json.status_code == 400 and error_of(bad_json)["code"] == "invalid_json"
    no_messages = server.post({"model": MODEL})
    assert no_messages.status_code == 400 and error_of(no_messages)["param"] == "messages"
    bad_role = server.post({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]})
    assert bad_role.status_code == 400 and error_of(bad_role)["param"] == "messages.0.role"

    client = server.client()
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-5", messages=question["messages"])
    assert (
        unknown.value.body["code"] == "model_not_found" and MODEL in unknown.value.body["message"]
    )
    with pytest.raises(openai.BadRequestError, match="reads no images"):
        client.chat.completions.create(
            model=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                        },
                    ],
                }
            ],
        )
    with pytest.raises(openai.BadRequestError, match="cannot call tools"):
        client.chat.completions.create(
            model=MODEL, messages=question["messages"], tools=[WEATHER_TOOL]
        )
    with pytest.raises(openai.APIStatusError) as too_long:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "lorem ipsum " * 6000}]
        )
    assert (
        too_long.value.status_code == 413
        and too_long.value.body["code"] == "context_length_exceeded"
    )
    unknown_path = httpx.get(server.url + "/v1/embeddings")
    assert unknown_path.status_code == 404 and error_of(unknown_path)["code"] == "unknown_url"
    assert server.post(question).status_code == 200  # and the server still answers


def test_a_flood_from_one_user_is_refused_without_slowing_another(server):
    """GLM4_USER_CONCURRENT_REQUESTS=1: while alice's answer streams, her other requests get 429
    with Retry-After; bob is served all along."""
    client = server.client("alice")
    long = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Tell me a story."}],
        max_tokens=24,
        stream=True,
    )
    first = next(iter(long))  # alice's first answer holds her place
    assert first.choices[0].delta.role == "assistant"
    results = []

    def another():
        results.append(
            server.post({"model": MODEL, "messages": [{"role": "user", "content": "and?"}]})
        )

    threads = [threading.Thread(target=another) for _ in range(5)]
    for thread in threads:
        thread.start()
    bob = server.client("bob").chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [429] * 5
    assert all(
        int(r.headers["Retry-After"]) >= 1 and error_of(r)["code"] == "rate_limit_exceeded"
        for r in results
    )
    assert bob.choices[0].message.content is not None
    assert "".join(
        c.choices[0].delta.content or "" for c in long if c.choices
    )  # alice's answer went on
    time.sleep(0.2)
    assert (
        server.post(
            {"model": MODEL, "messages": [{"role": "user", "content": "now?"}], "max_tokens": 2}
        ).status_code
        == 200
    )
    refused = server.metrics()[("glm4_requests_total", (("mode", "api"), ("outcome", "refused")))]
    assert refused >= 5
