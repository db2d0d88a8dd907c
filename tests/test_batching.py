"""Continuous batching on real tiny GLM models: what a request gets alone it gets in a batch."""

from __future__ import annotations

import threading

import pytest
import torch

from glm4_app.events import Done, Error, Queued, TextDelta
from glm4_app.generation import GenerationParams
from test_engine import Spy, collect, engines, prompt_ids  # noqa: F401 (engines: a fixture)

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)
TOPICS = ["hi", "Tell me about 北京 and its food, please.", "word " * 40, "Why is the sky blue?",
          "List three prime numbers", "a " * 90, "谢谢", "What is 2 + 2?"]


class Gate:
    """Holds the engine at its first forward pass until every request is submitted, and
    records the batch size of each decode step."""

    def __init__(self, oom_at_rows: int | None = None):
        self.open = threading.Event()
        self.decode_rows: list[int] = []
        self.prefilled: list[list[int]] = []  # the prompts, in the order they were read
        self.oom_at_rows = oom_at_rows

    def __call__(self, spy, input_ids):
        self.open.wait(10)
        if input_ids.shape[1] == 1:
            if self.oom_at_rows and input_ids.shape[0] >= self.oom_at_rows:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            self.decode_rows.append(input_ids.shape[0])
        else:
            self.prefilled.append(input_ids[0].tolist())


def run_all(engine, jobs, gate=None):
    """Submit every (ids, params, cache_key) at once; return each one's events and text."""
    requests = [engine.submit(ids, params, key) for ids, params, key in jobs]
    results = [None] * len(requests)

    def consume(i):
        results[i] = collect(requests[i])

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    if gate:
        gate.open.set()
    for t in threads:
        t.join(60)
    return results


def alone(loaded, engines, jobs, eos=()):
    engine = engines(loaded, eos_token_ids=list(eos), max_batch=1)
    return [collect(engine.submit(ids, params))[1] for ids, params, _ in jobs]


@pytest.mark.parametrize("model_fixture", ["tiny_glm", "tiny_z1"])
def test_greedy_answers_are_token_identical_alone_and_in_a_batch(request, engines, model_fixture):
    loaded = request.getfixturevalue(model_fixture)
    # Different prompt lengths (so rows are padded) and answer lengths (so rows leave early
    # and waiting requests join a batch that is already decoding).
    jobs = [(prompt_ids(loaded, t), GenerationParams(temperature=0, max_new_tokens=8 + 5 * i), None)
            for i, t in enumerate(TOPICS)]
    gate = Gate()
    engine = engines(loaded, model=Spy(loaded.model, gate), eos_token_ids=[], max_batch=3)
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(loaded, engines, jobs)
    assert max(gate.decode_rows) == 3, "requests must really decode together"
    for (ids, params, _), (events, _) in zip(jobs, results):
        stats = events[-1].stats
        assert (stats.prompt_tokens, stats.completion_tokens) == (len(ids), params.max_new_tokens)
        assert stats.ttft_s > 0


def test_a_request_that_reaches_a_stop_token_leaves_and_the_others_go_on(tiny_glm, engines):
    jobs = [(prompt_ids(tiny_glm, t), GREEDY, None) for t in TOPICS[:4]]
    # Make the 5th token of the first answer a stop token: that request ends early in the batch.
    seq = list(jobs[0][0])
    with torch.inference_mode():
        for _ in range(5):  # plain greedy steps, no stop tokens
            seq.append(int(tiny_glm.model(torch.tensor([seq])).logits[0, -1].argmax()))
    eos = [seq[-1]]
    expected = alone(tiny_glm, engines, jobs, eos)
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=eos, max_batch=4)
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == expected
    assert results[0][0][-1].stats.finish_reason == "stop"
    assert len(expected[0]) < max(len(t) for t in expected[1:])
    assert max(gate.decode_rows) == 4 and gate.decode_rows[-1] < 4


def test_each_request_keeps_its_own_seed_and_sampling(tiny_glm, engines):
    jobs = [(prompt_ids(tiny_glm, t), GenerationParams(temperature=t_, top_p=0.9, max_new_tokens=16, seed=s), None)
            for t, t_, s in (("hi", 1.0, 1), ("Why is the sky blue?", 0.7, 2), ("hi", 1.0, 3))]
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=3)
    batched = [text for _, text in run_all(engine, jobs, gate)]
    assert batched == alone(tiny_glm, engines, jobs)
    assert batched[0] != batched[2], "same prompt, different seeds"


def test_stop_ends_one_request_within_a_step_and_the_others_go_on(tiny_glm, engines):
    jobs = [(prompt_ids(tiny_glm, t), GenerationParams(temperature=0, max_new_tokens=40), None)
            for t in TOPICS[:3]]
    expected = alone(tiny_glm, engines, jobs)
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=3)
    requests = [engine.submit(ids, params) for ids, params, _ in jobs]
    gate.open.set()
    stream = requests[1].events()
    next(e for e in stream if isinstance(e, TextDelta))
    rows_before = len(gate.decode_rows)
    stream.close()  # that user pressed Stop (or closed the tab)
    others = [collect(requests[i]) for i in (0, 2)]
    assert [text for _, text in others] == [expected[0], expected[2]]
    assert all(events[-1].stats.finish_reason == "length" for events, _ in others)
    # Within one step after the Stop, the batch shrank to the two others.
    assert set(gate.decode_rows[rows_before + 1 :]) <= {2, 1}


def test_a_short_request_does_not_wait_for_a_long_answer(tiny_glm, engines):
    engine = engines(tiny_glm, eos_token_ids=[], max_batch=2)
    long = engine.submit(prompt_ids(tiny_glm), GenerationParams(temperature=0, max_new_tokens=2000))
    long_events = long.events()
    next(e for e in long_events if isinstance(e, TextDelta))  # the long answer is under way
    short_events, text = collect(engine.submit(prompt_ids(tiny_glm, "hi"), GREEDY))
    assert isinstance(short_events[-1], Done) and text
    assert [e.ahead for e in short_events if isinstance(e, Queued)] == [0]
    long.cancel()
    stats = [e for e in long_events if isinstance(e, Done)][0].stats
    assert stats.finish_reason == "cancelled", "the long answer was still going"
    assert stats.completion_tokens < 2000


def test_queue_positions_count_only_places_that_must_free_up(tiny_glm, engines):
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=2)
    jobs = [(prompt_ids(tiny_glm, t), GREEDY, None) for t in TOPICS[:5]]
    results = run_all(engine, jobs, gate)
    first_seen = [next(e.ahead for e in events if isinstance(e, Queued)) for events, _ in results]
    assert first_seen == [0, 0, 1, 2, 3]
    for events, _ in results:
        aheads = [e.ahead for e in events if isinstance(e, Queued)]
        assert aheads == sorted(aheads, reverse=True) and aheads[-1] == 0


def test_out_of_memory_in_a_batch_fails_only_the_newest_and_the_batch_shrinks(tiny_glm, engines):
    gate = Gate(oom_at_rows=3)
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=3)
    jobs = [(prompt_ids(tiny_glm, t), GREEDY, None) for t in TOPICS[:5]]
    expected = alone(tiny_glm, engines, jobs)
    results = run_all(engine, jobs, gate)
    failed = [i for i, (events, _) in enumerate(results) if isinstance(events[-1], Error)]
    assert failed == [2], "only the request whose joining overflowed memory fails"
    assert results[2][0][-1].kind == "oom" and "Other conversations are not affected" in str(results[2][0][-1].message)
    for i in (0, 1, 3, 4):
        assert results[i][1] == expected[i]
    assert max(gate.decode_rows) == 2, "later requests wait instead of overflowing again"


def test_the_token_budget_makes_a_long_request_wait_instead_of_padding_everyone(tiny_glm, engines):
    gate = Gate()
    short = prompt_ids(tiny_glm, "hi")
    long = prompt_ids(tiny_glm, "word " * 200)
    budget = 2 * (len(short) + GREEDY.max_new_tokens) + 10  # two short rows fit, a long one not
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=4,
                     batch_tokens=budget)
    jobs = [(short, GREEDY, None), (short, GREEDY, None), (long, GREEDY, None)]
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs)
    assert max(gate.decode_rows) == 2
    assert [e.ahead for e in results[2][0] if isinstance(e, Queued)][0] > 0


def test_prefix_cache_works_for_requests_in_a_batch(tiny_glm, engines):
    engine = engines(tiny_glm, eos_token_ids=[], max_batch=4, prefix_cache_bytes=64 * 2**20)
    check_follow_ups_reuse_their_prefix(tiny_glm, engines, engine)


def check_follow_ups_reuse_their_prefix(tiny_glm, engines, engine):
    """Three conversations in a batch, then their follow-ups: each reuses its own prefix."""
    doc = "The report says: " + "numbers and words " * 60
    firsts = [prompt_ids(tiny_glm, f"{doc} Question {i}?") for i in range(3)]
    run_all(engine, [(ids, GREEDY, f"conv-{i}") for i, ids in enumerate(firsts)])
    follow = [prompt_ids(tiny_glm, f"{doc} Question {i}? And more?") for i in range(3)]
    results = run_all(engine, [(ids, GREEDY, f"conv-{i}") for i, ids in enumerate(follow)])
    assert all(events[-1].stats.cached_tokens > len(firsts[0]) // 2 for events, _ in results)
    assert [text for _, text in results] == alone(tiny_glm, engines, [(i, GREEDY, None) for i in follow])


@pytest.mark.timeout(120)
def test_sixteen_sessions_at_once_get_their_own_answers_in_order(tiny_glm, engines):
    """Sixteen sessions on one engine: nothing crosses between them, places are given in
    arrival order, the positions shown are true, and one Stop touches nobody else."""
    prompts = [prompt_ids(tiny_glm, f"Session {i}: " + TOPICS[i % len(TOPICS)]) for i in range(16)]
    jobs = [(ids, GenerationParams(temperature=0, max_new_tokens=10 + i % 5), None) for i, ids in enumerate(prompts)]
    expected = alone(tiny_glm, engines, jobs)
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=4)
    requests = [engine.submit(ids, params) for ids, params, _ in jobs]
    results: list = [None] * 16

    def session(i):
        events = []
        for event in requests[i].events(heartbeat_s=0.05):
            if i == 7 and isinstance(event, TextDelta):
                break  # session 7 presses Stop after its first words
            events.append(event)
        results[i] = events

    threads = [threading.Thread(target=session, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    gate.open.set()
    for t in threads:
        t.join(90)
    assert gate.prefilled == prompts, "places are given in arrival order"
    for i, events in enumerate(results):
        if i == 7:
            continue
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == expected[i], f"session {i} got someone else's tokens"
        aheads = [e.ahead for e in events if isinstance(e, Queued)]
        assert aheads[0] == max(0, i - 4 + 1) and aheads[-1] == 0
        assert aheads == sorted(aheads, reverse=True), "a position never goes back"
    assert max(gate.decode_rows) == 4


def test_the_memory_estimate_matches_a_real_cache(tiny_glm):
    from glm4_app.backend.kv_batch import kv_bytes_per_token
    from glm4_app.backend.prefix_cache import cache_bytes

    ids = prompt_ids(tiny_glm, "word " * 50)
    with torch.inference_mode():
        past = tiny_glm.model(torch.tensor([ids]), use_cache=True).past_key_values
    assert cache_bytes(past) == kv_bytes_per_token(tiny_glm.model) * len(ids)


def test_short_prompts_arriving_together_are_read_in_one_step(tiny_glm, engines):
    gate = Gate()
    engine = engines(tiny_glm, model=Spy(tiny_glm.model, gate), eos_token_ids=[], max_batch=4,
                     prefill_chunk=512)
    jobs = [(prompt_ids(tiny_glm, t), GREEDY, None) for t in TOPICS[:3]]
    assert sum(len(ids) for ids, _, _ in jobs) <= 512
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs)
    assert gate.decode_rows[0] == 3, "all three start decoding together"
