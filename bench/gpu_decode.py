"""GLM-4-9B decoding on a GPU: the engine vs model.generate vs the memory-bandwidth limit.

Decoding one token reads every weight once, so a step cannot beat (weight bytes / memory
bandwidth). The bench builds a GLM-4-9B-shaped model with random weights directly on the GPU
(GlmConfig of THUDM/glm-4-9b-chat-hf, written out below: nothing is downloaded), in bf16 and
then quantised in place to 4-bit nf4 (bitsandbytes, the loader's recipe), and measures in one run:

- the device's copy bandwidth (a 2 GiB device-to-device copy, bytes read + written per second)
  and the decode limit it implies: bandwidth / weight bytes, in steps/s;
- single-stream decode steps/s: the engine (static cache, CUDA-graph steps), the static step
  alone (no engine around it), the engine on the dynamic cache (the eager path) and bare
  ``model.generate``;
- aggregate tokens/s of 8 and 32 users at once through the engine;
- prefill time of an 8K and a 32K-token prompt (engine, 512-token chunks, and one forward pass),
  and decode steps/s after each (the engine's rows hold 9K tokens: the 32K one decodes on the
  dynamic cache);
- where one eager decode step spends its GPU time (profiler: matmuls, attention, the rest);
- weight memory and peak memory per mode.

    python bench/gpu_decode.py [--quick] [--tokens 256] [--budget-s 420] [--no-nf4]
    python bench/gpu_decode.py --tiny      # the same script on a tiny GLM shape, CPU allowed

Progress lines start with the elapsed seconds. Optional parts are skipped (and say so) once the
time budget is spent. Last lines: decode_fraction_of_limit=<engine steps/s / limit steps/s>
(target >= 0.6, bf16 single stream) and nf4_memory_ratio=<nf4 / bf16 weight memory> (target
<= 0.35). Without CUDA (and without --tiny) it prints gpu_decode=skipped (no CUDA) and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import torch  # noqa: E402

from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.static_cache import StaticBatch  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from multiuser import run_users  # noqa: E402 (the bench beside this one)

# THUDM/glm-4-9b-chat-hf config.json (model_type "glm"), the values that shape the compute.
GLM4_9B = dict(
    vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=40,
    num_attention_heads=32, num_key_value_heads=2, head_dim=128, attention_bias=True,
    partial_rotary_factor=0.5, rope_theta=10000.0, rms_norm_eps=1.5625e-07,
    max_position_embeddings=131072, tie_word_embeddings=False, hidden_act="silu",
    pad_token_id=151329, eos_token_id=[151329, 151336, 151338],
)
TINY = dict(GLM4_9B, vocab_size=4096, hidden_size=256, intermediate_size=512,
            num_hidden_layers=4, num_attention_heads=8, head_dim=32, pad_token_id=0,
            eos_token_id=[1, 2, 3])
START = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - START:6.1f}s] {text}", flush=True)


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def allows(self, what: str) -> bool:
        if time.perf_counter() - START < self.seconds:
            return True
        say(f"{what}: skipped (time budget of {self.seconds:.0f} s spent)")
        return False

    def attempt(self, what: str, part) -> None:
        """An optional part: skipped once the budget is spent; a failure is reported, not fatal."""
        if self.allows(what):
            guarded(what, part)


def guarded(what: str, part):
    """``part()``, or None after printing why it failed."""
    try:
        return part()
    except Exception as exc:
        say(f"{what}: FAILED ({type(exc).__name__}: {exc})")
        traceback.print_exc()
        return None


# -- the device -------------------------------------------------------------------------------


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def allocated(device) -> int:
    gc.collect()
    return torch.cuda.memory_allocated(device) if device.type == "cuda" else 0


def reset_peak(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device) -> float:
    if device.type != "cuda":
        return float("nan")
    return torch.cuda.max_memory_allocated(device) / 2**30


def copy_bandwidth(device, nbytes: int) -> float:
    """Bytes read + written per second by a large device-to-device copy."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    sync(device)
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        dst.copy_(src)
    sync(device)
    return 2 * nbytes * rounds / (time.perf_counter() - start)


# -- model, tokenizer, quantisation -------------------------------------------------------------


def build_model(shape: dict, device):
    from transformers import AutoModelForCausalLM, GlmConfig

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(GlmConfig(**shape), dtype=torch.bfloat16)
    model.generation_config.pad_token_id = shape["pad_token_id"]
    return model.eval()


def word_tokenizer(vocab_size: int):
    """A real fast tokenizer over the model's whole vocabulary (one word per id), so that the
    engine detokenises every sampled id as it would with GLM-4's own tokenizer."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = models.WordLevel({f"w{i}": i for i in range(vocab_size)}, unk_token="w0")
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(words))


def quantize_nf4(model, device) -> None:
    """Every Linear but the output layer to 4-bit nf4 with double quantisation, computing in
    bf16: what transformers does with the loader's BitsAndBytesConfig, here in place."""
    import bitsandbytes as bnb

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is not torch.nn.Linear or child is model.lm_head:
                continue
            quantized = bnb.nn.Linear4bit(
                child.in_features, child.out_features, bias=child.bias is not None,
                compute_dtype=torch.bfloat16, compress_statistics=True, quant_type="nf4",
                device="meta",
            )
            quantized.weight = bnb.nn.Params4bit(
                child.weight.data, requires_grad=False, compress_statistics=True,
                quant_type="nf4", module=quantized,
            ).to(device)
            quantized.bias = child.bias
            setattr(parent, name, quantized)


# -- measurements -----------------------------------------------------------------------------


def random_prompt(n: int, vocab: int, seed: int) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1000, vocab, (n,), generator=g).tolist()


def make_engine(model, tokenizer, kv_cache: str, context: int, row_tokens: int) -> Engine:
    """32 rows of ``row_tokens``; no stop ids, so every answer has exactly the tokens asked."""
    return Engine(model, tokenizer, eos_token_ids=[], context_window=context, queue_max=128,
                  max_batch=32, batch_tokens=32 * row_tokens, kv_cache=kv_cache)


def serve(engine, prompts: list[list[int]], tokens: int) -> tuple[float, list[str], list]:
    """All prompts submitted at once; (aggregate tokens/s, texts, each one's Done stats)."""
    params = GenerationParams(temperature=0, max_new_tokens=tokens)
    tokens_per_s, _, texts, stats = run_users(engine, prompts, params)
    if any(s is None for s in stats):
        raise RuntimeError("a request failed (an out-of-memory error?)")
    return tokens_per_s, texts, stats


def steps_per_s(stats) -> float:
    """Decode steps per second of one request (its first token comes from the prefill)."""
    return (stats.completion_tokens - 1) / stats.decode_s


def generate_steps_per_s(model, prompt: list[int], tokens: int, device) -> float:
    ids = torch.tensor([prompt], device=device)

    def timed(n: int) -> float:
        sync(device)
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        sync(device)
        assert out.shape[1] == len(prompt) + n
        return time.perf_counter() - start

    timed(2)  # warm-up
    return (tokens - 1) / (timed(tokens) - timed(1))


def static_steps_per_s(model, prompt: list[int], steps: int, device) -> float:
    """Decode steps of the static cache alone: the step the engine runs, without the engine."""
    graphs = device.type == "cuda"
    with torch.inference_mode():
        batch = StaticBatch(model, rows=1, length=len(prompt) + steps + 8, graphs=graphs)
        batch.add(model(torch.tensor([prompt], device=device)).past_key_values, len(prompt))
        token = 1000
        for i in range(steps + 3):
            if i == 3:  # the first steps capture the graphs of their shapes
                sync(device)
                start = time.perf_counter()
            token = batch.decode([token], [len(prompt) + i]).argmax(-1).tolist()[0]
        sync(device)
    return steps / (time.perf_counter() - start)


def long_prompt(engine, model, length: int, vocab: int, device) -> tuple[float, float, float]:
    """(engine time to first token, chunked as served; decode steps/s after it; one forward
    pass over the prompt)."""
    prompt = random_prompt(length, vocab, seed=length)
    _, _, stats = serve(engine, [prompt], tokens=64)
    with torch.inference_mode():
        sync(device)
        start = time.perf_counter()
        model(torch.tensor([prompt], device=device), logits_to_keep=1)
        sync(device)
    return stats[0].ttft_s, steps_per_s(stats[0]), time.perf_counter() - start


KERNEL_KINDS = {
    "attention": ("attention", "fmha", "flash", "softmax", "sdpa"),
    "matmul": ("gemm", "gemv", "cutlass", "sm90", "matmul", "kgemm"),
}


def profile_step(model, prompt: list[int], device) -> str:
    """Where the GPU time of one eager static step goes."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        batch = StaticBatch(model, rows=1, length=len(prompt) + 16)
        batch.add(model(torch.tensor([prompt], device=device)).past_key_values, len(prompt))
        batch.decode([1000], [len(prompt)])
        sync(device)
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            batch.decode([1001], [len(prompt) + 1])
            sync(device)
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    ms = {"matmul": 0.0, "attention": 0.0, "other": 0.0}
    for e in kernels:
        name = e.name.lower()
        kind = next((k for k, words in KERNEL_KINDS.items() if any(w in name for w in words)),
                    "other")
        ms[kind] += e.device_time / 1e3
    parts = ", ".join(f"{k} {v:.2f} ms" for k, v in ms.items())
    return f"{len(kernels)} kernels, {sum(ms.values()):.2f} ms of GPU time: {parts}"


# -- the run ----------------------------------------------------------------------------------


def run_mode(name: str, model, tokenizer, args, device, bandwidth: float, budget: Budget) -> dict:
    """Everything measured on one model; the single-stream engine speed is not optional."""
    vocab = model.config.vocab_size
    if device.type == "cuda":
        weights = allocated(device)
    else:
        weights = sum(p.numel() * p.element_size() for p in model.parameters())
    limit = bandwidth / weights
    say(f"{name}: weights {weights / 2**30:.2f} GiB -> limit {limit:.1f} steps/s "
        "(copy bandwidth / weight bytes)")
    result = {"weights": weights, "limit_steps_per_s": limit}
    reset_peak(device)
    prompt = random_prompt(64, vocab, seed=1)
    # Rows long enough for the first long prompt; the longer ones decode on the dynamic cache.
    context, row = max(args.prefill) + 1024, args.prefill[0] + 1024
    engine = make_engine(model, tokenizer, "static", context, row)
    texts = {}
    try:
        say(f"{name}: engine decode path: {engine.decode_path}")
        serve(engine, [prompt], args.tokens)  # warm-up: captures the graphs of its shapes
        rounds = 1 if args.quick else 3
        runs = [steps_per_s(serve(engine, [prompt], args.tokens)[2][0]) for _ in range(rounds)]
        engine_sps = result["engine_steps_per_s"] = statistics.median(runs)
        say(f"{name}: engine ({engine.decode_path}), 1 user: {engine_sps:.1f} steps/s "
            f"(runs {', '.join(f'{r:.1f}' for r in runs)}) = {engine_sps / limit:.3f} of the limit")
        texts["static"] = serve(engine, [prompt], args.tokens)[1][0]

        def step_alone():
            steps = static_steps_per_s(model, prompt, args.tokens, device)
            say(f"{name}: the static step alone (no engine around it): {steps:.1f} steps/s")

        def generate():
            sps = generate_steps_per_s(model, prompt, 64 if args.quick else args.tokens, device)
            result["generate_steps_per_s"] = sps
            say(f"{name}: model.generate: {sps:.1f} steps/s; engine / generate = "
                f"{engine_sps / sps:.2f}")

        def dynamic_engine():
            dynamic = make_engine(model, tokenizer, "dynamic", context, row)
            try:
                _, out, stats = serve(dynamic, [prompt], args.tokens)
            finally:
                dynamic.close()
            say(f"{name}: engine on the dynamic cache (eager), 1 user: "
                f"{steps_per_s(stats[0]):.1f} steps/s; same greedy tokens as on the static "
                f"cache: {out[0] == texts['static']}")

        def users(count: int):
            prompts = [random_prompt(96 + 8 * (i % 8), vocab, seed=100 + i) for i in range(count)]
            serve(engine, prompts, args.tokens)  # warm-up: captures the graphs of its shapes
            tps = result[f"users_{count}_tokens_per_s"] = serve(engine, prompts, args.tokens)[0]
            say(f"{name}: engine ({engine.decode_path}), {count} users at once: {tps:.0f} "
                f"tokens/s ({tps / count:.1f} per user)")

        def prefill(length: int):
            if length == args.prefill[0]:
                long_prompt(engine, model, length, vocab, device)  # warm-up
            ttft, steps, one_pass = long_prompt(engine, model, length, vocab, device)
            result[f"prefill_{length}_s"] = ttft
            result[f"decode_at_{length}_steps_per_s"] = steps
            cache = "static" if length + 64 <= row else "dynamic"
            say(f"{name}: prefill of {length} tokens: {ttft:.2f} s in the engine (512-token "
                f"chunks), {one_pass:.2f} s in one forward pass; then {steps:.1f} steps/s "
                f"decoding on the {cache} cache")

        budget.attempt(f"{name}: static step alone", step_alone)
        budget.attempt(f"{name}: model.generate", generate)
        if not args.quick:
            budget.attempt(f"{name}: engine on the dynamic cache", dynamic_engine)
        for count in [8] if (args.quick or name != "bf16") else [8, 32]:
            budget.attempt(f"{name}: {count} users", lambda: users(count))
        for length in args.prefill if name == "bf16" else []:
            budget.attempt(f"{name}: prefill of {length} tokens", lambda: prefill(length))
        say(f"{name}: engine decode path at the end: {engine.decode_path}")
    finally:
        engine.close()
    if name == "bf16" and device.type == "cuda":
        budget.attempt(f"{name}: profile of one step", lambda: say(
            f"{name}: one eager decode step: {profile_step(model, prompt, device)}"))
    result["peak_gib"] = peak_gib(device)
    say(f"{name}: peak memory {result['peak_gib']:.2f} GiB (weights, a static cache of 32 rows "
        f"x {row} tokens, activations)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tokens and rounds")
    parser.add_argument("--tokens", type=int, default=0, help="new tokens a request (256)")
    parser.add_argument("--prefill", default="", help="prompt lengths (8192,32768)")
    parser.add_argument("--budget-s", type=float, default=420, help="optional parts stop then")
    parser.add_argument("--no-nf4", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="a tiny GLM (CPU allowed)")
    args = parser.parse_args()
    args.tokens = args.tokens or (128 if args.quick or args.tiny else 256)
    default_prefill = "512,2048" if args.tiny else ("8192" if args.quick else "8192,32768")
    args.prefill = [int(n) for n in (args.prefill or default_prefill).split(",")]

    if not torch.cuda.is_available() and not args.tiny:
        print("gpu_decode=skipped (no CUDA)")
        return
    import transformers

    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("glm4_app").setLevel(logging.INFO)  # the static cache's size, fallbacks
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    budget = Budget(args.budget_s)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    say(f"device: {name}; torch {torch.__version__}, transformers {transformers.__version__}")
    bandwidth = copy_bandwidth(device, 2**31 if device.type == "cuda" else 2**28)
    say(f"copy bandwidth: {bandwidth / 1e9:.0f} GB/s (read + written)")
    shape = TINY if args.tiny else GLM4_9B
    model = build_model(shape, device)
    say(f"built a random GLM ({sum(p.numel() for p in model.parameters()) / 1e9:.2f}B "
        f"parameters, {shape['num_hidden_layers']} layers) in bf16 on {device}")
    tokenizer = word_tokenizer(shape["vocab_size"])
    bf16 = guarded("bf16", lambda: run_mode("bf16", model, tokenizer, args, device, bandwidth,
                                           budget)) or {}
    nf4 = {}
    if args.no_nf4:
        say("nf4: skipped (--no-nf4)")
    elif guarded("nf4: import bitsandbytes", lambda: __import__("bitsandbytes")):
        def quantized_run():
            quantize_nf4(model, device)
            say("nf4: quantised in place (every Linear but lm_head, double quantisation, "
                "bf16 compute)")
            return run_mode("nf4", model, tokenizer, args, device, bandwidth, budget)

        nf4 = guarded("nf4", quantized_run) or {}

    print(f"copy_bandwidth_gb_s={bandwidth / 1e9:.0f}")
    for mode, result in (("bf16", bf16), ("nf4", nf4)):
        for key, value in result.items():
            if key == "weights":
                key, value = "weights_gib", value / 2**30
            print(f"{mode}_{key}={value:.3f}")
    nan = float("nan")
    fraction = bf16.get("engine_steps_per_s", nan) / bf16.get("limit_steps_per_s", nan)
    print(f"decode_fraction_of_limit={fraction:.3f}")
    print(f"nf4_memory_ratio={nf4.get('weights', nan) / bf16.get('weights', nan):.3f}")


if __name__ == "__main__":
    main()
