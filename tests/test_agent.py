"""The All Tools loop driven by a scripted backend replaying raw GLM-4 outputs."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from glm4_app.agent import run_agent
from glm4_app.events import Done, Error, TextDelta, ToolCallStart, ToolOutcome, ToolRunning
from glm4_app.generation import GenerationParams
from glm4_app.notices import word
from glm4_app.scripted import ScriptedBackend
from glm4_app.settings import Settings
from glm4_app.tools.base import ToolCall, ToolResult
from glm4_app.tools.browser import BrowserTool, link_citations
from glm4_app.tools.python_tool import PythonTool

PARAMS = GenerationParams()


class Recorder:
    """A function-style tool that records its calls and answers from a dict."""

    name = "get_weather"

    def __init__(self, answers=None, delay_s=0.0):
        self.calls: list[ToolCall] = []
        self.answers = answers or {"Paris": "18°C, light rain"}
        self.delay_s = delay_s
        self.cancelled = threading.Event()

    def declaration(self):
        return {"type": "function", "function": {"name": self.name, "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}

    def run(self, call, cancel):
        self.calls.append(call)
        if cancel.wait(self.delay_s):
            self.cancelled.set()
            return ToolResult("cancelled", is_error=True)
        if call.arguments is None:
            return ToolResult(f"Arguments are not valid JSON: {call.body!r}", is_error=True)
        return ToolResult(self.answers.get(call.arguments.get("city"), "unknown city"))


def run(replies, tools, max_steps=10, **backend_kwargs):
    backend = ScriptedBackend(replies, **backend_kwargs)
    events = list(run_agent(backend, [{"role": "user", "content": "Weather in Paris?"}], PARAMS, tools, max_steps))
    return backend, events


def outcomes(events):
    return [e for e in events if isinstance(e, ToolOutcome)]


def text(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_function_call_then_observation_then_answer():
    tool = Recorder()
    replies = ['Let me check.<|assistant|>get_weather\n{"city": "Paris"}', "It is 18°C with light rain in Paris."]
    backend, events = run(replies, {"get_weather": tool})
    assert [c.arguments for c in tool.calls] == [{"city": "Paris"}]
    assert [o.result.text for o in outcomes(events)] == ["18°C, light rain"]
    assert text(events) == "Let me check.It is 18°C with light rain in Paris."
    assert isinstance(events[-1], Done)
    # The second request re-sends the step in GLM's own format.
    assert backend.calls[1][1:] == [
        {"role": "assistant", "content": "Let me check."},
        {"role": "assistant", "metadata": "get_weather", "content": '{"city": "Paris"}', "step": 1},
        {"role": "observation", "metadata": "", "content": "18°C, light rain"},
    ]
    assert backend.tools[0] == [tool.declaration()]
    # Both steps' tokens are counted in the final stats.
    assert events[-1].stats.completion_tokens == sum(-(-len(r) // 3) for r in replies)


def test_malformed_call_becomes_an_error_observation_and_the_model_recovers():
    tool = Recorder()
    backend, events = run(
        ['get_weather\n{"city": "Paris"', 'get_weather\n{"city": "Paris"}', "18°C."],
        {"get_weather": tool},
    )
    first, second = outcomes(events)
    assert first.result.is_error and "not valid JSON" in first.result.text
    assert not second.result.is_error
    assert backend.calls[1][-1]["role"] == "observation" and "not valid JSON" in backend.calls[1][-1]["content"]
    assert text(events) == "18°C." and isinstance(events[-1], Done)


def test_unknown_tool_is_told_which_tools_exist():
    backend, events = run(['get_wether\n{"city": "Paris"}', "Sorry."], {"get_weather": Recorder()})
    (outcome,) = outcomes(events)
    assert outcome.result.is_error
    assert "no tool named 'get_wether'" in outcome.result.text and "get_weather" in outcome.result.text
    assert word(outcome.result.notices[0], "zh") == "没有名为 'get_wether' 的工具。可用的工具：get_weather。"


def test_a_tool_that_raises_is_told_in_the_readers_language():
    class Broken:
        name = "get_weather"

        def declaration(self):
            return Recorder().declaration()

        def run(self, call, cancel):
            raise KeyError("city")

    _, events = run(['get_weather\n{"city": "Paris"}', "Sorry."], {"get_weather": Broken()})
    (outcome,) = outcomes(events)
    assert outcome.result.is_error and outcome.result.text == "The tool failed: KeyError: 'city'"
    assert word(outcome.result.notices[0], "zh") == "工具出错：KeyError: 'city'"


def test_a_chain_stops_at_the_step_limit():
    call = 'get_weather\n{"city": "Paris"}'
    tool = Recorder()
    _, events = run([call], {"get_weather": tool}, max_steps=3)
    assert len(tool.calls) == 3
    assert isinstance(events[-1], Error) and "3 tool steps" in str(events[-1].message)


def test_a_call_cut_by_max_tokens_is_not_run():
    tool = Recorder()
    _, events = run(['get_weather\n{"city": "Pa'], {"get_weather": tool}, finish_reason="length")
    assert tool.calls == []
    assert isinstance(events[-1], Error) and "max new tokens" in str(events[-1].message)


def test_plain_answer_without_tools_is_one_step():
    tool = Recorder()
    backend, events = run(["Hello! No tools needed."], {"get_weather": tool})
    assert text(events) == "Hello! No tools needed." and len(backend.calls) == 1 and not tool.calls


def test_stop_while_a_tool_runs_cancels_it_promptly():
    tool = Recorder(delay_s=30)
    backend = ScriptedBackend(['get_weather\n{"city": "Paris"}', "never"])
    stream = run_agent(backend, [{"role": "user", "content": "?"}], PARAMS, {"get_weather": tool})
    assert any(isinstance(e, ToolCallStart) for e in _until(stream, ToolRunning))
    started = time.monotonic()
    stream.close()  # the user pressed Stop
    assert tool.cancelled.wait(2), "the tool was not told to stop"
    assert time.monotonic() - started < 2
    assert len(backend.calls) == 1  # no further model request


def test_stop_while_the_model_writes_ends_the_request():
    backend = ScriptedBackend(["a long answer " * 50], delay_s=0.01)
    stream = run_agent(backend, [{"role": "user", "content": "?"}], PARAMS, {})
    _until(stream, TextDelta)
    stream.close()
    assert len(backend.calls) == 1


def _until(stream, kind):
    seen = []
    for event in stream:
        seen.append(event)
        if isinstance(event, kind):
            return seen
    pytest.fail(f"no {kind.__name__} event")


# --- Whole chains with real tools ------------------------------------------------------------

PAGES = {
    "/cats": "<html><head><title>Cats</title></head><body><p>Cats sleep 16 hours a day.</p></body></html>",
    "/dogs": "<html><head><title>Dogs</title></head><body><p>Dogs sleep 12 hours a day.</p></body></html>",
}


@pytest.fixture(scope="module")
def web():
    """A tiny SearXNG and two pages on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/search"):
                results = [{"title": p.strip("/").title(), "url": base + p, "content": "sleep"} for p in PAGES]
                body, kind = json.dumps({"results": results}).encode(), "application/json"
            else:
                body, kind = PAGES.get(self.path, "missing").encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield base
    httpd.shutdown()
    httpd.server_close()


def test_search_then_mclick_then_cited_answer(web):
    settings = Settings(search_provider="searxng", search_url=web, browser_allowlist="127.0.0.1")
    browser = BrowserTool(settings)
    replies = [
        'simple_browser\nsearch("how long do cats sleep", recency_days=365)',
        "simple_browser\nmclick([0, 1])",
        "Cats sleep about 16 hours a day【2†Cats】, dogs about 12【3†Dogs】.",
    ]
    backend, events = run(replies, {"simple_browser": browser})
    search, opened = outcomes(events)
    assert search.result.metadata == "browser_result" and "【0†Cats" in search.result.text
    assert opened.result.metadata.startswith("quote_result")
    assert "16 hours" in opened.result.text and "12 hours" in opened.result.text
    # The model saw both observations before answering.
    assert [m["role"] for m in backend.calls[2][-4:]] == ["assistant", "observation", "assistant", "observation"]
    cited = link_citations(text(events), opened.result.citations)
    assert f"[\\[2\\]]({web}/cats " in cited and f"[\\[3\\]]({web}/dogs " in cited


def test_python_plot_then_answer_with_a_real_kernel(tmp_path):
    python = PythonTool(Settings(data_dir=tmp_path), tmp_path / "work")
    python.start()
    try:
        replies = [
            "python\n```python\nimport matplotlib.pyplot as plt\nx = [1, 2, 3]\nprint(sum(x))\n"
            "plt.plot(x, [v * v for v in x]); plt.show()\n```",
            "python\nprint(x[-1] ** 3)",  # the kernel kept `x` between steps
            "The sum is 6 and 3³ = 27.",
        ]
        backend, events = run(replies, {"python": python})
        first, second = outcomes(events)
        assert first.result.text.startswith("6") and len(first.result.images) == 1
        assert first.result.images[0].data.startswith(b"\x89PNG")
        assert second.result.text.strip() == "27"
        assert text(events) == "The sum is 6 and 3³ = 27."
    finally:
        python.shutdown()


def test_stop_in_the_middle_of_a_chain_interrupts_the_kernel(tmp_path):
    python = PythonTool(Settings(data_dir=tmp_path), tmp_path / "work")
    python.start()
    try:
        backend = ScriptedBackend(["python\nimport time\nfor i in range(600): time.sleep(0.1)", "never"])
        stream = run_agent(backend, [{"role": "user", "content": "?"}], PARAMS, {"python": python})
        _until(stream, ToolRunning)
        stream.close()  # Stop while the cell runs
        follow_up = python.run(ToolCall("python", "print('still alive')"), threading.Event())
        assert follow_up.text.strip().endswith("still alive")
        assert len(backend.calls) == 1
    finally:
        python.shutdown()
