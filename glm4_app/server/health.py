"""``GET /healthz`` for load balancers and ``GET /metrics`` for Prometheus.

Health is 200 once the chat model serves, 503 while it loads or after it failed, with the
reason in the body; a vision model that is still loading or failed is reported but does not
make the server unhealthy (chat still works).
"""

from __future__ import annotations

import hmac
import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..metrics import REGISTRY
from ..settings import Settings
from . import state


def model_jobs(settings: Settings) -> list[tuple[str, object]]:
    """(kind, load job) of the configured models; asking starts a load not yet started."""
    from ..backend.manager import MANAGER

    jobs = [("chat", MANAGER.chat(settings))]
    if settings.vision_model:
        jobs.append(("vision", MANAGER.vision(settings)))
    return jobs


def report(jobs: list[tuple[str, object]]) -> tuple[int, dict]:
    """(status, body) of the health check for these load jobs; the first is the chat model."""
    models, reason = [], None
    for kind, job in jobs:
        end = job.finished_at if job.done and job.finished_at else time.monotonic()
        entry = {"kind": kind, "seconds": round(end - job.started_at, 1)}  # so far, or the load's
        if not job.done:
            entry |= {"state": "loading", "step": str(job.steps[-1]) if job.steps else "starting"}
        elif job.error is not None:
            entry |= {"state": "failed", "error": str(job.error.title), "hint": str(job.error.hint)}
        else:
            entry |= {"state": "ready", "model": job.result.info.name}
        models.append(entry)
    chat = models[0]
    if chat["state"] == "loading":
        reason = f"The chat model is loading ({chat['seconds']:.0f} s so far: {chat['step']})."
    elif chat["state"] == "failed":
        reason = f"The chat model failed to load: {chat['error']}"
    status = "ok" if chat["state"] == "ready" else chat["state"]
    return (200 if status == "ok" else 503), {"status": status, "reason": reason, "models": models}


async def healthz(request: Request) -> Response:
    code, body = report(model_jobs(state.settings()))
    return JSONResponse(body, code, headers={"Cache-Control": "no-store"})


async def metrics(request: Request) -> Response:
    token = state.settings().metrics_token
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse(
                "metrics need 'Authorization: Bearer <GLM4_METRICS_TOKEN>'\n", 401
            )
    return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


ROUTES = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
