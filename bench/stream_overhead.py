"""Tokens/s through the engine and its event stream vs bare ``model.generate``.

Same model, same prompt, same number of greedy tokens, runs interleaved (engine, bare, engine,
...) so that machine noise hits both sides alike. The model is a GLM-4-shaped random model
(GlmForCausalLM, ~12M parameters) with a tokenizer carrying the real chat template: small
enough that per-token Python overhead is as visible as it will ever be.

    python bench/stream_overhead.py [--tokens 128] [--rounds 5]

Last line: stream_overhead_ratio=<engine tokens/s / bare tokens/s> (floor 0.95).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402

from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.loader import load_model  # noqa: E402
from glm4_app.events import Done, TextDelta  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from tiny_models import BENCH_SHAPE, build_tiny_checkpoint  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_checkpoint(Path(tmp) / "glm", "glm", "glm-4-9b-chat", **BENCH_SHAPE)
        loaded = load_model(str(path), Settings(chat_model=str(path)))
        params_m = sum(p.numel() for p in loaded.model.parameters()) / 1e6
        messages = [{"role": "user", "content": "Write a short poem about the sea and the moon."}]
        ids = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True)["input_ids"]
        # No stop ids: both sides produce exactly --tokens tokens.
        engine = Engine(loaded.model, loaded.tokenizer, eos_token_ids=[], context_window=loaded.context_window)
        params = GenerationParams(temperature=0, max_new_tokens=args.tokens)

        def run_engine() -> float:
            start = time.perf_counter()
            chars = 0
            for event in engine.submit(ids, params).events():
                if isinstance(event, TextDelta):
                    chars += len(event.text)  # consume the stream as a UI would
                elif isinstance(event, Done):
                    assert event.stats.completion_tokens == args.tokens
            return args.tokens / (time.perf_counter() - start)

        def run_bare() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                out = loaded.model.generate(
                    torch.tensor([ids]), max_new_tokens=args.tokens, min_new_tokens=args.tokens,
                    do_sample=False, pad_token_id=0,
                )
            assert out.shape[1] - len(ids) == args.tokens
            return args.tokens / (time.perf_counter() - start)

        run_engine(), run_bare()  # warm-up: first-call allocations on both sides
        engine_tps, bare_tps = [], []
        for _ in range(args.rounds):
            engine_tps.append(run_engine())
            bare_tps.append(run_bare())
        engine.close()

    engine_median, bare_median = statistics.median(engine_tps), statistics.median(bare_tps)
    print(f"model: random GlmForCausalLM, {params_m:.1f}M parameters, prompt {len(ids)} tokens, "
          f"{args.tokens} new tokens, {args.rounds} interleaved rounds, {torch.get_num_threads()} threads")
    print(f"engine + event stream: {engine_median:8.1f} tokens/s  (runs: {', '.join(f'{x:.0f}' for x in engine_tps)})")
    print(f"bare model.generate:   {bare_median:8.1f} tokens/s  (runs: {', '.join(f'{x:.0f}' for x in bare_tps)})")
    print(f"stream_overhead_ratio={engine_median / bare_median:.3f}")


if __name__ == "__main__":
    main()
