"""What an operator watches, in Prometheus' text format (``GET /metrics``, prometheus_client).

Requests are observed where they pass, not inside the engine: ``observe`` wraps the event
stream of an answer (a page's answer, where its Turn consumes it, whether or not a page
watches; and each API call), so every backend (in process, vLLM, scripted) is counted the
same way. Queue depth, batch size, loaded models and
live kernels are read when scraped, from the objects that hold them.
"""

from __future__ import annotations

import sys
from typing import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily

from .events import Done, Error, Event

REGISTRY = CollectorRegistry()
# The process itself (memory, CPU, open files; Python's version and garbage collector), as
# every Prometheus client exposes by default: the app has a registry of its own.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

REQUESTS = Counter(
    "glm4_requests",
    "Answers asked for, by mode (chat, tools, documents, vision, api) and outcome "
    "(ok, stopped, error, refused).",
    ["mode", "outcome"],
    registry=REGISTRY,
)
REFUSALS = Counter(
    "glm4_refusals",
    "Requests turned away before they reached the model (outcome refused), by mode and code: "
    "the API's error code (invalid_api_key, invalid_value, model_not_found, model_loading, "
    "context_length_exceeded, rate_limit_exceeded, ...), or limit for the pages' per-user limits.",
    ["mode", "code"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "glm4_errors",
    "Answers that failed, by kind (context, oom, queue_full, backend; server: a failure of "
    "the app itself).",
    ["kind"],
    registry=REGISTRY,
)
IN_PROGRESS = Gauge(
    "glm4_requests_in_progress", "Answers being written now.", ["mode"], registry=REGISTRY
)
PROMPT_TOKENS = Counter(
    "glm4_prompt_tokens", "Prompt tokens of finished answers.", ["mode"], registry=REGISTRY
)
COMPLETION_TOKENS = Counter(
    "glm4_completion_tokens", "Tokens the model wrote.", ["mode"], registry=REGISTRY
)
CACHED_TOKENS = Counter(
    "glm4_prefix_cache_hit_tokens",
    "Prompt tokens whose keys/values came from the prefix cache instead of being computed again.",
    ["mode"],
    registry=REGISTRY,
)
TTFT = Histogram(
    "glm4_time_to_first_token_seconds",
    "From the request to its first token, queue wait included.",
    ["mode"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
TOKENS_PER_S = Histogram(
    "glm4_decode_tokens_per_second",
    "Decoding speed of each answer (first token to last).",
    ["mode"],
    buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320, 640),
    registry=REGISTRY,
)
EXTRACTION_FAILURES = Counter(
    "glm4_document_extraction_failures",
    "Uploaded documents that could not be read.",
    registry=REGISTRY,
)
SIGN_INS = Counter(
    "glm4_sign_ins",
    "Sign-in attempts by outcome (ok, wrong, throttled).",
    ["outcome"],
    registry=REGISTRY,
)


def observe(events: Iterator[Event], mode: str) -> Iterator[Event]:
    """Pass an answer's events through, counting it. Closing this closes ``events`` (so Stop
    still frees the model at once); an answer closed before it ended counts as stopped."""
    outcome = "stopped"
    IN_PROGRESS.labels(mode).inc()
    try:
        for event in events:
            if isinstance(event, Done):
                record(event, mode)
                outcome = "stopped" if event.stats.finish_reason == "cancelled" else "ok"
            elif isinstance(event, Error):
                ERRORS.labels(event.kind).inc()
                outcome = "error"
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        IN_PROGRESS.labels(mode).dec()
        REQUESTS.labels(mode, outcome).inc()


def record(done: Done, mode: str) -> None:
    stats = done.stats
    PROMPT_TOKENS.labels(mode).inc(stats.prompt_tokens)
    COMPLETION_TOKENS.labels(mode).inc(stats.completion_tokens)
    CACHED_TOKENS.labels(mode).inc(stats.cached_tokens)
    if stats.ttft_s is not None:
        TTFT.labels(mode).observe(stats.ttft_s)
    if stats.tokens_per_s is not None:
        TOKENS_PER_S.labels(mode).observe(stats.tokens_per_s)


def refused(mode: str, code: str = "limit") -> None:
    """A request turned away before it reached the model (a per-user limit, a bad request)."""
    REQUESTS.labels(mode, "refused").inc()
    REFUSALS.labels(mode, code).inc()


def failed(mode: str) -> None:
    """A request the app itself failed on (a bug), before its answer was observed."""
    REQUESTS.labels(mode, "error").inc()
    ERRORS.labels("server").inc()


class _LiveState:
    """Gauges read at scrape time: the models' load state, queues and batches, live kernels."""

    def collect(self):
        from .backend.manager import MANAGER  # imports no torch until a model is asked for

        ready = GaugeMetricFamily(
            "glm4_model_ready", "1 when the model is loaded and serving.", labels=["kind"]
        )
        queue = GaugeMetricFamily(
            "glm4_queue_depth",
            "Requests waiting for a place in the batch.",
            labels=["kind", "model"],
        )
        batch = GaugeMetricFamily(
            "glm4_batch_size", "Requests decoding together now.", labels=["kind", "model"]
        )
        for kind, job in MANAGER.jobs():
            ready.add_metric([kind], 1.0 if job.done and job.result is not None else 0.0)
            engine = getattr(job.result, "engine", None) if job.done else None
            if engine is not None:
                name = job.result.info.name
                queue.add_metric([kind, name], engine.waiting)
                batch.add_metric([kind, name], engine.batch_size)
        kernels = GaugeMetricFamily(
            "glm4_live_kernels", "Python kernels running for All Tools sessions."
        )
        kernels.add_metric([], _live_kernels())
        return [ready, queue, batch, kernels]

    def describe(self):
        return []  # collected fresh on every scrape


def _live_kernels() -> int:
    python_tool = sys.modules.get("glm4_app.tools.python_tool")  # not imported: no kernels
    if python_tool is None:
        return 0
    return sum(1 for tool in list(python_tool._LIVE) if tool.running)


REGISTRY.register(_LiveState())
