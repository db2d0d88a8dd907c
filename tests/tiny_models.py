"""Tiny, deterministic stand-ins for GLM-4 checkpoints, built offline.

The real checkpoints (THUDM/glm-4-9b-chat-hf, GLM-Z1-9B-0414, ...) are ~18 GB and cannot be
downloaded in CI. What the app actually depends on is their *interface*: the special tokens,
the chat template, the stop ids in ``generation_config`` and the model classes. This module
rebuilds that interface around a ~2k-token BPE and a randomly initialised 2-layer model, so
tests exercise the same code paths (``AutoTokenizer`` / ``AutoModelForCausalLM`` /
``apply_chat_template`` / ``generate``) in a few seconds.

Everything is deterministic: a fixed corpus, a fixed training order, ``torch.manual_seed``.
The output is gibberish, of course; tests must assert on structure, never on wording.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Literal

import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GenerationConfig,
    Glm4Config,
    Glm4ForCausalLM,
    GlmConfig,
    GlmForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

TEMPLATES_DIR = Path(__file__).parent / "data" / "templates"
TEMPLATES = ("glm-4-9b-chat", "glm-z1-9b-0414", "glm-4.6")
# The templates in the training corpus: fixed, so adding a template changes no tokenizer.
_CORPUS_TEMPLATES = ("glm-4-9b-chat", "glm-4.1v-thinking", "glm-z1-9b-0414")

# GLM-4 special tokens in their official order. In the real vocab they follow the 151,329
# ordinary tokens (151329 = <|endoftext|> ... 151342 = <|end_of_video|>); here they likewise
# follow the ordinary tokens, in the same order, so ids are contiguous and increasing.
GLM_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "[MASK]",
    "[gMASK]",
    "[sMASK]",
    "<sop>",
    "<eop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
]
# GLM-Z1 reasoning markers. In the real tokenizer they are added tokens but *not* special, so
# `decode(..., skip_special_tokens=True)` keeps them; each still encodes to a single id.
THINK_TOKENS = ["<think>", "</think>"]
# GLM-4.5 and later (and GLM-4.1V+) add these; like the think markers they are added tokens
# that are not special, so each encodes to one id and decoding keeps them.
GLM45_TOKENS = [
    "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>",
    "<tool_response>", "</tool_response>", "/nothink", "<|begin_of_box|>", "<|end_of_box|>",
]
GLM45_TEMPLATES = ("glm-4.6", "glm-4.6v")

EOS_TOKEN = "<|endoftext|>"
# Generation stops on these, as in the real checkpoints' generation_config.json.
STOP_TOKENS = ["<|endoftext|>", "<|user|>", "<|observation|>"]

# The pre-tokenizer split of GLM-4's tokenizer.json (the cl100k-style regex), followed by
# byte-level mapping, so any text (Chinese, emoji, control chars) round-trips exactly.
_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Standard-library sources used as training text: code-heavy, like much of what users paste.
# A missing file (another Python version) is skipped; the corpus stays fixed per version.
_STDLIB_FILES = [
    "argparse.py",
    "dataclasses.py",
    "functools.py",
    "json/decoder.py",
    "json/encoder.py",
    "pathlib.py",
    "string.py",
    "textwrap.py",
]

_SENTENCES = [
    "你好！我是人工智能助手，很高兴为你服务。",
    "请帮我写一首关于春天的诗。",
    "今天北京的天气怎么样？明天会下雨吗？",
    "这个函数的时间复杂度是多少？请用中文解释。",
    "我们可以使用 Python 读取 PDF 文件并总结其中的内容。",
    "用户上传了一个文档，请根据文档回答问题。",
    "思考过程：首先分析问题，然后给出答案。",
    "Hello! I am an AI assistant. How can I help you today?",
    "Please summarise the attached document in three bullet points.",
    "What is the weather like in Bangkok this week?",
    "Let me think step by step before answering the question.",
    "The capital of France is Paris. The capital of China is Beijing.",
    "Emoji and symbols must survive a round trip: 🙂 🚀 ✓ → ½ €",
]


def _corpus() -> list[str]:
    """A fixed, offline training corpus of a few hundred KB, in a fixed order."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [
        (stdlib / name).read_text(encoding="utf-8")
        for name in _STDLIB_FILES
        if (stdlib / name).is_file()
    ]
    # The templates' Chinese system prompts and our sentences are small next to the code;
    # repeat them so common Chinese pairs earn merges too.
    texts += [(TEMPLATES_DIR / f"{name}.jinja").read_text(encoding="utf-8") for name in _CORPUS_TEMPLATES] * 5
    texts += _SENTENCES * 20
    return texts


def _template_text(template: str) -> str:
    if template not in (*TEMPLATES, *GLM45_TEMPLATES):
        raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")
    return (TEMPLATES_DIR / f"{template}.jinja").read_text(encoding="utf-8")


def build_tokenizer(out_dir: str | Path, template: str, vocab_size: int = 2000) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE with the GLM-4 special tokens and chat template; save to out_dir."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(pattern=Regex(_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is unknown
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)

    # Added after training so they take the ids right after the ordinary vocab, in order.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in GLM_SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    if template in GLM45_TEMPLATES:
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in GLM45_TOKENS])

    # Plain `tokenizer(text)` prepends [gMASK]<sop>, as the HF GLM-4 tokenizers are reported to
    # do (not verifiable offline; ms-swift relies on it).
    # apply_chat_template tokenizes with add_special_tokens=False, so the template's own
    # [gMASK]<sop> is not doubled; code that tokenizes a rendered prompt itself must do the same.
    prefix = [("[gMASK]", tok.token_to_id("[gMASK]")), ("<sop>", tok.token_to_id("<sop>"))]
    tok.post_processor = processors.TemplateProcessing(
        single="[gMASK] <sop> $A", pair="[gMASK] <sop> $A $B", special_tokens=prefix
    )

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        extra_special_tokens=[t for t in GLM_SPECIAL_TOKENS if t != EOS_TOKEN],
        chat_template=_template_text(template),
        padding_side="left",  # as in the real tokenizer_config.json (batched generation)
        clean_up_tokenization_spaces=False,  # otherwise decode would alter " ." etc.
        model_max_length=128000,
    )
    tokenizer.save_pretrained(out_dir)
    return tokenizer


Arch = Literal["glm", "glm4", "glm4_moe", "glm4_moe_lite"]
# GLM-4.5-Air / 4.6 (Glm4Moe: grouped-query attention, routed + shared experts after one dense
# layer) and GLM-4.7-Flash (Glm4MoeLite: multi-head latent attention) shrunk to a few experts.
_MOE = dict(moe_intermediate_size=32, n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=1,
            first_k_dense_replace=1)
_LITE = dict(kv_lora_rank=16, q_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=16)


def _classes(arch: str):
    from transformers import Glm4MoeConfig, Glm4MoeForCausalLM, Glm4MoeLiteConfig, Glm4MoeLiteForCausalLM

    return {
        "glm": (GlmConfig, GlmForCausalLM, {}),
        "glm4": (Glm4Config, Glm4ForCausalLM, {}),
        "glm4_moe": (Glm4MoeConfig, Glm4MoeForCausalLM, {**_MOE, "partial_rotary_factor": 0.5}),
        # Latent attention: every head reads the shared latent (no grouped key/value heads).
        "glm4_moe_lite": (Glm4MoeLiteConfig, Glm4MoeLiteForCausalLM, {**_MOE, **_LITE}),
    }[arch]


def build_model(
    out_dir: str | Path,
    arch: Arch,
    tokenizer: PreTrainedTokenizerFast,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    head_dim: int = 16,
    intermediate_size: int = 128,
    max_position_embeddings: int = 4096,
    **config_kwargs,
) -> PreTrainedModel:
    """A randomly initialised GlmForCausalLM ("glm"), Glm4ForCausalLM ("glm4"),
    Glm4MoeForCausalLM ("glm4_moe") or Glm4MoeLiteForCausalLM ("glm4_moe_lite"), saved with the
    tokenizer.

    Extra keyword arguments go to the config (e.g. ``tie_word_embeddings``, ``rope_parameters``).
    """
    if arch not in ("glm", "glm4", "glm4_moe", "glm4_moe_lite"):
        raise ValueError(f"arch must be one of glm, glm4, glm4_moe, glm4_moe_lite; got {arch!r}")
    config_cls, model_cls, shape = _classes(arch)
    if arch == "glm4_moe_lite":
        num_kv_heads = num_heads
    config_kwargs = {**shape, **config_kwargs}

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    stop_ids = tokenizer.convert_tokens_to_ids(STOP_TOKENS)
    config = config_cls(
        vocab_size=len(tokenizer),  # includes the added special tokens
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=eos_id,
        eos_token_id=stop_ids,  # the real config.json also lists all three
        **config_kwargs,
    )
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    # The app must read stop ids from here rather than hard-code 151329 & co.
    model.generation_config = GenerationConfig(eos_token_id=stop_ids, pad_token_id=eos_id)

    model.save_pretrained(out_dir)  # safetensors by default
    tokenizer.save_pretrained(out_dir)
    return model


# The ~13M-parameter GLM shape of the speed benches: big enough that a forward pass costs more
# than the Python around it, small enough for a 2-core CPU.
BENCH_SHAPE = dict(
    hidden_size=512, num_layers=4, num_heads=8, num_kv_heads=2, head_dim=64, intermediate_size=1408
)


def build_tiny_checkpoint(
    out_dir: str | Path,
    arch: Arch,
    template: str,
    **model_kwargs,
) -> Path:
    """Tokenizer + model in one folder, loadable with AutoTokenizer / AutoModelForCausalLM."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out_dir, template)
    build_model(out_dir, arch, tokenizer, **model_kwargs)
    return out_dir


# --- Vision: a tiny GLM-4.1V (Glm4v) or GLM-4.6V-Flash (Glm46V) -------------------------------

# Our reconstructions of the content-part templates: GLM-4.1V-Thinking's (no tools), and
# GLM-4.5V/4.6V's (GLM-4.6's tools and thinking switch, with image parts).
VISION_TEMPLATES = {"glm4v": "glm-4.1v-thinking", "glm46v": "glm-4.6v", "glm4v_moe": "glm-4.6v"}
VISION_TEMPLATE = VISION_TEMPLATES["glm4v"]
VISION_TOKENS = ["<|image|>", "<|video|>"]  # GLM-4.1V's placeholders, expanded by the processor


def build_tiny_glm4v_checkpoint(
    out_dir: str | Path, seed: int = 0, arch: Literal["glm4v", "glm46v", "glm4v_moe"] = "glm4v"
) -> Path:
    """A folder like zai-org/GLM-4.1V-9B-Thinking (``glm4v``), zai-org/GLM-4.6V-Flash
    (``glm46v``) or zai-org/GLM-4.5V (``glm4v_moe``, a few experts), loadable by the app's
    vision loader: tokenizer (GLM special tokens +
    image/video placeholders + content-part template), a PIL image processor config (no
    torchvision) and a random 2-layer model with a 2-block vision tower. Small images give a
    handful of image tokens."""
    from transformers import (
        Glm4vConfig, Glm4vForConditionalGeneration, Glm4vMoeConfig, Glm4vMoeForConditionalGeneration,
        Glm46VConfig, Glm46VForConditionalGeneration,
    )
    from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil

    config_cls, model_cls = {
        "glm4v": (Glm4vConfig, Glm4vForConditionalGeneration),
        "glm46v": (Glm46VConfig, Glm46VForConditionalGeneration),
        "glm4v_moe": (Glm4vMoeConfig, Glm4vMoeForConditionalGeneration),
    }[arch]
    template = VISION_TEMPLATES[arch]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out_dir, "glm-4-9b-chat" if arch == "glm4v" else template)
    tokenizer.add_tokens(VISION_TOKENS, special_tokens=True)
    tokenizer.chat_template = (TEMPLATES_DIR / f"{template}.jinja").read_text(encoding="utf-8")
    ids = tokenizer.convert_tokens_to_ids
    stop_ids = ids(STOP_TOKENS)
    config = config_cls(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            # mrope sections (temporal, height, width) must sum to the rotary dims / 2: head_dim
            # 16 / 2 = 8, or 4 for GLM-4.5V, which rotates half of each head.
            rope_parameters={"rope_type": "default", "rope_theta": 10000,
                             "mrope_section": [1, 1, 2] if arch == "glm4v_moe" else [2, 3, 3]},
            pad_token_id=ids(EOS_TOKEN),
            eos_token_id=stop_ids,
            **(_MOE if arch == "glm4v_moe" else {}),
        ),
        vision_config=dict(
            depth=2, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64,
            patch_size=14, spatial_merge_size=2, temporal_patch_size=2, image_size=28,
        ),
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        image_start_token_id=ids("<|begin_of_image|>"),
        image_end_token_id=ids("<|end_of_image|>"),
        video_start_token_id=ids("<|begin_of_video|>"),
        video_end_token_id=ids("<|end_of_video|>"),
    )
    if arch == "glm46v":
        config.text_config.model_type = "glm4v_text"  # GLM-4.6V-Flash: the dense 9B text model
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=stop_ids, pad_token_id=ids(EOS_TOKEN))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # Between 4 and 16 merged 28 x 28 tiles per image: a few image tokens, fast on a CPU.
    Glm4vImageProcessorPil(size={"shortest_edge": 28 * 28 * 4, "longest_edge": 28 * 28 * 16}).save_pretrained(out_dir)
    return out_dir
