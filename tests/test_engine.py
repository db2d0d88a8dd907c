"""The engine on real tiny GLM models: streaming, stop, queue order, cancellation, failures."""

from __future__ import annotations

import threading

import pytest
import torch

from glm4_app.backend.engine import Engine
from glm4_app.events import Done, Error, Prefill, Queued, Started, TextDelta
from glm4_app.generation import GenerationParams

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)


class Spy(torch.nn.Module):
    """The real model, with a hook on every forward pass (run on the engine's thread)."""

    def __init__(self, model, hook=lambda spy, input_ids: None):
        super().__init__()
        self.inner, self.hook, self.calls = model, hook, 0

    def forward(self, input_ids, logits_to_keep=None, **kwargs):
        self.calls += 1
        self.hook(self, input_ids)
        return self.inner(input_ids=input_ids, logits_to_keep=logits_to_keep, **kwargs)


def make_engine(loaded, model=None, **kwargs) -> Engine:
    kwargs.setdefault("eos_token_ids", loaded.eos_token_ids)
    kwargs.setdefault("context_window", loaded.context_window)
    return Engine(model or loaded.model, loaded.tokenizer, **kwargs)


@pytest.fixture
def engines():
    made = []
    yield lambda *a, **k: made.append(make_engine(*a, **k)) or made[-1]
    for engine in made:
        engine.close()


def prompt_ids(loaded, text="Hello, how are you today?"):
    messages = [{"role": "user", "content": text}]
    return loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]


def collect(request):
    events = list(request.events())
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return events, text


def reference_generate(loaded, ids, max_new_tokens):
    with torch.inference_mode():
        out = loaded.model.generate(
            torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
            eos_token_id=loaded.eos_token_ids, pad_token_id=loaded.eos_token_ids[0],
        )
    new = [t for t in out[0, len(ids):].tolist() if t not in loaded.eos_token_ids]
    return loaded.tokenizer.decode(new, skip_special_tokens=False)


@pytest.mark.parametrize("model_fixture", ["tiny_glm", "tiny_z1"])
@pytest.mark.parametrize("prefill_chunk", [512, 5])
def test_greedy_stream_equals_model_generate(request, engines, model_fixture, prefill_chunk):
    loaded = request.getfixturevalue(model_fixture)
    ids = prompt_ids(loaded, "Tell me about the history of 北京 and its food.")
    engine = engines(loaded, prefill_chunk=prefill_chunk)
    events, text = collect(engine.submit(ids, GREEDY))
    assert text == reference_generate(loaded, ids, GREEDY.max_new_tokens)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.stats.prompt_tokens == len(ids)
    assert done.stats.completion_tokens > 0
    assert done.stats.ttft_s is not None and done.stats.ttft_s > 0
    assert [type(e) for e in events[:2]] == [Queued, Started]
    prefills = [e for e in events if isinstance(e, Prefill)]
    assert prefills[-1].done == len(ids)
    assert len(prefills) == -(-len(ids) // prefill_chunk)


def test_same_seed_same_answer_and_different_seeds_differ(tiny_glm, engines):
    engine = engines(tiny_glm, eos_token_ids=[])
    ids = prompt_ids(tiny_glm)

    def sample(seed):
        params = GenerationParams(temperature=1.0, top_p=0.95, top_k=50, max_new_tokens=20, seed=seed)
        return collect(engine.submit(ids, params))[1]

    assert sample(7) == sample(7)
    assert len({sample(s) for s in range(4)}) > 1


def test_stop_during_prefill_ends_within_one_chunk(tiny_glm, engines):
    holder = {}

    def cancel_on_second_chunk(spy, input_ids):
        if spy.calls == 2:
            holder["request"].cancel()

    spy = Spy(tiny_glm.model, cancel_on_second_chunk)
    engine = engines(tiny_glm, model=spy, prefill_chunk=8)
    ids = prompt_ids(tiny_glm, "word " * 300)
    holder["request"] = request = engine.submit(ids, GREEDY)
    events, text = collect(request)
    assert spy.calls == 2, "no forward pass may run after Stop"
    assert text == ""
    assert events[-1].stats.finish_reason == "cancelled"


def test_stop_during_decode_ends_within_one_step(tiny_glm, engines):
    holder = {}

    def cancel_at_tenth_pass(spy, input_ids):
        if spy.calls == 10:
            holder["request"].cancel()

    spy = Spy(tiny_glm.model, cancel_at_tenth_pass)
    engine = engines(tiny_glm, model=spy, eos_token_ids=[])  # would run for 1000 tokens
    holder["request"] = request = engine.submit(prompt_ids(tiny_glm), GenerationParams(temperature=0, max_new_tokens=1000))
    events, text = collect(request)
    assert spy.calls == 10
    stats = events[-1].stats
    assert stats.finish_reason == "cancelled"
    assert stats.completion_tokens == 9  # one prefill pass, then one pass per kept token
    assert text


def test_requests_are_served_in_arrival_order_and_see_their_position(tiny_glm, engines):
    gate = threading.Event()
    passes = []  # input length of every forward pass, in the order the engine ran them

    def record(spy, input_ids):
        gate.wait(10)
        passes.append(input_ids.shape[1])

    engine = engines(tiny_glm, model=Spy(tiny_glm.model, record))
    prompts = {name: prompt_ids(tiny_glm, "hi " * n) for name, n in (("A", 5), ("B", 10), ("C", 20))}
    requests = {name: engine.submit(ids, GREEDY) for name, ids in prompts.items()}
    queued = {name: [] for name in requests}

    def consume(name):
        queued[name] = [e.ahead for e in requests[name].events() if isinstance(e, Queued)]

    threads = [threading.Thread(target=consume, args=(name,)) for name in requests]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(30)

    prefills = [n for n in passes if n > 1]
    assert prefills == [len(prompts[name]) for name in "ABC"]
    # No interleaving: each request's decode passes come before the next one's prefill.
    starts = [passes.index(len(prompts[name])) for name in "ABC"]
    assert all(n == 1 for n in passes[starts[0] + 1 : starts[1]] + passes[starts[1] + 1 : starts[2]])
    assert queued == {"A": [0], "B": [1, 0], "C": [2, 1, 0]}


def test_a_session_that_goes_away_cancels_and_frees_its_place(tiny_glm, engines):
    gate = threading.Event()
    spy = Spy(tiny_glm.model, lambda spy, ids: gate.wait(10))
    engine = engines(tiny_glm, model=spy, eos_token_ids=[])
    ids = prompt_ids(tiny_glm)
    running = engine.submit(ids, GenerationParams(temperature=0, max_new_tokens=1000))
    waiting = engine.submit(ids, GREEDY)
    third = engine.submit(ids, GREEDY)
    third_events = third.events()
    assert next(third_events) == Queued(ahead=2)

    waiting_events = waiting.events()
    assert next(waiting_events) == Queued(ahead=1)
    waiting_events.close()  # the waiting session's browser tab closed
    assert next(third_events) == Queued(ahead=1)

    stream = running.events()
    gate.set()
    next(e for e in stream if isinstance(e, TextDelta))
    stream.close()  # the running session went away mid-answer
    rest = list(third_events)
    assert isinstance(rest[-1], Done) and rest[-1].stats.finish_reason != "cancelled"
    assert engine.waiting == 0


def test_heartbeats_keep_a_waiting_consumer_responsive(tiny_glm, engines):
    gate = threading.Event()
    spy = Spy(tiny_glm.model, lambda spy, ids: gate.wait(10))
    engine = engines(tiny_glm, model=spy)
    ids = prompt_ids(tiny_glm)
    engine.submit(ids, GREEDY)
    waiting = engine.submit(ids, GREEDY).events(heartbeat_s=0.01)
    seen = [next(waiting) for _ in range(4)]
    gate.set()
    assert seen == [Queued(ahead=1)] * 4
    waiting.close()


def test_out_of_memory_fails_only_that_request(tiny_glm, engines):
    def oom_on_long_prompts(spy, input_ids):
        if input_ids.shape[1] > 100:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    engine = engines(tiny_glm, model=Spy(tiny_glm.model, oom_on_long_prompts))
    big = engine.submit(prompt_ids(tiny_glm, "word " * 200), GREEDY)
    small = engine.submit(prompt_ids(tiny_glm), GREEDY)
    big_events, _ = collect(big)
    assert isinstance(big_events[-1], Error) and big_events[-1].kind == "oom"
    assert "out of memory" in str(big_events[-1].message)
    small_events, text = collect(small)
    assert isinstance(small_events[-1], Done) and text


def test_answer_is_cut_when_the_context_window_is_full(tiny_glm, engines):
    ids = prompt_ids(tiny_glm)
    engine = engines(tiny_glm, eos_token_ids=[], context_window=len(ids) + 5)
    events, _ = collect(engine.submit(ids, GenerationParams(temperature=0, max_new_tokens=100)))
    stats = events[-1].stats
    assert stats.completion_tokens == 5
    assert stats.finish_reason == "context"


def test_a_full_queue_refuses_with_a_message(tiny_glm, engines):
    gate = threading.Event()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, lambda spy, ids: gate.wait(10)), queue_max=1)
    ids = prompt_ids(tiny_glm)
    engine.submit(ids, GREEDY)  # running
    engine.submit(ids, GREEDY)  # waiting: the queue is now full
    refused = list(engine.submit(ids, GREEDY).events())
    gate.set()
    assert isinstance(refused[-1], Error) and refused[-1].kind == "queue_full"
