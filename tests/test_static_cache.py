"""The static key/value cache on real tiny models: what a request gets on the dynamic cache
alone it gets on static rows, in a batch that changes under it. The steps run eagerly (a spy
sees each one); on a GPU, the last test replays them as CUDA graphs."""

from __future__ import annotations

import logging
import threading

import pytest
import torch

from glm4_app.backend.static_cache import StaticBatch, bucket_rows
from glm4_app.events import Done, Queued, TextDelta
from glm4_app.generation import GenerationParams
from test_batching import TOPICS, Gate, alone, check_follow_ups_reuse_their_prefix, run_all
from test_engine import Spy, collect, engines, prompt_ids  # noqa: F401 (engines: a fixture)

GREEDY = GenerationParams(temperature=0, max_new_tokens=20)
CUDA = torch.cuda.is_available()
GRAPHS = "static+cuda-graphs" if CUDA else "static"  # what the app's settings give


class StaticSpy(Spy):
    """A Spy the static cache can size itself from; records each decode step's row bucket and
    whether it ran on the static rows (a 4-D mask) or the dynamic cache."""

    def __init__(self, model, hook=lambda spy, input_ids: None):
        super().__init__(model, hook)
        self.config = model.config
        self.steps: list[tuple[int, bool]] = []

    def get_input_embeddings(self):
        return self.inner.get_input_embeddings()

    def forward(self, input_ids, logits_to_keep=None, **kwargs):
        if input_ids.shape[1] == 1:
            self.steps.append((input_ids.shape[0], kwargs["attention_mask"].dim() == 4))
        return super().forward(input_ids, logits_to_keep=logits_to_keep, **kwargs)


def varied_jobs(loaded):
    """Prompts of 10 to 270 tokens, answers of 6 to 27."""
    topics = [*TOPICS, "word " * 260]
    return [(prompt_ids(loaded, t), GenerationParams(temperature=0, max_new_tokens=6 + 7 * (i % 4)),
             None) for i, t in enumerate(topics)]


def static_engine(engines, loaded, model=None, **kwargs):
    """Eager static steps (on a GPU too), so that a spy sees every one."""
    kwargs.setdefault("eos_token_ids", [])
    engine = engines(loaded, model=model, kv_cache="static", cuda_graphs=False, **kwargs)
    assert engine.decode_path == "static"
    return engine


@pytest.mark.parametrize("model_fixture", ["tiny_glm", "tiny_z1"])
def test_greedy_answers_on_static_rows_equal_the_dynamic_cache_alone(request, engines,
                                                                     model_fixture):
    loaded = request.getfixturevalue(model_fixture)
    # Different prompt and answer lengths: rows leave early, leave holes, waiting requests
    # take free rows, the batch runs on spare rows, and the longest prompt widens the span.
    jobs = varied_jobs(loaded)
    gate = Gate()
    spy = StaticSpy(loaded.model, gate)
    engine = static_engine(engines, loaded, model=spy, max_batch=5)
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(loaded, engines, jobs)
    assert engine.decode_path == "static", "no fallback happened"
    assert all(static for _, static in spy.steps), "every decode step ran on the static rows"
    assert {rows for rows, _ in spy.steps} >= {5, 4}, "full and partly spare row buckets both ran"
    for (ids, params, _), (events, _) in zip(jobs, results):
        assert events[-1].stats.completion_tokens == params.max_new_tokens


def test_each_row_keeps_its_sampling_seed_penalty_and_stop_tokens(tiny_glm, engines):
    ids = [prompt_ids(tiny_glm, t) for t in TOPICS[:5]]
    seq = torch.tensor([ids[0]], device=tiny_glm.model.device)
    with torch.inference_mode():
        for _ in range(4):  # plain greedy steps: the 4th token of the first answer becomes a stop
            seq = torch.cat([seq, tiny_glm.model(seq).logits[:, -1:].argmax(-1)], dim=1)
    eos = [int(seq[0, -1])]
    jobs = [
        (ids[0], GREEDY, None),
        (ids[1], GenerationParams(temperature=1.0, top_p=0.9, max_new_tokens=16, seed=1), None),
        (ids[2], GenerationParams(temperature=0, repetition_penalty=1.3, max_new_tokens=16), None),
        (ids[3], GenerationParams(temperature=0.7, top_k=20, max_new_tokens=16, seed=2), None),
        (ids[4], GREEDY, None),
    ]
    gate = Gate()
    spy = StaticSpy(tiny_glm.model, gate)
    engine = static_engine(engines, tiny_glm, model=spy, eos_token_ids=eos, max_batch=5)
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs, eos)
    assert results[0][0][-1].stats.finish_reason == "stop"


def test_stop_on_static_rows_ends_one_request_within_a_step(tiny_glm, engines):
    jobs = [(prompt_ids(tiny_glm, t), GenerationParams(temperature=0, max_new_tokens=40), None)
            for t in TOPICS[:3]]
    expected = alone(tiny_glm, engines, jobs)
    gate = Gate()
    spy = StaticSpy(tiny_glm.model, gate)
    engine = static_engine(engines, tiny_glm, model=spy, max_batch=3)
    requests = [engine.submit(ids, params) for ids, params, _ in jobs]
    gate.open.set()
    stream = requests[0].events()
    next(e for e in stream if isinstance(e, TextDelta))
    steps_before = len(spy.steps)
    stream.close()  # Stop
    others = [collect(requests[i]) for i in (1, 2)]
    assert [text for _, text in others] == [expected[1], expected[2]]
    # Within one step the two others run alone, on rows 0..1 after the first row left.
    assert {rows for rows, _ in spy.steps[steps_before + 1 :]} <= {2, 1}


def test_prefix_cache_reuse_on_static_rows(tiny_glm, engines):
    engine = static_engine(engines, tiny_glm, max_batch=4, prefix_cache_bytes=64 * 2**20)
    check_follow_ups_reuse_their_prefix(tiny_glm, engines, engine)
    assert engine.decode_path == "static"


def test_a_request_longer_than_a_row_decodes_on_the_dynamic_cache(tiny_glm, engines):
    """Rows of 256 tokens: a long document waits until the static batch is empty, decodes on
    the dynamic cache, and the static rows serve the next batch again."""
    short, long = prompt_ids(tiny_glm, "hi"), prompt_ids(tiny_glm, "word " * 300)
    assert len(long) > 256
    jobs = [(short, GREEDY, None), (long, GREEDY, None), (short, GREEDY, None)]
    gate = Gate()
    spy = StaticSpy(tiny_glm.model, gate)
    engine = static_engine(engines, tiny_glm, model=spy, max_batch=2, batch_tokens=512)
    results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs)
    assert [e.ahead for e in results[1][0] if isinstance(e, Queued)][0] > 0, "the long one waited"
    paths = [static for _, static in spy.steps]
    runs = [p for i, p in enumerate(paths) if i == 0 or p != paths[i - 1]]
    assert runs == [True, False, True], "static, then dynamic for the long one, then static again"
    assert engine.decode_path == "static"


def test_a_failing_static_step_moves_the_rows_to_the_dynamic_cache(tiny_glm, engines, caplog):
    def break_the_fifth_static_step(spy, input_ids):
        gate(spy, input_ids)
        static_step = input_ids.shape[1] == 1 and spy.steps[-1][1]
        if static_step and sum(static for _, static in spy.steps) == 5:
            raise RuntimeError("operation not permitted when stream is capturing")

    gate = Gate()
    spy = StaticSpy(tiny_glm.model, break_the_fifth_static_step)
    jobs = [(prompt_ids(tiny_glm, t), GREEDY, None) for t in TOPICS[:4]]
    engine = static_engine(engines, tiny_glm, model=spy, max_batch=4)
    with caplog.at_level(logging.WARNING, logger="glm4_app.backend.decode_batch"):
        results = run_all(engine, jobs, gate)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs)
    assert all(isinstance(events[-1], Done) for events, _ in results)
    assert engine.decode_path == "dynamic"
    assert [r.message for r in caplog.records].count(
        "Static key/value cache failed (RuntimeError: operation not permitted when stream is "
        "capturing); decoding on the dynamic cache from now on.") == 1
    assert not spy.steps[-1][1], "the steps after it ran on the dynamic cache"


def test_the_dynamic_cache_serves_where_the_static_one_cannot(tiny_glm, engines):
    from glm4_app.backend.manager import make_engine
    from glm4_app.settings import Settings

    assert engines(tiny_glm, kv_cache="static", explicit_positions=True).decode_path == "dynamic"
    too_small = engines(tiny_glm, kv_cache="static", batch_tokens=100, max_batch=4)
    assert too_small.decode_path == "dynamic"
    assert engines(tiny_glm, model=Spy(tiny_glm.model), kv_cache="static").decode_path == "dynamic"
    windowed = StaticSpy(tiny_glm.model)
    windowed.config = tiny_glm.model.config.__class__(**tiny_glm.model.config.to_dict())
    windowed.config.sliding_window = 16  # a Mistral-style window the static rows would ignore
    assert engines(tiny_glm, model=windowed, kv_cache="static").decode_path == "dynamic"
    auto = make_engine(tiny_glm, Settings())
    static = make_engine(tiny_glm, Settings(kv_cache="static", max_batch=2, batch_tokens=2048))
    try:
        assert auto.decode_path == (GRAPHS if CUDA else "dynamic")
        assert static.decode_path == GRAPHS
        assert (static._batch._static.length, len(static._batch._static.keys)) == (1024, 2)
        _, text = collect(static.submit(prompt_ids(tiny_glm), GREEDY))
        _, reference = collect(auto.submit(prompt_ids(tiny_glm), GREEDY))
        assert text == reference
    finally:
        auto.close(), static.close()


def test_rows_that_leave_free_their_place_and_the_batch_stays_compact(tiny_glm):
    model = tiny_glm.model
    with torch.inference_mode():
        batch = StaticBatch(model, rows=4, length=512)
        caches = []
        for n in (5, 9, 3, 7):
            ids = torch.arange(10, 10 + n, device=model.device)[None]
            caches.append(model(ids, use_cache=True).past_key_values)
            batch.add(caches[-1], n)
        batch.remove([0, 1])  # the two lowest rows leave: the other two move down
        assert batch.rows == 2 and max(batch._slots) + 1 == bucket_rows(2, 4) == 2
        for i, source in enumerate(caches[2:]):
            kept = batch.row(i)
            for mine, theirs in zip(kept.layers, source.layers):
                assert torch.equal(mine.keys, theirs.keys)
                assert torch.equal(mine.values, theirs.values)
        batch.add(caches[0], 5)
        assert sorted(batch._slots) == [0, 1, 2] and batch.length_of(2) == 5
    assert [bucket_rows(n, 32) for n in (1, 2, 3, 5, 8, 9, 17, 32)] == [1, 2, 4, 8, 8, 16, 24, 32]
    assert [batch.span(n) for n in (1, 256, 257, 511)] == [256, 256, 512, 512]


def test_images_and_text_decode_together_on_static_rows(tiny_vision, tmp_path):
    """GLM-4.1V's multimodal positions (a negative position delta per image prompt) hold on
    static rows: each answer equals the dynamic engine's."""
    from PIL import Image

    from glm4_app.backend.manager import make_engine
    from glm4_app.backend.vision import VisionBackend
    from glm4_app.settings import Settings

    pictures = []
    for name, size, colour in [("red.png", (120, 80), "red"), ("tall.png", (60, 200), "navy")]:
        Image.new("RGB", size, colour).save(tmp_path / name)
        pictures.append(str(tmp_path / name))
    conversations = [
        [{"role": "user", "content": "What is in this picture?", "images": pictures[:1]}],
        [{"role": "user", "content": "Describe it.", "images": pictures[1:]}],
        [{"role": "user", "content": "Just text, no picture at all."}],
    ]
    params = GenerationParams(temperature=0, max_new_tokens=12)

    def answers(backend):
        texts = [None] * len(conversations)
        streams = [backend.stream(m, params) for m in conversations]
        firsts = [next(s) for s in streams]  # all submitted before any is read

        def read(i):
            texts[i] = "".join(e.text for e in [firsts[i], *streams[i]] if isinstance(e, TextDelta))

        threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return texts

    engine = make_engine(tiny_vision.loaded, Settings(kv_cache="static", max_batch=4))
    alone = make_engine(tiny_vision.loaded, Settings(kv_cache="dynamic", max_batch=1))
    try:
        assert engine.decode_path == GRAPHS
        expected = answers(VisionBackend(tiny_vision.loaded, alone))
        assert answers(VisionBackend(tiny_vision.loaded, engine)) == expected
        assert engine.decode_path == GRAPHS
    finally:
        engine.close(), alone.close()


@pytest.mark.skipif(not CUDA, reason="CUDA graphs need a CUDA GPU")
def test_cuda_graph_steps_give_the_answers_of_the_dynamic_cache(tiny_glm, engines):
    jobs = varied_jobs(tiny_glm)
    engine = engines(tiny_glm, eos_token_ids=[], kv_cache="static", max_batch=5)
    assert engine.decode_path == "static+cuda-graphs"
    results = run_all(engine, jobs)
    assert [text for _, text in results] == alone(tiny_glm, engines, jobs)
    assert engine.decode_path == "static+cuda-graphs", "no fallback happened"
    graphs = engine._batch._static.graphs
    assert len(graphs) >= 3, "several (rows, span) shapes were captured and replayed"
