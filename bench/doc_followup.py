"""Time to first token of a follow-up question on a long document: prefix cache vs none.

A GLM-4-shaped random model (GlmForCausalLM) with the real chat template reads a document of
at least 8K tokens; the first question fills the cache, then the follow-up is timed on an
engine with the prefix cache and on one without, interleaved over several rounds in one run.

    python bench/doc_followup.py [--doc-tokens 8192] [--rounds 5]

Last line: followup_ttft_speedup=<uncached TTFT / cached TTFT> (floor 10).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from glm4_app.backend.chat_backend import InProcessChatBackend  # noqa: E402
from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.loader import load_model  # noqa: E402
from glm4_app.events import Done  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from tiny_models import build_tiny_checkpoint  # noqa: E402

PARAMS = GenerationParams(temperature=0, max_new_tokens=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc-tokens", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_checkpoint(
            Path(tmp) / "glm", "glm", "glm-4-9b-chat", hidden_size=256, num_layers=4, num_heads=4,
            num_kv_heads=2, head_dim=64, intermediate_size=704, max_position_embeddings=32768,
        )
        loaded = load_model(str(path), Settings(chat_model=str(path)))
        tokenizer = loaded.tokenizer
        sentence = "The committee reviewed the budget, the schedule and the risks of the project. "
        per_sentence = len(tokenizer.encode(sentence, add_special_tokens=False))
        document = sentence * (args.doc_tokens // per_sentence + 30)  # the prompt adds little

        def backend(cache_mb: int) -> InProcessChatBackend:
            engine = Engine(loaded.model, tokenizer, eos_token_ids=[], context_window=32768,
                            prefix_cache_bytes=cache_mb * 2**20)
            return InProcessChatBackend(loaded, engine)

        cached, uncached = backend(4096), backend(0)
        first = [{"role": "user", "content": f"[File Name]\nminutes.txt\n[File Content]\n{document}\n\nSummarise."}]
        follow_up = first + [{"role": "assistant", "content": "A summary."}, {"role": "user", "content": "Any risks?"}]
        doc_tokens = cached.count_tokens(first)
        assert doc_tokens >= args.doc_tokens, doc_tokens

        def ttft(b: InProcessChatBackend, messages, key: str) -> float:
            *_, done = b.stream(messages, PARAMS, cache_key=key)
            assert isinstance(done, Done)
            return done.stats.ttft_s

        ttft(cached, first, "warm-up"), ttft(uncached, follow_up, "warm-up")
        with_cache, without = [], []
        for i in range(args.rounds):
            ttft(cached, first, f"doc-{i}")  # the first question fills the cache
            with_cache.append(ttft(cached, follow_up, f"doc-{i}"))
            without.append(ttft(uncached, follow_up, f"doc-{i}"))
        cached.engine.close(), uncached.engine.close()

    c, u = statistics.median(with_cache), statistics.median(without)
    print(f"document prompt: {doc_tokens:,} tokens; follow-up prompt {cached.count_tokens(follow_up):,} tokens; "
          f"{args.rounds} interleaved rounds")
    print(f"follow-up TTFT with prefix cache:    {c * 1000:8.1f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in with_cache)})")
    print(f"follow-up TTFT without prefix cache: {u * 1000:8.1f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in without)})")
    print(f"followup_ttft_speedup={u / c:.1f}")


if __name__ == "__main__":
    main()
