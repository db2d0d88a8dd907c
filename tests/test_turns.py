"""Answers that live on the server (glm4_app/turns.py), driven by planned model outputs.

Each test plays a user: Stop in every state an answer can be in, a page that comes and
goes, two tabs watching, a server killed mid-answer; and checks what is kept, what is
saved and when, and that the model request or the tool was really told to stop.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from glm4_app import turns
from glm4_app.conversation import Conversation
from glm4_app.events import Done, Prefill, Queued, Started, Stats, TextDelta, ToolCallDelta, ToolCallStart, ToolOutput, ToolRunning
from glm4_app.formats import Glm45Format
from glm4_app.generation import GenerationParams, ModelInfo
from glm4_app.scripted import ScriptedBackend
from glm4_app.settings import Settings
from glm4_app.store import ConversationStore
from glm4_app.tool_types import Image
from glm4_app.tools.base import ToolCall, ToolResult
from glm4_app.tools.python_tool import PythonTool
from glm4_app.turns import TURNS, AnswerJob, Committed, Ended

REPO = Path(__file__).resolve().parent.parent
PARAMS = GenerationParams(max_new_tokens=64)


# --- A model whose every request follows a plan ------------------------------------------------


def write(raw: str, chunk: int = 3, delay_s: float = 0.0):
    """A plan: the raw output in pieces, then Done."""

    def plan():
        yield Started(prompt_tokens=5)
        for i in range(0, len(raw), chunk):
            if delay_s:
                time.sleep(delay_s)
            yield TextDelta(raw[i : i + chunk])
        yield Done(Stats(5, -(-len(raw) // chunk), 8192, 0.01, 0.1, "stop"))

    return plan


def hold(*events):
    """A plan: ``events``, then heartbeats of the last one (as the engine repeats progress
    while a request waits) until the consumer closes the stream."""

    def plan():
        yield from events
        while True:
            time.sleep(0.01)
            yield events[-1]

    return plan


class PlannedBackend:
    info = ModelInfo(name="planned", context_window=8192)

    def __init__(self, *plans) -> None:
        self.plans = list(plans)
        self.calls: list[list[dict]] = []
        self.closed = threading.Event()  # the last request's stream was closed (cancelled)

    def count_tokens(self, messages, tools=None) -> int:
        return 10

    def stream(self, messages, params, tools=None, cache_key=None):
        self.calls.append([dict(m) for m in messages])
        self.closed.clear()
        try:
            yield from self.plans[len(self.calls) - 1]()
        finally:
            self.closed.set()


class Probe:
    """A function tool that reports what the store held when it ran, and can be held."""

    name = "probe"

    def __init__(self, store: ConversationStore | None = None, conversation_id: str = "", hold_s: float = 0.0):
        self.store, self.conversation_id, self.hold_s = store, conversation_id, hold_s
        self.seen: list[list[tuple[str, str]]] = []
        self.cancelled = threading.Event()

    def declaration(self):
        return {"type": "function", "function": {"name": "probe", "description": "Probe", "parameters": {}}}

    def run(self, call, cancel):
        if self.store is not None:
            saved = self.store.load(self.conversation_id)
            self.seen.append([(m.role, m.metadata or m.content) for m in saved.messages])
        if cancel.wait(self.hold_s):
            self.cancelled.set()
            return ToolResult("[cancelled]", is_error=True)
        return ToolResult(f"probed {len(self.seen)}")


CALL = "<|assistant|>probe\n{}"


@pytest.fixture
def store(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite3")


def ask(store, backend, question="Hi", tools=None, **job) -> tuple[Conversation, turns.Turn]:
    conversation = Conversation(owner="me")
    conversation.add_user(question)
    store.save(conversation)
    job.setdefault("media_dir", store.files_dir / conversation.id)
    turn = TURNS.start(conversation, store, AnswerJob(backend, conversation.prompt_messages(), PARAMS, tools=tools, **job))
    return conversation, turn


def wait_for(predicate, timeout=10.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def shown(turn, kind):
    return [e for e in turn.read(0)[0] if isinstance(e, kind)]


def saved(store, conversation):
    return store.load(conversation.id).messages


# --- Stop, in every state ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        pytest.param((Queued(ahead=2),), id="queued"),
        pytest.param((Queued(ahead=0), Started(prompt_tokens=900)), id="starting"),
        pytest.param((Started(prompt_tokens=9000), Prefill(done=512, total=9000)), id="reading-the-prompt"),
    ],
)
def test_stop_before_the_first_token_keeps_an_explicit_stopped_answer(store, state):
    backend = PlannedBackend(hold(*state))
    conversation, turn = ask(store, backend)
    wait_for(lambda: turn.progress == state[-1], what="the answer to wait")

    turn.stop()

    assert turn.ended and turn.outcome == "stopped"
    assert backend.closed.wait(2), "the model request was not cancelled"
    assert [(m.role, m.content, m.stopped, m.partial) for m in saved(store, conversation)] == [
        ("user", "Hi", False, False),
        ("assistant", "", True, False),
    ]
    assert TURNS.live(conversation.id) is None


def test_stop_while_writing_keeps_the_text_and_ends_within_a_step(store):
    backend = PlannedBackend(write("one two three four five six seven eight nine ten " * 20, delay_s=0.01))
    conversation, turn = ask(store, backend)
    wait_for(lambda: len(shown(turn, TextDelta)) >= 5, what="text")

    turn.stop()

    answer = saved(store, conversation)[-1]
    assert answer.stopped and answer.content.startswith("one two three")
    assert backend.closed.wait(2)
    time.sleep(0.1)
    assert saved(store, conversation)[-1].content == answer.content, "text was added after Stop"
    assert conversation.messages[-1].content == answer.content


def test_stop_right_after_the_answer_was_asked_for(store):
    """Stop before the worker has even begun (a click straight after Regenerate)."""
    backend = PlannedBackend(write("never shown", delay_s=0.05))
    conversation, turn = ask(store, backend)
    turn.stop()
    assert turn.outcome == "stopped"
    assert [(m.role, m.content) for m in saved(store, conversation)][-1] == ("assistant", "")


def test_stop_while_the_model_writes_a_tool_call_keeps_the_call_unrun(store):
    probe = Probe()
    backend = PlannedBackend(write('Checking.<|assistant|>probe\n{"x": "' + "a" * 300 + '"}', delay_s=0.01))
    conversation, turn = ask(store, backend, tools={"probe": probe})
    wait_for(lambda: shown(turn, ToolCallStart) and "aaa" in "".join(e.text for e in shown(turn, ToolCallDelta)),
             what="the call to be half written")

    turn.stop()

    messages = saved(store, conversation)
    assert [(m.role, m.metadata) for m in messages] == [
        ("user", ""), ("assistant", ""), ("assistant", "probe"), ("observation", ""), ("assistant", ""),
    ]
    assert messages[1].content == "Checking."
    assert messages[2].content.startswith('{"x": "aaa')
    assert "not run" in messages[3].content and messages[3].stopped
    assert messages[4].stopped and not probe.seen
    # What the model reads next time is well formed: the call has its observation.
    assert [m["role"] for m in conversation.prompt_messages()] == ["user", "assistant", "assistant", "observation"]


def test_stop_between_steps_of_a_chain_keeps_the_finished_step(store):
    probe = Probe()
    backend = PlannedBackend(write("Step one." + CALL), hold(Queued(ahead=0), Started(prompt_tokens=40)))
    conversation, turn = ask(store, backend, tools={"probe": probe})
    wait_for(lambda: len(backend.calls) == 2 and turn.progress == Started(prompt_tokens=40), what="the second step")

    turn.stop()

    assert backend.closed.wait(2)
    messages = saved(store, conversation)
    assert [(m.role, m.metadata, m.content) for m in messages] == [
        ("user", "", "Hi"),
        ("assistant", "", "Step one."),
        ("assistant", "probe", "{}"),
        ("observation", "", "probed 0"),
        ("assistant", "", ""),
    ]
    assert not messages[3].stopped and messages[4].stopped


class Quick:
    """A function tool that answers at once."""

    name = "quick"

    def declaration(self):
        return {"type": "function", "function": {"name": "quick", "description": "Quick", "parameters": {}}}

    def run(self, call, cancel):
        return ToolResult("quick done")


def test_glm45_parallel_calls_keep_their_step_and_thinking_even_when_stopped(store):
    """GLM-4.5 writes two calls in one output (one step); Stop comes while the second runs.
    Both calls are saved as step 1, and the saved answer goes back to the model as it wrote
    it: one assistant turn with its thinking and both calls."""
    probe = Probe(hold_s=30)
    glm45 = ModelInfo(name="glm-4.6", context_window=8192, tools=True, tool_format="glm45")
    raw = "<think>Both at once.</think><tool_call>quick\n</tool_call>\n<tool_call>probe\n</tool_call>"
    backend = ScriptedBackend([raw, "unused"], info=glm45)
    conversation, turn = ask(store, backend, tools={"quick": Quick(), "probe": probe})
    wait_for(lambda: [e for e in shown(turn, Committed) if e.messages[0].metadata == "quick"], what="the first call")
    wait_for(lambda: turn._running_step() is not None, what="the second call to run")

    turn.stop()

    assert probe.cancelled.wait(5)
    messages = saved(store, conversation)
    assert [(m.role, m.metadata, m.step) for m in messages] == [
        ("user", "", None), ("assistant", "", None), ("assistant", "quick", 1), ("observation", "", None),
        ("assistant", "probe", 1), ("observation", "", None), ("assistant", "", None),
    ]
    assert messages[1].reasoning == "Both at once." and messages[5].stopped
    sent, _ = Glm45Format().template_inputs(conversation.prompt_messages(), None)
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert sent[1]["reasoning_content"] == "Both at once."
    assert [c["function"]["name"] for c in sent[1]["tool_calls"]] == ["quick", "probe"]
    # A new question: the thinking of that answer is not sent back any more.
    conversation.add_user("And now?")
    assert not any("reasoning" in m for m in conversation.prompt_messages())


@pytest.fixture(scope="module")
def python_tool(tmp_path_factory):
    tool = PythonTool(Settings(python_timeout_s=30), tmp_path_factory.mktemp("kernel"))
    tool.start()
    yield tool
    tool.shutdown()


COUNTING = "import time\nprint('start')\nfor i in range(200):\n    print(i, flush=True)\n    time.sleep(0.05)\n"


def test_stop_while_python_runs_interrupts_the_kernel_and_keeps_its_output(store, python_tool):
    backend = PlannedBackend(write("Counting.<|assistant|>python\n" + COUNTING), write("unused"))
    conversation, turn = ask(store, backend, tools={"python": python_tool})
    # The output streams while the cell runs, long before the step ends.
    wait_for(lambda: "\n3\n" in "".join(e.text for e in shown(turn, ToolOutput)), what="live output")
    assert shown(turn, ToolRunning) and not [e for e in shown(turn, Committed) if e.messages[0].is_tool_call]

    turn.stop()

    call, observation, answer = saved(store, conversation)[2:]
    assert call.metadata == "python" and "range(200)" in call.content
    assert observation.stopped and "start\n0\n1\n2\n3" in observation.content
    assert "interrupted" in observation.content and "199" not in observation.content
    assert answer.stopped and answer.content == ""
    assert len(backend.calls) == 1  # the model was not asked to go on
    # The kernel was interrupted, not killed: it is free at once and kept its variables.
    started = time.monotonic()
    result = python_tool.run(ToolCall("python", "print(i < 199)"), threading.Event())
    assert result.text.strip() == "True" and time.monotonic() - started < 5


# --- Saved as it goes -------------------------------------------------------------------------


def test_progress_is_saved_at_every_step_boundary(store):
    conversation = Conversation(owner="me")
    probe = Probe(store, conversation.id)
    backend = PlannedBackend(write("First." + CALL), write("Second." + CALL), write("Done now."))
    conversation.add_user("Go")
    store.save(conversation)
    job = AnswerJob(backend, conversation.prompt_messages(), PARAMS, store.files_dir, tools={"probe": probe})
    turn = TURNS.start(conversation, store, job)
    assert turn.wait(10)

    # When each call ran, the call itself and every earlier step were already saved.
    assert probe.seen == [
        [("user", "Go"), ("assistant", "First."), ("assistant", "probe"), ("observation", ""), ("assistant", "")],
        [("user", "Go"), ("assistant", "First."), ("assistant", "probe"), ("observation", "probed 1"),
         ("assistant", "Second."), ("assistant", "probe"), ("observation", ""), ("assistant", "")],
    ]
    final = saved(store, conversation)
    assert [m.content for m in final][-1] == "Done now."
    assert not any(m.partial for m in final)


class Draw:
    """A tool that draws a figure and writes a web page, as a code cell would."""

    name = "draw"

    def __init__(self, page: Path) -> None:
        self.page = page

    def declaration(self):
        return {"type": "function", "function": {"name": "draw", "description": "Draw", "parameters": {}}}

    def run(self, call, cancel):
        self.page.write_text("<h1>Sales</h1>")
        return ToolResult("drawn", images=(Image(b"\x89PNG figure"),), files=(self.page,))


def test_checkpoints_before_a_step_is_committed_save_its_files_once(store, tmp_path, monkeypatch):
    """Saves can land after a tool reported its result and before the agent loop hands the
    step over (a heartbeat, the next parallel call starting): each one stores the step with
    its figure and page, and the media folder holds one copy of each, not one per save."""
    finished, snapshots = turns.Turn._tool_finished, []

    def then_saves(self, call, result):
        finished(self, call, result)
        for _ in range(3):
            with self._cond:
                self._save_soon = True
            self._checkpoint()
            snapshots.append(saved(store, self.conversation))

    monkeypatch.setattr(turns.Turn, "_tool_finished", then_saves)
    backend = PlannedBackend(write("Drawing.<|assistant|>draw\n{}"), write("Here it is."))
    conversation, turn = ask(store, backend, tools={"draw": Draw(tmp_path / "sales.html")})
    assert turn.wait(10)

    observation = saved(store, conversation)[3]
    assert observation.content == "drawn" and not observation.partial
    stored = [observation.images[0].path, observation.artifacts[0].path]
    for snapshot in snapshots:
        assert snapshot[3].partial and [snapshot[3].images[0].path, snapshot[3].artifacts[0].path] == stored
    media = store.files_dir / conversation.id
    assert sorted(str(f) for f in media.iterdir()) == sorted(stored)  # one figure, one page
    assert Path(stored[1]).read_text() == "<h1>Sales</h1>"


def test_text_is_saved_every_few_seconds_marked_partial(store, monkeypatch):
    monkeypatch.setattr(turns, "SAVE_EVERY_S", 0.1)
    backend = PlannedBackend(write("word " * 200, chunk=10, delay_s=0.01))
    conversation, turn = ask(store, backend)
    snapshots = []
    while not turn.ended:
        last = saved(store, conversation)[-1]
        if last.role == "assistant" and last.partial:
            snapshots.append(last.content)
        time.sleep(0.05)
    assert len(snapshots) >= 2 and len(snapshots[-1]) > len(snapshots[0]) > 0
    final = saved(store, conversation)[-1]
    assert not final.partial and final.content == "word " * 200 and final.stats is not None


def test_a_turn_nobody_watches_finishes_and_is_saved(store):
    backend = PlannedBackend(write("All done.", delay_s=0.01))
    conversation, turn = ask(store, backend, orphan_timeout_s=60)
    del turn  # the page went away: nobody reads the log
    wait_for(lambda: TURNS.live(conversation.id) is None, what="the answer to end")
    assert saved(store, conversation)[-1].content == "All done."


def test_an_answer_nobody_watched_for_too_long_is_stopped_with_what_it_wrote(store):
    backend = PlannedBackend(write("x" * 3000, chunk=1, delay_s=0.002))
    conversation, turn = ask(store, backend, orphan_timeout_s=0.3)
    watched = time.monotonic()
    while time.monotonic() - watched < 0.8:  # a page watches a while: nothing happens
        turn.read(0)
        time.sleep(0.05)
    assert not turn.ended
    assert turn.wait(5) and turn.outcome == "stopped" and turn.stop_reason == "orphaned"
    answer = saved(store, conversation)[-1]
    assert answer.stopped and 0 < len(answer.content) < 3000


def test_every_page_answer_is_counted_once_in_its_mode_watched_or_not(store):
    """/metrics counts answers where the Turn consumes them: one that no page watches, one two
    observers read, and one stopped, each once, under the conversation's mode."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from glm4_app import metrics

    def requests(outcome: str) -> float:
        families = text_string_to_metric_families(generate_latest(metrics.REGISTRY).decode())
        return sum(s.value for f in families for s in f.samples if s.name == "glm4_requests_total"
                   and s.labels == {"mode": "documents", "outcome": outcome})

    ok, stopped = requests("ok"), requests("stopped")
    for watchers in (0, 2):
        conversation = Conversation(owner="me", mode="documents")
        conversation.add_user("Hi")
        job = AnswerJob(PlannedBackend(write("Counted.")), conversation.prompt_messages(), PARAMS, store.files_dir)
        turn = TURNS.start(conversation, store, job)
        for _ in range(watchers):
            list(turn.follow())
        assert turn.wait(10)
    conversation = Conversation(owner="me", mode="documents")
    conversation.add_user("Hi")
    job = AnswerJob(PlannedBackend(hold(Queued(ahead=1))), conversation.prompt_messages(), PARAMS, store.files_dir)
    TURNS.start(conversation, store, job).stop()
    wait_for(lambda: requests("stopped") == stopped + 1, what="the stopped answer to be counted")
    assert requests("ok") == ok + 2


# --- Observers ----------------------------------------------------------------------------------


def test_two_observers_see_the_same_events_whenever_they_join(store):
    probe = Probe()
    backend = PlannedBackend(write("Let me see." + CALL, delay_s=0.005), write("It is fine.", delay_s=0.005))
    conversation, turn = ask(store, backend, tools={"probe": probe})
    seen: dict[str, list] = {}

    def watch(name, delay):
        time.sleep(delay)
        seen[name] = list(turn.follow())

    tabs = [threading.Thread(target=watch, args=("first", 0)), threading.Thread(target=watch, args=("late", 0.1))]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(10)
    assert seen["first"] == seen["late"]
    assert isinstance(seen["first"][-1], Ended) and seen["first"][-1].outcome == "done"
    text = "".join(e.text for e in seen["first"] if isinstance(e, TextDelta))
    assert text == "Let me see.It is fine."
    assert [m.content for m in seen["first"][-1].messages] == [m.content for m in conversation.messages[1:]]


# --- A server killed mid-answer ---------------------------------------------------------------

_SERVER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from test_turns import PlannedBackend, write, PARAMS
    from glm4_app import turns
    from glm4_app.conversation import Conversation
    from glm4_app.store import ConversationStore
    from glm4_app.turns import TURNS, AnswerJob

    turns.SAVE_EVERY_S = 0.2
    store = ConversationStore(sys.argv[1])
    c = Conversation(id="killed", owner="me")
    c.add_user("Tell me a long story")
    store.save(c)
    backend = PlannedBackend(write("Once upon a time " * 500, delay_s=0.01))
    turn = TURNS.start(c, store, AnswerJob(backend, c.prompt_messages(), PARAMS, store.files_dir))
    while len(c.messages) < 2 or len(c.messages[-1].content) < 60:
        time.sleep(0.01)
    time.sleep(0.5)  # another save or two
    print("mid-answer", flush=True)
    time.sleep(60)  # the parent kills us here
    """
)


@pytest.mark.timeout(60)
def test_a_server_killed_mid_answer_keeps_the_partial_answer_marked_interrupted(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(path), str(REPO / "tests")], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "mid-answer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    kept = ConversationStore(path).load("killed")  # as the restarted server reads it
    question, answer = kept.messages
    assert (question.role, question.content) == ("user", "Tell me a long story")
    assert answer.role == "assistant" and answer.partial and answer.content.startswith("Once upon a time")
    assert not kept.awaiting_answer  # Regenerate is offered, not a second question
    assert [m["role"] for m in kept.prompt_messages()] == ["user", "assistant"]
