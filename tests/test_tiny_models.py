"""Guards for the tiny GLM fixtures: if one of these fails, every app test built on them lies."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tiny_models import GLM_SPECIAL_TOKENS, THINK_TOKENS, build_tokenizer

CHECKPOINTS = ["tiny_glm_path", "tiny_z1_path"]

CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": "写一首关于春天的诗"},
]


@pytest.fixture(scope="module", params=CHECKPOINTS)
def tokenizer(request):
    return AutoTokenizer.from_pretrained(request.getfixturevalue(request.param))


@pytest.fixture(scope="module")
def glm_tokenizer(tiny_glm_path):
    return AutoTokenizer.from_pretrained(tiny_glm_path)


@pytest.fixture(scope="module")
def z1_tokenizer(tiny_z1_path):
    return AutoTokenizer.from_pretrained(tiny_z1_path)


def test_special_tokens_are_single_ids_in_official_order(tokenizer):
    ids = []
    for token in GLM_SPECIAL_TOKENS + THINK_TOKENS:
        encoded = tokenizer.encode(token, add_special_tokens=False)
        assert len(encoded) == 1, (token, encoded)
        assert tokenizer.convert_ids_to_tokens(encoded[0]) == token
        ids.append(encoded[0])
    # Contiguous and in order, right after the ordinary vocab, as in the real vocab.
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    # <think> is not special (as in GLM-Z1), so skipping special tokens keeps the reasoning markers.
    ids = tokenizer.encode("<|user|><think>x</think>", add_special_tokens=False)
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>x</think>"


def test_glm4_chat_template_renders_turn_format(glm_tokenizer):
    prompt = glm_tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
    assert prompt == (
        "[gMASK]<sop><|system|>\nYou are a helpful assistant."
        "<|user|>\nHello<|assistant|>\nHi! How can I help?"
        "<|user|>\n写一首关于春天的诗<|assistant|>"
    )


def test_z1_template_opens_reasoning_and_strips_old_reasoning(z1_tokenizer):
    history = CONVERSATION[:2] + [
        {"role": "assistant", "content": "<think>The user greets me.</think>Hi! How can I help?"}
    ] + CONVERSATION[3:]
    prompt = z1_tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n<think>")
    assert prompt == (
        "[gMASK]<sop><|system|>\nYou are a helpful assistant."
        "<|user|>\nHello<|assistant|>\nHi! How can I help?"
        "<|user|>\n写一首关于春天的诗<|assistant|>\n<think>"
    )


def test_chat_template_ids_have_a_single_prefix(tokenizer):
    # Plain encoding prepends [gMASK]<sop> like the real tokenizer; the chat template writes its
    # own, and apply_chat_template must not double it.
    gmask, sop = tokenizer.convert_tokens_to_ids(["[gMASK]", "<sop>"])
    assert tokenizer.encode("hi")[:2] == [gmask, sop]
    ids = tokenizer.apply_chat_template(CONVERSATION, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert ids[:3] == [gmask, sop, tokenizer.convert_tokens_to_ids("<|system|>")]
    assert ids.count(gmask) == 1


@pytest.mark.parametrize(
    "text",
    ["你好，世界！今天天气很好。", "混合 mixed 文本 with emoji 🙂🚀 and tabs\t\nnewlines", "  leading spaces ."],
)
def test_text_round_trips(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8"))  # the BPE actually merged something


def test_tokenizer_build_is_deterministic(tmp_path, tiny_glm_path):
    rebuilt = build_tokenizer(tmp_path, "glm-4-9b-chat")
    assert (tmp_path / "tokenizer.json").read_bytes() == (tiny_glm_path / "tokenizer.json").read_bytes()
    assert len(rebuilt) == len(AutoTokenizer.from_pretrained(tiny_glm_path))


@pytest.mark.parametrize(("fixture", "arch"), [("tiny_glm_path", "GlmForCausalLM"), ("tiny_z1_path", "Glm4ForCausalLM")])
def test_model_reloads_and_generates(request, fixture, arch):
    path = request.getfixturevalue(fixture)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    assert type(model).__name__ == arch
    assert model.config.vocab_size == len(tokenizer)

    stop_ids = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|user|>", "<|observation|>"])
    assert model.generation_config.eos_token_id == stop_ids
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id

    inputs = tokenizer.apply_chat_template(
        CONVERSATION, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    prompt_len = inputs["input_ids"].shape[1]
    out = model.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False)
    assert out.shape == (1, prompt_len + 8)
    # Same seed, same weights: greedy output is reproducible.
    again = model.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False)
    assert torch.equal(out, again)
