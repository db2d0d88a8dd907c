"""Tokens/s of a streamed completion through the OpenAI-compatible API vs the engine called
directly.

The API side is the real server (`uvicorn app:app`, in its own process) read with the official
`openai` client, streaming; the direct side is the same checkpoint loaded in this process and
asked through the same chat backend (template + engine), with no HTTP. Same prompt, same
greedy tokens, runs interleaved (API then direct, direct then API, ...) so machine noise and
drift hit both alike; the idle side sleeps. The model is a GLM-4-shaped random model (~12M
parameters) with the real chat template: small enough that per-token serving overhead is as
visible as it will ever be.

    python bench/api_overhead.py [--tokens 128] [--rounds 11]

Last line: api_overhead_ratio=<API tokens/s / direct tokens/s>, the median over rounds of each
API run against the direct run of the same round (floor 0.9).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the app runs (glm4_app/backend/__init__.py)

import httpx  # noqa: E402
import openai  # noqa: E402

from browser_helpers import serve_app, wait_for  # noqa: E402
from glm4_app.accounts import AccountStore  # noqa: E402
from glm4_app.backend.manager import load_chat_backend  # noqa: E402
from glm4_app.events import Done, ReasoningDelta, TextDelta  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from glm4_app.settings import DATABASE_FILE, Settings  # noqa: E402
from tiny_models import BENCH_SHAPE, build_tiny_checkpoint  # noqa: E402

MESSAGES = [{"role": "user", "content": "Write a short poem about the sea and the moon."}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_checkpoint(Path(tmp) / "glm", "glm", "glm-4-9b-chat", **BENCH_SHAPE)
        data_dir = Path(tmp) / "data"
        key, _ = AccountStore(data_dir / DATABASE_FILE).create_api_key("user:bench")
        # No prefix cache on either side: every run reads its prompt, as the direct side does.
        env = {
            "GLM4_CHAT_MODEL": str(path),
            "GLM4_DATA_DIR": str(data_dir),
            "GLM4_PREFIX_CACHE_MB": "0",
            "GLM4_API": "on",
        }
        with serve_app(env, Path(tmp), uvicorn=True) as url:
            wait_for(
                lambda: httpx.get(url + "/healthz").status_code == 200, 180, "the server's model"
            )
            settings = Settings(
                chat_model=str(path), data_dir=data_dir, device="cpu", prefix_cache_mb=0
            )
            backend = load_chat_backend(settings, lambda step: None)
            client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=300)
            model = client.models.list().data[0].id
            params = GenerationParams(temperature=0, max_new_tokens=args.tokens)

            def run_api() -> tuple[float, int]:
                start, chars, usage = time.perf_counter(), 0, None
                stream = client.chat.completions.create(
                    model=model,
                    messages=MESSAGES,
                    max_tokens=args.tokens,
                    temperature=0,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        chars += len(chunk.choices[0].delta.content)  # consume as a client would
                    usage = chunk.usage or usage
                return usage.completion_tokens / (
                    time.perf_counter() - start
                ), usage.completion_tokens

            def run_direct() -> tuple[float, int]:
                start, chars, tokens = time.perf_counter(), 0, 0
                for event in backend.stream(MESSAGES, params):
                    if isinstance(event, (TextDelta, ReasoningDelta)):
                        chars += len(event.text)
                    elif isinstance(event, Done):
                        tokens = event.stats.completion_tokens
                return tokens / (time.perf_counter() - start), tokens

            run_api(), run_direct()  # warm-up: first-call allocations on both sides
            api_tps, direct_tps, counts = [], [], set()
            for round_ in range(args.rounds):  # API first, then direct first: drift cancels
                sides = [(run_api, api_tps), (run_direct, direct_tps)]
                for run, results in sides if round_ % 2 == 0 else sides[::-1]:
                    tps, n = run()
                    results.append(tps)
                    counts.add(n)
            backend.engine.close()

    if len(counts) != 1:
        sys.exit(f"the two sides wrote different numbers of tokens: {sorted(counts)}")
    # Each API run against the direct run of the same round: slow drifts of a shared machine cancel.
    ratio = statistics.median(a / d for a, d in zip(api_tps, direct_tps, strict=True))
    print(
        f"model: random GlmForCausalLM (BENCH_SHAPE), {counts.pop()} greedy tokens per answer, "
        f"{args.rounds} interleaved rounds, streamed through /v1/chat/completions with the openai client"
    )
    print(
        f"API (uvicorn app:app, SSE): {statistics.median(api_tps):8.1f} tokens/s  "
        f"(runs: {', '.join(f'{x:.0f}' for x in api_tps)})"
    )
    print(
        f"direct (chat backend):      {statistics.median(direct_tps):8.1f} tokens/s  "
        f"(runs: {', '.join(f'{x:.0f}' for x in direct_tps)})"
    )
    print(f"api_overhead_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
