"""Eight users at once: the engine with continuous batching vs one request at a time.

Same model, same eight prompts (different lengths), same number of greedy tokens each, the
two engines run alternately so machine noise hits both alike. The model is a GLM-4-shaped
random model (GlmForCausalLM, ~12M parameters) with the real chat template.

    python bench/multiuser.py [--users 8] [--tokens 128] [--rounds 3] [--batch 8]

Last lines: aggregate tokens/s and p95 time to first token for both, then
batched_throughput_ratio=<batched tokens/s / serial tokens/s> (floor 3).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.loader import load_model  # noqa: E402
from glm4_app.events import Done, TextDelta  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from tiny_models import BENCH_SHAPE, build_tiny_checkpoint  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_users(engine: Engine, prompts: list[list[int]], params: GenerationParams):
    """All users submit at the same moment; (aggregate tokens/s, every user's TTFT, texts,
    every user's Done stats: None for a request that failed)."""
    stats, texts = [None] * len(prompts), [""] * len(prompts)

    def user(i: int) -> None:
        for event in engine.submit(prompts[i], params).events():
            if isinstance(event, TextDelta):
                texts[i] += event.text
            elif isinstance(event, Done):
                stats[i] = event.stats

    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(prompts))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    done = [s for s in stats if s is not None]
    return sum(s.completion_tokens for s in done) / elapsed, [s.ttft_s for s in done], texts, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_checkpoint(Path(tmp) / "glm", "glm", "glm-4-9b-chat", **BENCH_SHAPE)
        loaded = load_model(str(path), Settings(chat_model=str(path)))
        prompts = [
            loaded.tokenizer.apply_chat_template(
                [{"role": "user", "content": f"User {i}: " + "tell me more about the sea " * (2 + 4 * i)}],
                add_generation_prompt=True,
            )["input_ids"]
            for i in range(args.users)
        ]
        params = GenerationParams(temperature=0, max_new_tokens=args.tokens)

        def engine(max_batch: int) -> Engine:  # no stop ids: every answer has --tokens tokens
            return Engine(loaded.model, loaded.tokenizer, eos_token_ids=[],
                          context_window=loaded.context_window, max_batch=max_batch)

        serial, batched = engine(1), engine(args.batch)
        run_users(serial, prompts[:2], params), run_users(batched, prompts[:2], params)  # warm-up
        results = {"serial": [], "batched": []}
        for _ in range(args.rounds):
            for name, eng in (("serial", serial), ("batched", batched)):
                results[name].append(run_users(eng, prompts, params))
        serial.close(), batched.close()

    same = all(r[2] == results["serial"][0][2] for r in results["batched"])
    print(f"model: {sum(p.numel() for p in loaded.model.parameters()) / 1e6:.1f}M parameters, "
          f"{args.users} users, prompts {min(map(len, prompts))}-{max(map(len, prompts))} tokens, "
          f"{args.tokens} tokens each, batch {args.batch}, {args.rounds} rounds")
    print(f"greedy answers identical batched and serial: {same}")
    tps = {}
    for name, runs in results.items():
        tps[name] = statistics.median(r[0] for r in runs)
        ttft = statistics.median(p95(r[1]) for r in runs)
        print(f"{name}_tokens_per_s={tps[name]:.1f}")
        print(f"{name}_p95_ttft_s={ttft:.3f}")
    print(f"batched_throughput_ratio={tps['batched'] / tps['serial']:.2f}")


if __name__ == "__main__":
    main()
