"""Follow-up questions reuse the key/value cache of the unchanged prefix, with the same result."""

from __future__ import annotations

import pytest

from glm4_app.backend.chat_backend import InProcessChatBackend
from glm4_app.backend.engine import Engine
from glm4_app.backend.prefix_cache import common_prefix
from glm4_app.events import Done, TextDelta
from glm4_app.generation import GenerationParams

GREEDY = GenerationParams(temperature=0, max_new_tokens=20)
DOCUMENT = "[File Name]\nreport.txt\n[File Content]\n" + "The quarterly revenue grew by eight percent. " * 40


@pytest.fixture
def backends():
    engines = []

    def make(loaded, cache_mb=64, **kwargs):
        kwargs.setdefault("eos_token_ids", loaded.eos_token_ids)
        kwargs.setdefault("context_window", loaded.context_window)
        engine = Engine(loaded.model, loaded.tokenizer, prefix_cache_bytes=cache_mb * 2**20, **kwargs)
        engines.append(engine)
        return InProcessChatBackend(loaded, engine)

    yield make
    for engine in engines:
        engine.close()


def ask(backend, messages, key):
    events = list(backend.stream(messages, GREEDY, cache_key=key))
    done = events[-1]
    assert isinstance(done, Done)
    return "".join(e.text for e in events if isinstance(e, TextDelta)), done.stats


def conversation(answer: str | None = None, follow_up: str = "And the costs?") -> list[dict]:
    messages = [
        {"role": "system", "content": "Answer from the document."},
        {"role": "user", "content": DOCUMENT + "\nHow much did revenue grow?"},
    ]
    if answer is not None:
        messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": follow_up}]
    return messages


@pytest.mark.parametrize("model_fixture", ["tiny_glm", "tiny_z1"])
@pytest.mark.parametrize("prefill_chunk", [512, 7])
def test_cached_follow_up_gives_the_same_tokens_as_uncached(request, backends, model_fixture, prefill_chunk):
    loaded = request.getfixturevalue(model_fixture)
    cached = backends(loaded, prefill_chunk=prefill_chunk)
    uncached = backends(loaded, cache_mb=0, prefill_chunk=prefill_chunk)

    first, first_stats = ask(cached, conversation(), "conv-1")
    assert first_stats.cached_tokens == 0
    follow_up = conversation(first)
    text, stats = ask(cached, follow_up, "conv-1")
    reference, reference_stats = ask(uncached, follow_up, "conv-1")

    assert text == reference
    assert reference_stats.cached_tokens == 0
    shared = common_prefix(cached.encode(conversation()), cached.encode(follow_up))
    assert stats.cached_tokens >= shared - 1 > 300  # the document was not read again


def test_a_changed_prefix_is_not_reused(tiny_glm, backends):
    backend = backends(tiny_glm)
    answer, _ = ask(backend, conversation(), "conv")
    edited = conversation(answer)
    edited[0]["content"] = "Answer in French."  # the system prompt changed: nothing shared
    _, stats = ask(backend, edited, "conv")
    assert stats.cached_tokens < 16


def test_conversations_do_not_share_caches(tiny_glm, backends):
    backend = backends(tiny_glm)
    answer, _ = ask(backend, conversation(), "alice")
    _, stats = ask(backend, conversation(answer), "bob")
    assert stats.cached_tokens == 0


def test_memory_budget_evicts_the_least_recently_used(tiny_glm, backends):
    backend = backends(tiny_glm)
    ask(backend, conversation(), "probe")
    one_entry = backend.engine.prefix_cache.nbytes
    backend.engine.prefix_cache.clear()
    backend.engine.prefix_cache.budget_bytes = int(one_entry * 2.5)  # room for two

    answers = {key: ask(backend, conversation(), key)[0] for key in ("a", "b", "c")}
    cache = backend.engine.prefix_cache
    assert len(cache) == 2 and cache.nbytes <= cache.budget_bytes
    assert ask(backend, conversation(answers["a"]), "a")[1].cached_tokens == 0  # evicted
    assert ask(backend, conversation(answers["c"]), "c")[1].cached_tokens > 300  # kept


def test_a_stopped_request_still_leaves_its_prefix(tiny_glm, backends):
    backend = backends(tiny_glm, eos_token_ids=[])
    stream = backend.stream(conversation(), GenerationParams(temperature=0, max_new_tokens=500), cache_key="k")
    next(e for e in stream if isinstance(e, TextDelta))
    stream.close()
    _, stats = ask(backend, conversation("whatever"), "k")
    assert stats.cached_tokens > 300


def test_switching_back_to_a_branch_reuses_its_own_cached_prefix(tiny_glm, backends):
    """A conversation tree: a follow-up (branch A), then an edit of it (branch B), then on
    under A again. A's prefix must still be cached after B was answered."""
    cached = backends(tiny_glm)
    uncached = backends(tiny_glm, cache_mb=0)
    answer, _ = ask(cached, conversation(), "conv")
    branch_a = conversation(answer, "And the costs? List every cost category of the report with its amount.")
    a_answer, _ = ask(cached, branch_a, "conv")
    branch_b = conversation(answer, "What about the profit margin this year?")
    _, b_stats = ask(cached, branch_b, "conv")
    forked = common_prefix(cached.encode(branch_a), cached.encode(branch_b))
    assert b_stats.cached_tokens >= forked - 1 > 300  # B reused the document and first answer

    on_a = branch_a + [{"role": "assistant", "content": a_answer}, {"role": "user", "content": "Thanks, and revenue?"}]
    text, stats = ask(cached, on_a, "conv")
    assert stats.cached_tokens >= len(cached.encode(branch_a)) > forked  # A's own turn was kept too
    assert text == ask(uncached, on_a, "conv")[0]
